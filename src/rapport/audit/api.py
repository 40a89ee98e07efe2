"""/api/v1/audit: the workspace change log (owners and admins)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.http import HttpResponse
from ninja import Query, Router

from rapport.core.api import COMMON_ERRORS, actor_of, list_response

from . import selectors
from .schemas import AuditEntryList, AuditEntryOut

router = Router(tags=["audit"])


@router.get(
    "",
    response={200: AuditEntryList, **COMMON_ERRORS},
    summary="The workspace audit log (owners and admins)",
)
def list_audit(
    request,
    actor: uuid.UUID | None = None,
    object_type: str | None = None,
    action: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
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
