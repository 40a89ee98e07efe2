"""/api/v1/views: saved views of lists (private to their owner, or shared with the workspace)."""

from __future__ import annotations

import uuid

from django.http import HttpResponse
from ninja import Query, Router

from rapport.core.api import (
    COMMON_ERRORS,
    WRITE_ERRORS,
    actor_of,
    idempotent,
    if_match_version,
    list_response,
    record_response,
)
from rapport.core.pagination import parse_sort, sort_pattern

from . import selectors, services
from .models import ObjectType
from .schemas import SavedViewIn, SavedViewList, SavedViewOut

router = Router(tags=["saved views"])

SORTS = ("name", "created_at", "updated_at")
ObjectTypeParam = Query(None, description="Only views of this record type")
Limit = Query(50, ge=1, le=500, description="Page size (max 500)")
Cursor = Query(None, max_length=1000, description="The `next` value of the previous page")
Sort = Query(
    "name",
    pattern=sort_pattern(SORTS),
    description=f"One of {', '.join(SORTS)}; prefix - for descending",
)


@router.get(
    "",
    response={200: SavedViewList, **COMMON_ERRORS},
    summary="List the saved views you can see (yours and the shared ones)",
)
def list_views(
    request,
    object_type: ObjectType | None = ObjectTypeParam,
    limit: int = Limit,
    cursor: str | None = Cursor,
    sort: str = Sort,
) -> HttpResponse:
    page = selectors.view_list(
        actor=actor_of(request),
        object_type=object_type,
        sort=parse_sort(sort, SORTS, "name"),
        cursor=cursor,
        limit=limit,
    )
    return list_response(SavedViewOut, page)


@router.post("", response={201: SavedViewOut, **WRITE_ERRORS}, summary="Save a view")
def create_view(request, payload: SavedViewIn) -> HttpResponse:
    actor = actor_of(request)

    def create() -> HttpResponse:
        view = services.view_create(
            actor=actor, data=payload.model_dump(exclude_unset=True), source="api"
        )
        return record_response(SavedViewOut, view, status=201, location=f"/api/v1/views/{view.pk}")

    return idempotent(request, create)


@router.get("/{view_id}", response={200: SavedViewOut, **COMMON_ERRORS}, summary="Get a view")
def get_view(request, view_id: uuid.UUID) -> HttpResponse:
    return record_response(
        SavedViewOut, selectors.view_get(actor=actor_of(request), view_id=view_id)
    )


@router.patch(
    "/{view_id}",
    response={200: SavedViewOut, **WRITE_ERRORS},
    summary="Change a view (its owner; shared views also admins)",
)
def update_view(request, view_id: uuid.UUID, payload: SavedViewIn) -> HttpResponse:
    view = services.view_update(
        actor=actor_of(request),
        view_id=view_id,
        data=payload.model_dump(exclude_unset=True),
        expected_version=if_match_version(request),
        source="api",
    )
    return record_response(SavedViewOut, view)


@router.delete(
    "/{view_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Delete a view (its owner; shared views also admins)",
)
def delete_view(request, view_id: uuid.UUID) -> HttpResponse:
    services.view_delete(
        actor=actor_of(request),
        view_id=view_id,
        expected_version=if_match_version(request),
        source="api",
    )
    return HttpResponse(status=204)
