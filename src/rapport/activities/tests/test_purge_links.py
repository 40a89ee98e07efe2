"""A record deleted for good (the trash's retention purge, "Delete forever") takes with it
what only pointed at it: its links from interactions and tasks, the interactions and tasks
that were only its own, their files and its files, and notifications about it. What it
shared with other records stays, without the link."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from rapport.activities import services
from rapport.activities.models import Activity, ActivityTarget, Task, TaskTarget
from rapport.attachments import services as attachment_services
from rapport.attachments.models import Attachment
from rapport.audit.models import AuditEntry
from rapport.contacts import services as contact_services
from rapport.contacts.models import Person
from rapport.notifications.models import Notification
from rapport.sales import services as sales_services
from rapport.sales.models import Deal
from rapport.testing.factories import (
    CompanyFactory,
    DealFactory,
    MembershipFactory,
    PersonFactory,
    actor_for,
)

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


def _note(actor, *refs, body="Hello"):
    return services.activity_create(
        actor=actor,
        data={"type": "note", "body": body, "targets": [{"type": t, "id": r.pk} for t, r in refs]},
    )


def _task(actor, *refs, title="Call back"):
    return services.task_create(
        actor=actor,
        data={"title": title, "targets": [{"type": t, "id": r.pk} for t, r in refs]},
    )


def _file(actor, type_name, obj, name="scan.png"):
    return attachment_services.attachment_upload_bytes(
        actor=actor, target_type=type_name, target_id=obj.pk, data=PNG, filename=name
    )


def _purge_person(actor, person):
    contact_services.person_delete(actor=actor, person_id=person.pk)
    Person.objects.filter(pk=person.pk).update(deleted_at=timezone.now() - dt.timedelta(days=31))
    with django_capture_on_commit():
        assert contact_services.trash_purge(actor=actor) == 1


def django_capture_on_commit():
    """Runs the purge's on-commit work (removing stored files) inside the test transaction."""
    from django.test import TestCase

    return TestCase.captureOnCommitCallbacks(execute=True)


def test_purging_a_person_takes_what_was_only_theirs_and_keeps_what_was_shared(actor):
    company = CompanyFactory(actor=actor)
    ada = PersonFactory(actor=actor, company=company.pk)
    grace = PersonFactory(actor=actor)
    only_ada = _note(actor, ("person", ada), body="Ada's words")  # rolls up to her company
    shared = _note(actor, ("person", ada), ("person", grace))
    with_company = _note(actor, ("person", ada), ("company", company))
    ada_task = _task(actor, ("person", ada))
    shared_task = _task(actor, ("person", ada), ("person", grace))
    personal = services.task_create(actor=actor, data={"title": "Personal errand"})
    ada_file = _file(actor, "person", ada)
    note_file = _file(actor, "activity", only_ada, name="note.png")
    grace_file = _file(actor, "person", grace, name="grace.png")
    stored = [ada_file.file.name, note_file.file.name]
    Notification.objects.create(
        workspace=actor.workspace,
        recipient=actor.user,
        kind="mention",
        title="About Ada",
        target_type="person",
        target_id=ada.pk,
        key="k1",
    )

    _purge_person(actor, ada)

    # Only hers: gone, with the company rollup that repeated it and its file.
    assert not Activity.objects.filter(pk=only_ada.pk).exists()
    assert not ActivityTarget.objects.filter(activity_id=only_ada.pk).exists()
    assert not Task.objects.filter(pk=ada_task.pk).exists()
    assert not Attachment.objects.filter(pk__in=[ada_file.pk, note_file.pk]).exists()
    assert not any(default_storage.exists(name) for name in stored)
    assert not Notification.objects.filter(target_id=ada.pk).exists()
    # Shared: kept, without her link.
    assert set(
        ActivityTarget.objects.filter(activity_id=shared.pk, rollup=False).values_list(
            "target_id", flat=True
        )
    ) == {grace.pk}
    assert set(
        ActivityTarget.objects.filter(activity_id=with_company.pk, rollup=False).values_list(
            "target_id", flat=True
        )
    ) == {company.pk}
    assert list(
        TaskTarget.objects.filter(task_id=shared_task.pk).values_list("target_id", flat=True)
    ) == [grace.pk]
    assert Task.objects.filter(pk=personal.pk).exists()  # never linked: untouched
    assert Attachment.objects.filter(pk=grace_file.pk).exists()
    assert not ActivityTarget.objects.filter(target_id=ada.pk).exists()
    # Audited, one entry per thing deleted for good.
    actions = set(
        AuditEntry.objects.filter(
            object_id__in=[str(only_ada.pk), str(ada_task.pk), str(ada_file.pk), str(note_file.pk)]
        ).values_list("object_id", "action")
    )
    assert actions >= {
        (str(only_ada.pk), "activity.purged"),
        (str(ada_task.pk), "task.purged"),
        (str(ada_file.pk), "attachment.purged"),
        (str(note_file.pk), "attachment.purged"),
    }
    # Under the purge's own source, as the person's entry: the audit log shows it as one purge.
    sources = set(
        AuditEntry.objects.filter(action__endswith=".purged").values_list("source", flat=True)
    )
    assert sources == {"retention"}


def test_purging_a_deal_drops_its_links(actor):
    deal = DealFactory(actor=actor)
    ada = PersonFactory(actor=actor)
    about_deal = _note(actor, ("deal", deal))
    both = _note(actor, ("deal", deal), ("person", ada))
    sales_services.deal_delete(actor=actor, deal_id=deal.pk)
    Deal.objects.filter(pk=deal.pk).update(deleted_at=timezone.now() - dt.timedelta(days=31))

    assert sales_services.deal_purge(actor=actor) == 1

    assert not Activity.objects.filter(pk=about_deal.pk).exists()
    assert list(
        ActivityTarget.objects.filter(activity_id=both.pk).values_list("target_id", flat=True)
    ) == [ada.pk]


def test_a_purge_touches_no_other_workspace(actor):
    other_actor = actor_for(MembershipFactory(role="owner"))
    ada = PersonFactory(actor=actor)
    theirs = PersonFactory(actor=other_actor)
    mine = _note(actor, ("person", ada))
    kept = _note(other_actor, ("person", theirs))

    _purge_person(actor, ada)

    assert not Activity.objects.filter(pk=mine.pk).exists()
    assert Activity.objects.filter(pk=kept.pk).exists()
    assert ActivityTarget.objects.filter(activity_id=kept.pk, target_id=theirs.pk).exists()


def _deleted_days_ago(model, obj, days: float) -> None:
    model.objects.filter(pk=obj.pk).update(deleted_at=timezone.now() - dt.timedelta(days=days))


def test_the_daily_purge_deletes_old_deleted_interactions_tasks_and_files(actor):
    from rapport.contacts.tasks import purge_trash

    ada = PersonFactory(actor=actor)
    old_note, young_note, live_note = (_note(actor, ("person", ada)) for _ in range(3))
    old_task, live_task = _task(actor, ("person", ada)), _task(actor, ("person", ada))
    old_file, live_file = _file(actor, "person", ada), _file(actor, "person", ada, name="b.png")
    note_file = _file(actor, "activity", old_note, name="on-note.png")
    for note in (old_note, young_note):
        services.activity_delete(actor=actor, activity_id=note.pk)
    services.task_delete(actor=actor, task_id=old_task.pk)
    attachment_services.attachment_delete(actor=actor, attachment_id=old_file.pk)
    _deleted_days_ago(Activity, old_note, 31)
    _deleted_days_ago(Activity, young_note, 29)
    _deleted_days_ago(Task, old_task, 31)
    _deleted_days_ago(Attachment, old_file, 31)
    stored = [old_file.file.name, note_file.file.name]

    with django_capture_on_commit():
        # The note, the task and the deleted file; the note's own file goes with the note.
        assert purge_trash(str(actor.workspace.pk)) == 3

    assert set(Activity.objects.values_list("pk", flat=True)) == {young_note.pk, live_note.pk}
    assert set(Task.objects.values_list("pk", flat=True)) == {live_task.pk}
    assert set(Attachment.objects.values_list("pk", flat=True)) == {live_file.pk}
    assert not any(default_storage.exists(name) for name in stored)
    assert default_storage.exists(live_file.file.name)
    entry = AuditEntry.objects.get(object_id=str(old_note.pk), action="activity.purged")
    assert entry.source == "retention"
    assert entry.changes["deleted_at"]["after"] is None


def test_only_admins_run_the_interaction_purge(actor):
    from rapport.activities import purging
    from rapport.core.errors import PermissionDenied

    member = actor_for(MembershipFactory(workspace=actor.workspace, role="member"))
    with pytest.raises(PermissionDenied):
        purging.purge_expired(actor=member)
    with pytest.raises(PermissionDenied):
        attachment_services.purge_expired(actor=member)
