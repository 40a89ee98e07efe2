"""Dedupe in a real browser: find a pair on the Duplicates page, merge it on the merge screen."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rapport.contacts import services
from rapport.contacts.models import DuplicatePair, Person
from rapport.core.actors import Role
from rapport.testing.browser import assert_no_horizontal_scroll, login, screenshot
from rapport.testing.factories import PASSWORD, MembershipFactory, actor_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Copies of the screenshots for a reviewer (the brief's /tmp/shots_dedupe/).
SHOTS = Path(os.environ.get("RAPPORT_DEDUPE_SHOTS", "/tmp/shots_dedupe"))  # noqa: S108


def shot(page, name: str) -> None:
    path = screenshot(page, name)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / path.name).write_bytes(path.read_bytes())


def _workspace():
    owner = MembershipFactory(role=Role.OWNER.value, user__full_name="Olivia Owner")
    actor = actor_for(owner)
    acme = services.company_create(
        actor=actor, data={"name": "Acme Widgets International", "domain": "acme.example"}
    )
    services.company_create(actor=actor, data={"name": "ACME Widgets International Ltd"})
    keep = services.person_create(
        actor=actor,
        data={
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada.lovelace@acme.example",
            "title": "Head of Analytical Engines",
            "company": str(acme.pk),
            "tags": ["vip"],
        },
    )
    other = services.person_create(
        actor=actor,
        data={
            "first_name": "Adah",
            "last_name": "Lovelace",
            "email": "countess.of.lovelace.with.a.long.address@personal.example",
            "phone": "+44 20 7946 0958",
            "company": str(acme.pk),
            "tags": ["math"],
            "address": {"city": "London", "country": "GB"},
        },
    )
    for first in ("Grace", "Gracie"):
        services.person_create(
            actor=actor, data={"first_name": first, "last_name": "Hopper", "phone": "+12025550143"}
        )
    return owner, keep, other


def test_merge_two_people_through_the_merge_screen(page, live_server):
    page.on("dialog", lambda dialog: dialog.accept())
    owner, keep, other = _workspace()
    login(page, live_server, owner.user.email, PASSWORD)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Duplicates").click()
    page.wait_for_load_state("networkidle")
    card = page.locator("[data-testid=duplicate-pair]", has_text="Adah Lovelace")
    assert card.count() == 1
    assert "similar name at the same company" in card.inner_text()
    shot(page, "duplicates-desktop")

    page.get_by_test_id("scan-workspace").click()
    page.wait_for_selector("[data-testid=scan-progress]")
    assert page.locator("[data-testid=scan-progress]").count() == 1

    card.get_by_role("button", name="Compare and merge").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text().strip() == "Merge people"
    assert "will move" not in page.get_by_test_id("merge-summary").inner_text()
    assert "countess.of.lovelace" in page.get_by_test_id("merge-summary").inner_text()
    shot(page, "merge-desktop")

    page.locator("label.merge-choice", has_text="Adah").click()  # take the other first name
    page.get_by_test_id("merge-confirm").click()
    page.wait_for_load_state("networkidle")
    assert "Merged" in page.locator(".messages").inner_text()
    assert page.locator("h1").inner_text().strip() == "Adah Lovelace"
    facts = page.locator(".facts").inner_text()
    assert "countess.of.lovelace.with.a.long.address@personal.example" in facts
    assert "+442079460958" in facts
    shot(page, "merged-person-desktop")

    survivor = Person.objects.get(pk=keep.pk)
    assert survivor.first_name == "Adah"
    assert sorted(t.name for t in survivor.tags.all()) == ["math", "vip"]
    assert not Person.objects.filter(pk=other.pk).exists()
    page.goto(f"{live_server.url}/people/{other.pk}/")
    assert page.url.endswith(f"/people/{keep.pk}/")


def test_duplicates_and_merge_screen_on_a_phone(phone_page, live_server):
    page = phone_page
    owner, keep, _other = _workspace()
    login(page, live_server, owner.user.email, PASSWORD)
    page.goto(f"{live_server.url}/duplicates/")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=duplicate-pair]").count() == 2
    assert_no_horizontal_scroll(page)
    shot(page, "duplicates-phone")

    page.goto(f"{live_server.url}/duplicates/?type=company")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=duplicate-pair]").count() == 1
    assert_no_horizontal_scroll(page)
    shot(page, "duplicates-companies-phone")

    pair = DuplicatePair.objects.get(object_type="person", person_a__last_name="Lovelace")
    page.goto(f"{live_server.url}/duplicates/{pair.pk}/")
    page.wait_for_load_state("networkidle")
    assert page.locator("label.merge-choice").count() >= 4
    assert_no_horizontal_scroll(page)
    shot(page, "merge-phone")

    page.goto(f"{live_server.url}/people/{keep.pk}/")
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id("duplicate-notice").count() == 1
    assert_no_horizontal_scroll(page)
    shot(page, "person-with-duplicate-phone")
