"""Deleting for good what the trash no longer keeps: the workspace's retention cutoff and the
batched loop every app's purge runs (people and companies, deals and leads, interactions, tasks
and files).

Each batch is its own transaction holding row locks on that batch only, so a long purge blocks
nobody for long and an interrupted one continues where it stopped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from .actors import Actor, ActorKind
from .policy import require_admin

PURGE_BATCH = 500


def retention_cutoff(actor: Actor, now: dt.datetime | None = None) -> dt.datetime:
    """Records deleted before this moment have outlived the workspace's trash retention.
    Purging is the system's daily job; a person may only run it as an owner or admin."""
    from rapport.tenancy.models import Workspace

    if actor.kind != ActorKind.SYSTEM:
        require_admin(actor)
    days = Workspace.objects.values_list("trash_retention_days", flat=True).get(
        pk=actor.workspace.pk
    )
    return (now or timezone.now()) - dt.timedelta(days=days)


def purge_batches(
    expired: models.QuerySet,
    purge: Callable[[list[Any]], None],
    *,
    batch_size: int = PURGE_BATCH,
) -> int:
    """Calls ``purge(batch)`` on ``expired`` (the records past the cutoff), oldest deletion
    first, ``batch_size`` at a time, each batch locked and committed on its own; ``purge``
    must delete the batch. Answers how many records went."""
    total = 0
    while True:
        with transaction.atomic():
            batch = list(expired.select_for_update().order_by("deleted_at", "id")[:batch_size])
            if batch:
                purge(batch)
        total += len(batch)
        if len(batch) < batch_size:
            return total
