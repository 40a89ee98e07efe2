"""Imports through the API: upload, mapping, preview, dry run, run, report, undo."""

from __future__ import annotations

import csv
import io

import pytest

from rapport.audit.models import AuditEntry
from rapport.contacts.models import Company, Person
from rapport.core.actors import Role
from rapport.imports.models import ImportJob
from rapport.testing.clients import make_api_client
from rapport.testing.suites import assert_problem, count_queries

from .helpers import HUBSPOT_HEADER, csv_bytes, hubspot_rows

pytestmark = pytest.mark.django_db


def post_file(api, data: bytes, name: str = "people.csv", object_type: str = "person", **extra):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return api.client.post(
        "/api/v1/imports",
        {"file": SimpleUploadedFile(name, data), "object_type": object_type, **extra},
    )


def start(api, job_id, run_jobs, dry_run=False):
    return run_jobs(api.post, f"/imports/{job_id}/start", {"dry_run": dry_run})


def test_upload_guesses_a_hubspot_mapping_and_matches_on_email(api):
    r = post_file(api, csv_bytes([HUBSPOT_HEADER, *hubspot_rows(3)]))
    assert r.status_code == 201, r.content
    body = r.json()
    assert r["Location"] == f"/api/v1/imports/{body['id']}"
    assert body["status"] == "draft" and body["file_format"] == "csv"
    assert body["headers"] == HUBSPOT_HEADER and len(body["sample"]) == 3
    assert body["mapping"] == {
        "0": "first_name",
        "1": "last_name",
        "2": "email",
        "3": "phone",
        "4": "company_name",
        "5": "title",
        "6": "lifecycle_stage",
        "7": "address.city",
        "8": "address.country",
        "9": "external_id",
    }
    assert body["match_on"] == "email"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["First Name", "Last Name", "Email", "Account Name", "Mailing City"], "salesforce"),
        (["Given Name", "Family Name", "E-mail 1 - Value", "Phone 1 - Value"], "google"),
        (["Person - Name", "Person - Email", "Person - Organization"], "pipedrive"),
        (["First Name", "Last Name", "Email", "Mailing Zip", "Contact Owner"], "zoho"),
    ],
)
def test_other_crms_headers_are_recognised(api, header, expected):
    r = post_file(api, csv_bytes([header, ["x"] * len(header)]))
    mapped = set(r.json()["mapping"].values())
    assert {"email"} <= mapped or "full_name" in mapped, (expected, mapped)
    assert len(mapped) == len(header), (expected, r.json()["mapping"])


def test_whole_flow_preview_dry_run_run_report_and_undo(api, run_jobs):
    rows = hubspot_rows(6)
    rows[2][2] = "not-an-email"
    rows[4][8] = "Atlantis"
    job = post_file(api, csv_bytes([HUBSPOT_HEADER, *rows])).json()

    preview = api.get(f"/imports/{job['id']}/preview")
    assert preview.status_code == 200, preview.content
    lines = {row["line"]: row for row in preview.json()}
    assert lines[4]["status"] == "rejected" and "2" in lines[4]["cell_errors"]
    assert lines[6]["status"] == "rejected" and "8" in lines[6]["cell_errors"]
    assert Person.objects.filter(workspace=api.workspace).count() == 0  # preview writes nothing

    r = start(api, job["id"], run_jobs, dry_run=True)
    assert r.status_code == 202, r.content
    dry = api.get(f"/imports/{job['id']}").json()
    assert dry["status"] == "succeeded" and dry["dry_run"] is True
    assert (dry["created"], dry["rejected"]) == (4, 2)
    assert Person.objects.filter(workspace=api.workspace).count() == 0
    assert Company.objects.filter(workspace=api.workspace).count() == 0

    r = start(api, job["id"], run_jobs)
    done = api.get(f"/imports/{job['id']}").json()
    assert (done["status"], done["dry_run"], done["created"], done["rejected"]) == (
        "succeeded",
        False,
        4,
        2,
    )
    people = Person.objects.filter(workspace=api.workspace)
    assert people.count() == 4
    assert {p.company.name for p in people} == {"Acme Corp", "Initech"}
    assert all(p.country == "FR" and p.lifecycle_stage == "customer" for p in people)
    created = AuditEntry.objects.filter(action="contact.created", source=f"import:{job['id']}")
    assert created.count() == 4

    issues = api.get(f"/imports/{job['id']}/issues").json()["results"]
    assert [(i["line"], i["errors"][0]["column"]) for i in issues] == [
        (4, "Email"),
        (6, "Country/Region"),
    ]
    report = api.get(f"/imports/{job['id']}/report.csv")
    assert report.status_code == 200
    table = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode("utf-8-sig"))))
    assert table[0][:3] == ["Line", "Outcome", "Reason"] and [r[0] for r in table[1:]] == ["4", "6"]

    undone = run_jobs(api.post, f"/imports/{job['id']}/undo")
    assert undone.status_code == 202 and undone.json()["undo"]["status"] == "queued"
    assert api.get(f"/imports/{job['id']}").json()["undone_at"]
    in_trash = Person.objects.filter(workspace=api.workspace, deleted_at__isnull=False)
    assert in_trash.count() == 4  # restorable from the trash
    assert api.get("/contacts").json()["results"] == []
    assert_problem(api.post(f"/imports/{job['id']}/undo"), 422, "status")


def test_undo_puts_back_the_fields_an_upsert_changed(api, run_jobs):
    api.post("/contacts", {"email": "ann0@example.com", "first_name": "Before", "title": "Intern"})
    job = post_file(api, csv_bytes([HUBSPOT_HEADER, *hubspot_rows(1)])).json()
    start(api, job["id"], run_jobs)
    person = Person.objects.get(workspace=api.workspace, email="ann0@example.com")
    assert (person.first_name, person.title) == ("Ann0", "CEO")
    run_jobs(api.post, f"/imports/{job['id']}/undo")
    person.refresh_from_db()
    assert (person.first_name, person.title) == ("Before", "Intern")


def test_mapping_errors_are_422_naming_the_column(api):
    job = post_file(api, csv_bytes([HUBSPOT_HEADER, *hubspot_rows(1)])).json()
    r = api.patch(
        f"/imports/{job['id']}",
        {"mapping": {"0": "email", "2": "email", "99": "city", "3": "shoe_size"}},
    )
    assert_problem(r, 422, "mapping.2", "mapping.99", "mapping.3")
    r = api.patch(f"/imports/{job['id']}", {"mapping": {"5": "title"}, "match_on": "email"})
    assert_problem(r, 422, "match_on")


def test_create_only_skips_existing_people(api, run_jobs):
    api.post("/contacts", {"email": "ann0@example.com", "first_name": "Kept"})
    job = post_file(api, csv_bytes([HUBSPOT_HEADER, *hubspot_rows(2)])).json()
    r = api.patch(
        f"/imports/{job['id']}", {"mapping": job["mapping"], "mode": "create", "match_on": "email"}
    )
    assert r.status_code == 200, r.content
    start(api, job["id"], run_jobs)
    done = api.get(f"/imports/{job['id']}").json()
    assert (done["created"], done["skipped"]) == (1, 1)
    assert (
        Person.objects.get(workspace=api.workspace, email="ann0@example.com").first_name == "Kept"
    )


def test_companies_import_and_upsert_by_domain(api, run_jobs):
    data = csv_bytes(
        [
            ["Company name", "Company Domain Name", "Industry", "Number of Employees"],
            ["Acme", "https://acme.example", "Software", "1,200"],
            ["Globex", "globex.example", "Energy", "lots"],
        ]
    )
    job = post_file(api, data, name="companies.csv", object_type="company").json()
    assert job["match_on"] == "domain"
    start(api, job["id"], run_jobs)
    done = api.get(f"/imports/{job['id']}").json()
    assert (done["created"], done["rejected"]) == (1, 1)
    acme = Company.objects.get(workspace=api.workspace)
    assert (acme.domain, acme.employees) == ("acme.example", 1200)


def test_read_only_members_cannot_import(api):
    reader = make_api_client(Role.READ_ONLY, workspace=api.workspace)
    r = post_file(reader, csv_bytes([HUBSPOT_HEADER, *hubspot_rows(1)]))
    assert_problem(r, 403)


def test_another_workspaces_import_is_404_everywhere(api, other_api):
    job = post_file(api, csv_bytes([HUBSPOT_HEADER, *hubspot_rows(1)])).json()
    for method, path in [
        ("get", f"/imports/{job['id']}"),
        ("get", f"/imports/{job['id']}/preview"),
        ("get", f"/imports/{job['id']}/issues"),
        ("get", f"/imports/{job['id']}/report.csv"),
        ("post", f"/imports/{job['id']}/start"),
        ("post", f"/imports/{job['id']}/undo"),
    ]:
        r = getattr(other_api, method)(path) if method == "get" else other_api.post(path, {})
        assert_problem(r, 404)
    r = other_api.patch(f"/imports/{job['id']}", {"mapping": {"0": "email"}})
    assert_problem(r, 404)
    assert other_api.get("/imports").json()["results"] == []


def test_import_list_query_count_is_constant(api):
    def listed():
        return api.get("/imports", {"limit": 50})

    post_file(api, csv_bytes([HUBSPOT_HEADER, *hubspot_rows(1)]))
    few, _, _ = count_queries(listed)
    for _ in range(4):
        post_file(api, csv_bytes([HUBSPOT_HEADER, *hubspot_rows(1)]))
    many, r, _ = count_queries(listed)
    assert len(r.json()["results"]) == 5 and few == many


def test_a_rejected_row_never_stops_the_others_and_script_tags_are_data(api, run_jobs):
    rows = [
        ["First Name", "Email", "Tags"],
        ["<script>alert(1)</script>", "x1@example.com", "a;b"],
        ["Bad", "@@@", ""],
        ['=HYPERLINK("http://evil")', "x3@example.com", ""],
    ]
    job = post_file(api, csv_bytes(rows)).json()
    start(api, job["id"], run_jobs)
    done = api.get(f"/imports/{job['id']}").json()
    assert (done["created"], done["rejected"]) == (2, 1)
    names = set(Person.objects.filter(workspace=api.workspace).values_list("first_name", flat=True))
    assert "<script>alert(1)</script>" in names


def test_upload_over_the_api_body_limit_is_allowed_for_imports(api, settings):
    settings.API_MAX_BODY_BYTES = 100
    r = post_file(api, csv_bytes([HUBSPOT_HEADER, *hubspot_rows(20)]))
    assert r.status_code == 201, r.content
    assert ImportJob.objects.filter(workspace=api.workspace).count() == 1


def test_an_import_flags_the_duplicates_it_brought(api, run_jobs):
    api.post("/contacts", {"first_name": "Ann", "last_name": "Smith", "phone": "+1 202 555 0199"})
    job = post_file(api, csv_bytes([HUBSPOT_HEADER, *hubspot_rows(1)])).json()
    start(api, job["id"], run_jobs)
    pairs = api.get("/duplicates", {"type": "person"}).json()["results"]
    assert len(pairs) == 1 and "phone" in " ".join(pairs[0]["reasons"])


def test_custom_fields_are_import_targets_and_export_columns(api, run_jobs):
    for payload in (
        {"key": "tier", "label": "Customer tier", "type": "select",
         "options": [{"value": "gold", "label": "Gold"}, {"value": "silver", "label": "Silver"}]},
        {"key": "seats", "label": "Seats", "type": "number"},
    ):  # fmt: skip
        r = api.post("/custom-fields", {"object_type": "contacts.person", **payload})
        assert r.status_code == 201, r.content
    data = csv_bytes(
        [
            ["Email", "Customer tier", "Seats"],
            ["a@example.com", "gold", "12"],
            ["b@example.com", "platinum", "x"],
        ]
    )
    job = post_file(api, data).json()
    assert job["mapping"] == {"0": "email", "1": "custom.tier", "2": "custom.seats"}
    start(api, job["id"], run_jobs)
    done = api.get(f"/imports/{job['id']}").json()
    assert (done["created"], done["rejected"]) == (1, 1)
    issue = api.get(f"/imports/{job['id']}/issues").json()["results"][0]
    assert {e["column"] for e in issue["errors"]} == {"Customer tier", "Seats"}
    assert Person.objects.get(email="a@example.com").custom == {"tier": "gold", "seats": 12}
    r = run_jobs(api.post, "/exports", {"object_type": "person", "format": "csv"})
    download = api.get(f"/exports/{r.json()['id']}/download")
    table = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    row = dict(zip(table[0], table[1], strict=True))
    assert row["Customer tier"] in ("gold", "Gold") and row["Seats"] == "12"
