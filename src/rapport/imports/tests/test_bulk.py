"""Bulk work: one change to chosen records or to everything a filter matches."""

from __future__ import annotations

import pytest

from rapport.audit.models import AuditEntry
from rapport.contacts.models import Person
from rapport.core.actors import Role
from rapport.imports import bulk
from rapport.imports.models import BulkJob
from rapport.testing.clients import make_api_client
from rapport.testing.factories import MembershipFactory, PersonFactory, actor_for
from rapport.testing.suites import assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(actor):
    return [
        PersonFactory(actor=actor, first_name=f"P{i}", email=f"p{i}@example.com", tags=["old"])
        for i in range(7)
    ]


def test_edit_a_field_on_everything_a_filter_matches(actor, people, run_jobs, monkeypatch):
    monkeypatch.setattr(bulk, "CHUNK", 3)  # several chunks, each checkpointed
    PersonFactory(actor=actor, first_name="Other", email="other@example.com")
    job = run_jobs(
        bulk.bulk_start,
        actor=actor,
        object_type="person",
        action="update",
        filters={"tag": "old"},
        data={"lifecycle_stage": "customer", "source": "Fair 2026"},
    )
    job.refresh_from_db()
    assert (job.status, job.total, job.processed, job.changed_count) == ("succeeded", 7, 7, 7)
    assert set(
        Person.objects.filter(tags__name="old").values_list("lifecycle_stage", flat=True)
    ) == {"customer"}
    assert Person.objects.get(email="other@example.com").lifecycle_stage == "lead"
    entries = AuditEntry.objects.filter(action="contact.updated", source=f"bulk:{job.pk}")
    assert entries.count() == 7  # audited per record


def test_add_and_remove_tags_on_chosen_records(actor, people, run_jobs):
    chosen = [str(p.pk) for p in people[:3]]
    run_jobs(
        bulk.bulk_start,
        actor=actor,
        object_type="person",
        action="add_tags",
        ids=chosen,
        tags=["VIP"],
    )
    run_jobs(
        bulk.bulk_start,
        actor=actor,
        object_type="person",
        action="remove_tags",
        ids=chosen,
        tags=["OLD"],
    )
    for p in people[:3]:
        assert sorted(t.name for t in p.tags.all()) == ["VIP"]
    assert [t.name for t in people[3].tags.all()] == ["old"]


def test_bulk_delete_goes_to_the_trash_and_skips_what_a_member_may_not_delete(
    owner, people, run_jobs
):
    member = actor_for(MembershipFactory(workspace=owner.workspace, role=Role.MEMBER.value))
    mine = PersonFactory(actor=member, first_name="Mine", email="mine@example.com")
    ids = [str(p.pk) for p in people[:2]] + [str(mine.pk)]
    job = run_jobs(bulk.bulk_start, actor=member, object_type="person", action="delete", ids=ids)
    job.refresh_from_db()
    assert job.changed_count == 1 and job.failed_count == 1
    mine.refresh_from_db()
    assert mine.deleted_at is not None  # in the trash, restorable
    assert all(Person.objects.get(pk=p.pk).deleted_at is None for p in people[:2])


def test_a_bad_value_fails_its_records_not_the_job(actor, people, run_jobs):
    job = run_jobs(
        bulk.bulk_start,
        actor=actor,
        object_type="person",
        action="update",
        ids=[str(p.pk) for p in people],
        data={"lifecycle_stage": "astronaut"},
    )
    job.refresh_from_db()
    assert job.status == "succeeded" and job.failed_count == 7
    assert "lifecycle_stage" in job.failures[0]["message"]


def test_unique_fields_cannot_be_edited_in_bulk(actor):
    with pytest.raises(Exception) as exc:
        bulk.bulk_start(
            actor=actor, object_type="person", action="update", ids=["x"], data={"email": "a@b.c"}
        )
    assert "email" in str(exc.value.detail)


def test_api_bulk_and_isolation(api, other_api, django_capture_on_commit_callbacks):
    ids = [api.post("/contacts", {"first_name": f"A{i}"}).json()["id"] for i in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post(
            "/bulk", {"object_type": "person", "action": "add_tags", "ids": ids, "tags": ["x"]}
        )
    assert r.status_code == 202, r.content
    job = api.get(f"/bulk/{r.json()['id']}").json()
    assert job["status"] == "succeeded" and job["changed"] == 3
    assert_problem(other_api.get(f"/bulk/{job['id']}"), 404)
    # Another workspace's ids are simply not found: nothing of theirs changes.
    with django_capture_on_commit_callbacks(execute=True):
        r = other_api.post("/bulk", {"object_type": "person", "action": "delete", "ids": ids})
    theirs = other_api.get(f"/bulk/{r.json()['id']}").json()
    assert theirs["changed"] == 0
    assert Person.objects.filter(pk__in=ids, deleted_at__isnull=True).count() == 3
    reader = make_api_client(Role.READ_ONLY, workspace=api.workspace)
    assert_problem(
        reader.post("/bulk", {"object_type": "person", "action": "delete", "ids": ids}), 403
    )
    assert BulkJob.objects.count() == 2
