"""/api/v1/contacts and /api/v1/companies: parse, call a selector or service, shape the answer."""

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
    list_response,
    record_response,
)
from rapport.core.errors import NotFound
from rapport.core.pagination import sort_pattern

from . import merging, selectors, services
from .dedupe_api import MergeIn, merged_redirect
from .filters import COMPANY_SORTS, PERSON_SORTS, CompanyFilters, PersonFilters, TrashFilters
from .schemas import (
    CompanyIn,
    CompanyList,
    CompanyOut,
    ContactIn,
    ContactList,
    ContactOut,
    TrashItemOut,
    TrashList,
)

contacts_router = Router(tags=["contacts"])
companies_router = Router(tags=["companies"])
trash_router = Router(tags=["trash"])

Limit = Query(50, ge=1, le=500, description="Page size (max 500)")
Cursor = Query(None, max_length=1000, description="The `next` value of the previous page")


def _sort(allowed: tuple[str, ...]):
    return Query(
        "-created_at",
        pattern=sort_pattern(allowed, custom=True),
        description=(
            f"One of {', '.join(allowed)} or `custom.<key>` (a sortable custom field, see "
            "/api/v1/custom-fields; records without a value come last); prefix - for descending"
        ),
    )


def _record_sort(actor, value: str, allowed: tuple[str, ...], object_type: str):
    from rapport.customization.filters import parse_record_sort

    return parse_record_sort(
        value, allowed, "-created_at", workspace=actor.workspace, object_type=object_type
    )


def _view_defaults(request, actor, filters, sort: str, limit: int) -> tuple[str, int]:
    """``?view=``: the saved view's sort and page size unless the query gives its own."""
    view = filters.saved_view(actor)
    if view is None:
        return sort, limit
    if "sort" not in request.GET and view.sort:
        sort = view.sort
    if "limit" not in request.GET:
        limit = view.page_size
    return sort, limit


@contacts_router.get("", response={200: ContactList, **COMMON_ERRORS}, summary="List people")
def list_contacts(
    request,
    filters: Query[PersonFilters],
    limit: int = Limit,
    cursor: str | None = Cursor,
    sort: str = _sort(PERSON_SORTS),
) -> HttpResponse:
    actor = actor_of(request)
    sort, limit = _view_defaults(request, actor, filters, sort, limit)
    page = selectors.person_list(
        actor=actor,
        filters=filters.with_custom(request.GET),
        sort=_record_sort(actor, sort, PERSON_SORTS, "contacts.person"),
        cursor=cursor,
        limit=limit,
    )
    return list_response(ContactOut, page)


@contacts_router.post("", response={201: ContactOut, **WRITE_ERRORS}, summary="Create a person")
def create_contact(request, payload: ContactIn) -> HttpResponse:
    actor = actor_of(request)

    def create() -> HttpResponse:
        person = services.person_create(
            actor=actor, data=payload.model_dump(exclude_unset=True), source="api"
        )
        person = selectors.person_get(actor=actor, person_id=person.pk)
        return record_response(
            ContactOut, person, status=201, location=f"/api/v1/contacts/{person.pk}"
        )

    return idempotent(request, create)


@contacts_router.get(
    "/{contact_id}",
    response={200: ContactOut, 308: None, **COMMON_ERRORS},
    summary="Get a person (a merged person's id redirects to the survivor)",
)
def get_contact(request, contact_id: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    try:
        person = selectors.person_get(actor=actor, person_id=contact_id)
    except NotFound:  # a merged person's id answers with the survivor's (308)
        return merged_redirect(actor, "person", contact_id, "/api/v1/contacts/{}")
    return record_response(ContactOut, person)


@contacts_router.patch(
    "/{contact_id}",
    response={200: ContactOut, **WRITE_ERRORS},
    summary="Update a person (send only the fields that change)",
)
def update_contact(request, contact_id: uuid.UUID, payload: ContactIn) -> HttpResponse:
    actor = actor_of(request)
    services.person_update(
        actor=actor,
        person_id=contact_id,
        data=payload.model_dump(exclude_unset=True),
        expected_version=if_match_version(request),
        source="api",
    )
    return record_response(ContactOut, selectors.person_get(actor=actor, person_id=contact_id))


@contacts_router.delete(
    "/{contact_id}", response={204: None, **WRITE_ERRORS}, summary="Delete a person (to the trash)"
)
def delete_contact(request, contact_id: uuid.UUID) -> HttpResponse:
    services.person_delete(
        actor=actor_of(request),
        person_id=contact_id,
        expected_version=if_match_version(request),
        source="api",
    )
    return HttpResponse(status=204)


@contacts_router.get(
    "/{contact_id}/history",
    response={200: AuditEntryList, **COMMON_ERRORS},
    summary="Field-level change history of a person",
)
def contact_history(
    request, contact_id: uuid.UUID, limit: int = Limit, cursor: str | None = Cursor
) -> HttpResponse:
    actor = actor_of(request)
    person = selectors.person_get(actor=actor, person_id=contact_id)
    return list_response(
        AuditEntryOut,
        audit_selectors.record_history(actor=actor, obj=person, cursor=cursor, limit=limit),
    )


@companies_router.get("", response={200: CompanyList, **COMMON_ERRORS}, summary="List companies")
def list_companies(
    request,
    filters: Query[CompanyFilters],
    limit: int = Limit,
    cursor: str | None = Cursor,
    sort: str = _sort(COMPANY_SORTS),
) -> HttpResponse:
    actor = actor_of(request)
    sort, limit = _view_defaults(request, actor, filters, sort, limit)
    page = selectors.company_list(
        actor=actor,
        filters=filters.with_custom(request.GET),
        sort=_record_sort(actor, sort, COMPANY_SORTS, "contacts.company"),
        cursor=cursor,
        limit=limit,
    )
    return list_response(CompanyOut, page)


@companies_router.post("", response={201: CompanyOut, **WRITE_ERRORS}, summary="Create a company")
def create_company(request, payload: CompanyIn) -> HttpResponse:
    actor = actor_of(request)

    def create() -> HttpResponse:
        company = services.company_create(
            actor=actor, data=payload.model_dump(exclude_unset=True), source="api"
        )
        company = selectors.company_get(actor=actor, company_id=company.pk)
        return record_response(
            CompanyOut, company, status=201, location=f"/api/v1/companies/{company.pk}"
        )

    return idempotent(request, create)


@companies_router.get(
    "/{company_id}",
    response={200: CompanyOut, 308: None, **COMMON_ERRORS},
    summary="Get a company (a merged company's id redirects to the survivor)",
)
def get_company(request, company_id: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    try:
        company = selectors.company_get(actor=actor, company_id=company_id)
    except NotFound:  # a merged company's id answers with the survivor's (308)
        return merged_redirect(actor, "company", company_id, "/api/v1/companies/{}")
    return record_response(CompanyOut, company)


@companies_router.patch(
    "/{company_id}",
    response={200: CompanyOut, **WRITE_ERRORS},
    summary="Update a company (send only the fields that change)",
)
def update_company(request, company_id: uuid.UUID, payload: CompanyIn) -> HttpResponse:
    actor = actor_of(request)
    services.company_update(
        actor=actor,
        company_id=company_id,
        data=payload.model_dump(exclude_unset=True),
        expected_version=if_match_version(request),
        source="api",
    )
    return record_response(CompanyOut, selectors.company_get(actor=actor, company_id=company_id))


@companies_router.delete(
    "/{company_id}", response={204: None, **WRITE_ERRORS}, summary="Delete a company (to the trash)"
)
def delete_company(request, company_id: uuid.UUID) -> HttpResponse:
    services.company_delete(
        actor=actor_of(request),
        company_id=company_id,
        expected_version=if_match_version(request),
        source="api",
    )
    return HttpResponse(status=204)


@companies_router.get(
    "/{company_id}/history",
    response={200: AuditEntryList, **COMMON_ERRORS},
    summary="Field-level change history of a company",
)
def company_history(
    request, company_id: uuid.UUID, limit: int = Limit, cursor: str | None = Cursor
) -> HttpResponse:
    actor = actor_of(request)
    company = selectors.company_get(actor=actor, company_id=company_id)
    return list_response(
        AuditEntryOut,
        audit_selectors.record_history(actor=actor, obj=company, cursor=cursor, limit=limit),
    )


# --- the trash ------------------------------------------------------------------------------


@trash_router.get(
    "",
    response={200: TrashList, **COMMON_ERRORS},
    summary="List the trash: deleted people and companies, newest deletion first",
)
def list_trash(
    request, filters: Query[TrashFilters], limit: int = Limit, cursor: str | None = Cursor
) -> HttpResponse:
    page = selectors.trash_list(
        actor=actor_of(request), filters=filters, cursor=cursor, limit=limit
    )
    return list_response(TrashItemOut, page)


@contacts_router.post(
    "/{contact_id}/restore",
    response={200: ContactOut, **WRITE_ERRORS},
    summary="Restore a person from the trash",
)
def restore_contact(request, contact_id: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    services.person_restore(
        actor=actor,
        person_id=contact_id,
        expected_version=if_match_version(request),
        source="api",
    )
    return record_response(ContactOut, selectors.person_get(actor=actor, person_id=contact_id))


@companies_router.post(
    "/{company_id}/restore",
    response={200: CompanyOut, **WRITE_ERRORS},
    summary="Restore a company from the trash (its people's links come back with it)",
)
def restore_company(request, company_id: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    services.company_restore(
        actor=actor,
        company_id=company_id,
        expected_version=if_match_version(request),
        source="api",
    )
    return record_response(CompanyOut, selectors.company_get(actor=actor, company_id=company_id))


# --- merge (contacts/merging.py) ------------------------------------------------------------


@contacts_router.post(
    "/{contact_id}/merge",
    response={200: ContactOut, **WRITE_ERRORS},
    summary="Merge another person into this one (the other is deleted; its id redirects here)",
)
def merge_contact(request, contact_id: uuid.UUID, payload: MergeIn) -> HttpResponse:
    actor = actor_of(request)
    merging.person_merge(
        actor=actor,
        into_id=contact_id,
        from_id=payload.from_,
        fields=payload.fields,
        expected_version=if_match_version(request),
        source="api",
    )
    return record_response(ContactOut, selectors.person_get(actor=actor, person_id=contact_id))


@companies_router.post(
    "/{company_id}/merge",
    response={200: CompanyOut, **WRITE_ERRORS},
    summary="Merge another company into this one (its people move here; its id redirects here)",
)
def merge_company(request, company_id: uuid.UUID, payload: MergeIn) -> HttpResponse:
    actor = actor_of(request)
    merging.company_merge(
        actor=actor,
        into_id=company_id,
        from_id=payload.from_,
        fields=payload.fields,
        expected_version=if_match_version(request),
        source="api",
    )
    return record_response(CompanyOut, selectors.company_get(actor=actor, company_id=company_id))
