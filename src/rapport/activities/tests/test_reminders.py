"""Task reminders: sent by the beat's sweep, at most once each, to the assignee."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from rapport.activities import services
from rapport.activities import tasks as reminder_tasks
from rapport.activities.models import Task
from rapport.notifications.models import Notification
from rapport.testing.factories import MembershipFactory, PersonFactory, actor_for


def _setup(actor):
    """A colleague of ``actor`` (the assignee: nobody is reminded by their own hand) and a
    person to link tasks to."""
    colleague = MembershipFactory(workspace=actor.workspace, role="member").user
    return colleague, PersonFactory(actor=actor)


def _task(actor, assignee, person, *, remind_in: dt.timedelta, **extra) -> Task:
    now = timezone.now()
    data = {
        "title": "Call back",
        "due_at": now + remind_in + dt.timedelta(hours=1),
        "remind_at": now + remind_in,
        "assignee": str(assignee.pk) if assignee else None,
        "targets": [{"type": "person", "id": str(person.pk)}],
    } | extra
    return services.task_create(actor=actor, data=data)


def _reminders(user):
    return Notification.objects.filter(recipient=user, kind="reminder")


def test_the_beat_runs_the_sweep_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["send-task-reminders"]
    assert entry["task"] == reminder_tasks.send_due_reminders.name
    assert entry["schedule"] == 60.0


@pytest.mark.django_db
def test_a_due_reminder_is_sent_once_however_often_the_sweep_runs(actor):
    colleague, person = _setup(actor)
    task = _task(actor, colleague, person, remind_in=-dt.timedelta(minutes=1))
    assert reminder_tasks.send_due_reminders.delay().get() == 1
    assert reminder_tasks.send_due_reminders.delay().get() == 0  # a second beat, a redelivery
    services.task_reminders_send()
    (note,) = _reminders(colleague)
    assert note.title == "Reminder: Call back"
    assert note.url == reverse("activities:task_detail", args=[task.pk])
    assert (note.target_type, note.target_id) == ("task", task.pk)
    assert note.key == f"reminder:{task.pk}:{task.remind_at.isoformat()}"
    task.refresh_from_db()
    assert task.reminded_at is not None


@pytest.mark.django_db
def test_a_reminder_waits_for_its_time(actor):
    colleague, person = _setup(actor)
    task = _task(actor, colleague, person, remind_in=dt.timedelta(minutes=10))
    assert services.task_reminders_send() == 0
    assert not _reminders(colleague).exists()
    # The beat at the reminder's time sends it ("now" is passed by replays and tests).
    later = (timezone.now() + dt.timedelta(minutes=11)).isoformat()
    assert reminder_tasks.send_due_reminders.delay(later).get() == 1
    assert _reminders(colleague).get().target_id == task.pk


@pytest.mark.django_db
def test_done_cancelled_and_deleted_tasks_are_not_reminded(actor):
    colleague, person = _setup(actor)
    done = _task(actor, colleague, person, remind_in=dt.timedelta(minutes=5))
    cancelled = _task(actor, colleague, person, remind_in=dt.timedelta(minutes=5))
    deleted = _task(actor, colleague, person, remind_in=dt.timedelta(minutes=5))
    services.task_complete(actor=actor, task_id=done.pk)
    services.task_update(actor=actor, task_id=cancelled.pk, data={"status": "cancelled"})
    services.task_delete(actor=actor, task_id=deleted.pk)
    later = timezone.now() + dt.timedelta(minutes=6)
    assert services.task_reminders_send(now=later) == 0
    assert not _reminders(colleague).exists()


@pytest.mark.django_db
def test_a_changed_reminder_time_is_a_new_reminder(actor):
    colleague, person = _setup(actor)
    task = _task(actor, colleague, person, remind_in=-dt.timedelta(minutes=1))
    services.task_reminders_send()
    assert _reminders(colleague).count() == 1
    # Snoozed: the new time is reminded again, once.
    new_time = timezone.now() + dt.timedelta(minutes=5)
    services.task_update(actor=actor, task_id=task.pk, data={"remind_at": new_time})
    task.refresh_from_db()
    assert task.reminded_at is None
    later = timezone.now() + dt.timedelta(minutes=6)
    assert services.task_reminders_send(now=later) == 1
    assert services.task_reminders_send(now=later) == 0
    assert _reminders(colleague).count() == 2
    # Saving the task without moving the reminder does not send it again.
    services.task_update(actor=actor, task_id=task.pk, data={"title": "Call back soon"})
    assert services.task_reminders_send(now=later + dt.timedelta(minutes=1)) == 0


@pytest.mark.django_db
def test_the_assignee_is_reminded_even_of_a_task_they_made_themselves(actor):
    person = PersonFactory(actor=actor)
    task = _task(actor, actor.user, person, remind_in=-dt.timedelta(seconds=1))
    services.task_reminders_send()
    assert _reminders(actor.user).get().target_id == task.pk


@pytest.mark.django_db
def test_an_unassigned_task_is_claimed_without_a_notification(actor):
    _, person = _setup(actor)
    task = _task(actor, None, person, remind_in=-dt.timedelta(seconds=1))
    assert services.task_reminders_send() == 1
    assert not Notification.objects.exists()
    task.refresh_from_db()
    assert task.reminded_at is not None
    assert services.task_reminders_send() == 0


@pytest.mark.django_db
def test_a_worker_that_fails_mid_batch_leaves_the_reminders_for_the_next_sweep(actor, monkeypatch):
    colleague, person = _setup(actor)
    for _ in range(3):
        _task(actor, colleague, person, remind_in=-dt.timedelta(minutes=1))
    real = services._remind
    calls = {"n": 0}

    def dies_on_the_second(task):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker lost")
        real(task)

    monkeypatch.setattr(services, "_remind", dies_on_the_second)
    with pytest.raises(RuntimeError):
        services.task_reminders_send()
    # Nothing of the failed batch is kept: neither the claims nor the notifications.
    assert not Task.objects.filter(reminded_at__isnull=False).exists()
    assert not _reminders(colleague).exists()
    monkeypatch.setattr(services, "_remind", real)
    assert services.task_reminders_send() == 3
    assert _reminders(colleague).count() == 3


@pytest.mark.django_db
def test_the_sweep_works_in_batches(actor):
    colleague, person = _setup(actor)
    for _ in range(5):
        _task(actor, colleague, person, remind_in=-dt.timedelta(minutes=1))
    assert services.task_reminders_send(batch_size=2) == 5
    assert _reminders(colleague).count() == 5


@pytest.mark.django_db
def test_reminders_of_each_workspace_go_to_its_own_members(actor):
    colleague, person = _setup(actor)
    other = actor_for(MembershipFactory(role="owner"))
    other_colleague, other_person = _setup(other)
    _task(actor, colleague, person, remind_in=-dt.timedelta(minutes=1))
    _task(other, other_colleague, other_person, remind_in=-dt.timedelta(minutes=1))
    assert services.task_reminders_send() == 2
    assert _reminders(colleague).get().workspace_id == actor.workspace.pk
    assert _reminders(other_colleague).get().workspace_id == other.workspace.pk


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_second_worker_skips_the_rows_the_first_one_holds(actor):
    """Two sweeps at once: the rows one holds are skipped by the other, never sent twice."""
    colleague, person = _setup(actor)
    task = _task(actor, colleague, person, remind_in=-dt.timedelta(minutes=1))
    locked, release = threading.Event(), threading.Event()
    results: dict[str, int] = {}

    def first_worker():
        try:
            with transaction.atomic():
                list(Task.objects.select_for_update().filter(pk=task.pk))
                locked.set()
                release.wait(10)
            results["first"] = services.task_reminders_send()
        finally:
            connection.close()

    thread = threading.Thread(target=first_worker)
    thread.start()
    assert locked.wait(10)
    results["second"] = services.task_reminders_send()  # the row is locked: skipped
    release.set()
    thread.join(10)
    assert results == {"second": 0, "first": 1}
    assert _reminders(colleague).count() == 1
