"""/api/v1/leads: parse, call a selector or a service, shape the answer. Every rule lives in
``sales.lead_services`` and ``sales.lead_selectors``."""

from __future__ import annotations

import uuid

from django.http import HttpResponse
from ninja import Query, Router

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

from . import lead_selectors as selectors
from . import lead_services as services
from .lead_schemas import LeadConvertIn, LeadConvertOut, LeadIn, LeadList, LeadOut

leads_router = Router(tags=["leads"])

Limit = Query(50, ge=1, le=500, description="Page size (max 500)")
Cursor = Query(None, max_length=1000, description="The `next` value of the previous page")


@leads_router.get("", response={200: LeadList, **COMMON_ERRORS}, summary="List leads")
def list_leads(
    request,
    limit: int = Limit,
    cursor: str | None = Cursor,
    status: str | None = Query(None, description="new, working, nurturing, qualified..."),
    owner: str | None = Query(None, description="A user id, `me` or `none`"),
    source: str | None = Query(None, max_length=100, description="Exact (case-insensitive)"),
    q: str | None = Query(None, max_length=100, description="Text in name, email, company"),
    converted: bool | None = Query(None),
    sort: str | None = Query(None, description="created_at, updated_at or score (- desc)"),
) -> HttpResponse:
    filters = selectors.LeadFilters(
        status=status, owner=owner, source=source, q=q, converted=converted
    )
    page = selectors.lead_list(
        actor=actor_of(request),
        filters=filters,
        cursor=cursor,
        limit=limit,
        sort=sort or "-created_at",
    )
    return list_response(LeadOut, page)


@leads_router.post("", response={201: LeadOut, **WRITE_ERRORS}, summary="Create a lead")
def create_lead(request, payload: LeadIn) -> HttpResponse:
    actor = actor_of(request)

    def create() -> HttpResponse:
        lead = services.lead_create(
            actor=actor, data=payload.model_dump(exclude_unset=True), source="api"
        )
        lead = selectors.lead_get(actor=actor, lead_id=lead.pk)
        return record_response(LeadOut, lead, status=201, location=f"/api/v1/leads/{lead.pk}")

    return idempotent(request, create)


@leads_router.get("/{lead_id}", response={200: LeadOut, **COMMON_ERRORS}, summary="Get a lead")
def get_lead(request, lead_id: uuid.UUID) -> HttpResponse:
    return record_response(LeadOut, selectors.lead_get(actor=actor_of(request), lead_id=lead_id))


@leads_router.patch(
    "/{lead_id}",
    response={200: LeadOut, **WRITE_ERRORS},
    summary="Update a lead (send only the fields that change)",
)
def update_lead(request, lead_id: uuid.UUID, payload: LeadIn) -> HttpResponse:
    actor = actor_of(request)
    services.lead_update(
        actor=actor,
        lead_id=lead_id,
        data=payload.model_dump(exclude_unset=True),
        expected_version=if_match_version(request),
        source="api",
    )
    return record_response(LeadOut, selectors.lead_get(actor=actor, lead_id=lead_id))


@leads_router.delete(
    "/{lead_id}", response={204: None, **WRITE_ERRORS}, summary="Delete a lead (to the trash)"
)
def delete_lead(request, lead_id: uuid.UUID) -> HttpResponse:
    services.lead_delete(
        actor=actor_of(request),
        lead_id=lead_id,
        expected_version=if_match_version(request),
        source="api",
    )
    return HttpResponse(status=204)


@leads_router.post(
    "/{lead_id}/restore",
    response={200: LeadOut, **WRITE_ERRORS},
    summary="Restore a deleted lead from the trash",
)
def restore_lead(request, lead_id: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    services.lead_restore(
        actor=actor, lead_id=lead_id, expected_version=if_match_version(request), source="api"
    )
    return record_response(LeadOut, selectors.lead_get(actor=actor, lead_id=lead_id))


@leads_router.post(
    "/{lead_id}/convert",
    response={200: LeadConvertOut, **WRITE_ERRORS},
    summary="Convert a qualified lead into a person, a company and (optionally) a deal",
    description="Send `If-Match` with the lead's ETag to refuse (412) a lead changed since.",
)
def convert_lead(request, lead_id: uuid.UUID, payload: LeadConvertIn) -> HttpResponse:
    actor = actor_of(request)
    selectors.lead_get(actor=actor, lead_id=lead_id)  # another workspace's: 404
    done = services.lead_convert(
        actor=actor,
        lead_id=lead_id,
        deal=payload.deal,
        expected_version=if_match_version(request),
        source="api",
    )
    return json_response(
        {
            "person": str(done.person.pk),
            "company": str(done.company.pk) if done.company else None,
            "deal": str(done.deal.pk) if done.deal else None,
        }
    )


@leads_router.get(
    "/{lead_id}/history",
    response={200: AuditEntryList, **COMMON_ERRORS},
    summary="Field-level change history of a lead (the audit log)",
)
def lead_changes(
    request, lead_id: uuid.UUID, limit: int = Limit, cursor: str | None = Cursor
) -> HttpResponse:
    actor = actor_of(request)
    lead = selectors.lead_get(actor=actor, lead_id=lead_id)
    return list_response(
        AuditEntryOut,
        audit_selectors.record_history(actor=actor, obj=lead, cursor=cursor, limit=limit),
    )
