"""/api/v1/audit: the workspace change log (owners and admins)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from django.http import HttpResponse
from ninja import Query, Router
from pydantic import AfterValidator

from rapport.core.api import COMMON_ERRORS, actor_of, list_response
from rapport.core.validation import as_utc

from . import selectors
from .schemas import AuditEntryList, AuditEntryOut

router = Router(tags=["audit"])

NAME = r"^[a-z0-9_.]+$"  # object types and registered event names
UtcDateTime = Annotated[dt.datetime, AfterValidator(as_utc)]
ACTOR = Query(None, description="Changes made by this user id")
SINCE = Query(None, description="Entries at or after this time")
UNTIL = Query(None, description="Entries before this time")


@router.get(
    "",
    response={200: AuditEntryList, **COMMON_ERRORS},
    summary="The workspace audit log (owners and admins)",
)
def list_audit(
    request,
    actor: uuid.UUID | None = ACTOR,
    object_type: str | None = Query(
        None, max_length=64, pattern=NAME, description="e.g. contacts.person"
    ),
    action: str | None = Query(
        None, max_length=64, pattern=NAME, description="e.g. contact.created"
    ),
    since: UtcDateTime | None = SINCE,
    until: UtcDateTime | None = UNTIL,
    limit: int = Query(50, ge=1, le=500, description="Page size (max 500)"),
    cursor: str | None = Query(None, max_length=1000),
) -> HttpResponse:
    page = selectors.workspace_log(
        actor=actor_of(request),
        actor_user=actor,
        object_type=object_type,
        action=action,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )
    return list_response(AuditEntryOut, page)
