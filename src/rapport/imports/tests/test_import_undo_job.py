"""Undoing an import runs in a worker (like the import): progress, one undo per import, and a
worker that dies mid-undo is resumed without reverting anything twice."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.contacts import services as contact_services
from rapport.contacts.models import Person
from rapport.core import jobs
from rapport.core.actors import Role
from rapport.imports import services
from rapport.imports.models import ImportedRecord, ImportJob, ImportUndo
from rapport.testing.clients import make_api_client
from rapport.testing.factories import actor_for
from rapport.testing.suites import assert_problem, count_queries

from .helpers import HUBSPOT_HEADER, csv_bytes, hubspot_rows

pytestmark = pytest.mark.django_db


def imported(api, run_jobs, rows: int = 6, existing: int = 0, start: int = 0) -> dict:
    """An import of ``rows`` people, ``existing`` of whom were there before (and updated)."""
    for i in range(existing):
        api.post("/contacts", {"email": f"ann{i}@example.com", "first_name": "Before"})
    data = csv_bytes([HUBSPOT_HEADER, *hubspot_rows(rows, start)])
    job = api.client.post(
        "/api/v1/imports",
        {"file": SimpleUploadedFile("people.csv", data), "object_type": "person"},
    ).json()
    run_jobs(api.post, f"/imports/{job['id']}/start", {"dry_run": False})
    done = api.get(f"/imports/{job['id']}").json()
    assert (done["created"], done["updated"]) == (rows - existing, existing)
    return done


def live(api) -> int:
    return Person.objects.filter(workspace=api.workspace, deleted_at__isnull=True).count()


def undo_entries(job_id: str, action: str) -> list[str]:
    entries = AuditEntry.objects.filter(action=action, source=f"undo:{job_id}")
    return list(entries.values_list("object_id", flat=True))


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after it runs, not even the job's failure handling."""


def test_undo_answers_202_and_runs_in_the_background_with_counts(api, run_jobs):
    job = imported(api, run_jobs, rows=6, existing=2)

    r = api.post(f"/imports/{job['id']}/undo")  # no worker yet
    assert r.status_code == 202, r.content
    assert r["Location"] == f"/api/v1/imports/{job['id']}"
    assert r.json()["undo"]["status"] == "queued" and r.json()["undo"]["total"] == 6
    assert r.json()["undone_at"] is None and live(api) == 6  # nothing undone in the request

    undo = ImportUndo.objects.get()
    run_jobs(services.import_undo_run, undo.pk)

    body = api.get(f"/imports/{job['id']}").json()
    assert body["undone_at"] and body["undo"] == body["undo"] | {
        "status": "succeeded",
        "total": 6,
        "processed": 6,
        "trashed": 4,
        "reverted": 2,
        "left_alone": 0,
        "error": "",
    }
    assert live(api) == 2
    assert sorted(Person.objects.filter(deleted_at__isnull=True).values_list("first_name")) == [
        ("Before",),
        ("Before",),
    ]
    entry = AuditEntry.objects.get(action="import.undone", object_id=job["id"])
    assert entry.changes["trashed"]["after"] == 4 and entry.changes["reverted"]["after"] == 2


def test_a_second_undo_is_refused_while_it_runs_and_once_it_is_done(api, run_jobs):
    job = imported(api, run_jobs)
    assert api.post(f"/imports/{job['id']}/undo").status_code == 202
    r = api.post(f"/imports/{job['id']}/undo")
    assert_problem(r, 422, "status")
    assert "already being undone" in r.json()["errors"][0]["message"]
    run_jobs(services.import_undo_run, ImportUndo.objects.get().pk)
    r = api.post(f"/imports/{job['id']}/undo")
    assert_problem(r, 422, "status")
    assert "already been undone" in r.json()["errors"][0]["message"]
    assert ImportUndo.objects.count() == 1
    # a redelivered message for the finished undo changes nothing
    assert services.import_undo_run(ImportUndo.objects.get().pk) is None
    assert len(undo_entries(job["id"], "contact.deleted")) == 6


def test_a_killed_worker_is_resumed_and_nothing_is_reverted_twice(
    api, run_jobs, monkeypatch, settings
):
    job = imported(api, run_jobs, rows=7, existing=3)
    monkeypatch.setattr(services, "UNDO_CHUNK", 2)
    real_chunk = services._undo_chunk
    calls = []

    def dies_in_the_third_chunk(actor, import_job, chunk):
        calls.append(chunk)
        done = real_chunk(actor, import_job, chunk)  # written, then killed before the commit
        if len(calls) == 3:
            raise WorkerKilled
        return done

    monkeypatch.setattr(services, "_undo_chunk", dies_in_the_third_chunk)
    api.post(f"/imports/{job['id']}/undo")
    undo = ImportUndo.objects.get()
    with pytest.raises(WorkerKilled):
        services.import_undo_run(undo.pk)
    undo.refresh_from_db()
    assert (undo.status, undo.processed) == ("running", 4)  # two chunks committed

    # A live heartbeat: a redelivered message leaves the job to its worker.
    assert services.import_undo_run(undo.pk) is None
    # The heartbeat goes stale; the beat task queues the job again and it continues.
    stale = timezone.now() - dt.timedelta(seconds=settings.JOB_STALL_SECONDS + 1)
    ImportUndo.objects.filter(pk=undo.pk).update(heartbeat_at=stale)
    run_jobs(jobs.resume_stalled)

    undo.refresh_from_db()
    assert (undo.status, undo.processed, undo.attempts) == ("succeeded", 7, 2)
    assert (undo.trashed_count, undo.reverted_count, undo.failed_count) == (4, 3, 0)
    deleted = undo_entries(job["id"], "contact.deleted")
    reverted = undo_entries(job["id"], "contact.updated")
    assert len(deleted) == len(set(deleted)) == 4  # every record exactly once
    assert len(reverted) == len(set(reverted)) == 3
    assert live(api) == 3


def test_a_failed_undo_can_be_continued_from_the_page(api, run_jobs, monkeypatch):
    job = imported(api, run_jobs, rows=5)
    monkeypatch.setattr(services, "UNDO_CHUNK", 2)
    real_chunk = services._undo_chunk

    def fails_once(actor, import_job, chunk):
        if not getattr(fails_once, "failed", False) and chunk[0][0] > min_pk + 1:
            fails_once.failed = True
            raise RuntimeError("database went away")
        return real_chunk(actor, import_job, chunk)

    from rapport.imports.models import ImportedRecord

    min_pk = ImportedRecord.objects.order_by("pk").values_list("pk", flat=True).first()
    monkeypatch.setattr(services, "_undo_chunk", fails_once)
    with pytest.raises(RuntimeError):
        run_jobs(api.post, f"/imports/{job['id']}/undo")
    undo = ImportUndo.objects.get()
    assert (undo.status, undo.processed) == ("failed", 2)
    assert "database went away" in undo.error

    browser = Client()
    browser.force_login(api.user)
    page = browser.get(f"/imports/{job['id']}/").content.decode()
    assert "Undo stopped" in page and "Continue the undo" in page and "database went away" in page

    with_worker = run_jobs(browser.post, f"/imports/{job['id']}/undo/")
    assert with_worker.status_code == 302
    undo.refresh_from_db()
    assert (undo.status, undo.processed, undo.trashed_count) == ("succeeded", 5, 5)
    assert len(undo_entries(job["id"], "contact.deleted")) == 5


def test_the_page_shows_the_undo_progress_and_polls_until_it_ends(browser, run_jobs):
    actor = actor_for(browser.membership)
    from rapport.imports.tests.helpers import upload

    job = services.import_upload(
        actor=actor,
        upload=upload(csv_bytes([HUBSPOT_HEADER, *hubspot_rows(4)])),
        object_type="person",
    )
    services.import_configure(actor=actor, job_id=job.pk, columns=job.mapping, match_on="email")
    run_jobs(services.import_start, actor=actor, job_id=job.pk)
    r = browser.post(f"/imports/{job.pk}/undo/", follow=True)
    assert b"Undoing the import" in r.content
    ImportUndo.objects.filter(import_job=job).update(status="running", processed=1)
    fragment = browser.get(
        f"/imports/{job.pk}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="import-progress"
    ).content.decode()
    assert "1 of 4 records" in fragment and 'value="25"' in fragment
    assert "hx-trigger" in fragment and "Undo this import" not in fragment
    assert ">undoing<" in browser.get("/imports/").content.decode()

    ImportUndo.objects.filter(import_job=job).update(status="queued")
    run_jobs(services.import_undo_run, ImportUndo.objects.get(import_job=job).pk)
    fragment = browser.get(
        f"/imports/{job.pk}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="import-progress"
    ).content.decode()
    assert "4 created records moved to the trash" in fragment and "hx-trigger" not in fragment


def test_records_deleted_since_are_left_alone_and_counted(api, run_jobs):
    job = imported(api, run_jobs, rows=3)
    gone = Person.objects.get(workspace=api.workspace, email="ann1@example.com")
    owner = actor_for(api.membership)
    contact_services.person_delete(actor=owner, person_id=gone.pk)
    run_jobs(api.post, f"/imports/{job['id']}/undo")
    undo = api.get(f"/imports/{job['id']}").json()["undo"]
    assert (undo["trashed"], undo["left_alone"], undo["status"]) == (2, 1, "succeeded")


def test_who_may_undo(api, run_jobs, other_api):
    job = imported(api, run_jobs, rows=2)
    reader = make_api_client(Role.READ_ONLY, workspace=api.workspace)
    assert_problem(reader.post(f"/imports/{job['id']}/undo"), 403)
    assert_problem(other_api.post(f"/imports/{job['id']}/undo"), 404)
    assert_problem(api.post("/imports/00000000-0000-0000-0000-000000000000/undo"), 404)
    assert_problem(api.post("/imports/not-an-id/undo"), 422)
    assert not ImportUndo.objects.exists()


def test_a_draft_or_dry_run_cannot_be_undone(api, run_jobs):
    data = csv_bytes([HUBSPOT_HEADER, *hubspot_rows(1)])
    job = api.client.post(
        "/api/v1/imports", {"file": SimpleUploadedFile("p.csv", data), "object_type": "person"}
    ).json()
    assert_problem(api.post(f"/imports/{job['id']}/undo"), 422, "status")
    run_jobs(api.post, f"/imports/{job['id']}/start", {"dry_run": True})
    assert_problem(api.post(f"/imports/{job['id']}/undo"), 422, "status")


def test_the_import_list_stays_constant_in_queries_with_undos(api, run_jobs):
    def listed():
        return api.get("/imports", {"limit": 50})

    first = imported(api, run_jobs, rows=1)
    run_jobs(api.post, f"/imports/{first['id']}/undo")
    few, _, _ = count_queries(listed)
    for n in range(1, 4):
        again = imported(api, run_jobs, rows=1, start=n)
        api.post(f"/imports/{again['id']}/undo")
    many, r, _ = count_queries(listed)
    assert len(r.json()["results"]) == 4 and few == many
    assert [j["undo"]["status"] for j in r.json()["results"]] == ["queued"] * 3 + ["succeeded"]


def test_a_record_created_then_updated_by_the_same_import_is_trashed_not_counted_twice(
    api, run_jobs
):
    job = imported(api, run_jobs, rows=6, existing=2)
    import_job = ImportJob.objects.get(pk=job["id"])
    made = import_job.records.filter(created=True).first()
    # A later row of the same file updated the record the import had just created.
    contact_services.person_update(
        actor=actor_for(api.membership),
        person_id=made.object_id,
        data={"title": "From a later row"},
        source=import_job.source,
    )
    ImportedRecord.objects.create(job=import_job, object_id=made.object_id, created=False)

    assert api.post(f"/imports/{job['id']}/undo").status_code == 202
    run_jobs(services.import_undo_run, ImportUndo.objects.get().pk)
    undo = api.get(f"/imports/{job['id']}").json()["undo"]
    assert (undo["trashed"], undo["reverted"], undo["left_alone"]) == (4, 2, 0)
    assert Person.objects.get(pk=made.object_id).deleted_at is not None
