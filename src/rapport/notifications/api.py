"""/api/v1/notifications: the caller's own notifications and email preference."""

from __future__ import annotations

import uuid

from django.http import HttpResponse
from ninja import Query, Router

from rapport.core.api import COMMON_ERRORS, actor_of, dump, json_response, list_response

from . import selectors, services
from .schemas import MarkedOut, NotificationList, NotificationOut, PreferenceIn, PreferenceOut

router = Router(tags=["notifications"])

Limit = Query(50, ge=1, le=500, description="Page size (max 500)")
Cursor = Query(None, max_length=1000, description="The `next` value of the previous page")


@router.get("", response={200: NotificationList, **COMMON_ERRORS}, summary="List my notifications")
def list_notifications(
    request,
    unread: bool = Query(False, description="Only unread ones"),
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> HttpResponse:
    page = selectors.notification_list(
        actor=actor_of(request), unread_only=unread, cursor=cursor, limit=limit
    )
    return list_response(NotificationOut, page)


@router.post("/read-all", response={200: MarkedOut, **COMMON_ERRORS}, summary="Mark all as read")
def read_all(request) -> HttpResponse:
    return json_response({"marked": services.mark_all_read(actor=actor_of(request))})


@router.get(
    "/preferences",
    response={200: PreferenceOut, **COMMON_ERRORS},
    summary="My email preference in this workspace",
)
def get_preferences(request) -> HttpResponse:
    pref = selectors.preference_of(actor=actor_of(request))
    return json_response(dump(PreferenceOut, pref))


@router.patch(
    "/preferences",
    response={200: PreferenceOut, **COMMON_ERRORS},
    summary="Change my email preference (immediate, daily digest or off)",
)
def patch_preferences(request, payload: PreferenceIn) -> HttpResponse:
    actor = actor_of(request)
    services.set_preference(actor=actor, **payload.model_dump(exclude_unset=True))
    return json_response(dump(PreferenceOut, selectors.preference_of(actor=actor)))


@router.post(
    "/{notification_id}/read",
    response={200: NotificationOut, **COMMON_ERRORS},
    summary="Mark one as read",
)
def read_one(request, notification_id: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    notification = selectors.notification_get(actor=actor, notification_id=notification_id)
    services.mark_read(actor=actor, ids=[notification.pk])
    notification.refresh_from_db(fields=["read_at"])
    return json_response(dump(NotificationOut, notification))
