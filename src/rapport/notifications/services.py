"""Writes: announcing an event to members, reading, preferences, and the email deliveries.

Delivery is *at most once*. A worker claims a notification (or a digest) by stamping
``emailed_at`` (``last_digest_on``) in a committed transaction *before* the mail leaves; a
redelivered message, a second worker or a beat that fires twice finds the stamp and does
nothing. If the worker dies between that commit and the SMTP conversation, the mail is lost
rather than sent twice (the notification stays in the in-app centre, so nothing is lost to the
user). If sending raises, the stamp is taken back so the task's retry can send it.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
import zoneinfo
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from rapport.audit.services import diff, record
from rapport.core import targets
from rapport.core.actors import Actor
from rapport.core.errors import ErrorCollector, ValidationFailed
from rapport.tenancy.models import Membership
from rapport.tenancy.services import actor_for

from . import emails, events, kinds, selectors
from .models import (
    BODY_MAX,
    KEY_MAX,
    TITLE_MAX,
    URL_MAX,
    EmailMode,
    Notification,
    NotificationPreference,
)

log = logging.getLogger(__name__)

# A digest lists this many notifications; more wait for the next day's digest (a backlog that
# large is read in the app, not in a mail).
DIGEST_MAX = 200
# No place on Earth is more than 14 hours ahead of UTC: a preference whose last digest is on
# or after that date cannot be due yet, whatever its user's time zone.
MAX_UTC_OFFSET = dt.timedelta(hours=14)


# --- links ----------------------------------------------------------------------------------


def is_safe_url(url: str) -> bool:
    """A path on this site (``/people/…``): never another host, scheme or protocol-relative
    ``//evil.example`` (open redirects and phishing links through our own mail)."""
    if not url or not url.startswith("/") or url.startswith(("//", "/\\")):
        return False
    if any(ord(c) < 32 or c == "\\" for c in url):
        return False
    return url_has_allowed_host_and_scheme(url, allowed_hosts=set())


def _one_line(text: str, limit: int) -> str:
    return " ".join(str(text or "").split())[:limit]


# --- notify ---------------------------------------------------------------------------------


@transaction.atomic
def notify(
    *,
    actor: Actor,
    recipients: Iterable[Any],
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    target_type: str = "",
    target_id: Any = None,
    key: str,
) -> list[Notification]:
    """Notifies ``recipients`` (user ids) of one event; answers the notifications created.

    Runs inside the caller's transaction: the notifications exist exactly when the change that
    caused them does. The actor is never notified of their own doing, and only members of the
    actor's workspace are notified. ``key`` names the event (``"task:<id>:assigned:<user>"``):
    a recipient already notified under that key is skipped, even by a concurrent transaction
    (the insert ignores the unique-constraint conflict), so callers may announce freely.
    Emails to members who want them at once are queued after commit.

    Bad arguments are a programming error of the caller, not user input: ValueError.
    """
    if not kinds.is_registered(kind):
        raise ValueError(f"unregistered notification kind {kind!r}")
    if not key or len(key) > KEY_MAX:
        raise ValueError(f"a notification key of 1 to {KEY_MAX} characters is required")
    title = _one_line(title, TITLE_MAX)
    if not title:
        raise ValueError("a notification needs a title")
    if url and (len(url) > URL_MAX or not is_safe_url(url)):
        raise ValueError(f"notification urls are paths on this site, not {url!r}")
    if bool(target_type) != (target_id is not None):
        raise ValueError("give both target_type and target_id, or neither")
    if target_type:
        if target_type not in {t.name for t in targets.types()}:
            raise ValueError(f"unregistered target type {target_type!r}")
        target_id = target_id if isinstance(target_id, uuid.UUID) else uuid.UUID(str(target_id))

    wanted = {uuid.UUID(str(r)) for r in recipients if r is not None}
    wanted.discard(actor.user_id)  # nobody is told about what they did themselves
    if not wanted:
        return []
    members = set(
        Membership.objects.filter(workspace=actor.workspace, user_id__in=wanted).values_list(
            "user_id", flat=True
        )
    )
    if not members:
        return []
    now = timezone.now()
    rows = [
        Notification(
            workspace=actor.workspace,
            recipient_id=user_id,
            kind=kind,
            title=title,
            body=str(body or "").strip()[:BODY_MAX],
            url=url,
            target_type=target_type,
            target_id=target_id if target_type else None,
            actor_label=actor.label[:255] if actor.user_id else "",
            key=key,
            created_at=now,
        )
        for user_id in sorted(members, key=str)
    ]
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    # Ids are made here, so the rows that carry ours are the ones this call inserted; a
    # conflicting (already notified) recipient's row has the first notification's id.
    inserted = set(
        Notification.objects.filter(pk__in=[r.pk for r in rows]).values_list("pk", flat=True)
    )
    created = [r for r in rows if r.pk in inserted]
    _queue_immediate_emails(actor, created)
    return created


def _queue_immediate_emails(actor: Actor, created: list[Notification]) -> None:
    if not created:
        return
    quiet = set(
        NotificationPreference.objects.filter(
            workspace=actor.workspace, user_id__in=[n.recipient_id for n in created]
        )
        .exclude(email_mode=EmailMode.IMMEDIATE)
        .values_list("user_id", flat=True)
    )
    ids = [str(n.pk) for n in created if n.recipient_id not in quiet]
    if not ids:
        return

    def send() -> None:
        from .tasks import send_notification_email

        for pk in ids:
            send_notification_email.delay(pk)

    transaction.on_commit(send)


# --- reading --------------------------------------------------------------------------------


def mark_read(*, actor: Actor, ids: Iterable[Any]) -> int:
    """Marks the actor's own notifications read; others' ids are silently not theirs to mark.
    Reading is not a change to the workspace's records: it is not audited."""
    pks = []
    for value in ids:
        try:
            pks.append(uuid.UUID(str(value)))
        except ValueError:
            raise ValidationFailed.one("ids", "Not a valid id.")
    if not pks:
        return 0
    return (
        selectors.own(actor).filter(pk__in=pks, read_at__isnull=True).update(read_at=timezone.now())
    )


def mark_all_read(*, actor: Actor) -> int:
    return selectors.own(actor).filter(read_at__isnull=True).update(read_at=timezone.now())


# --- preferences ----------------------------------------------------------------------------


def _clean_mode(value: Any) -> str:
    if value not in EmailMode.values:
        raise ValidationFailed.one("email_mode", f"Use one of: {', '.join(EmailMode.values)}.")
    return str(value)


def _clean_hour(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationFailed.one("digest_hour", "Send an hour from 0 to 23.")
    try:
        hour = int(value)
    except ValueError:
        raise ValidationFailed.one("digest_hour", "Send an hour from 0 to 23.")
    if not 0 <= hour <= 23:
        raise ValidationFailed.one("digest_hour", "Send an hour from 0 to 23.")
    return hour


@transaction.atomic
def set_preference(
    *, actor: Actor, email_mode: str | None = None, digest_hour: int | None = None
) -> NotificationPreference:
    """Changes how the actor is emailed in this workspace (their own preference only)."""
    if actor.user_id is None:
        raise ValidationFailed.one("user", "Only a person has notification preferences.")
    errors = ErrorCollector()
    if email_mode is not None:
        errors.take("email_mode", _clean_mode, email_mode)
    if digest_hour is not None:
        errors.take("digest_hour", _clean_hour, digest_hour)
    errors.raise_if_any()
    pref, _ = NotificationPreference.objects.select_for_update().get_or_create(
        workspace=actor.workspace, user_id=actor.user_id
    )
    before = {"email_mode": pref.email_mode, "digest_hour": pref.digest_hour}
    for name, value in errors.values.items():
        setattr(pref, name, value)
    after = {"email_mode": pref.email_mode, "digest_hour": pref.digest_hour}
    changes = diff(before, after)
    if changes:
        pref.save(update_fields=[*changes, "updated_at"])
        record(
            actor=actor,
            action=events.PREFERENCES_CHANGED,
            obj=pref,
            object_repr=f"Notification preferences of {actor.label}",
            changes=changes,
        )
    return pref


# --- delivery -------------------------------------------------------------------------------


def email_notification(*, notification_id: Any, now: dt.datetime | None = None) -> bool:
    """Emails one notification if its recipient wants mail at once and it is still unread,
    un-emailed and about something they can see; True when a mail was sent."""
    now = now or timezone.now()
    with transaction.atomic():
        n = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("workspace", "recipient")
            .filter(pk=notification_id, emailed_at__isnull=True, read_at__isnull=True)
            .first()
        )
        if n is None:
            return False
        mode = (
            NotificationPreference.objects.filter(workspace=n.workspace, user=n.recipient)
            .values_list("email_mode", flat=True)
            .first()
        ) or EmailMode.IMMEDIATE
        if mode != EmailMode.IMMEDIATE:
            return False  # the digest, or nothing, carries it
        recipient = actor_for(n.recipient, n.workspace)
        if recipient is None or not selectors.visible(recipient).filter(pk=n.pk).exists():
            return False  # no longer a member, or the record is hidden or in the trash
        n.emailed_at = now
        n.save(update_fields=["emailed_at"])
    # The claim is committed: a redelivered message now finds nothing to send.
    try:
        emails.send_notification(n)
    except Exception:
        Notification.objects.filter(pk=n.pk, emailed_at=now).update(emailed_at=None)
        raise
    return True


def _zone(user) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(user.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def digest_day(pref: NotificationPreference, now: dt.datetime) -> dt.date | None:
    """The user's local date if their digest is due at ``now`` (its hour has come today and
    none went out today), else None."""
    local = now.astimezone(_zone(pref.user))
    if local.hour < pref.digest_hour:
        return None
    if pref.last_digest_on is not None and pref.last_digest_on >= local.date():
        return None
    return local.date()


def due_digests(*, now: dt.datetime | None = None) -> list[uuid.UUID]:
    """Ids of the preferences whose daily digest is due (checked again when sent)."""
    now = now or timezone.now()
    latest_local_day = (now + MAX_UTC_OFFSET).date()
    candidates = (
        NotificationPreference.objects.filter(email_mode=EmailMode.DIGEST)
        .filter(Q(last_digest_on__isnull=True) | Q(last_digest_on__lt=latest_local_day))
        .select_related("user")
        .only("id", "digest_hour", "last_digest_on", "user__time_zone")
        .order_by("pk")
    )
    return [p.pk for p in candidates.iterator(chunk_size=500) if digest_day(p, now)]


def send_digest(*, preference_id: Any, now: dt.datetime | None = None) -> int:
    """Sends one member's daily digest at most once per local day: answers how many
    notifications it carried (0 when none were waiting: no empty mail is sent)."""
    now = now or timezone.now()
    with transaction.atomic():
        pref = (
            NotificationPreference.objects.select_for_update(of=("self",))
            .select_related("user", "workspace")
            .filter(pk=preference_id, email_mode=EmailMode.DIGEST)
            .first()
        )
        if pref is None:
            return 0
        day = digest_day(pref, now)
        if day is None:
            return 0  # already sent today (a second beat, a redelivered message), or too early
        previous_day = pref.last_digest_on
        pref.last_digest_on = day
        pref.save(update_fields=["last_digest_on"])
        recipient = actor_for(pref.user, pref.workspace)
        if recipient is None:
            return 0
        waiting = selectors.visible(recipient).filter(
            read_at__isnull=True, emailed_at__isnull=True, created_at__lte=now
        )
        rows = list(waiting.order_by("-created_at", "-id")[:DIGEST_MAX])
        if not rows:
            return 0
        ids = [n.pk for n in rows]
        Notification.objects.filter(pk__in=ids, emailed_at__isnull=True).update(emailed_at=now)
    try:
        emails.send_digest(pref.user, pref.workspace, rows)
    except Exception:
        # Take the claim back so the retry (or the next beat) can send it.
        Notification.objects.filter(pk__in=ids, emailed_at=now).update(emailed_at=None)
        NotificationPreference.objects.filter(pk=pref.pk, last_digest_on=day).update(
            last_digest_on=previous_day
        )
        raise
    return len(rows)


def forget_purged(actor, type_name: str, ids: list, source: str) -> None:
    """Notifications about records deleted for good go with them (``core.targets.on_purge``):
    they were already hidden, and would only keep the purged record's name in their text."""
    Notification.objects.filter(
        workspace_id=actor.workspace.pk, target_type=type_name, target_id__in=ids
    ).delete()
