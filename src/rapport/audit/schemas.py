from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from ninja import Schema


class AuditActorOut(Schema):
    kind: str
    user: uuid.UUID | None
    label: str


class AuditEntryOut(Schema):
    id: uuid.UUID
    created_at: dt.datetime
    action: str
    actor: AuditActorOut
    object_type: str
    object_id: str
    object_repr: str
    changes: dict[str, Any]
    request_id: str
    source: str

    @staticmethod
    def resolve_actor(obj) -> dict:
        return {"kind": obj.actor_kind, "user": obj.actor_user_id, "label": obj.actor_label}


class AuditEntryList(Schema):
    results: list[AuditEntryOut]
    next: str | None
