"""Shapes of /api/v1/attachments."""

from __future__ import annotations

import datetime as dt
import uuid

from ninja import Schema


class TargetRefOut(Schema):
    type: str
    id: uuid.UUID


class AttachmentOut(Schema):
    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    previewable: bool
    target: TargetRefOut
    created_by: uuid.UUID | None
    created_at: dt.datetime
    url: str

    @staticmethod
    def resolve_target(obj) -> dict:
        return {"type": obj.target_type, "id": obj.target_id}

    @staticmethod
    def resolve_created_by(obj) -> uuid.UUID | None:
        return obj.created_by_id

    @staticmethod
    def resolve_url(obj) -> str:
        return f"/api/v1/attachments/{obj.pk}/content"


class AttachmentList(Schema):
    results: list[AttachmentOut]
    next: str | None
