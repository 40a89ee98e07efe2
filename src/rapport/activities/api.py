"""/api/v1/activities and /api/v1/tasks: parse, call a selector or service, shape the answer."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from django.http import HttpResponse
from ninja import Query, Router
from pydantic import AfterValidator

from rapport.audit import selectors as audit_selectors
from rapport.audit.schemas import AuditEntryList, AuditEntryOut
from rapport.core.api import (
    COMMON_ERRORS,
    WRITE_ERRORS,
    actor_of,
    idempotent,
    if_match_version,
    json_response,
    list_response,
    record_response,
)
from rapport.core.errors import ValidationFailed
from rapport.core.pagination import sort_pattern
from rapport.core.validation import as_utc

from . import ingest, selectors, services
from .models import ActivityType, Priority, TaskStatus
from .schemas import (
    ActivityIn,
    ActivityList,
    ActivityOut,
    TaskBulkIn,
    TaskBulkOut,
    TaskIn,
    TaskList,
    TaskOut,
)

activities_router = Router(tags=["activities"])
tasks_router = Router(tags=["tasks"])
ingest_router = Router(tags=["activities"])

Limit = Query(50, ge=1, le=500, description="Page size (max 500)")
Cursor = Query(None, max_length=1000, description="The `next` value of the previous page")
TimelineOf = Query(
    None, description="A record's id: its interactions (a company's include its people's)"
)
LinkedTo = Query(None, description="Tasks linked to this record")
Moment = Annotated[dt.datetime | None, AfterValidator(as_utc)]


def _choices(value: str | None, allowed, field: str) -> list[str]:
    """A comma-separated list of choice values (``?type=call,email``)."""
    if not value:
        return []
    items = [v.strip() for v in value.split(",") if v.strip()]
    valid = {c[0] for c in allowed}
    wrong = [v for v in items if v not in valid]
    if wrong:
        raise ValidationFailed.one(field, f"Use one or more of: {', '.join(sorted(valid))}.")
    return items


@activities_router.get(
    "",
    response={200: ActivityList, **COMMON_ERRORS},
    summary="List interactions (with target=<id>: that record's timeline)",
)
def list_activities(
    request,
    target: uuid.UUID | None = TimelineOf,
    type: str | None = Query(None, max_length=200, description="e.g. call or call,email"),
    author: uuid.UUID | None = None,
    channel: str | None = Query(None, max_length=50),
    occurred_after: Moment = None,
    occurred_before: Moment = None,
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> HttpResponse:
    filters = selectors.ActivityFilters(
        target=target,
        types=_choices(type, ActivityType.choices, "type"),
        author=author,
        occurred_after=occurred_after,
        occurred_before=occurred_before,
        channel=channel or "",
    )
    page = selectors.activity_list(
        actor=actor_of(request), filters=filters, cursor=cursor, limit=limit
    )
    return list_response(ActivityOut, page)


@activities_router.post(
    "", response={201: ActivityOut, **WRITE_ERRORS}, summary="Log an interaction"
)
def create_activity(request, payload: ActivityIn) -> HttpResponse:
    actor = actor_of(request)

    def create() -> HttpResponse:
        obj = services.activity_create(
            actor=actor, data=payload.model_dump(exclude_unset=True), source="api"
        )
        obj = selectors.activity_get(actor=actor, activity_id=obj.pk)
        return record_response(
            ActivityOut, obj, status=201, location=f"/api/v1/activities/{obj.pk}"
        )

    return idempotent(request, create)


@activities_router.get(
    "/{activity_id}", response={200: ActivityOut, **COMMON_ERRORS}, summary="Get an interaction"
)
def get_activity(request, activity_id: uuid.UUID) -> HttpResponse:
    obj = selectors.activity_get(actor=actor_of(request), activity_id=activity_id)
    return record_response(ActivityOut, obj)


@activities_router.patch(
    "/{activity_id}",
    response={200: ActivityOut, **WRITE_ERRORS},
    summary="Update an interaction (send only the fields that change)",
)
def update_activity(request, activity_id: uuid.UUID, payload: ActivityIn) -> HttpResponse:
    actor = actor_of(request)
    services.activity_update(
        actor=actor,
        activity_id=activity_id,
        data=payload.model_dump(exclude_unset=True),
        expected_version=if_match_version(request),
        source="api",
    )
    return record_response(
        ActivityOut, selectors.activity_get(actor=actor, activity_id=activity_id)
    )


@activities_router.delete(
    "/{activity_id}", response={204: None, **WRITE_ERRORS}, summary="Delete an interaction"
)
def delete_activity(request, activity_id: uuid.UUID) -> HttpResponse:
    services.activity_delete(
        actor=actor_of(request),
        activity_id=activity_id,
        expected_version=if_match_version(request),
        source="api",
    )
    return HttpResponse(status=204)


@activities_router.post(
    "/{activity_id}/restore",
    response={200: ActivityOut, **WRITE_ERRORS},
    summary="Restore a deleted interaction from the trash",
    description="It goes back on the timelines it was on. Restoring follows the delete rule.",
)
def restore_activity(request, activity_id: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    services.activity_restore(actor=actor, activity_id=activity_id, source="api")
    return record_response(
        ActivityOut, selectors.activity_get(actor=actor, activity_id=activity_id)
    )


@activities_router.get(
    "/{activity_id}/history",
    response={200: AuditEntryList, **COMMON_ERRORS},
    summary="Change history of an interaction",
)
def activity_history(
    request, activity_id: uuid.UUID, limit: int = Limit, cursor: str | None = Cursor
) -> HttpResponse:
    actor = actor_of(request)
    obj = selectors.activity_get(actor=actor, activity_id=activity_id)
    return list_response(
        AuditEntryOut,
        audit_selectors.record_history(actor=actor, obj=obj, cursor=cursor, limit=limit),
    )


# --- tasks -------------------------------------------------------------------------------------


@tasks_router.get("", response={200: TaskList, **COMMON_ERRORS}, summary="List tasks")
def list_tasks(
    request,
    assignee: str | None = Query(
        None, pattern=r"^(me|none|[0-9a-fA-F-]{36})$", description="A member's id, me or none"
    ),
    status: str | None = Query(None, max_length=50, description="open, done, cancelled (commas)"),
    priority: str | None = Query(None, max_length=50),
    due_after: Moment = None,
    due_before: Moment = None,
    target: uuid.UUID | None = LinkedTo,
    sort: str = Query(
        "due_at",
        pattern=sort_pattern(selectors.TASK_SORTS),
        description="due_at (default; tasks without a due date last), created_at or "
        "completed_at; prefix - for descending",
    ),
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> HttpResponse:
    actor = actor_of(request)
    filters = selectors.TaskFilters(
        statuses=_choices(status, TaskStatus.choices, "status"),
        priorities=_choices(priority, Priority.choices, "priority"),
        due_after=due_after,
        due_before=due_before,
        target=target,
    )
    if assignee == "me":
        filters.assignee = actor.user_id
    elif assignee == "none":
        filters.unassigned = True
    elif assignee:
        filters.assignee = uuid.UUID(assignee)
    page = selectors.task_list(
        actor=actor,
        filters=filters,
        sort=selectors.parse_task_sort(sort),
        cursor=cursor,
        limit=limit,
    )
    return list_response(TaskOut, page)


@tasks_router.post("", response={201: TaskOut, **WRITE_ERRORS}, summary="Create a task")
def create_task(request, payload: TaskIn) -> HttpResponse:
    actor = actor_of(request)

    def create() -> HttpResponse:
        obj = services.task_create(
            actor=actor, data=payload.model_dump(exclude_unset=True), source="api"
        )
        obj = selectors.task_get(actor=actor, task_id=obj.pk)
        return record_response(TaskOut, obj, status=201, location=f"/api/v1/tasks/{obj.pk}")

    return idempotent(request, create)


@tasks_router.post(
    "/bulk",
    response={200: TaskBulkOut, **WRITE_ERRORS},
    summary="Complete or reschedule up to 500 tasks at once (all or nothing)",
)
def bulk_tasks(request, payload: TaskBulkIn) -> HttpResponse:
    actor = actor_of(request)
    if payload.action == "complete":
        changed = services.tasks_complete(actor=actor, task_ids=payload.ids, source="api")
    else:
        changed = services.tasks_reschedule(
            actor=actor,
            task_ids=payload.ids,
            due_at=as_utc(payload.due_at),
            shift_days=payload.shift_days,
            source="api",
        )
    return json_response({"changed": changed})


@tasks_router.get("/{task_id}", response={200: TaskOut, **COMMON_ERRORS}, summary="Get a task")
def get_task(request, task_id: uuid.UUID) -> HttpResponse:
    return record_response(TaskOut, selectors.task_get(actor=actor_of(request), task_id=task_id))


@tasks_router.patch(
    "/{task_id}",
    response={200: TaskOut, **WRITE_ERRORS},
    summary="Update a task (send only the fields that change)",
)
def update_task(request, task_id: uuid.UUID, payload: TaskIn) -> HttpResponse:
    actor = actor_of(request)
    services.task_update(
        actor=actor,
        task_id=task_id,
        data=payload.model_dump(exclude_unset=True),
        expected_version=if_match_version(request),
        source="api",
    )
    return record_response(TaskOut, selectors.task_get(actor=actor, task_id=task_id))


@tasks_router.post(
    "/{task_id}/complete",
    response={200: TaskOut, **WRITE_ERRORS},
    summary="Complete a task (a repeating task gets its next occurrence)",
)
def complete_task(request, task_id: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    services.task_complete(actor=actor, task_id=task_id, source="api")
    return record_response(TaskOut, selectors.task_get(actor=actor, task_id=task_id))


@tasks_router.delete("/{task_id}", response={204: None, **WRITE_ERRORS}, summary="Delete a task")
def delete_task(request, task_id: uuid.UUID) -> HttpResponse:
    services.task_delete(
        actor=actor_of(request),
        task_id=task_id,
        expected_version=if_match_version(request),
        source="api",
    )
    return HttpResponse(status=204)


@tasks_router.post(
    "/{task_id}/restore",
    response={200: TaskOut, **WRITE_ERRORS},
    summary="Restore a deleted task from the trash",
    description="Restoring follows the delete rule.",
)
def restore_task(request, task_id: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    services.task_restore(actor=actor, task_id=task_id, source="api")
    return record_response(TaskOut, selectors.task_get(actor=actor, task_id=task_id))


@tasks_router.get(
    "/{task_id}/history",
    response={200: AuditEntryList, **COMMON_ERRORS},
    summary="Change history of a task",
)
def task_history(
    request, task_id: uuid.UUID, limit: int = Limit, cursor: str | None = Cursor
) -> HttpResponse:
    actor = actor_of(request)
    obj = selectors.task_get(actor=actor, task_id=task_id)
    return list_response(
        AuditEntryOut,
        audit_selectors.record_history(actor=actor, obj=obj, cursor=cursor, limit=limit),
    )


# --- channel ingest ---------------------------------------------------------------------------

INGEST_DESCRIPTION = """\
Channels (a phone system, a chat widget, a social inbox) push their interactions here, up to
500 per request. Each item takes the fields of `POST /activities` and may name its
counterpart with `from` (`{"email", "phone", "name"}`) instead of `targets`:

- `from.email` matches a person's email (case-insensitive), or an email they kept from a merge;
- `from.phone` is read in any format (with the workspace's default region) and matched as
  E.164 against people's phones; when several people share the number, the most recently
  updated one is linked;
- with both, the email decides; nobody matched: the item is an error, unless
  `create_unknown` is true, which creates the person (name from `from.name`, source = the
  channel). `direction` defaults to `inbound` when `from` is given.

**Idempotent on the channel's message id**: an item whose `channel` + `external_id` is already
logged answers `duplicate` with the existing interaction's id (also a repeat inside the same
batch), so a channel can safely re-send a batch after a timeout. Items without `external_id`
are not idempotent: re-sending them logs them again.

The answer is 200 with one result per item, in order, even when some items failed: each item
is stored or not on its own (a bad item never undoes the good ones). Only a batch that is
empty, has more than 500 items or is not JSON is refused as a whole (422/400), and a read-only
token gets 403.

Example request (a call from a phone system, a chat message, a social message by handle and
email):

```json
{
  "create_unknown": true,
  "items": [
    {"type": "call", "channel": "aircall", "external_id": "call-88412",
     "occurred_at": "2025-03-04T09:15:00Z", "subject": "Inbound call",
     "from": {"phone": "+44 20 7946 0958", "name": "Ada Lovelace"},
     "data": {"duration_s": 312, "outcome": "connected",
              "recording_url": "https://aircall.example/rec/88412"}},
    {"type": "chat", "channel": "intercom", "external_id": "conv-5521/msg-3",
     "body": "Hi! Is the Pro plan billed yearly?",
     "from": {"email": "Grace.Hopper@Example.com", "name": "Grace Hopper"},
     "data": {"conversation": "conv-5521", "handle": "grace"}},
    {"type": "social", "channel": "twitter", "external_id": "1766023409",
     "body": "@rapport loving the new timeline", "direction": "inbound",
     "from": {"email": "linus@example.org", "name": "Linus"},
     "data": {"network": "twitter", "handle": "@linus",
              "url": "https://twitter.com/linus/status/1766023409"}}
  ]
}
```

Example answer (the third message was already logged; a fourth item had a bad phone):

```json
{
  "results": [
    {"index": 0, "status": "created", "id": "0b9c3f1e-8a51-4c2e-9d7b-2f0f8f7c1a01",
     "person": "5d1e2c3b-4a59-4e87-b1f6-0c9d8e7f6a52", "person_created": true, "errors": []},
    {"index": 1, "status": "created", "id": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
     "person": "7e6d5c4b-3a29-4180-97f6-e5d4c3b2a190", "person_created": false, "errors": []},
    {"index": 2, "status": "duplicate", "id": "9f8e7d6c-5b4a-4392-a1b0-c9d8e7f6a5b4",
     "person": null, "person_created": false, "errors": []},
    {"index": 3, "status": "error", "id": null, "person": null, "person_created": false,
     "errors": [{"field": "from.phone", "message": "Not a phone number."}]}
  ]
}
```
"""

_INGEST_EXAMPLE = {
    "create_unknown": True,
    "items": [
        {
            "type": "call",
            "channel": "aircall",
            "external_id": "call-88412",
            "occurred_at": "2025-03-04T09:15:00Z",
            "subject": "Inbound call",
            "from": {"phone": "+44 20 7946 0958", "name": "Ada Lovelace"},
            "data": {"duration_s": 312, "outcome": "connected"},
        },
        {
            "type": "chat",
            "channel": "intercom",
            "external_id": "conv-5521/msg-3",
            "body": "Hi! Is the Pro plan billed yearly?",
            "from": {"email": "Grace.Hopper@Example.com", "name": "Grace Hopper"},
            "data": {"conversation": "conv-5521", "handle": "grace"},
        },
        {
            "type": "social",
            "channel": "twitter",
            "external_id": "1766023409",
            "body": "@rapport loving the new timeline",
            "from": {"email": "linus@example.org", "name": "Linus"},
            "data": {"network": "twitter", "handle": "@linus"},
        },
    ],
}


@ingest_router.post(
    "",
    response={200: ingest.IngestOut, **WRITE_ERRORS},
    summary="Push a batch of interactions from a channel (matched by email or phone)",
    description=INGEST_DESCRIPTION,
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"examples": {"channels": {"value": _INGEST_EXAMPLE}}}}
        }
    },
)
def ingest_activities(request, payload: ingest.IngestIn) -> HttpResponse:
    results = ingest.ingest_batch(
        actor=actor_of(request),
        items=payload.items,
        create_unknown=payload.create_unknown,
        source="api",
    )
    return json_response({"results": [r.as_json() for r in results]})
