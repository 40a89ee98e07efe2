"""Importing leads in a real browser: from the Leads list through the wizard (headless Chromium)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from rapport.core.actors import Role
from rapport.sales.lead_models import Lead
from rapport.testing.browser import assert_no_horizontal_scroll, login, screenshot
from rapport.testing.factories import PASSWORD, MembershipFactory

from .helpers import csv_bytes
from .test_lead_import import HUBSPOT_LEADS, hubspot_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_import_leads_from_the_leads_list(page, phone_page, live_server, tmp_path):
    owner = MembershipFactory(role=Role.OWNER.value)
    rows = [hubspot_lead(i) for i in range(8)]
    rows[2] = hubspot_lead(2, **{"Email Address": "lea2-at-example.com"})
    rows[5] = hubspot_lead(5, **{"Lead Status": "Maybe later", "Company": "A" * 120})
    path = tmp_path / "hubspot-leads-export-with-a-rather-long-file-name.csv"
    path.write_bytes(csv_bytes([HUBSPOT_LEADS, *rows]))
    login(page, live_server, owner.user.email, PASSWORD)

    page.goto(f"{live_server.url}/leads/")
    screenshot(page, "lead-import-leads-list-desktop")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_label("Leads")).to_be_checked()
    screenshot(page, "lead-import-new-desktop")
    page.set_input_files("#import-file", str(path))
    page.get_by_role("button", name="Upload and map columns").click()
    page.wait_for_url(re.compile(r"/imports/[0-9a-f-]{36}/map/$"))
    expect(page.locator("select[name=col-7]")).to_have_value("status")
    expect(page.locator("select[name=match_on]")).to_have_value("email")
    expect(page.get_by_text("Create the companies")).to_have_count(0)

    page.get_by_role("button", name="Preview first rows").click()
    expect(page.get_by_text("Not a valid email address").first).to_be_visible()
    expect(page.get_by_text("Use one of").first).to_be_visible()
    screenshot(page, "lead-import-map-preview-desktop")
    map_url = page.url

    login(phone_page, live_server, owner.user.email, PASSWORD)
    for name, url in (
        ("leads-list", f"{live_server.url}/leads/"),
        ("new", f"{live_server.url}/imports/new/?type=lead"),
        ("map", map_url),
    ):
        phone_page.goto(url)
        assert_no_horizontal_scroll(phone_page)
        screenshot(phone_page, f"lead-import-{name}-phone")

    page.get_by_role("button", name="Import", exact=True).click()
    page.wait_for_url(re.compile(r"/imports/[0-9a-f-]{36}/$"))
    expect(page.get_by_text("Finished").first).to_be_visible()
    expect(page.get_by_role("button", name="See the leads")).to_be_visible()
    screenshot(page, "lead-import-finished-desktop")
    phone_page.goto(page.url)
    assert_no_horizontal_scroll(phone_page)
    screenshot(phone_page, "lead-import-finished-phone")
    assert Lead.objects.filter(workspace=owner.workspace).count() == 6

    page.get_by_role("button", name="See the leads").click()
    expect(page.get_by_text("lea0@example.com")).to_be_visible()
