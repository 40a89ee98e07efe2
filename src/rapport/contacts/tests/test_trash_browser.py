"""The trash in a real browser: delete a person, find it in the trash, restore it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rapport.contacts import services
from rapport.contacts.models import Person
from rapport.core.actors import Role
from rapport.testing.browser import assert_no_horizontal_scroll, login, screenshot
from rapport.testing.factories import PASSWORD, MembershipFactory, actor_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Where to put copies of the screenshots for a reviewer (the brief's /tmp/shots_trash/).
SHOTS = Path(os.environ.get("RAPPORT_TRASH_SHOTS", "/tmp/shots_trash"))  # noqa: S108


def shot(page, name: str) -> None:
    path = screenshot(page, name)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / path.name).write_bytes(path.read_bytes())


def _fill_trash(actor) -> None:
    """A few deleted records so the screenshots show a realistic trash."""
    co = services.company_create(
        actor=actor, data={"name": "Northwind Traders International", "domain": "northwind.example"}
    )
    services.company_delete(actor=actor, company_id=co.pk)
    for first, last in [("Ada", "Lovelace"), ("Grace", "Hopper-With-A-Long-Surname")]:
        p = services.person_create(
            actor=actor,
            data={"first_name": first, "last_name": last, "email": f"{first.lower()}@example.com"},
        )
        services.person_delete(actor=actor, person_id=p.pk)


def test_delete_a_person_then_restore_it_from_the_trash(page, live_server):
    page.on("dialog", lambda dialog: dialog.accept())
    owner = MembershipFactory(role=Role.OWNER.value, user__full_name="Olivia Owner")
    actor = actor_for(owner)
    _fill_trash(actor)
    p = services.person_create(
        actor=actor, data={"first_name": "Rita", "last_name": "Restore", "email": "rita@x.example"}
    )
    login(page, live_server, owner.user.email, PASSWORD)

    page.goto(f"{live_server.url}/people/{p.pk}/")
    page.get_by_role("button", name="Delete").click()
    page.wait_for_load_state("networkidle")
    assert "Deleted Rita Restore" in page.locator(".messages").inner_text()
    assert Person.objects.get(pk=p.pk).deleted_at is not None

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Trash").click()
    page.wait_for_load_state("networkidle")
    row = page.locator("tr", has_text="Rita Restore")
    assert row.count() == 1
    assert "Olivia Owner" in row.inner_text()
    shot(page, "trash-desktop")

    row.get_by_role("button", name="Restore").click()
    page.wait_for_load_state("networkidle")
    assert "Restored Rita Restore" in page.locator(".messages").inner_text()
    assert page.locator("tr", has_text="Rita Restore").count() == 0
    assert Person.objects.get(pk=p.pk).deleted_at is None
    shot(page, "trash-desktop-restored")

    page.locator(".messages a", has_text="Rita Restore").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text().strip() == "Rita Restore"


def test_the_trash_on_a_phone(phone_page, live_server):
    page = phone_page
    page.on("dialog", lambda dialog: dialog.accept())
    owner = MembershipFactory(role=Role.OWNER.value, user__full_name="Olivia Owner")
    actor = actor_for(owner)
    _fill_trash(actor)
    login(page, live_server, owner.user.email, PASSWORD)
    page.goto(f"{live_server.url}/trash/")
    assert page.locator("tbody tr").count() == 3
    assert_no_horizontal_scroll(page)
    shot(page, "trash-phone")

    # Tick two rows and restore them together.
    boxes = page.locator('input[type="checkbox"][name="item"]')
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_role("button", name="Restore selected").click()
    page.wait_for_load_state("networkidle")
    assert "Restored 2 records." in page.locator(".messages").inner_text()
    assert page.locator("tbody tr").count() == 1
    assert_no_horizontal_scroll(page)

    page.get_by_role("button", name="Restore all matching").click()
    page.wait_for_load_state("networkidle")
    assert "The trash is empty." in page.locator("main").inner_text()
    assert_no_horizontal_scroll(page)
    shot(page, "trash-phone-empty")
