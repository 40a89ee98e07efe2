"""API shapes of interactions and tasks (DESIGN: API contract)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from ninja import Field, Schema

from rapport.core.api import StrictSchema

from .models import ActivityType, Priority, TaskStatus


class TargetIn(StrictSchema):
    type: str = Field(
        ..., description='A record type: "person", "company" (later "deal", "ticket")'
    )
    id: uuid.UUID


class TargetOut(Schema):
    type: str
    id: uuid.UUID


class FollowUpIn(StrictSchema):
    title: str | None = None
    due_in_days: int | None = Field(None, ge=0, le=3650)
    due_at: dt.datetime | None = None
    assignee: uuid.UUID | None = Field(None, description="A member; default: you")


DATA_HELP = (
    "Fields of the interaction's type. call: duration_s, outcome (connected, no_answer, busy, "
    "left_voicemail, wrong_number, failed), phone, recording_url. email: from, to, cc, bcc, "
    "subject in `subject`, text in `body`, html (sanitised; shown with remote images blocked), "
    "message_id, thread, in_reply_to. meeting: starts_at, ends_at, attendees [{email, name, "
    "user}], location, url (video link). chat: handle, conversation. social: network, handle, "
    "url. sms: phone. visit: starts_at, ends_at, location. Every type: url. People whose email "
    "appears among attendees, from, to or cc are linked automatically."
)


class ActivityIn(StrictSchema):
    type: ActivityType | None = Field(None, description="Required when creating")
    occurred_at: dt.datetime | None = Field(
        None, description="Default: now (a meeting's or visit's starts_at)"
    )
    subject: str | None = None
    body: str | None = Field(
        None,
        description=(
            "Plain text; a note's body is Markdown. Mention a member with "
            "@[Name](user:<user id>) or @<their sign-in email>: they are notified."
        ),
    )
    direction: Literal["inbound", "outbound", ""] | None = None
    channel: str | None = Field(None, description='Where it came from, e.g. "aircall"')
    external_id: str | None = Field(
        None, description="The channel's message id: unique per channel in the workspace"
    )
    targets: list[TargetIn] | None = Field(None, description="Required when creating (1-50)")
    author: uuid.UUID | None = Field(None, description="A member; default: you")
    data: dict[str, Any] | None = Field(None, description=DATA_HELP)
    pinned: bool | None = None
    follow_up: FollowUpIn | None = Field(
        None, description="Create a follow-up task linked to the same records (create only)"
    )


class ActivityOut(Schema):
    id: uuid.UUID
    type: str
    occurred_at: dt.datetime
    subject: str
    body: str
    body_html: str = Field(..., description="Sanitised HTML of the body (notes, emails)")
    direction: str | None
    channel: str
    external_id: str
    targets: list[TargetOut]
    author: uuid.UUID | None
    data: dict[str, Any]
    pinned: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_direction(obj) -> str | None:
        return obj.direction or None

    @staticmethod
    def resolve_author(obj) -> uuid.UUID | None:
        return obj.author_id

    @staticmethod
    def resolve_targets(obj) -> list[dict]:
        return [{"type": t.target_type, "id": t.target_id} for t in obj.direct_targets]


class ActivityList(Schema):
    results: list[ActivityOut]
    next: str | None


class TaskIn(StrictSchema):
    title: str | None = Field(None, description="Required when creating")
    description: str | None = None
    due_at: dt.datetime | None = None
    remind_at: dt.datetime | None = Field(None, description="When to remind the assignee")
    priority: Priority | None = None
    status: TaskStatus | None = None
    assignee: uuid.UUID | None = Field(None, description="A member; default: you")
    targets: list[TargetIn] | None = None
    rrule: str | None = Field(
        None,
        description=(
            "RFC 5545 recurrence, e.g. FREQ=DAILY, FREQ=WEEKLY;BYDAY=MO,WE, FREQ=MONTHLY;"
            "BYMONTHDAY=1. Completing the task creates the next occurrence."
        ),
    )


class TaskOut(Schema):
    id: uuid.UUID
    title: str
    description: str
    due_at: dt.datetime | None
    remind_at: dt.datetime | None
    priority: str
    status: str
    assignee: uuid.UUID | None
    targets: list[TargetOut]
    rrule: str
    completed_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_assignee(obj) -> uuid.UUID | None:
        return obj.assignee_id

    @staticmethod
    def resolve_targets(obj) -> list[dict]:
        return [{"type": t.target_type, "id": t.target_id} for t in obj.targets.all()]


class TaskList(Schema):
    results: list[TaskOut]
    next: str | None


class TaskBulkIn(StrictSchema):
    ids: list[uuid.UUID] = Field(..., min_length=1, max_length=500)
    action: Literal["complete", "reschedule"]
    due_at: dt.datetime | None = Field(None, description="reschedule: the new due time")
    shift_days: int | None = Field(None, description="reschedule: move by this many days")


class TaskBulkOut(Schema):
    changed: int
