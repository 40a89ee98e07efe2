"""Saved views in a real browser: filter a list, save it as a pinned view, open it from the
navigation, edit its conditions with the builder and its columns; at desktop and 375 px."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rapport.core.actors import Role
from rapport.customization import services
from rapport.customization.models import SavedView
from rapport.testing.browser import PHONE, assert_no_horizontal_scroll, login, screenshot
from rapport.testing.factories import PASSWORD, MembershipFactory, PersonFactory, actor_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("RAPPORT_VIEW_SHOTS", "/tmp/shots_views"))  # noqa: S108


def shot(page, name: str) -> None:
    path = screenshot(page, name)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / path.name).write_bytes(path.read_bytes())


def htmx(page, action) -> None:
    """Runs ``action`` and waits until the builder it refreshes is swapped in."""
    with page.expect_response(lambda r: r.request.method == "POST" and "/edit/" in r.url):
        action()
    page.wait_for_selector(".htmx-request, .htmx-settling, .htmx-swapping", state="detached")


def test_save_a_view_open_it_from_the_nav_and_edit_it(page, live_server, chromium):
    owner = MembershipFactory(role=Role.OWNER.value, user__full_name="Olivia Owner")
    actor = actor_for(owner)
    services.field_create(
        actor=actor,
        data={
            "object_type": "contacts.person",
            "label": "Tier",
            "type": "select",
            "options": ["Gold", "Silver"],
            "show_in_list": True,
        },
    )
    for first, last, title, tier in [
        ("Ada", "Lovelace", "CEO", "gold"),
        ("Grace", "Hopper", "CTO", "silver"),
        ("Alan", "Turing", "CEO", None),
        ("Edsger", "Dijkstra", "Engineer", "gold"),
    ]:
        PersonFactory(
            actor=actor,
            first_name=first,
            last_name=last,
            title=title,
            email=f"{first.lower()}@example.com",
            custom={"tier": tier} if tier else {},
        )
    login(page, live_server, owner.user.email, PASSWORD)

    page.goto(f"{live_server.url}/people/?title=CEO&sort=last_name")
    page.click("details.save-view > summary")
    page.fill(".save-view-form input[name=name]", "CEOs <b>first</b>")
    page.check(".save-view-form input[name=pinned]")
    page.click(".save-view-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    view = SavedView.objects.get()
    assert view.pinned and view.sort == "last_name"

    page.goto(f"{live_server.url}/companies/")
    page.click("nav.mainnav a.pinned-view")
    page.wait_for_load_state("networkidle")
    assert f"view={view.pk}" in page.url
    names = page.locator("table.list-table tbody tr td:nth-child(2) a").all_inner_texts()
    assert names == ["Ada Lovelace", "Alan Turing"]
    assert "CEOs <b>first</b>" in page.locator("h1").inner_text()  # shown as text, escaped

    # The editor: add an OR group with a custom field condition, choose the columns.
    page.click("text=Edit view")
    page.wait_for_load_state("networkidle")
    htmx(page, lambda: page.click("button[value='addgroup:r']"))
    htmx(page, lambda: page.select_option("select[name='c-r.1.0-field']", "custom.tier"))
    page.select_option("select[name='c-r.1.0-value']", "gold")
    htmx(page, lambda: page.click("button[value='add:r.1']"))
    htmx(page, lambda: page.select_option("select[name='c-r.1.1-field']", "last_name"))
    htmx(page, lambda: page.select_option("select[name='c-r.1.1-operator']", "starts_with"))
    page.fill("input[name='c-r.1.1-value']", "tur")
    page.fill("input[name='c-r.0-value']", "ceo")
    page.uncheck("input[name='col-phone']")
    page.check("input[name='col-custom.tier']")
    page.fill("input[name='pos-custom.tier']", "2")
    page.set_viewport_size({"width": 1280, "height": 860})
    shot(page, "views-editor-desktop")
    page.click("form#view-form .filter-actions button[value=save]")
    page.wait_for_load_state("networkidle")
    view.refresh_from_db()
    assert view.conditions["items"][1]["op"] == "or"
    assert view.columns[1] == "custom.tier" and "phone" not in view.columns
    names = page.locator("table.list-table tbody tr td:nth-child(2) a").all_inner_texts()
    assert names == ["Ada Lovelace", "Alan Turing"]
    shot(page, "views-list-desktop")

    phone = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    login(phone, live_server, owner.user.email, PASSWORD)
    phone.goto(f"{live_server.url}/people/?view={view.pk}")
    assert_no_horizontal_scroll(phone)
    shot(phone, "views-list-phone")
    phone.goto(f"{live_server.url}/views/{view.pk}/edit/")
    assert_no_horizontal_scroll(phone)
    shot(phone, "views-editor-phone")
    phone.context.close()
