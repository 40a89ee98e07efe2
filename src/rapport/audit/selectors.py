"""Reads of the change log: a record's History tab and the admins' workspace audit page."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from rapport.core.actors import Actor
from rapport.core.pagination import Page, Sort, keyset_page
from rapport.core.policy import require_admin

from .models import AuditEntry

NEWEST_FIRST = Sort(field="created_at", descending=True)


def _entries(actor: Actor) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(workspace=actor.workspace).select_related("actor_user")


def record_history(*, actor: Actor, obj, cursor: str | None = None, limit: int = 50) -> Page:
    """Every change of one record. The caller has already fetched ``obj`` through a selector,
    so whoever may see the record may see its history."""
    entries = AuditEntry.objects.for_object(obj).filter(workspace=actor.workspace)
    return keyset_page(
        entries.select_related("actor_user"), sort=NEWEST_FIRST, cursor=cursor, limit=limit
    )


def workspace_log(
    *,
    actor: Actor,
    actor_user=None,
    object_type: str | None = None,
    action: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    require_admin(actor)
    qs = _entries(actor)
    if actor_user:
        qs = qs.filter(actor_user_id=actor_user)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if action:
        qs = qs.filter(action=action)
    if since:
        qs = qs.filter(created_at__gte=since)
    if until:
        qs = qs.filter(created_at__lt=until)
    return keyset_page(qs, sort=NEWEST_FIRST, cursor=cursor, limit=limit)


OBJECT_TYPES = {
    "contacts.person": "Person",
    "contacts.company": "Company",
    "tenancy.membership": "Member",
    "tenancy.invitation": "Invitation",
    "tenancy.workspace": "Workspace",
    "users.apitoken": "API token",
    "users.user": "User",
}
