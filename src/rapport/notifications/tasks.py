"""Celery tasks of the notifications app: take ids, call the services that deliver.

Every task is safe to run twice: the services claim what they send in the database first
(see services.py), so a redelivered message or a second beat sends nothing more.
"""

from __future__ import annotations

import datetime as dt
import smtplib

from celery import shared_task

from . import services

# Mail-server trouble worth another try; anything else is a bug and surfaces at once.
TRANSIENT = (smtplib.SMTPException, OSError)


def _when(now: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(now) if now else None


@shared_task(name="rapport.notifications.tasks.send_notification_email", bind=True, max_retries=3)
def send_notification_email(self, notification_id: str) -> bool:
    try:
        return services.email_notification(notification_id=notification_id)
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=60 * 2**self.request.retries)


@shared_task(name="rapport.notifications.tasks.send_digest", bind=True, max_retries=3)
def send_digest(self, preference_id: str, now: str | None = None) -> int:
    try:
        return services.send_digest(preference_id=preference_id, now=_when(now))
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=60 * 2**self.request.retries)


@shared_task(name="rapport.notifications.tasks.send_digests")
def send_digests(now: str | None = None) -> int:
    """The beat task (every 15 minutes): one ``send_digest`` per member whose digest hour has
    come in their time zone and who had none today; answers how many were queued."""
    when = _when(now)
    due = services.due_digests(now=when)
    for pk in due:
        send_digest.delay(str(pk), now)
    return len(due)
