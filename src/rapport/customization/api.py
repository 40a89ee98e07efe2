"""/api/v1/custom-fields: every member reads the definitions; owners and admins change them."""

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
from .schemas import CustomFieldIn, CustomFieldList, CustomFieldOut

router = Router(tags=["custom fields"])

SORTS = ("position", "created_at", "updated_at", "key", "label")
ObjectTypeParam = Query(None, description="Only this record type's fields")
Limit = Query(50, ge=1, le=500, description="Page size (max 500)")
Cursor = Query(None, max_length=1000, description="The `next` value of the previous page")
Sort = Query(
    "position",
    pattern=sort_pattern(SORTS),
    description=f"One of {', '.join(SORTS)}; prefix - for descending",
)


@router.get(
    "", response={200: CustomFieldList, **COMMON_ERRORS}, summary="List custom field definitions"
)
def list_fields(
    request,
    object_type: ObjectType | None = ObjectTypeParam,
    limit: int = Limit,
    cursor: str | None = Cursor,
    sort: str = Sort,
) -> HttpResponse:
    page = selectors.field_list(
        actor=actor_of(request),
        object_type=object_type,
        sort=parse_sort(sort, SORTS, "position"),
        cursor=cursor,
        limit=limit,
    )
    return list_response(CustomFieldOut, page)


@router.post(
    "", response={201: CustomFieldOut, **WRITE_ERRORS}, summary="Define a custom field (admins)"
)
def create_field(request, payload: CustomFieldIn) -> HttpResponse:
    actor = actor_of(request)

    def create() -> HttpResponse:
        field = services.field_create(
            actor=actor, data=payload.model_dump(exclude_unset=True), source="api"
        )
        return record_response(
            CustomFieldOut, field, status=201, location=f"/api/v1/custom-fields/{field.pk}"
        )

    return idempotent(request, create)


@router.get(
    "/{field_id}", response={200: CustomFieldOut, **COMMON_ERRORS}, summary="Get a custom field"
)
def get_field(request, field_id: uuid.UUID) -> HttpResponse:
    return record_response(
        CustomFieldOut, selectors.field_get(actor=actor_of(request), field_id=field_id)
    )


@router.patch(
    "/{field_id}",
    response={200: CustomFieldOut, **WRITE_ERRORS},
    summary="Change a custom field (admins; key, type and object type are fixed)",
)
def update_field(request, field_id: uuid.UUID, payload: CustomFieldIn) -> HttpResponse:
    actor = actor_of(request)
    field = services.field_update(
        actor=actor,
        field_id=field_id,
        data=payload.model_dump(exclude_unset=True),
        expected_version=if_match_version(request),
        source="api",
    )
    return record_response(CustomFieldOut, field)


@router.delete(
    "/{field_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Delete a custom field and every record's value for it (admins)",
)
def delete_field(request, field_id: uuid.UUID) -> HttpResponse:
    services.field_delete(
        actor=actor_of(request),
        field_id=field_id,
        expected_version=if_match_version(request),
        source="api",
    )
    return HttpResponse(status=204)
