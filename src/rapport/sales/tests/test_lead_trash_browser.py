"""In a real browser, desktop (1280 px) and phone (375 px): a new lead with the full form, its
deletion from its page and its restore from "Deleted leads"; the deal view editor's width."""

from __future__ import annotations

import pytest

from rapport.core.actors import Role
from rapport.customization.services import field_create, view_create
from rapport.testing.browser import assert_no_horizontal_scroll, login, screenshot
from rapport.testing.factories import PASSWORD, MembershipFactory, actor_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_lead_is_created_deleted_and_restored(page, phone_page, live_server):
    from playwright.sync_api import expect

    owner = MembershipFactory(role=Role.OWNER.value, user__full_name="Olivia Owner")
    actor = actor_for(owner)
    field_create(
        actor=actor,
        data={"object_type": "sales.lead", "key": "budget", "label": "Budget", "type": "number"},
    )
    login(phone_page, live_server, owner.user.email, PASSWORD)
    phone_page.goto(f"{live_server.url}/leads/new/")
    expect(phone_page.get_by_label("Budget")).to_be_visible()
    screenshot(phone_page, "lead-new-phone")
    assert_no_horizontal_scroll(phone_page)

    login(page, live_server, owner.user.email, PASSWORD)
    page.goto(f"{live_server.url}/leads/")
    page.get_by_role("button", name="New lead").click()
    page.get_by_label("First name").fill("Zoë")
    page.get_by_label("Last name").fill("Okonkwo-Lindqvist")
    page.get_by_label("Email").fill("zoe@northwind.example")
    page.get_by_label("Company").fill("Northwind Traders International")
    page.get_by_label("Country").select_option("DE")
    page.get_by_label("Owner").select_option(label="Olivia Owner")
    page.get_by_label("Tags").fill("vip, trade fair")
    page.get_by_label("Budget").fill("12000")
    screenshot(page, "lead-new-desktop")
    assert_no_horizontal_scroll(page)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("h1")).to_contain_text("Zoë Okonkwo-Lindqvist")
    lead_url = page.url

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page.locator(".messages")).to_contain_text("deleted leads")
    page.get_by_role("link", name="Deleted leads").first.click()
    row = page.locator("tr", has_text="Zoë Okonkwo-Lindqvist")
    expect(row).to_contain_text("Olivia Owner")
    screenshot(page, "lead-trash-desktop")
    assert_no_horizontal_scroll(page)

    phone_page.goto(f"{live_server.url}/leads/trash/")
    expect(phone_page.get_by_role("button", name="Restore Zoë Okonkwo-Lindqvist")).to_be_visible()
    screenshot(phone_page, "lead-trash-phone")
    assert_no_horizontal_scroll(phone_page)

    row.get_by_role("button", name="Restore Zoë Okonkwo-Lindqvist").click()
    expect(page.locator(".messages")).to_contain_text("Restored")
    expect(page.locator(".empty-state")).to_contain_text("No deleted leads")
    page.goto(lead_url)
    expect(page.locator("h1")).to_contain_text("Zoë")
    expect(page.get_by_role("button", name="Delete")).to_be_visible()
    screenshot(page, "lead-detail-delete-desktop")
    phone_page.goto(lead_url)
    expect(phone_page.get_by_role("button", name="Delete")).to_be_visible()
    screenshot(phone_page, "lead-detail-delete-phone")
    assert_no_horizontal_scroll(phone_page)


def test_the_deal_view_editor_fits_and_marks_deals(page, phone_page, live_server):
    from playwright.sync_api import expect

    owner = MembershipFactory(role=Role.OWNER.value)
    view = view_create(
        actor=actor_for(owner), data={"object_type": "sales.deal", "name": "Big deals"}
    )
    for p in (page, phone_page):
        login(p, live_server, owner.user.email, PASSWORD)
        p.goto(f"{live_server.url}/views/{view.pk}/edit/")
        expect(p.locator('nav a[aria-current="page"]').first).to_have_text("Deals")
        assert_no_horizontal_scroll(p)
    screenshot(page, "deal-view-editor-desktop")
    screenshot(phone_page, "deal-view-editor-phone")
