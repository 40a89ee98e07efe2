"""Undoing a bulk change: another bulk job that puts back what the first one did, record by
record, audited, resumable, through the service, the API and the page."""

from __future__ import annotations

import pytest

from rapport.audit.models import AuditEntry
from rapport.contacts import services as contact_services
from rapport.contacts.models import Person
from rapport.core.actors import Role
from rapport.core.errors import NotFound, PermissionDenied, ValidationFailed
from rapport.core.models import JobStatus
from rapport.imports import bulk
from rapport.imports.models import BulkJob, BulkRecord
from rapport.testing.clients import make_browser
from rapport.testing.factories import MembershipFactory, PersonFactory, actor_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(actor):
    return [
        PersonFactory(
            actor=actor,
            first_name=f"P{i}",
            email=f"p{i}@example.com",
            title="Engineer",
            tags=["old"],
        )
        for i in range(5)
    ]


def _field(name):
    return dict(Person.objects.values_list("email", name))


def test_undo_puts_back_the_fields_a_change_set_and_keeps_later_edits(
    actor, people, run_jobs, monkeypatch
):
    monkeypatch.setattr(bulk, "CHUNK", 2)  # several chunks, each checkpointed
    untouched = PersonFactory(actor=actor, email="else@example.com", lifecycle_stage="lead")
    job = run_jobs(
        bulk.bulk_start,
        actor=actor,
        object_type="person",
        action="update",
        filters={"tag": "old"},
        data={"lifecycle_stage": "customer", "title": "Buyer"},
    )
    assert BulkRecord.objects.filter(job=job).count() == 5
    # Someone edits a field the change did not touch, and one the change set.
    contact_services.person_update(actor=actor, person_id=people[0].pk, data={"source": "Fair"})
    contact_services.person_update(actor=actor, person_id=people[1].pk, data={"title": "CTO"})

    undo = run_jobs(bulk.bulk_undo, actor=actor, job_id=job.pk)

    undo.refresh_from_db()
    assert (undo.action, undo.undoes_id, undo.status) == ("undo", job.pk, JobStatus.SUCCEEDED)
    assert (undo.total, undo.processed, undo.changed_count, undo.failed_count) == (5, 5, 5, 0)
    stages, titles = _field("lifecycle_stage"), _field("title")
    assert {stages[p.email] for p in people} == {"lead"}
    assert {titles[p.email] for p in people} == {"Engineer"}  # the CTO edit came after: undone
    assert Person.objects.get(pk=people[0].pk).source == "Fair"  # a field it never set: kept
    assert Person.objects.get(pk=untouched.pk).lifecycle_stage == "lead"
    entries = AuditEntry.objects.filter(action="contact.updated", source=f"bulk:{undo.pk}")
    assert entries.count() == 5  # audited per record


def test_undo_of_tags(actor, people, run_jobs):
    job = run_jobs(
        bulk.bulk_start,
        actor=actor,
        object_type="person",
        action="add_tags",
        ids=[str(p.pk) for p in people[:2]],
        tags=["VIP"],
    )
    run_jobs(bulk.bulk_undo, actor=actor, job_id=job.pk)
    assert {t.name for p in people for t in Person.objects.get(pk=p.pk).tags.all()} == {"old"}


def test_undo_of_a_delete_restores_from_the_trash(actor, people, run_jobs):
    job = run_jobs(
        bulk.bulk_start,
        actor=actor,
        object_type="person",
        action="delete",
        ids=[str(p.pk) for p in people[:3]],
    )
    contact_services.trash_delete_forever(actor=actor, refs=[("person", people[0].pk)])
    undo = run_jobs(bulk.bulk_undo, actor=actor, job_id=job.pk)
    undo.refresh_from_db()
    assert (undo.changed_count, undo.failed_count) == (2, 1)  # one was deleted for good
    assert undo.failures[0]["id"] == str(people[0].pk)
    live = set(Person.objects.filter(deleted_at__isnull=True).values_list("pk", flat=True))
    assert live == {p.pk for p in people[1:]}


def test_undo_is_refused_twice_for_an_undo_and_while_running(actor, people, run_jobs):
    job = run_jobs(
        bulk.bulk_start,
        actor=actor,
        object_type="person",
        action="update",
        ids=[str(people[0].pk)],
        data={"title": "Buyer"},
    )
    undo = run_jobs(bulk.bulk_undo, actor=actor, job_id=job.pk)
    with pytest.raises(ValidationFailed, match="already been undone"):
        bulk.bulk_undo(actor=actor, job_id=job.pk)
    with pytest.raises(ValidationFailed, match="cannot itself be undone"):
        bulk.bulk_undo(actor=actor, job_id=undo.pk)
    running = BulkJob.objects.create(
        workspace=actor.workspace, object_type="person", action="update", status="running"
    )
    with pytest.raises(ValidationFailed, match="Wait until"):
        bulk.bulk_undo(actor=actor, job_id=running.pk)
    with pytest.raises(ValidationFailed):
        bulk.bulk_start(actor=actor, object_type="person", action="undo", ids=[str(people[0].pk)])


def test_a_change_that_changed_nothing_has_nothing_to_undo(actor, people, run_jobs):
    # The title is already "Engineer": the change finishes with no record changed.
    job = run_jobs(
        bulk.bulk_start,
        actor=actor,
        object_type="person",
        action="update",
        ids=[str(people[0].pk)],
        data={"title": "Engineer"},
    )
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.changed_count == 0
    with pytest.raises(ValidationFailed, match="nothing to undo"):
        bulk.bulk_undo(actor=actor, job_id=job.pk)
    assert not BulkJob.objects.filter(undoes=job).exists()


def test_a_failed_undo_continues_from_its_checkpoint(actor, people, run_jobs, monkeypatch):
    monkeypatch.setattr(bulk, "CHUNK", 2)
    job = run_jobs(
        bulk.bulk_start,
        actor=actor,
        object_type="person",
        action="update",
        ids=[str(p.pk) for p in people],
        data={"title": "Buyer"},
    )
    undo = bulk.bulk_undo(actor=actor, job_id=job.pk)  # queued, not run
    undo.status, undo.cursor, undo.processed = JobStatus.FAILED, "", 0
    first = list(BulkRecord.objects.filter(job=job).order_by("pk")[:2])
    undo.cursor, undo.processed = str(first[-1].pk), 2  # two were put back before it stopped
    undo.save()
    again = run_jobs(bulk.bulk_undo, actor=actor, job_id=job.pk)
    assert again.pk == undo.pk
    again.refresh_from_db()
    assert (again.status, again.processed, again.changed_count) == ("succeeded", 5, 3)


def test_readers_and_other_workspaces_cannot_undo(actor, people, run_jobs):
    job = run_jobs(
        bulk.bulk_start,
        actor=actor,
        object_type="person",
        action="update",
        ids=[str(people[0].pk)],
        data={"title": "Buyer"},
    )
    reader = actor_for(MembershipFactory(workspace=actor.workspace, role=Role.READ_ONLY.value))
    with pytest.raises(PermissionDenied):
        bulk.bulk_undo(actor=reader, job_id=job.pk)
    stranger = actor_for(MembershipFactory(role=Role.OWNER.value))
    with pytest.raises(NotFound):
        bulk.bulk_undo(actor=stranger, job_id=job.pk)
    assert not job.undos.exists()


def test_api_undo_answers_202_and_isolates(api, other_api, django_capture_on_commit_callbacks):
    made = api.post(
        "/api/v1/contacts", {"first_name": "Ada", "email": "ada@example.com"}, format="json"
    ).json()
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(
            "/api/v1/bulk",
            {
                "object_type": "person",
                "action": "update",
                "ids": [made["id"]],
                "data": {"title": "X"},
            },
            format="json",
        ).json()
    assert other_api.post(f"/api/v1/bulk/{started['id']}/undo").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post(f"/api/v1/bulk/{started['id']}/undo")
    assert r.status_code == 202
    body = r.json()
    assert body["action"] == "undo" and body["undoes"] == started["id"]
    assert r["Location"] == f"/api/v1/bulk/{body['id']}"
    done = api.get(f"/api/v1/bulk/{body['id']}").json()
    assert (done["status"], done["changed"]) == ("succeeded", 1)
    assert api.get(f"/api/v1/contacts/{made['id']}").json()["title"] == ""
    again = api.post(f"/api/v1/bulk/{started['id']}/undo")
    assert again.status_code == 422


def test_the_page_offers_undo_and_links_both_ways(browser, django_capture_on_commit_callbacks):
    actor = actor_for(browser.membership)
    person = PersonFactory(actor=actor, email="a@example.com", title="Engineer")
    with django_capture_on_commit_callbacks(execute=True):
        job = bulk.bulk_start(
            actor=actor,
            object_type="person",
            action="update",
            ids=[str(person.pk)],
            data={"title": "Buyer"},
        )
    page = browser.get(f"/bulk/{job.pk}/").content.decode()
    assert f'action="/bulk/{job.pk}/undo/"' in page and "Undo this change" in page
    reader, _ = make_browser(Role.READ_ONLY, workspace=browser.membership.workspace)
    assert "Undo this change" not in reader.get(f"/bulk/{job.pk}/").content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        r = browser.post(f"/bulk/{job.pk}/undo/")
    assert r.status_code == 302
    undo = job.undos.get()
    assert r["Location"] == f"/bulk/{undo.pk}/"
    undo_page = browser.get(r["Location"]).content.decode()
    assert "Undo a bulk change" in undo_page and f'href="/bulk/{job.pk}/"' in undo_page
    assert "1 record put back" in undo_page
    page = browser.get(f"/bulk/{job.pk}/").content.decode()
    assert "Undone" in page and f'href="/bulk/{undo.pk}/"' in page
    assert "Undo this change" not in page
    assert Person.objects.get(pk=person.pk).title == "Engineer"
    assert browser.get(f"/bulk/{job.pk}/undo/").status_code == 405


def test_undo_removes_custom_values_the_change_added_and_keeps_other_keys(actor, run_jobs):
    from rapport.customization.services import field_create

    for key in ("tier", "region"):
        field_create(
            actor=actor,
            data={"object_type": "contacts.person", "key": key, "label": key, "type": "text"},
        )
    ada = PersonFactory(actor=actor, email="ada@example.com", custom={"region": "EU"})
    job = run_jobs(
        bulk.bulk_start,
        actor=actor,
        object_type="person",
        action="update",
        ids=[str(ada.pk)],
        data={"custom": {"tier": "gold"}},
    )
    contact_services.person_update(
        actor=actor, person_id=ada.pk, data={"custom": {"region": "APAC"}}
    )  # a later edit of another key
    run_jobs(bulk.bulk_undo, actor=actor, job_id=job.pk)
    assert Person.objects.get(pk=ada.pk).custom == {"region": "APAC"}
