"""The saved-view editor marks the menu item of the list the view belongs to."""

from __future__ import annotations

import re

import pytest

from rapport.core.actors import Role
from rapport.customization.services import view_create
from rapport.testing.clients import make_browser
from rapport.testing.factories import actor_for

pytestmark = pytest.mark.django_db


def current_nav(html: str) -> list[str]:
    return re.findall(r'aria-current="page">([^<]+)</a>', html)


@pytest.mark.parametrize(
    "object_type, item",
    [("contacts.person", "People"), ("contacts.company", "Companies"), ("sales.deal", "Deals")],
)
def test_the_view_editor_marks_its_lists_menu_item(browser, object_type, item):
    actor = actor_for(browser.membership)
    view = view_create(actor=actor, data={"object_type": object_type, "name": "Mine"})
    r = browser.get(f"/views/{view.pk}/edit/")
    assert r.status_code == 200
    assert set(current_nav(r.content.decode())) == {item}  # the menu, wide and narrow


def test_another_workspaces_view_is_404(browser):
    actor = actor_for(browser.membership)
    view = view_create(actor=actor, data={"object_type": "sales.deal", "name": "Mine"})
    other, _ = make_browser(Role.OWNER)
    assert other.get(f"/views/{view.pk}/edit/").status_code == 404
