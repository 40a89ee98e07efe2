"""Exports: what the list shows, neutralised cells, CSV/XLSX/vCard, background when large."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from rapport.audit.models import AuditEntry
from rapport.imports.exports import neutralise
from rapport.testing.suites import assert_problem

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+33 1 23", "'+33 1 23"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        ("", ""),
    ],
)
def test_formula_cells_are_neutralised(value, expected):
    assert neutralise(value) == expected


def _csv(response) -> list[list[str]]:
    raw = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(raw)))


def test_browser_csv_export_follows_the_list_filters_and_is_audited(
    browser, django_capture_on_commit_callbacks
):
    from rapport.testing.factories import PersonFactory, actor_for

    actor = actor_for(browser.membership)
    PersonFactory(
        actor=actor,
        first_name="=HYPERLINK(1)",
        last_name="Evil",
        email="e@example.com",
        tags=["vip"],
    )
    PersonFactory(actor=actor, first_name="Plain", email="p@example.com")
    r = browser.get("/exports/file/", {"type": "person", "format": "csv", "tag": "vip"})
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    assert "attachment" in r["Content-Disposition"]
    rows = _csv(r)
    assert rows[0][:3] == ["First name", "Last name", "Email"]
    assert len(rows) == 2 and rows[1][0] == "'=HYPERLINK(1)"
    entry = AuditEntry.objects.get(action="export.created")
    assert entry.changes["rows"]["after"] == 1 and entry.changes["filters"]["after"] == {
        "tag": "vip"
    }


def test_xlsx_and_vcard_exports(browser):
    from rapport.testing.factories import PersonFactory, actor_for

    actor = actor_for(browser.membership)
    PersonFactory(
        actor=actor,
        first_name="Ada",
        last_name="Lovelace",
        email="ada@example.com",
        phone="+44 20 7946 0958",
    )
    r = browser.get("/exports/file/", {"type": "person", "format": "xlsx"})
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(r.streaming_content)), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][0] == "First name" and rows[1][:3] == ("Ada", "Lovelace", "ada@example.com")
    r = browser.get("/exports/file/", {"type": "person", "format": "vcard"})
    text = b"".join(r.streaming_content).decode()
    import vobject

    card = next(vobject.readComponents(text))
    assert card.fn.value == "Ada Lovelace" and card.email.value == "ada@example.com"
    assert card.tel.value == "+442079460958"


def test_companies_cannot_be_exported_as_vcard(browser):
    r = browser.get("/exports/file/", {"type": "company", "format": "vcard"}, follow=True)
    assert b"vCard holds people only" in r.content


def test_a_large_export_runs_in_the_background_with_a_download_link(
    browser, settings, django_capture_on_commit_callbacks
):
    from rapport.testing.factories import PersonFactory, actor_for

    settings.EXPORT_INLINE_ROWS = 2
    actor = actor_for(browser.membership)
    for i in range(3):
        PersonFactory(actor=actor, first_name=f"P{i}", email=f"p{i}@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        r = browser.get("/exports/file/", {"type": "person", "format": "csv"})
    assert r.status_code == 302 and "/exports/" in r["Location"]
    page = browser.get(r["Location"])
    assert b"Download" in page.content
    job_id = r["Location"].rstrip("/").rsplit("/", 1)[1]
    download = browser.get(f"/exports/{job_id}/download/")
    rows = _csv_file(download)
    assert len(rows) == 4
    assert AuditEntry.objects.filter(action="export.created", object_id=job_id).exists()


def _csv_file(response) -> list[list[str]]:
    raw = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(raw)))


def test_api_export_job_and_isolation(api, other_api, django_capture_on_commit_callbacks):
    api.post("/contacts", {"first_name": "Ada", "email": "ada@example.com"})
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post("/exports", {"object_type": "person", "format": "csv"})
    assert r.status_code == 202, r.content
    export_id = r.json()["id"]
    body = api.get(f"/exports/{export_id}").json()
    assert body["status"] == "succeeded" and body["processed"] == 1
    assert body["download"] == f"/api/v1/exports/{export_id}/download"
    download = api.get(f"/exports/{export_id}/download")
    assert download.status_code == 200
    assert_problem(other_api.get(f"/exports/{export_id}"), 404)
    assert_problem(other_api.get(f"/exports/{export_id}/download"), 404)
    assert other_api.get("/exports").json()["results"] == []


def test_api_export_refuses_bad_filters_and_formats(api):
    assert_problem(
        api.post("/exports", {"object_type": "company", "format": "vcard"}), 422, "format"
    )
    r = api.post("/exports", {"object_type": "person", "filters": {"owner": "not-a-user"}})
    assert_problem(r, 422, "filters")


def test_export_list_query_count_is_constant(api, django_capture_on_commit_callbacks):
    from rapport.testing.suites import count_queries

    def export():
        with django_capture_on_commit_callbacks(execute=True):
            api.post("/exports", {"object_type": "company", "format": "csv"})

    export()
    few, _, _ = count_queries(lambda: api.get("/exports"))
    for _ in range(4):
        export()
    many, r, _ = count_queries(lambda: api.get("/exports"))
    assert len(r.json()["results"]) == 5 and few == many
