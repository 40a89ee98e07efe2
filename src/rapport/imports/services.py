"""Imports: upload -> mapping -> preview -> dry run -> run (in a worker) -> report -> undo.

Every row reaches the database through ``contacts.batch.write_batch`` (people, companies), which
cleans it with the same functions as a single create or update, or through ``lead_create`` /
``lead_update`` themselves (leads, ``lead_rows``). The run is resumable: each chunk of rows is
written in one transaction together with the job's checkpoint (rows done, counters, the rows
it could not write), so a worker killed mid-chunk leaves nothing of that chunk behind, and the
job resumed by another worker starts exactly after the last chunk that committed.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator
from typing import Any, cast

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from rapport.audit.services import record
from rapport.contacts import batch
from rapport.contacts.batch import BatchRow, ImportMode, RowResult
from rapport.core import jobs
from rapport.core.actors import Actor, ActorKind, Role
from rapport.core.bulk import bulk_writing, insert_values
from rapport.core.errors import DomainError, FieldError, NotFound, ValidationFailed
from rapport.core.models import JobStatus
from rapport.core.policy import require_write
from rapport.tenancy.models import Membership

from . import events, lead_rows, mapping, readers
from .models import (
    ImportedRecord,
    ImportIssue,
    ImportJob,
    ImportMapping,
    ImportUndo,
    ObjectType,
)

MAX_ISSUES = 100_000  # a file of nothing but errors still gets a bounded report
_CELL_REPORT_CHARS = 200


def _job(actor: Actor, job_id, *, lock: bool = False) -> ImportJob:
    qs = ImportJob.objects.visible_to(actor)
    if lock:
        qs = qs.select_for_update()
    job = qs.filter(pk=job_id).first()
    if job is None:
        raise NotFound("No such import.")
    return job


# --- upload and mapping -----------------------------------------------------------------------


def import_upload(
    *,
    actor: Actor,
    upload: UploadedFile,
    object_type: str,
    template_id=None,
) -> ImportJob:
    """Stores the file, reads its header and first rows and guesses the mapping."""
    require_write(actor)
    if object_type not in ObjectType.values:
        raise ValidationFailed.one("object_type", "Choose people, companies or leads.")
    if upload.size is not None and upload.size > settings.IMPORT_MAX_BYTES:
        raise ValidationFailed.one(
            "file", f"The file is larger than {settings.IMPORT_MAX_BYTES // 2**20:,} MB."
        )
    saved = _template(actor, template_id, object_type) if template_id else None
    upload.seek(0)
    sniffed = readers.sniff(upload.file, upload.name or "")  # type: ignore[arg-type]
    upload.seek(0)
    if sniffed.file_format == "vcard" and object_type != ObjectType.PERSON:
        raise ValidationFailed.one("file", "vCard files hold people; import them as people.")
    targets = mapping.targets_for(actor.workspace, object_type)
    guessed = mapping.guess(sniffed.headers, targets, saved.columns if saved else None)
    with transaction.atomic():
        job = ImportJob(
            workspace=actor.workspace,
            status=JobStatus.DRAFT,
            object_type=object_type,
            file_name=(upload.name or "upload")[-255:],
            file_size=upload.size or 0,
            file_format=sniffed.file_format,
            encoding=sniffed.encoding,
            delimiter=sniffed.delimiter,
            headers=sniffed.headers,
            sample=[[c[:_CELL_REPORT_CHARS] for c in row] for row in sniffed.sample],
            mapping=guessed,
            match_on=_default_match(object_type, guessed),
            total=sniffed.estimated_rows,
            created_by=actor.user,
            created_by_kind=actor.kind.value,
        )
        job.file.save("source", upload, save=False)
        job.save()
    return job


def _default_match(object_type: str, columns: dict[str, str]) -> str:
    mapped = set(columns.values())
    preferred = {
        "person": ("email", "external_id"),
        "company": ("domain", "external_id"),
        "lead": lead_rows.MATCH_FIELDS,
    }[object_type]
    return next((key for key in preferred if key in mapped), "")


def _template(actor: Actor, template_id, object_type: str) -> ImportMapping:
    template = (
        ImportMapping.objects.visible_to(actor)
        .filter(pk=template_id, object_type=object_type)
        .first()
    )
    if template is None:
        raise ValidationFailed.one("template", "No such mapping template for this kind of record.")
    return template


def import_configure(
    *,
    actor: Actor,
    job_id,
    columns: dict[str, str],
    mode: str = ImportMode.UPSERT,
    match_on: str = "",
    create_companies: bool = True,
    save_as: str = "",
) -> ImportJob:
    """Sets the mapping and options of an import that has not started."""
    with transaction.atomic():
        job = _job(actor, job_id, lock=True)
        require_write(actor)
        if job.status != JobStatus.DRAFT and not (job.dry_run and job.is_finished):
            raise ValidationFailed.one("status", "This import has already run.")
        errors: list[FieldError] = []
        targets = {t.key for t in mapping.targets_for(actor.workspace, job.object_type)}
        clean: dict[str, str] = {}
        used: dict[str, str] = {}
        for index_text, target in columns.items():
            if not target:
                continue
            if not str(index_text).isdigit() or int(index_text) >= len(job.headers):
                errors.append(FieldError(f"mapping.{index_text}", "No such column."))
            elif target not in targets:
                errors.append(FieldError(f"mapping.{index_text}", f"Unknown field {target!r}."))
            elif target in used:
                errors.append(
                    FieldError(
                        f"mapping.{index_text}",
                        f"Already filled from the column {job.headers[int(used[target])]!r}.",
                    )
                )
            else:
                clean[str(int(index_text))] = target
                used[target] = str(int(index_text))
        if mode not in ImportMode.values:
            errors.append(FieldError("mode", "Choose create, update or upsert."))
        allowed_match = {k for k, _ in mapping.MATCH_CHOICES[job.object_type]}
        if match_on not in allowed_match:
            errors.append(FieldError("match_on", "Not a field records can be matched on."))
        elif match_on and match_on not in used:
            errors.append(FieldError("match_on", f"Map a column to {match_on} to match on it."))
        elif not match_on and mode != ImportMode.CREATE:
            errors.append(
                FieldError("match_on", "Updating existing records needs a field to match them on.")
            )
        needed, what = _NEEDED[job.object_type]
        if mode != ImportMode.UPDATE and not (needed & set(used)):
            errors.append(FieldError("mapping", f"Map at least one column to {what}."))
        if errors:
            raise ValidationFailed("The mapping is not complete.", errors)
        job.mapping = clean
        job.mode = mode
        job.match_on = match_on
        job.create_companies = create_companies
        job.save(update_fields=["mapping", "mode", "match_on", "create_companies"])
        if save_as.strip():
            mapping_template_save(
                actor=actor,
                name=save_as,
                object_type=job.object_type,
                columns={job.headers[int(i)]: t for i, t in clean.items()},
            )
    return job


# What a new record needs at least one of, as the create services demand.
_NAMES = {"first_name", "last_name", "full_name"}
_NEEDED = {
    "person": ({*_NAMES, "email"}, "a name or an email"),
    "company": ({"name"}, "the name"),
    "lead": ({*_NAMES, "email", "company_name"}, "a name, an email or a company name"),
}


def mapping_template_save(
    *, actor: Actor, name: str, object_type: str, columns: dict[str, str]
) -> ImportMapping:
    require_write(actor)
    name = " ".join(name.split())[:100]
    if not name:
        raise ValidationFailed.one("save_as", "Give the template a name.")
    template, created = ImportMapping.objects.update_or_create(
        workspace=actor.workspace,
        object_type=object_type,
        name=name,
        defaults={"columns": columns, "created_by": actor.user},
    )
    record(
        actor=actor,
        action=events.MAPPING_SAVED,
        obj=template,
        changes={"columns": {"before": None if created else "(replaced)", "after": columns}},
        source="import",
    )
    return template  # type: ignore[return-value]  # (the plugin types the abstract base)


# --- reading the file as data -----------------------------------------------------------------


class _Rows:
    """The job's file as (line, cells, converted data), skipping the header."""

    def __init__(self, job: ImportJob):
        self.job = job
        self.members = _members(job.workspace)
        self.custom_types = _custom_types(job.workspace, job.object_type)

    @contextlib.contextmanager
    def open(self, skip: int = 0) -> Iterator[Iterator[tuple[int, list[str], mapping.Converted]]]:
        sniffed = readers.Sniffed(
            self.job.file_format, encoding=self.job.encoding, delimiter=self.job.delimiter
        )
        with self.job.file.open("rb") as raw:
            rows = readers.iter_rows(raw, sniffed)
            next(rows, None)  # the header
            yield (self._convert(line, cells) for line, cells in _skip(rows, skip))

    def _convert(self, line: int, cells: list[str]):
        converted = mapping.convert(
            cells, self.job.mapping, members=self.members, custom_types=self.custom_types
        )
        return line, cells, converted


def _members(workspace) -> dict[str, Any]:
    """{lower-case email or full name: user id}. Salesforce and Zoho export owners by name;
    a name two members share matches neither."""
    members: dict[str, Any] = {}
    by_name: dict[str, list[Any]] = {}
    rows = Membership.objects.filter(workspace=workspace).values_list(
        "user__email", "user__full_name", "user_id"
    )
    for email, full_name, user_id in rows:
        members[email.lower()] = user_id
        if name := " ".join(full_name.lower().split()):
            by_name.setdefault(name, []).append(user_id)
    for name, user_ids in by_name.items():
        if len(user_ids) == 1:
            members.setdefault(name, user_ids[0])
    return members


def _skip(rows, n: int):
    for i, row in enumerate(rows):
        if i >= n:
            yield row


def _custom_types(workspace, object_type: str) -> dict[str, Any]:
    try:
        from rapport.customization import types as custom_types
        from rapport.customization.selectors import fields_for
    except ImportError:
        return {}
    found: dict[str, Any] = {}
    for definition in fields_for(workspace, mapping.MODEL_LABELS[object_type]):
        kind = custom_types.get_type(definition.type)
        found[definition.key] = _Bound(kind, definition, workspace)
    return found


class _Bound:
    """A custom field type bound to its definition and workspace: ``parse_text(raw)``."""

    def __init__(self, kind, definition, workspace):
        self.kind, self.definition, self.workspace = kind, definition, workspace

    def parse_text(self, raw: str):
        return self.kind.parse_text(raw, self.definition, workspace=self.workspace)


def _write_chunk(
    actor: Actor, job: ImportJob, chunk: list[tuple[int, list[str], mapping.Converted]]
) -> list[tuple[RowResult, list[str], mapping.Converted]]:
    """Writes (or, for a dry run, tries and rolls back) one chunk; one result per row."""
    ready = [(line, cells, conv) for line, cells, conv in chunk if not conv.errors]
    results: dict[int, RowResult] = {
        line: RowResult(line, "rejected", errors=conv.errors)
        for line, _cells, conv in chunk
        if conv.errors
    }
    if ready:
        rows = [BatchRow(line, conv.data) for line, _c, conv in ready]
        with transaction.atomic():
            written = (
                lead_rows.write_batch(
                    actor=actor, rows=rows, mode=job.mode, match_on=job.match_on, source=job.source
                )
                if job.object_type == ObjectType.LEAD
                else batch.write_batch(
                    actor=actor,
                    object_type=job.object_type,
                    rows=rows,
                    mode=job.mode,
                    match_on=job.match_on,
                    source=job.source,
                    create_companies=job.create_companies,
                )
            )
            if job.dry_run:
                transaction.set_rollback(True)
        results |= {r.line: r for r in written}
    return [(results[line], cells, conv) for line, cells, conv in chunk]


def import_preview(*, actor: Actor, job_id, limit: int = readers.SAMPLE_ROWS) -> list[dict]:
    """The first rows as they would be written, with every error placed on its column.
    Nothing is kept: the rows are written inside a transaction that is rolled back."""
    job = _job(actor, job_id)
    require_write(actor)
    rows = _Rows(job)
    preview = []
    with rows.open() as stream:
        chunk = [row for _, row in zip(range(limit), stream, strict=False)]
    with transaction.atomic():
        outcomes = _write_chunk(actor, job, chunk)
        transaction.set_rollback(True)
    for result, cells, conv in outcomes:
        by_column: dict[int, list[str]] = {}
        general = []
        for error in result.errors:
            column = mapping.column_for(error.field, conv.column_of)
            if column is None:
                general.append(f"{error.field}: {error.message}" if error.field else error.message)
            else:
                by_column.setdefault(column, []).append(error.message)
        preview.append(
            {
                "line": result.line,
                "status": result.status,
                "cells": [c[:_CELL_REPORT_CHARS] for c in cells],
                "cell_errors": {str(k): v for k, v in by_column.items()},
                "errors": general,
            }
        )
    return preview


# --- running ---------------------------------------------------------------------------------


def import_start(*, actor: Actor, job_id, dry_run: bool = False, enqueue: bool = True) -> ImportJob:
    """Queues the import (or a dry run of it) for a worker; ``enqueue=False`` leaves the run
    to the caller (the CLI runs it in its own process with a progress bar)."""
    with transaction.atomic():
        job = _job(actor, job_id, lock=True)
        require_write(actor)
        rerun_after_dry_run = job.dry_run and job.status == JobStatus.SUCCEEDED
        if job.status != JobStatus.DRAFT and not rerun_after_dry_run:
            raise ValidationFailed.one("status", "This import has already been started.")
        if not job.mapping:
            raise ValidationFailed.one("mapping", "Map at least one column first.")
        job.issues.all().delete()
        job.status = JobStatus.QUEUED
        job.dry_run = dry_run
        job.processed = 0
        job.created_count = job.updated_count = job.unchanged_count = 0
        job.skipped_count = job.rejected_count = 0
        job.error = ""
        job.started_at = job.finished_at = None
        job.created_by = actor.user
        job.created_by_kind = actor.kind.value
        job.save()
        if not dry_run:
            record(
                actor=actor,
                action=events.IMPORT_STARTED,
                obj=job,
                changes={
                    "file": {"before": None, "after": job.file_name},
                    "mode": {"before": None, "after": job.mode},
                    "match_on": {"before": None, "after": job.match_on},
                },
                source="import",
            )
        if enqueue:
            jobs.enqueue(job)
    return job


def job_actor(job) -> Actor:
    """Who a background job acts as: the member who started it, with their role today."""
    membership = (
        Membership.objects.select_related("user", "workspace")
        .filter(workspace_id=job.workspace_id, user_id=job.created_by_id)
        .first()
    )
    if membership is None:
        if job.created_by_kind == ActorKind.SYSTEM.value:
            return Actor.system(job.workspace, "import")
        raise ValidationFailed.one("created_by", "The member who started this is no longer here.")
    return Actor(
        kind=ActorKind.USER,
        workspace=membership.workspace,
        role=Role(membership.role),
        user=membership.user,
    )


ProgressHook = Callable[[ImportJob], None]


def import_run(job_id, *, on_progress: ProgressHook | None = None) -> ImportJob | None:
    """The worker's body: claims the job and writes it chunk by chunk from its checkpoint."""
    job = jobs.claim(ImportJob, job_id)
    if job is None:
        return None  # finished, or another live worker has it
    try:
        actor = job_actor(job)
        rows = _Rows(job)
        with rows.open(skip=job.processed) as stream, bulk_writing(), _long_lived_frozen():
            while True:
                size = settings.IMPORT_CHUNK_ROWS
                chunk = [row for _, row in zip(range(size), stream, strict=False)]
                if not chunk:
                    break
                _commit_chunk(actor, job, chunk)
                if on_progress:
                    on_progress(job)
    except ValidationFailed as exc:
        jobs.finish(job, JobStatus.FAILED, exc.detail)
        return job
    except Exception as exc:
        jobs.finish(job, JobStatus.FAILED, f"The import stopped: {exc}")
        raise
    with transaction.atomic():
        if job.total is None or job.total != job.processed:
            job.total = job.processed
            job.save(update_fields=["total"])
        jobs.finish(job)
        if not job.dry_run:
            record(
                actor=actor,
                action=events.IMPORT_FINISHED,
                obj=job,
                changes=_counts_changes(job),
                source=job.source,
            )
            if job.object_type != ObjectType.LEAD and (job.created_count or job.updated_count):
                # Rows are written in bulk, not flagged one by one as a single create is: a
                # workspace scan (blocked, incremental in cost) flags what the import brought.
                from rapport.contacts import dedupe

                dedupe.scan_start(actor=actor)
    return job


@contextlib.contextmanager
def _long_lived_frozen() -> Iterator[None]:
    """Keeps the objects that outlive the run (modules, the app's registry) out of the garbage
    collector's passes while it runs: every chunk allocates thousands of short-lived objects,
    and each full pass walked the whole heap (about a tenth of an import's CPU time)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _commit_chunk(actor: Actor, job: ImportJob, chunk) -> None:
    with transaction.atomic():
        outcomes = _write_chunk(actor, job, chunk)
        issues, records = [], []
        counts = dict.fromkeys(("created", "updated", "unchanged", "skipped", "rejected"), 0)
        for result, cells, conv in outcomes:
            counts[result.status] += 1
            if result.status in ("created", "updated") and not job.dry_run:
                assert result.id is not None  # a created or updated row names its record
                records.append((job.pk, result.id, result.status == "created"))
            if result.status in ("rejected", "skipped"):
                issues.append(_issue(job, result, cells, conv))
        insert_values(ImportedRecord, ("job_id", "object_id", "created"), records)
        room = MAX_ISSUES - (job.rejected_count + job.skipped_count)
        ImportIssue.objects.bulk_create(issues[: max(room, 0)], batch_size=1000)
        jobs.checkpoint(
            job,
            processed=job.processed + len(chunk),
            created_count=job.created_count + counts["created"],
            updated_count=job.updated_count + counts["updated"],
            unchanged_count=job.unchanged_count + counts["unchanged"],
            skipped_count=job.skipped_count + counts["skipped"],
            rejected_count=job.rejected_count + counts["rejected"],
        )


def _issue(job: ImportJob, result: RowResult, cells: list[str], conv) -> ImportIssue:
    errors = [
        {
            "field": e.field,
            "column": (
                job.headers[c]
                if (c := mapping.column_for(e.field, conv.column_of)) is not None
                and c < len(job.headers)
                else ""
            ),
            "message": e.message,
        }
        for e in result.errors
    ]
    return ImportIssue(
        job=job,
        line=result.line,
        outcome=result.status,
        message=result.message[:2000],
        errors=errors,
        values=[c[:_CELL_REPORT_CHARS] for c in cells[: readers.MAX_COLUMNS]],
    )


def _counts_changes(job: ImportJob) -> dict:
    return {
        name: {"before": None, "after": getattr(job, f"{name}_count")}
        for name in ("created", "updated", "unchanged", "skipped", "rejected")
    }


# --- undo --------------------------------------------------------------------------------------


UNDO_CHUNK = 500  # imported-record rows undone per transaction (and checkpoint)


def import_undo(*, actor: Actor, job_id, enqueue: bool = True) -> ImportJob:
    """Queues the undo of a finished import for a worker (``import_undo_run``): records it
    created go to the trash, fields it changed on the others are put back. Asking again while
    the undo is queued or running, or after it finished, is refused; after a failure it is
    queued again and continues from its checkpoint."""
    with transaction.atomic():
        job = _job(actor, job_id, lock=True)
        require_write(actor)
        if job.dry_run or job.status != JobStatus.SUCCEEDED:
            raise ValidationFailed.one("status", "Only a finished import can be undone.")
        undo = ImportUndo.objects.filter(**{"import_job": job}).first()  # (plugin: see jobs)
        if job.undone_at or (undo is not None and undo.status == JobStatus.SUCCEEDED):
            raise ValidationFailed.one("status", "This import has already been undone.")
        if undo is not None and undo.status != JobStatus.FAILED:
            raise ValidationFailed.one("status", "This import is already being undone.")
        if undo is None:
            undo = ImportUndo(workspace=job.workspace, import_job=job, total=job.records.count())
        jobs.queue_for(undo, actor, send=enqueue)  # the worker acts as whoever asked (last)
    job.undo = undo
    return job


def import_undo_run(undo_id, *, on_progress: Callable[[ImportUndo], None] | None = None):
    """The worker's body: claims the undo and walks the import's records chunk by chunk from
    its checkpoint, each chunk undone and checkpointed in one transaction."""
    undo = jobs.claim(ImportUndo, undo_id)
    if undo is None:
        return None  # finished, or another live worker has it
    try:
        actor = job_actor(undo)
        job = cast(
            ImportJob, ImportJob.objects.get(pk=undo.import_job_id)
        )  # (plugin: abstract base)
        while chunk := list(
            job.records.filter(pk__gt=undo.cursor)
            .order_by("pk")
            .values_list("pk", "object_id", "created")[:UNDO_CHUNK]
        ):
            with transaction.atomic():
                trashed, reverted, failed = _undo_chunk(actor, job, chunk)
                jobs.checkpoint(
                    undo,
                    cursor=chunk[-1][0],
                    processed=undo.processed + len(chunk),
                    trashed_count=undo.trashed_count + trashed,
                    reverted_count=undo.reverted_count + reverted,
                    failed_count=undo.failed_count + failed,
                )
            if on_progress:
                on_progress(undo)
    except ValidationFailed as exc:
        jobs.finish(undo, JobStatus.FAILED, exc.detail)
        return undo
    except Exception as exc:
        jobs.finish(undo, JobStatus.FAILED, f"The undo stopped: {exc}")
        raise
    with transaction.atomic():
        job.undone_at = timezone.now()
        job.save(update_fields=["undone_at"])
        jobs.finish(undo)
        record(
            actor=actor,
            action=events.IMPORT_UNDONE,
            obj=job,
            changes={
                "undone_at": {"before": None, "after": job.undone_at.isoformat()},
                "trashed": {"before": None, "after": undo.trashed_count},
                "reverted": {"before": None, "after": undo.reverted_count},
                "left_alone": {"before": None, "after": undo.failed_count},
            },
            source=job.source,
        )
    return undo


def _undo_chunk(actor: Actor, job: ImportJob, chunk) -> tuple[int, int, int]:
    """Undoes one chunk of imported records: (trashed, reverted, left alone). Records deleted
    since, not the actor's to delete, or whose old values are no longer valid are left alone;
    later changes by others to fields the import did not touch are kept."""
    source = f"undo:{job.pk}"
    created = [object_id for _pk, object_id, was_created in chunk if was_created]
    changed = [object_id for _pk, object_id, was_created in chunk if not was_created]
    if changed:
        # A record this import created and a later row of it updated goes to the trash as
        # created; its first audit entry (the creation) has nothing to put back.
        made_here = set(
            job.records.filter(created=True, object_id__in=changed).values_list(
                "object_id", flat=True
            )
        )
        changed = [object_id for object_id in changed if object_id not in made_here]
    trashed = 0
    if created and job.object_type == ObjectType.LEAD:
        for lead_id in created:
            with contextlib.suppress(DomainError):
                trashed += lead_rows.delete_created(actor=actor, ids=[lead_id], source=source)
    elif created:
        trashed = batch.delete_batch(
            actor=actor, object_type=job.object_type, ids=created, source=source, skip_denied=True
        )
    update, id_arg = update_service_for(job.object_type)
    befores = _import_changes(job, changed)
    reverted = failed = 0
    for object_id in changed:
        changes = befores.get(str(object_id))
        if changes is None:
            continue  # nothing of it was recorded as changed: nothing to put back
        try:
            with transaction.atomic():  # a refused update leaves the rest of the chunk
                update(
                    actor=actor, data=reverse_changes(changes), source=source, **{id_arg: object_id}
                )
        except DomainError:
            failed += 1  # deleted since, or the old value is no longer valid: leave it
        else:
            reverted += 1
    return trashed, reverted, failed + len(created) - trashed


def _import_changes(job: ImportJob, object_ids: list) -> dict[str, dict]:
    """{object id: the changes of the import's first audit entry on it}: one query a chunk."""
    return first_changes(job.workspace_id, job.object_type, job.source, object_ids)


def first_changes(workspace_id, object_type: str, source: str, object_ids: list) -> dict:
    """{object id: the changes of the first audit entry ``source`` (an import's or a bulk
    change's) wrote on it}: what undoing it puts back. One query a chunk, by the audit log's
    per-record index."""
    from rapport.audit.models import AuditEntry

    if not object_ids:
        return {}
    entries = (
        AuditEntry.objects.filter(
            workspace_id=workspace_id,
            object_type=mapping.MODEL_LABELS[object_type],
            object_id__in=[str(i) for i in object_ids],
            source=source,
        )
        .order_by("created_at")
        .values_list("object_id", "changes")
    )
    first: dict[str, dict] = {}
    for object_id, changes in entries:
        first.setdefault(object_id, changes)
    return first


def update_service_for(object_type: str) -> tuple[Any, str]:
    """The service that updates one record of the kind, and the name of its id argument."""
    from rapport.contacts import services as contact_services
    from rapport.sales import lead_services

    services: dict[str, tuple[Any, str]] = {
        "person": (contact_services.person_update, "person_id"),
        "company": (contact_services.company_update, "company_id"),
        "lead": (lead_services.lead_update, "lead_id"),
    }
    return services[object_type]


_ADDRESS_FIELDS = ("street", "city", "region", "postal_code", "country")


def reverse_changes(changes: dict) -> dict:
    """The update data that puts back the ``before`` side of an audit entry's changes."""
    data: dict[str, Any] = {}
    for name, change in changes.items():
        before = change.get("before")
        if name == "address":
            data["address"] = {k: (before or {}).get(k, "") for k in _ADDRESS_FIELDS}
        elif name.endswith("_id"):
            data[name[:-3]] = before
        elif name == "custom":
            # An update merges ``custom`` into what is stored (null removes a key): send only
            # the keys this change touched, each with its earlier value or null, so custom
            # values it added go and others' later edits to other keys stay.
            before, after = before or {}, change.get("after") or {}
            data["custom"] = {
                k: before.get(k)
                for k in before.keys() | after.keys()
                if before.get(k) != after.get(k)
            }
        elif name == "annual_revenue":
            continue  # restored together with its currency below
        elif name == "annual_revenue_currency":
            amount = changes.get("annual_revenue", {}).get("before")
            data["annual_revenue"] = {"amount": amount, "currency": before} if amount else None
        else:
            data[name] = before
    if "annual_revenue" in changes and "annual_revenue" not in data:
        amount = changes["annual_revenue"].get("before")
        data["annual_revenue"] = {"amount": amount} if amount else None
    return data
