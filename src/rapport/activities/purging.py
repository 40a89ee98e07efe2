"""Interactions and tasks deleted for good.

When records are deleted for good (the trash's retention purge, "Delete forever"), their links
go. An interaction or task still linked to another record stays, without the purged link: it
is that record's history too (and stays on the company timelines it rolled up to). One left
with no record of its own (a company rollup alone does not count: it only repeats a person's
interaction) would be visible nowhere, yet would keep the purged person's words: it is deleted
for good too.

Interactions and tasks deleted by a user wait in their trash (an interaction's links kept aside,
``TrashedActivityTarget``, so timelines never see it); the daily purge deletes them for good once
the workspace's trash retention has passed, as it does records. A record purged meanwhile takes
its kept links along, and an interaction in the trash left with none goes for good at once.

Either way each one is audited, and its own files and notifications go with it
(``targets.purging`` again, for the "activity" or "task" type).
"""

from __future__ import annotations

import datetime as dt
import functools

from django.db.models import Exists, OuterRef

from rapport.audit.services import record_many
from rapport.core import targets
from rapport.core.actors import Actor
from rapport.core.purge import PURGE_BATCH, purge_batches, retention_cutoff

from . import events
from .models import Activity, ActivityTarget, Task, TaskTarget, TrashedActivityTarget


@targets.on_purge
def forget_purged(actor: Actor, type_name: str, ids: list, source: str) -> None:
    if type_name in ("activity", "task"):
        return  # (called back by _delete below, for their own files)
    workspace_id = actor.workspace.pk
    activity_ids = _unlink(ActivityTarget, "activity_id", workspace_id, type_name, ids)
    # (and those of interactions in the trash, whose links wait aside)
    activity_ids |= _unlink(TrashedActivityTarget, "activity_id", workspace_id, type_name, ids)
    task_ids = _unlink(TaskTarget, "task_id", workspace_id, type_name, ids)
    own_link = ActivityTarget.objects.filter(activity=OuterRef("pk"), rollup=False)
    own_kept = TrashedActivityTarget.objects.filter(activity=OuterRef("pk"), rollup=False)
    orphans = (
        Activity.objects.filter(workspace_id=workspace_id, pk__in=activity_ids)
        .exclude(Exists(own_link))
        .exclude(Exists(own_kept))
    )
    _delete(actor, "activity", list(orphans), event=events.ACTIVITY_PURGED, source=source)
    orphan_tasks = Task.objects.filter(workspace_id=workspace_id, pk__in=task_ids).exclude(
        Exists(TaskTarget.objects.filter(task=OuterRef("pk")))
    )
    _delete(actor, "task", list(orphan_tasks), event=events.TASK_PURGED, source=source)


def purge_expired(
    *,
    actor: Actor,
    now: dt.datetime | None = None,
    batch_size: int = PURGE_BATCH,
    source: str = "retention",
) -> int:
    """Deletes for good the interactions and tasks deleted longer ago than the workspace's
    trash retention (the daily purge, ``contacts.tasks.purge_trash``). Answers how many."""
    cutoff = retention_cutoff(actor, now)
    total = 0
    for model, type_name, event in (
        (Activity, "activity", events.ACTIVITY_PURGED),
        (Task, "task", events.TASK_PURGED),
    ):
        expired = model.objects.filter(workspace_id=actor.workspace.pk, deleted_at__lt=cutoff)
        total += purge_batches(
            expired,
            functools.partial(_delete, actor, type_name, event=event, source=source),
            batch_size=batch_size,
        )
    return total


def _unlink(link_model, parent_column: str, workspace_id, type_name: str, ids: list) -> set:
    """Deletes the link rows to ``ids``; answers the interactions (or tasks) they belonged to."""
    links = link_model.objects.filter(
        workspace_id=workspace_id, target_type=type_name, target_id__in=ids
    )
    parents = set(links.values_list(parent_column, flat=True))
    links.delete()
    return parents


def _delete(actor: Actor, type_name: str, objs: list, *, event, source: str) -> None:
    if not objs:
        return
    record_many(actor=actor, entries=[(event, obj, _gone(obj)) for obj in objs], source=source)
    ids = [obj.pk for obj in objs]
    targets.purging(actor, type_name, ids, source=source)
    type(objs[0]).objects.filter(workspace_id=actor.workspace.pk, pk__in=ids).delete()


def _gone(obj) -> dict:
    """What a purge entry records: when it had been deleted (nothing, for a live one that went
    with its records; the action says it is gone)."""
    if obj.deleted_at is None:
        return {}
    return {"deleted_at": {"before": obj.deleted_at.isoformat(), "after": None}}
