"""The single place a change is recorded. Domain services call ``record`` inside their
transaction; listeners registered with ``on_record`` (the domain event outbox, later) run in
the same transaction, so an event exists exactly when its audit entry does.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable
from typing import Any

from django.db import models
from django.utils import timezone

from rapport.core.actors import Actor
from rapport.core.bulk import insert_values
from rapport.core.context import current_request_id
from rapport.core.ids import new_id
from rapport.tenancy.rls import bound_to

from . import events
from .models import AuditEntry

Listener = Callable[[AuditEntry], None]
_listeners: list[Listener] = []


def on_record(listener: Listener) -> Listener:
    _listeners.append(listener)
    return listener


_PLAIN = frozenset({type(None), bool, int, float, str})


def jsonable(value: Any) -> Any:
    if value.__class__ in _PLAIN:  # the common case, before the isinstance checks below
        return value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return str(value)


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Field-level changes between two snapshots (values made JSON-safe first)."""
    if not before:  # a creation (imports make thousands): every set field, from None
        made = ((key, jsonable(after[key])) for key in sorted(after))
        return {key: {"before": None, "after": a} for key, a in made if a is not None}
    changes: dict[str, dict[str, Any]] = {}
    for key in sorted(set(before) | set(after)):
        b, a = jsonable(before.get(key)), jsonable(after.get(key))
        if b != a:
            changes[key] = {"before": b, "after": a}
    return changes


def record(
    *,
    actor: Actor,
    action: events.EventType,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    changes: dict[str, dict[str, Any]] | None = None,
    source: str = "",
) -> AuditEntry:
    if action.name not in {e.name for e in events.all_types()}:
        raise ValueError(f"unregistered event type {action.name!r}")
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:255]
    workspace = actor.workspace if actor.workspace and actor.workspace.pk else None
    # An entry may belong to another workspace than the request's (an accepted invitation).
    with bound_to(workspace.pk if workspace else None):
        entry = AuditEntry.objects.create(
            workspace=workspace,
            action=action.name,
            actor_kind=actor.kind.value,
            actor_user=actor.user,
            actor_token_id=actor.token_id,
            actor_label=actor.label[:255],
            object_type=object_type,
            object_id=object_id,
            object_repr=object_repr[:255],
            changes=changes or {},
            request_id=current_request_id(),
            source=source,
        )
    for listener in _listeners:
        listener(entry)
    return entry


def record_many(
    *,
    actor: Actor,
    entries: list[tuple[events.EventType, models.Model, dict[str, dict[str, Any]]]],
    source: str = "",
) -> int:
    """One entry per (action, object, changes), written in one statement of plain rows (no
    model instance per entry unless a listener wants them): imports and bulk work audit every
    record without paying one INSERT per row. Answers how many entries were written."""
    registered = {e.name for e in events.all_types()}
    workspace = actor.workspace if actor.workspace and actor.workspace.pk else None
    request_id = current_request_id()
    label = actor.label[:255]
    common = (
        workspace.pk if workspace else None,
        actor.kind.value,
        actor.user.pk if actor.user else None,
        actor.token_id,
        label,
        request_id,
        source,
    )
    rows = []
    for action, obj, changes in entries:
        if action.name not in registered:
            raise ValueError(f"unregistered event type {action.name!r}")
        # One timestamp per entry, as a single record() gives: the log orders by it.
        rows.append(
            (
                new_id(),
                timezone.now(),
                action.name,
                obj._meta.label_lower,
                str(obj.pk),
                str(obj)[:255],
                changes or {},
                *common,
            )
        )
    with bound_to(workspace.pk if workspace else None):
        insert_values(AuditEntry, _MANY_COLUMNS, rows)
    if _listeners:
        for row in rows:
            entry = AuditEntry(**dict(zip(_MANY_COLUMNS, row, strict=True)))
            entry._state.adding = False
            for listener in _listeners:
                listener(entry)
    return len(rows)


_MANY_COLUMNS = (
    "id",
    "created_at",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "changes",
    "workspace_id",
    "actor_kind",
    "actor_user_id",
    "actor_token_id",
    "actor_label",
    "request_id",
    "source",
)
