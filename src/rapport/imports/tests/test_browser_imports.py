"""Importing a file and exporting a list in a real browser (headless system Chromium)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from rapport.contacts.models import Person
from rapport.core.actors import Role
from rapport.testing.browser import assert_no_horizontal_scroll, login, screenshot
from rapport.testing.factories import PASSWORD, MembershipFactory

from .helpers import HUBSPOT_HEADER, csv_bytes, hubspot_rows

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_import_a_hubspot_export_then_export_the_list(page, phone_page, live_server, tmp_path):
    owner = MembershipFactory(role=Role.OWNER.value)
    rows = hubspot_rows(12)
    rows[3][2] = "ann3-at-example.com"
    path = tmp_path / "hubspot-contacts.csv"
    path.write_bytes(csv_bytes([HUBSPOT_HEADER, *rows]))
    login(page, live_server, owner.user.email, PASSWORD)

    page.goto(f"{live_server.url}/imports/")
    screenshot(page, "imports-empty-desktop")
    page.get_by_role("button", name="Import a file").click()
    page.set_input_files("#import-file", str(path))
    page.get_by_role("button", name="Upload and map columns").click()
    page.wait_for_url(re.compile(r"/imports/[0-9a-f-]{36}/map/$"))
    assert page.locator("select[name=col-2]").input_value() == "email"

    page.get_by_role("button", name="Preview first rows").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_text("Not a valid email address").first).to_be_visible()
    screenshot(page, "import-map-preview-desktop")
    map_url = page.url

    page.get_by_role("button", name="Import", exact=True).click()
    page.wait_for_url(re.compile(r"/imports/[0-9a-f-]{36}/$"))
    page.get_by_text("Finished").first.wait_for()
    expect(page.get_by_text("Download the report (CSV)")).to_be_visible()
    screenshot(page, "import-finished-desktop")
    assert Person.objects.filter(workspace=owner.workspace).count() == 11

    login(phone_page, live_server, owner.user.email, PASSWORD)
    phone_page.goto(map_url.replace("/map/", "/"))
    assert_no_horizontal_scroll(phone_page)
    screenshot(phone_page, "import-finished-phone")

    page.goto(f"{live_server.url}/people/")
    page.get_by_text("Export").first.click()
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    content = download.value.path().read_text(encoding="utf-8-sig")
    assert content.count("\n") == 12 and "ann0@example.com" in content
