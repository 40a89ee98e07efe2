from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from ninja import Schema
from pydantic import Field

from rapport.core.api import StrictSchema


class TargetOut(Schema):
    key: str
    label: str


class ImportUndoOut(Schema):
    status: str = Field(description="queued, running, succeeded, failed")
    total: int | None = Field(description="Records the import created or changed")
    processed: int
    trashed: int = Field(description="Created records moved to the trash")
    reverted: int = Field(description="Changed records whose fields were put back")
    left_alone: int = Field(description="Records deleted since, not yours, or no longer valid")
    error: str
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @staticmethod
    def resolve_trashed(obj) -> int:
        return obj.trashed_count

    @staticmethod
    def resolve_reverted(obj) -> int:
        return obj.reverted_count

    @staticmethod
    def resolve_left_alone(obj) -> int:
        return obj.failed_count


class ImportOut(Schema):
    id: uuid.UUID
    object_type: str
    status: str = Field(description="draft, queued, running, succeeded, failed")
    dry_run: bool
    file_name: str
    file_format: str
    encoding: str
    headers: list[str]
    sample: list[list[str]]
    mapping: dict[str, str] = Field(description="{column index: target field}")
    mode: str
    match_on: str
    create_companies: bool
    total: int | None = Field(description="Rows in the file (an estimate until it has run)")
    processed: int
    created: int
    updated: int
    unchanged: int
    skipped: int
    rejected: int
    error: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    undone_at: dt.datetime | None
    undo: ImportUndoOut | None = Field(
        None, description="The undo of this import (POST /undo), with its progress"
    )

    @staticmethod
    def resolve_undo(obj):
        return getattr(obj, "undo", None)  # (no undo: the reverse one-to-one raises)

    @staticmethod
    def resolve_created(obj) -> int:
        return obj.created_count

    @staticmethod
    def resolve_updated(obj) -> int:
        return obj.updated_count

    @staticmethod
    def resolve_unchanged(obj) -> int:
        return obj.unchanged_count

    @staticmethod
    def resolve_skipped(obj) -> int:
        return obj.skipped_count

    @staticmethod
    def resolve_rejected(obj) -> int:
        return obj.rejected_count


class ImportList(Schema):
    results: list[ImportOut]
    next: str | None


class ImportConfigIn(StrictSchema):
    mapping: dict[str, str] = Field(
        description="{column index: target field}; see `targets` of GET /imports/{id}/targets"
    )
    mode: str = Field("upsert", pattern="^(upsert|create|update)$")
    match_on: str = Field("", max_length=16)
    create_companies: bool = True
    save_as: str = Field("", max_length=100, description="Also save the mapping as a template")


class ImportStartIn(StrictSchema):
    dry_run: bool = False


class IssueErrorOut(Schema):
    field: str
    column: str
    message: str


class IssueOut(Schema):
    line: int
    outcome: str
    message: str
    errors: list[IssueErrorOut]
    values: list[str]


class IssueList(Schema):
    results: list[IssueOut]
    next: str | None


class PreviewRowOut(Schema):
    line: int
    status: str
    cells: list[str]
    cell_errors: dict[str, list[str]]
    errors: list[str]


class ExportIn(StrictSchema):
    object_type: str = Field(pattern="^(person|company)$")
    format: str = Field("csv", pattern="^(csv|xlsx|vcard)$")
    filters: dict[str, str] = Field(
        default_factory=dict, description="The list's filters, as for GET /contacts"
    )
    sort: str = Field("", max_length=64)


class ExportOut(Schema):
    id: uuid.UUID
    object_type: str
    format: str
    status: str
    total: int | None
    processed: int
    error: str
    file_name: str
    download: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None

    @staticmethod
    def resolve_format(obj) -> str:
        return obj.file_format

    @staticmethod
    def resolve_download(obj) -> str | None:
        return f"/api/v1/exports/{obj.pk}/download" if obj.file else None


class ExportList(Schema):
    results: list[ExportOut]
    next: str | None


class BulkIn(StrictSchema):
    object_type: str = Field(pattern="^(person|company)$")
    action: str = Field(pattern="^(update|add_tags|remove_tags|delete)$")
    ids: list[str] | None = Field(
        None, max_length=10_000, description="The records to change; omit to use `filters`"
    )
    filters: dict[str, str] = Field(
        default_factory=dict, description="The list's filters, as for GET /contacts"
    )
    data: dict[str, Any] | None = Field(
        None, description="For `update`: the fields to set, as for PATCH /contacts/{id}"
    )
    tags: list[str] | None = Field(None, max_length=50, description="For add_tags/remove_tags")


class BulkOut(Schema):
    id: uuid.UUID
    object_type: str
    action: str
    status: str
    total: int | None
    processed: int
    changed: int
    failed: int
    failures: list[dict[str, str]]
    error: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    undoes: uuid.UUID | None = Field(
        None, description="For an `undo`: the bulk change it puts back"
    )

    @staticmethod
    def resolve_changed(obj) -> int:
        return obj.changed_count

    @staticmethod
    def resolve_undoes(obj) -> uuid.UUID | None:
        return obj.undoes_id

    @staticmethod
    def resolve_failed(obj) -> int:
        return obj.failed_count
