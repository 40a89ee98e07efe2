"""Leads as an import target: mapping other CRMs' lead exports, the one write path
(``lead_create``/``lead_update`` with assignment rules), upsert by email, bad rows, dry run,
preview, undo, isolation, the wizard and the query cost of a batch."""

from __future__ import annotations

import csv
import io
import re

import pytest

from rapport.audit.models import AuditEntry
from rapport.contacts.batch import BatchRow
from rapport.core.actors import Role
from rapport.core.context import batch_scope
from rapport.imports import exports, lead_rows
from rapport.imports.models import ImportJob
from rapport.sales import lead_services
from rapport.sales.lead_models import Lead, LeadAssignmentRule
from rapport.tenancy.models import Team, TeamMember
from rapport.testing.clients import make_api_client
from rapport.testing.factories import MembershipFactory, UserFactory, actor_for
from rapport.testing.suites import assert_problem, count_queries

from .helpers import csv_bytes, upload

pytestmark = pytest.mark.django_db

HUBSPOT_LEADS = [
    "First Name",
    "Last Name",
    "Email Address",
    "Mobile Phone",
    "Company",
    "Job Title",
    "Lead Source",
    "Lead Status",
    "Country/Region",
    "Lead Owner",
    "Tags",
]


def hubspot_lead(i: int, **overrides: str) -> list[str]:
    row = {
        "First Name": f"Lea{i}",
        "Last Name": "Martin",
        "Email Address": f"lea{i}@example.com",
        "Mobile Phone": "+49 30 901820",
        "Company": f"Firm {i}",
        "Job Title": "Buyer",
        "Lead Source": "Trade show",
        "Lead Status": "IN_PROGRESS",
        "Country/Region": "Germany" if i % 2 else "France",
        "Lead Owner": "",
        "Tags": "fair;2026",
    } | overrides
    return [row[h] for h in HUBSPOT_LEADS]


def post_file(api, data: bytes, name: str = "leads.csv", object_type: str = "lead"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return api.client.post(
        "/api/v1/imports", {"file": SimpleUploadedFile(name, data), "object_type": object_type}
    )


def run(api, run_jobs, rows, header=HUBSPOT_LEADS, dry_run=False, **config) -> dict:
    job = post_file(api, csv_bytes([header, *rows])).json()
    if config:
        r = api.patch(f"/imports/{job['id']}", {"mapping": job["mapping"], **config})
        assert r.status_code == 200, r.content
    r = run_jobs(api.post, f"/imports/{job['id']}/start", {"dry_run": dry_run})
    assert r.status_code == 202, r.content
    return api.get(f"/imports/{job['id']}").json()


def owner_actor(api):
    return actor_for(api.membership)


def leads(api):
    return Lead.objects.filter(workspace=api.workspace, deleted_at__isnull=True)


def counts(job: dict) -> tuple[int, ...]:
    return tuple(job[k] for k in ("created", "updated", "unchanged", "skipped", "rejected"))


@pytest.fixture
def sales_team(api):
    """A rule for German leads (one rep) and a round-robin team for everyone else."""
    ws = api.workspace
    de_rep = MembershipFactory(workspace=ws, role=Role.MEMBER.value)
    team = Team.objects.create(workspace=ws, name="Inside sales")
    reps = [MembershipFactory(workspace=ws, role=Role.MEMBER.value) for _ in range(2)]
    for rep in reps:
        TeamMember.objects.create(workspace=ws, team=team, user=rep.user)
    LeadAssignmentRule.objects.create(workspace=ws, position=0, countries=["DE"], user=de_rep.user)
    LeadAssignmentRule.objects.create(workspace=ws, position=1, team=team)
    return de_rep.user_id, sorted(rep.user_id for rep in reps)


# --- mapping --------------------------------------------------------------------------------


def test_hubspot_lead_export_maps_itself_and_rules_assign_the_owners(api, run_jobs, sales_team):
    de_rep, team = sales_team
    job = post_file(api, csv_bytes([HUBSPOT_LEADS, *[hubspot_lead(i) for i in range(6)]])).json()
    assert job["object_type"] == "lead" and job["match_on"] == "email"
    assert job["mapping"] == {
        "0": "first_name",
        "1": "last_name",
        "2": "email",
        "3": "phone",
        "4": "company_name",
        "5": "title",
        "6": "source",
        "7": "status",
        "8": "country",
        "9": "owner",
        "10": "tags",
    }
    run_jobs(api.post, f"/imports/{job['id']}/start", {"dry_run": False})
    done = api.get(f"/imports/{job['id']}").json()
    assert done["status"] == "succeeded" and counts(done) == (6, 0, 0, 0, 0)

    imported = list(leads(api).order_by("first_name"))
    assert [lead.country for lead in imported] == ["FR", "DE"] * 3
    # German leads go to the country rule's rep, the others round robin through the team.
    assert {lead.owner_id for lead in imported if lead.country == "DE"} == {de_rep}
    assert [lead.owner_id for lead in imported if lead.country == "FR"] == [*team, team[0]]
    lea = imported[0]
    assert (lea.email, lea.phone, lea.status, lea.source, lea.company_name) == (
        "lea0@example.com",
        "+4930901820",
        "working",
        "Trade show",
        "Firm 0",
    )
    assert sorted(t.name for t in lea.tags.all()) == ["2026", "fair"]
    entry = AuditEntry.objects.get(action="lead.created", object_id=str(lea.pk))
    assert entry.source == f"import:{job['id']}"  # written by lead_create, named after the import


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (  # Salesforce lead report
            ["Lead ID", "First Name", "Last Name", "Title", "Company", "Email", "Phone",
             "Lead Source", "Lead Status", "Lead Owner", "Country"],
            {"first_name", "last_name", "title", "company_name", "email", "phone", "source",
             "status", "owner", "country"},
        ),
        (  # Zoho CRM leads
            ["Record Id", "Full Name", "Designation", "Company", "Email", "Mobile",
             "Lead Source", "Lead Status", "Lead Owner", "Tag"],
            {"full_name", "title", "company_name", "email", "phone", "source", "status",
             "owner", "tags"},
        ),
        (  # Pipedrive leads
            ["Person - Name", "Person - Email", "Person - Phone", "Organization - Name",
             "Lead - Source", "Lead - Owner", "Lead - Labels"],
            {"full_name", "email", "phone", "company_name", "source", "owner", "tags"},
        ),
    ],
)  # fmt: skip
def test_other_crms_lead_exports_are_recognised(api, header, expected):
    job = post_file(api, csv_bytes([header, ["x"] * len(header)])).json()
    assert set(job["mapping"].values()) == expected


def test_lead_targets_are_offered_and_contact_only_fields_are_refused(api):
    job = post_file(api, csv_bytes([HUBSPOT_LEADS, hubspot_lead(0)])).json()
    keys = [t["key"] for t in api.get(f"/imports/{job['id']}/targets").json()]
    assert {"status", "country", "company_name", "owner"} <= set(keys)
    assert "lifecycle_stage" not in keys and "address.city" not in keys
    r = api.patch(f"/imports/{job['id']}", {"mapping": {"0": "lifecycle_stage"}})
    assert_problem(r, 422, "mapping.0")
    r = api.patch(f"/imports/{job['id']}", {"mapping": {"5": "title"}, "mode": "create"})
    assert_problem(r, 422, "mapping")  # a new lead needs a name, an email or a company
    r = api.patch(f"/imports/{job['id']}", {"mapping": job["mapping"], "match_on": "domain"})
    assert_problem(r, 422, "match_on")


# --- upsert and modes -----------------------------------------------------------------------


def test_upsert_updates_by_email_without_duplicating(api, run_jobs):
    actor = owner_actor(api)
    kept = lead_services.lead_create(
        actor=actor, data={"email": "LEA1@example.com", "first_name": "Old", "title": "Intern"}
    )
    first = run(api, run_jobs, [hubspot_lead(i) for i in range(3)])
    assert counts(first) == (2, 1, 0, 0, 0)
    assert leads(api).count() == 3
    kept.refresh_from_db()
    assert (kept.first_name, kept.title, kept.version) == ("Lea1", "Buyer", 2)
    assert kept.owner_id == actor.user_id  # an update never re-routes the owner

    again = run(api, run_jobs, [hubspot_lead(i) for i in range(3)])
    assert counts(again) == (0, 0, 3, 0, 0) and leads(api).count() == 3


def test_create_only_and_update_only_skip_with_a_reason(api, run_jobs):
    lead_services.lead_create(actor=owner_actor(api), data={"email": "lea0@example.com"})
    created = run(
        api, run_jobs, [hubspot_lead(0), hubspot_lead(1)], mode="create", match_on="email"
    )
    assert counts(created) == (1, 0, 0, 1, 0)
    updated = run(
        api, run_jobs, [hubspot_lead(0), hubspot_lead(2)], mode="update", match_on="email"
    )
    assert counts(updated) == (0, 1, 0, 1, 0)
    issues = api.get(f"/imports/{updated['id']}/issues").json()["results"]
    assert [(i["line"], i["outcome"]) for i in issues] == [(3, "skipped")]
    assert "No existing lead" in issues[0]["message"]
    assert leads(api).count() == 2


def test_always_create_when_matching_on_nothing(api, run_jobs):
    rows = [hubspot_lead(0), hubspot_lead(0)]
    done = run(api, run_jobs, rows, mode="create", match_on="")
    assert counts(done) == (2, 0, 0, 0, 0)


# --- bad rows -------------------------------------------------------------------------------


def test_bad_rows_are_rejected_with_their_line_and_the_good_ones_kept(api, run_jobs):
    formula = "=cmd|' /C calc'!A0"
    rows = [
        hubspot_lead(0),  # line 2
        hubspot_lead(1, **{"First Name": "", "Last Name": "", "Email Address": "", "Company": ""}),
        hubspot_lead(2, **{"Email Address": "not-an-email", "Job Title": "=1+2"}),
        hubspot_lead(3, **{"Lead Status": "Maybe later"}),
        hubspot_lead(4, **{"First Name": "<script>alert(1)</script>"}),
        hubspot_lead(5, **{"First Name": formula, "Company": "+SUM(A1)"}),
        hubspot_lead(6, **{"First Name": "Zoë", "Last Name": "Ångström 王", "Company": "Café"}),
        hubspot_lead(7, **{"Lead Status": "Junk Lead"}),
        hubspot_lead(8, **{"Lead Owner": "nobody@example.com"}),
        hubspot_lead(9, **{"Email Address": "lea0@example.com"}),  # same email as line 2
        hubspot_lead(10, **{"Job Title": "x" * 5000}),
    ]
    done = run(api, run_jobs, rows)
    assert counts(done) == (5, 0, 0, 0, 6)
    issues = api.get(f"/imports/{done['id']}/issues").json()["results"]
    by_line = {i["line"]: i for i in issues}
    assert sorted(by_line) == [3, 4, 5, 10, 11, 12]
    assert by_line[3]["errors"][0]["field"] == "email"  # no name, email or company
    assert by_line[4]["errors"][0] == {
        "field": "email",
        "column": "Email Address",
        "message": by_line[4]["errors"][0]["message"],
    }
    assert by_line[5]["errors"][0]["column"] == "Lead Status"
    assert by_line[10]["errors"][0]["column"] == "Lead Owner"
    assert "line 2" in by_line[11]["message"]
    assert by_line[12]["errors"][0]["column"] == "Job Title"

    names = {lead.first_name: lead for lead in leads(api)}
    assert "<script>alert(1)</script>" in names  # data, stored as written
    assert names[formula].company_name == "+SUM(A1)"  # formulas stay text in the database
    assert names["Zoë"].last_name == "Ångström 王" and names["Zoë"].company_name == "Café"
    junk = names["Lea7"]
    assert (junk.status, junk.disqualified_reason) == ("disqualified", "Junk Lead")

    # The report neutralises formulas (a spreadsheet must not run them).
    report = api.client.get(f"/api/v1/imports/{done['id']}/report.csv")
    lines = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode("utf-8-sig"))))
    assert lines[0][:3] == ["Line", "Outcome", "Reason"]
    line4 = next(row for row in lines if row[0] == "4")
    assert "'=1+2" in line4


def test_a_disqualified_status_needs_a_reason_unless_the_file_gives_one(api, run_jobs):
    header = ["Email", "Lead Status", "Disqualified reason"]
    done = run(
        api,
        run_jobs,
        [["a@example.com", "Disqualified", ""], ["b@example.com", "Unqualified", "Too small"]],
        header=header,
    )
    assert counts(done) == (1, 0, 0, 0, 1)
    assert leads(api).get().disqualified_reason == "Too small"


# --- preview, dry run, undo -------------------------------------------------------------------


def test_preview_and_dry_run_write_nothing(api, run_jobs, sales_team):
    rows = [hubspot_lead(0), hubspot_lead(1, **{"Email Address": "nope"})]
    job = post_file(api, csv_bytes([HUBSPOT_LEADS, *rows])).json()
    preview = api.get(f"/imports/{job['id']}/preview").json()
    assert [row["status"] for row in preview] == ["created", "rejected"]
    assert list(preview[1]["cell_errors"]) == ["2"]  # the email column
    dry = run_jobs(api.post, f"/imports/{job['id']}/start", {"dry_run": True})
    assert dry.status_code == 202
    done = api.get(f"/imports/{job['id']}").json()
    assert done["dry_run"] and counts(done) == (1, 0, 0, 0, 1)
    assert leads(api).count() == 0
    assert not LeadAssignmentRule.objects.filter(last_index__gte=0).exists()  # turns rolled back
    run_jobs(api.post, f"/imports/{job['id']}/start", {"dry_run": False})
    assert leads(api).count() == 1


def test_undo_trashes_created_leads_and_puts_back_updated_ones(api, run_jobs):
    before = lead_services.lead_create(
        actor=owner_actor(api),
        data={"email": "lea0@example.com", "first_name": "Before", "status": "nurturing"},
    )
    done = run(api, run_jobs, [hubspot_lead(i) for i in range(3)])
    assert counts(done) == (2, 1, 0, 0, 0)
    r = run_jobs(api.post, f"/imports/{done['id']}/undo")
    assert r.status_code == 202 and api.get(f"/imports/{done['id']}").json()["undone_at"]
    assert list(leads(api)) == [before]
    before.refresh_from_db()
    assert (before.first_name, before.status, before.title) == ("Before", "nurturing", "")
    assert before.tags.count() == 0
    trashed = Lead.objects.filter(workspace=api.workspace, deleted_at__isnull=False)
    assert trashed.count() == 2
    assert (
        AuditEntry.objects.filter(action="lead.deleted", source=f"undo:{done['id']}").count() == 2
    )
    assert api.get("/leads").json()["results"][0]["id"] == str(before.pk)
    assert_problem(api.post(f"/imports/{done['id']}/undo"), 422, "status")


# --- access -----------------------------------------------------------------------------------


def test_another_workspaces_lead_import_is_404_and_read_only_is_403(api, other_api, run_jobs):
    job = post_file(api, csv_bytes([HUBSPOT_LEADS, hubspot_lead(0)])).json()
    for path in (f"/imports/{job['id']}", f"/imports/{job['id']}/preview"):
        assert_problem(other_api.get(path), 404)
    for path in (f"/imports/{job['id']}/start", f"/imports/{job['id']}/undo"):
        assert_problem(other_api.post(path, {}), 404)
    assert_problem(other_api.patch(f"/imports/{job['id']}", {"mapping": {"0": "email"}}), 404)
    reader = make_api_client(Role.READ_ONLY, workspace=api.workspace)
    assert_problem(post_file(reader, csv_bytes([HUBSPOT_LEADS, hubspot_lead(0)])), 403)
    assert not Lead.objects.exists()


def test_an_owner_column_names_members_only(api, run_jobs):
    rep = MembershipFactory(
        workspace=api.workspace, user=UserFactory(full_name="Rita Rep"), role="member"
    )
    stranger = MembershipFactory(user=UserFactory(full_name="Sam Stranger"))  # elsewhere
    rows = [
        hubspot_lead(0, **{"Lead Owner": rep.user.email.upper()}),
        hubspot_lead(1, **{"Lead Owner": "rita  rep"}),  # Salesforce and Zoho export names
        hubspot_lead(2, **{"Lead Owner": stranger.user.email}),
        hubspot_lead(3, **{"Lead Owner": "Sam Stranger"}),
    ]
    done = run(api, run_jobs, rows)
    assert counts(done) == (2, 0, 0, 0, 2)
    assert set(leads(api).values_list("owner_id", flat=True)) == {rep.user_id}


def test_exports_and_bulk_changes_do_not_take_leads(api):
    from rapport.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        exports.check_format("lead", "csv")
    r = api.post("/bulk", {"object_type": "lead", "action": "delete", "ids": []})
    assert r.status_code == 422


# --- query cost -------------------------------------------------------------------------------


def test_a_batch_costs_what_lead_create_costs_per_row_and_nothing_more(api, sales_team):
    """Each row is one ``lead_create`` (DESIGN's one write path; leads have no bulk writer),
    so a batch grows by exactly a single create's queries per row: the match look-up, the
    member and email checks are asked once per batch."""
    actor = owner_actor(api)

    def batch(n: int, offset: int) -> int:
        rows = [
            BatchRow(
                i + 2,
                {"email": f"q{offset + i}@example.com", "country": "FR", "tags": ["t"]},
            )
            for i in range(n)
        ]
        queries, results, _ = count_queries(
            lambda: lead_rows.write_batch(actor=actor, rows=rows, match_on="email")
        )
        assert {r.status for r in results} == {"created"}
        return queries

    def single(email: str) -> int:
        data = {"email": email, "country": "FR", "tags": ["t"]}
        with batch_scope():
            lead_services.lead_create(actor=actor, data={**data, "email": "warm@example.com"})
            queries, _, _ = count_queries(lambda: lead_services.lead_create(actor=actor, data=data))
        return queries

    batch(1, 1000)  # creates the tag, which later batches only look up
    per_row = single("single@example.com")
    small, large = batch(2, 0), batch(12, 100)
    assert large - small == 10 * per_row
    overhead = small - 2 * per_row
    assert overhead == batch(22, 200) - 22 * per_row  # the batch's own look-ups: constant


# --- the wizard and the leads list --------------------------------------------------------------


def test_the_wizard_offers_leads_and_the_leads_list_links_to_it(
    browser, django_capture_on_commit_callbacks
):
    page = browser.get("/imports/new/?type=lead").content.decode()
    assert re.search(r'value="lead"\s+checked', page) and "Leads" in page
    leads_page = browser.get("/leads/").content.decode()
    assert 'href="/imports/new/?type=lead"' in leads_page

    data = csv_bytes([HUBSPOT_LEADS, hubspot_lead(0), hubspot_lead(1, **{"Lead Status": "?"})])
    r = browser.post("/imports/new/", {"object_type": "lead", "file": upload(data, "leads.csv")})
    assert r.status_code == 302, r.content
    map_url = r["Location"]
    html = browser.get(map_url).content.decode()
    assert '<option value="status" selected>' in html
    assert "create_companies" not in html  # a people-only option

    job = ImportJob.objects.get()
    form = {f"col-{i}": v for i, v in job.mapping.items()} | {"mode": "upsert", "match_on": "email"}
    preview = browser.post(map_url, {**form, "action": "preview"})
    assert preview.status_code == 200 and b"Use one of" in preview.content
    with django_capture_on_commit_callbacks(execute=True):
        r = browser.post(map_url, {**form, "action": "run"})
    detail = browser.get(r["Location"]).content.decode()
    assert "Finished" in detail and 'href="/leads/"' in detail
    assert Lead.objects.filter(workspace=job.workspace).count() == 1


def test_read_only_members_get_no_import_link_on_the_leads_list(api):
    from rapport.testing.clients import make_browser

    reader, _ = make_browser(Role.READ_ONLY)
    assert b"/imports/new/?type=lead" not in reader.get("/leads/").content


def test_a_members_unrouted_leads_are_theirs_as_when_typed_in(api, run_jobs):
    member = make_api_client(Role.MEMBER, workspace=api.workspace)
    done = run(member, run_jobs, [hubspot_lead(0)])
    assert counts(done) == (1, 0, 0, 0, 0)
    assert leads(api).get().owner_id == member.user.pk
