"""Custom fields in a real browser: define a field in Settings, fill it on a person form."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from rapport.contacts.models import Person
from rapport.core.actors import Role
from rapport.customization import services
from rapport.testing.browser import PHONE, assert_no_horizontal_scroll, login, screenshot
from rapport.testing.factories import PASSWORD, MembershipFactory, actor_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Copies of the screenshots for a reviewer.
SHOTS = Path(os.environ.get("RAPPORT_CF_SHOTS", "/tmp/shots_cf"))  # noqa: S108


def shot(page, name: str) -> None:
    path = screenshot(page, name)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / path.name).write_bytes(path.read_bytes())


def _more_fields(actor) -> None:
    """A few more definitions so the screenshots show a realistic settings page and form."""
    for data in (
        {"label": "Seats", "type": "number", "show_in_list": True, "minimum": 1},
        {"label": "Renewal date", "type": "date", "help_text": "When the contract renews"},
        {"label": "Interests", "type": "multi_select", "options": ["Golf", "Tennis", "Chess"]},
        {"label": "Budget", "type": "currency"},
        {"label": "Newsletter", "type": "boolean"},
        {"label": "Notes for the account team", "type": "long_text"},
    ):
        services.field_create(actor=actor, data={"object_type": "contacts.person", **data})
    services.field_create(
        actor=actor,
        data={
            "object_type": "contacts.company",
            "label": "Contract number",
            "type": "text",
            "regex": r"[A-Z]{2}-\d{4}",
            "help_text": "e.g. AB-1234",
        },
    )


def test_define_a_field_in_settings_then_fill_it_on_a_person(page, live_server, chromium):
    owner = MembershipFactory(role=Role.OWNER.value, user__full_name="Olivia Owner")
    actor = actor_for(owner)
    login(page, live_server, owner.user.email, PASSWORD)

    page.goto(f"{live_server.url}/settings/custom-fields/")
    assert "No custom fields yet" in page.content()
    page.get_by_role("button", name="Add a field for people").click()
    page.wait_for_load_state("networkidle")
    page.fill("#id_label", "Customer tier")
    page.select_option("#id_type", "select")
    expect(page.locator("#id_options")).to_be_visible()
    expect(page.locator("#id_regex")).to_be_hidden()  # type-specific inputs only
    page.fill("#id_options", "Gold\nSilver\nBronze")
    page.check("#id_show_in_list")
    page.get_by_role("button", name="Add field").click()
    page.wait_for_load_state("networkidle")
    assert "Added the field “Customer tier”" in page.content()

    _more_fields(actor)
    page.goto(f"{live_server.url}/settings/custom-fields/")
    shot(page, "cf-settings-desktop")

    page.goto(f"{live_server.url}/people/new/")
    page.fill("#id_first_name", "Ada")
    page.fill("#id_last_name", "Lovelace")
    page.select_option("[name='custom.customer_tier']", "gold")
    page.fill("[name='custom.seats']", "0")  # below the minimum: refused beside the input
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state("networkidle")
    error = page.locator("[id='id_custom.seats_error']")
    assert "at least 1" in error.inner_text()
    shot(page, "cf-person-form-desktop")

    page.fill("[name='custom.seats']", "12")
    page.fill("[name='custom.renewal_date']", "2025-03-31")
    page.check("input[name='custom.interests'][value='golf']")
    page.fill("[name='custom.budget']", "1250 EUR")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state("networkidle")
    ada = Person.objects.get(first_name="Ada")
    assert ada.custom == {
        "customer_tier": "gold",
        "seats": 12,
        "renewal_date": "2025-03-31",
        "interests": ["golf"],
        "budget": {"amount": "1250.00", "currency": "EUR"},
    }
    assert "Gold" in page.locator(".cf-facts").inner_text()
    shot(page, "cf-person-page-desktop")

    page.goto(f"{live_server.url}/people/?sort=-custom.seats")
    assert "Customer tier" in page.locator("thead").inner_text()
    shot(page, "cf-people-list-desktop")

    # The same pages at 375 px: nothing wider than the screen.
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone = context.new_page()
    try:
        login(phone, live_server, owner.user.email, PASSWORD)
        for path, name in (
            ("/settings/custom-fields/", "cf-settings-phone"),
            ("/people/new/", "cf-person-form-phone"),
            (f"/people/{ada.pk}/", "cf-person-page-phone"),
            ("/settings/custom-fields/new/", "cf-field-form-phone"),
        ):
            phone.goto(f"{live_server.url}{path}")
            phone.wait_for_load_state("networkidle")
            assert_no_horizontal_scroll(phone)
            shot(phone, name)
    finally:
        context.close()
