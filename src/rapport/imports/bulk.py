"""Bulk work: one change (edit fields, add or remove tags, assign an owner, delete) applied to
chosen records or to everything a list's filters match, in a worker, with progress.

Each record goes through the same batch write as an import (``contacts.batch``), so it is
validated, versioned and audited on its own (source ``bulk:<job id>``); deletes go to the
trash, where they can be restored. The job walks the records in id order and checkpoints the
last id with each chunk, so a resumed job neither skips nor repeats a record.

Every record a job changed is kept (``BulkRecord``, in the chunk's transaction), so the whole
change can be undone: ``bulk_undo`` queues another bulk job (action ``undo``) that walks them
and puts back what the first one changed (the "before" side of its audit entries, only the
fields it touched) or restores what it deleted.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction

from rapport.contacts import batch
from rapport.contacts.batch import BatchRow, ImportMode
from rapport.core import jobs
from rapport.core.actors import Actor
from rapport.core.bulk import insert_values
from rapport.core.errors import DomainError, NotFound, ValidationFailed
from rapport.core.models import JobStatus
from rapport.core.policy import require_write

from .exports import export_queryset
from .models import BulkAction, BulkJob, BulkRecord, ContactType

CHUNK = 500
MAX_IDS = 10_000  # chosen one by one; larger selections go by filters
MAX_FAILURES_KEPT = 200
# Fields a bulk edit may set: not the unique ones (an email or a domain belongs to one record).
EDITABLE = {
    "person": {"owner", "lifecycle_stage", "source", "title", "company", "address", "custom"},
    "company": {"owner", "industry", "employees", "address", "custom"},
}


def bulk_start(
    *,
    actor: Actor,
    object_type: str,
    action: str,
    ids: list[Any] | None = None,
    filters: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    tags: list[str] | None = None,
) -> BulkJob:
    """Queues the change; the selection is ``ids`` or, when absent, the list's ``filters``."""
    require_write(actor)
    if object_type not in ContactType.values:
        raise ValidationFailed.one("object_type", "Choose people or companies.")
    if action not in BulkAction.values or action == BulkAction.UNDO:
        raise ValidationFailed.one("action", "Choose update, add_tags, remove_tags or delete.")
    params: dict[str, Any] = {}
    if action == BulkAction.UPDATE:
        if not data:
            raise ValidationFailed.one("data", "Say which fields to set.")
        unknown = sorted(set(data) - EDITABLE[object_type])
        if unknown:
            raise ValidationFailed.one(
                "data", f"These fields cannot be edited in bulk: {', '.join(unknown)}."
            )
        params["data"] = data
    elif action in (BulkAction.ADD_TAGS, BulkAction.REMOVE_TAGS):
        names = [str(t).strip() for t in tags or [] if str(t).strip()]
        if not names or any(len(n) > 50 for n in names):
            raise ValidationFailed.one("tags", "Give one or more tags of at most 50 characters.")
        params["tags"] = names
    chosen: list[str] | None = None
    if ids is not None:
        if not ids:
            raise ValidationFailed.one("ids", "Choose at least one record.")
        if len(ids) > MAX_IDS:
            raise ValidationFailed.one(
                "ids", f"Choose at most {MAX_IDS:,} records by id; use the filters for more."
            )
        try:
            chosen = sorted({str(uuid.UUID(str(i))) for i in ids})
        except ValueError:
            raise ValidationFailed.one("ids", "Every id must be a record id.")
        total = len(chosen)
    else:
        total = export_queryset(actor, object_type, filters or {}).count()
    with transaction.atomic():
        job = BulkJob(
            workspace=actor.workspace,
            status=JobStatus.QUEUED,
            object_type=object_type,
            action=action,
            params=params,
            ids=chosen,
            filters=filters or {},
            total=total,
            created_by=actor.user,
            created_by_kind=actor.kind.value,
        )
        job.save()
        jobs.enqueue(job)
    return job


def bulk_get(*, actor: Actor, job_id) -> BulkJob:
    job = BulkJob.objects.visible_to(actor).filter(pk=job_id).first()
    if job is None:
        raise NotFound("No such bulk change.")
    return job


def bulk_undo(*, actor: Actor, job_id) -> BulkJob:
    """Queues the undo of a finished bulk change (another bulk job, action ``undo``). Asking
    while an undo is queued or running, or after one finished, is refused; after a failed undo
    the same one is queued again and continues from its checkpoint."""
    with transaction.atomic():
        job = BulkJob.objects.visible_to(actor).select_for_update().filter(pk=job_id).first()
        if job is None:
            raise NotFound("No such bulk change.")
        require_write(actor)
        if job.action == BulkAction.UNDO:
            raise ValidationFailed.one("action", "An undo cannot itself be undone.")
        if job.status not in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            raise ValidationFailed.one("status", "Wait until the change has finished.")
        undo = undo_of(job)
        if undo is not None and undo.status == JobStatus.SUCCEEDED:
            raise ValidationFailed.one("status", "This change has already been undone.")
        if undo is not None and undo.status != JobStatus.FAILED:
            raise ValidationFailed.one("status", "This change is already being undone.")
        if undo is None and not job.records.exists():
            raise ValidationFailed.one("status", "This change changed no record: nothing to undo.")
        if undo is None:
            undo = BulkJob(
                workspace=actor.workspace,
                object_type=job.object_type,
                action=BulkAction.UNDO,
                undoes=job,
                total=job.records.count(),
            )
        jobs.queue_for(undo, actor)  # the worker acts as whoever asked (last)
    return undo


def undo_of(job: BulkJob) -> BulkJob | None:
    """The latest undo of ``job``, if any (what its page links to)."""
    return job.undos.order_by("-created_at").first()


def _next_chunk(actor: Actor, job: BulkJob) -> tuple[list[str], str]:
    """The next chunk of record ids after the job's cursor, and the cursor after it."""
    if job.action == BulkAction.UNDO:
        rows = list(
            BulkRecord.objects.filter(job_id=job.undoes_id, pk__gt=int(job.cursor or 0))
            .order_by("pk")
            .values_list("pk", "object_id")[:CHUNK]
        )
        return [str(object_id) for _pk, object_id in rows], str(rows[-1][0]) if rows else ""
    if job.ids is not None:
        rest = [i for i in job.ids if i > job.cursor] if job.cursor else job.ids
        ids = rest[:CHUNK]
    else:
        qs = export_queryset(actor, job.object_type, job.filters).order_by("pk")
        if job.cursor:
            qs = qs.filter(pk__gt=uuid.UUID(job.cursor))
        ids = [str(pk) for pk in qs.values_list("pk", flat=True)[:CHUNK]]
    return ids, ids[-1] if ids else ""


def bulk_run(job_id) -> BulkJob | None:
    from .services import job_actor

    job = jobs.claim(BulkJob, job_id)
    if job is None:
        return None
    try:
        actor = job_actor(job)
        while True:
            ids, cursor = _next_chunk(actor, job)
            if not ids:
                break
            with transaction.atomic():
                changed, failures = _apply(actor, job, ids)
                if job.action != BulkAction.UNDO:  # what undoing it walks
                    rows = [(job.pk, object_id) for object_id in changed]
                    insert_values(BulkRecord, ("job_id", "object_id"), rows)
                jobs.checkpoint(
                    job,
                    cursor=cursor,
                    processed=job.processed + len(ids),
                    changed_count=job.changed_count + len(changed),
                    failed_count=job.failed_count + len(failures),
                    failures=(job.failures + failures)[:MAX_FAILURES_KEPT],
                )
        jobs.finish(job)
    except ValidationFailed as exc:
        jobs.finish(job, JobStatus.FAILED, exc.detail)
    except Exception as exc:
        jobs.finish(job, JobStatus.FAILED, f"The change stopped: {exc}")
        raise
    return job


def _apply(actor: Actor, job: BulkJob, ids: list[str]) -> tuple[list, list[dict]]:
    """Applies the job to one chunk: (ids of the records changed, failures)."""
    if job.action == BulkAction.UNDO:
        return _undo(actor, job, ids)
    if job.action == BulkAction.DELETE:
        deleted = batch.delete_batch_ids(
            actor=actor, object_type=job.object_type, ids=ids, source=job.source, skip_denied=True
        )
        missed = len(ids) - len(deleted)
        failures = (
            [{"id": "", "message": f"{missed} records you may not delete were left alone."}]
            if missed
            else []
        )
        return deleted, failures
    if job.action in (BulkAction.ADD_TAGS, BulkAction.REMOVE_TAGS):
        rows = _tag_rows(actor, job, ids)
    else:
        data = job.params.get("data", {})
        rows = [BatchRow(n, {**data, "id": pk}) for n, pk in enumerate(ids, 1)]
    results = batch.write_batch(
        actor=actor,
        object_type=job.object_type,
        rows=rows,
        mode=ImportMode.UPDATE,
        match_on="id",
        source=job.source,
    )
    changed = [r.id for r in results if r.status == "updated"]
    failures = [
        {"id": str(rows[r.line - 1].data["id"]), "message": r.message}
        for r in results
        if r.status in ("rejected", "skipped")
    ]
    return changed, failures


def _undo(actor: Actor, job: BulkJob, ids: list[str]) -> tuple[list, list[dict]]:
    """Puts back one chunk of what ``job.undoes`` changed: deleted records come back from the
    trash; changed ones get back the fields the change set (later changes to other fields are
    kept). A record that cannot be put back (purged, its old value now taken or invalid, not
    the actor's to change) is reported and left as it is."""
    from rapport.contacts import services as contact_services

    from . import services

    original = job.undoes
    assert original is not None  # an undo job always names the change it undoes
    done: list = []
    failures: list[dict] = []
    if original.action == BulkAction.DELETE:
        for object_id in ids:
            try:
                with transaction.atomic():
                    if job.object_type == "person":
                        contact_services.person_restore(
                            actor=actor, person_id=object_id, source=job.source
                        )
                    else:
                        contact_services.company_restore(
                            actor=actor, company_id=object_id, source=job.source
                        )
            except DomainError as exc:
                failures.append({"id": object_id, "message": str(exc)})
            else:
                done.append(object_id)
        return done, failures
    update, id_arg = services.update_service_for(job.object_type)
    befores = services.first_changes(original.workspace_id, job.object_type, original.source, ids)
    for object_id in ids:
        changes = befores.get(object_id)
        if not changes:
            continue  # nothing of it was recorded as changed: nothing to put back
        try:
            with transaction.atomic():  # a refused update leaves the rest of the chunk
                update(
                    actor=actor,
                    data=services.reverse_changes(changes),
                    source=job.source,
                    **{id_arg: object_id},
                )
        except DomainError as exc:
            failures.append({"id": object_id, "message": str(exc)})
        else:
            done.append(object_id)
    return done, failures


def _tag_rows(actor: Actor, job: BulkJob, ids: list[str]) -> list[BatchRow]:
    from rapport.contacts.models import Company, Person

    model = Person if job.object_type == "person" else Company
    records = model.objects.visible_to(actor).filter(pk__in=ids).prefetch_related("tags")
    asked = {t.lower(): t for t in job.params["tags"]}
    rows = []
    for n, record in enumerate(records, 1):
        current = [t.name for t in record.tags.all()]
        if job.action == BulkAction.ADD_TAGS:
            have = {t.lower() for t in current}
            new = current + [t for k, t in asked.items() if k not in have]
        else:
            new = [t for t in current if t.lower() not in asked]
        rows.append(BatchRow(n, {"id": str(record.pk), "tags": new}))
    return rows
