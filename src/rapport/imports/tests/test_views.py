"""The import pages: upload, map with preview, dry run, run with progress, report, undo."""

from __future__ import annotations

import re

import pytest

from rapport.contacts.models import Person
from rapport.core.actors import Role
from rapport.imports.models import ImportJob
from rapport.testing.clients import make_browser
from rapport.testing.suites import count_queries

from .helpers import HUBSPOT_HEADER, csv_bytes, hubspot_rows, upload

pytestmark = pytest.mark.django_db


def test_empty_import_page_explains_what_can_be_imported(browser):
    r = browser.get("/imports/")
    assert r.status_code == 200
    assert b"No imports yet" in r.content and b"HubSpot" in r.content


def test_upload_map_preview_and_run(browser, django_capture_on_commit_callbacks):
    rows = hubspot_rows(3)
    rows[1][2] = "broken"
    r = browser.post(
        "/imports/new/",
        {"object_type": "person", "file": upload(csv_bytes([HUBSPOT_HEADER, *rows]))},
    )
    assert r.status_code == 302
    map_url = r["Location"]
    page = browser.get(map_url)
    assert page.status_code == 200
    html = page.content.decode()
    assert re.search(r'<option value="email" selected>', html)

    form = {f"col-{i}": v for i, v in ImportJob.objects.get().mapping.items()}
    form |= {"mode": "upsert", "match_on": "email", "create_companies": "on"}
    preview = browser.post(map_url, {**form, "action": "preview"})
    assert preview.status_code == 200
    assert b"Not a valid email address" in preview.content
    assert Person.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        r = browser.post(map_url, {**form, "action": "run", "save_as": "HubSpot people"})
    assert r.status_code == 302
    detail = browser.get(r["Location"])
    assert b"Finished" in detail.content and b"Download the report" in detail.content
    assert Person.objects.filter(deleted_at__isnull=True).count() == 2
    fragment = browser.get(r["Location"], HTTP_HX_REQUEST="true", HTTP_HX_TARGET="import-progress")
    assert fragment.content.lstrip().startswith(b'<section id="import-progress"')
    assert b"hx-trigger" not in fragment.content  # finished: the page stops polling

    new_page = browser.get("/imports/new/")
    assert b"HubSpot people" in new_page.content  # the saved template is offered
    from rapport.audit.models import AuditEntry

    saved = AuditEntry.objects.get(action="import.mapping_saved")
    assert (
        saved.object_repr == "HubSpot people"
        and saved.changes["columns"]["after"]["Email"] == "email"
    )

    with django_capture_on_commit_callbacks(execute=True):
        undo = browser.post(r["Location"] + "undo/", follow=True)
    assert b"Undoing the import" in undo.content
    assert Person.objects.filter(deleted_at__isnull=True).count() == 0


def test_a_bad_file_is_explained_on_the_upload_page(browser):
    r = browser.post("/imports/new/", {"object_type": "person", "file": upload(b"")})
    assert r.status_code == 422 and b"The file is empty." in r.content
    r = browser.post("/imports/new/", {"object_type": "person"})
    assert r.status_code == 422 and b"Choose a file" in r.content


def test_read_only_members_see_imports_but_cannot_start_one(browser):
    reader, _ = make_browser(Role.READ_ONLY, workspace=browser.membership.workspace)
    assert reader.get("/imports/").status_code == 200
    assert b"New import" not in reader.get("/imports/").content
    assert reader.get("/imports/new/").status_code == 403


def test_another_workspaces_import_pages_are_404(browser):
    other, _ = make_browser(Role.OWNER)
    browser.post(
        "/imports/new/",
        {"object_type": "person", "file": upload(csv_bytes([HUBSPOT_HEADER, *hubspot_rows(1)]))},
    )
    job = ImportJob.objects.get()
    for path in ("", "map/", "report.csv"):
        assert other.get(f"/imports/{job.pk}/{path}").status_code == 404
    assert other.post(f"/imports/{job.pk}/undo/").status_code == 404


def test_import_list_query_count_is_constant(browser):
    def add():
        browser.post(
            "/imports/new/",
            {
                "object_type": "person",
                "file": upload(csv_bytes([HUBSPOT_HEADER, *hubspot_rows(1)])),
            },
        )

    add()
    few, _, _ = count_queries(lambda: browser.get("/imports/"))
    for _ in range(5):
        add()
    many, r, _ = count_queries(lambda: browser.get("/imports/"))
    assert r.content.count(b"/map/") + r.content.count(b'href="/imports/') >= 6
    assert few == many


def test_list_pages_offer_export_and_import(browser):
    r = browser.get("/people/?tag=vip")
    html = r.content.decode()
    assert "/exports/file/?type=person&amp;format=csv&amp;tag=vip" in html
    assert "/imports/new/?type=person" in html
