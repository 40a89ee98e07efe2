"""Reads: a member's own notifications, only those about records they can still see."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet

from rapport.core import targets
from rapport.core.actors import Actor
from rapport.core.errors import NotFound
from rapport.core.pagination import Page, Sort, keyset_page

from .models import EmailMode, Notification, NotificationPreference

NEWEST_FIRST = Sort(field="created_at", descending=True)
# The bell shows "99+" beyond this: counting stops there, so the count costs the same
# whatever the backlog.
COUNT_CAP = 100


def visible_target_for(actor: Actor) -> Q:
    """``Q`` keeping rows without a target and rows whose target ``actor`` can see. Rows of a
    type nobody registers (an app removed) are hidden: nothing can vouch the recipient may
    still see them."""
    return Q(target_type="") | targets.visible_target(actor)


def own(actor: Actor) -> QuerySet[Notification]:
    """The actor's own notifications in the acting workspace (none for actors without a user:
    the system and automations receive nothing)."""
    if actor.user_id is None:
        return Notification.objects.none()
    return Notification.objects.visible_to(actor).filter(recipient_id=actor.user_id)  # type: ignore[attr-defined,no-any-return]


def visible(actor: Actor) -> QuerySet[Notification]:
    return own(actor).filter(visible_target_for(actor))


def notification_list(
    *, actor: Actor, unread_only: bool = False, cursor: str | None = None, limit: int = 50
) -> Page:
    """Newest first, keyset by (created_at, id); one query whatever the page size."""
    qs = visible(actor)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return keyset_page(qs, sort=NEWEST_FIRST, cursor=cursor, limit=limit)


def notification_get(*, actor: Actor, notification_id) -> Notification:
    try:
        pk = uuid.UUID(str(notification_id))
    except ValueError:
        raise NotFound("No such notification.")
    obj = visible(actor).filter(pk=pk).first()
    if obj is None:
        raise NotFound("No such notification.")
    return obj


def unread_count(*, actor: Actor) -> int:
    """Unread notifications the actor can see, counted up to ``COUNT_CAP`` (one query)."""
    return visible(actor).filter(read_at__isnull=True)[:COUNT_CAP].count()


def preference_of(*, actor: Actor) -> NotificationPreference:
    """The actor's preference row, or an unsaved one holding the defaults."""
    pref = (
        NotificationPreference.objects.filter(workspace=actor.workspace, user_id=actor.user_id)
        .select_related("user")
        .first()
    )
    if pref is None:
        pref = NotificationPreference(
            workspace=actor.workspace, user=actor.user, email_mode=EmailMode.IMMEDIATE
        )
    return pref
