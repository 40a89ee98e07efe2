"""Celery tasks of the activities app: the beat's task reminder sweep
(``services.task_reminders_send`` does the work; see its docstring for the once-only rule)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from . import services


@shared_task(name="rapport.activities.tasks.send_due_reminders")
def send_due_reminders(now: str | None = None) -> int:
    """The beat task (every minute); ``now`` (ISO 8601) is for replays and tests."""
    return services.task_reminders_send(now=dt.datetime.fromisoformat(now) if now else None)
