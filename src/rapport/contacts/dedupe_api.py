"""/api/v1/duplicates (candidate pairs, dismiss, workspace scans) and the merge shapes.

The merge operations themselves live with their records (``POST /contacts/{id}/merge``,
``POST /companies/{id}/merge`` in ``contacts/api.py``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema

from rapport.core.actors import Actor
from rapport.core.api import COMMON_ERRORS, WRITE_ERRORS, actor_of, json_response, list_response
from rapport.core.errors import NotFound

from . import dedupe, merging
from .models import DuplicatePair

router = Router(tags=["duplicates"])


class MergeIn(Schema):
    from_: uuid.UUID = Field(
        ..., alias="from", description="The record merged into this one (it is deleted)"
    )
    fields: dict[str, Literal["into", "from"]] | None = Field(
        None,
        description=(
            'Which record each field is taken from, e.g. {"email": "from"}; unnamed fields keep '
            "this record's value when it has one. `custom` says whose custom values win a "
            "conflict (they are united either way); tags are united."
        ),
    )

    model_config = {"extra": "forbid", "populate_by_name": False}


def merged_redirect(actor: Actor, object_type: str, old_id, url: str) -> HttpResponse:
    """308 to the survivor when ``old_id`` was merged, else the 404 it would have been."""
    new_id = merging.redirect_for(actor=actor, object_type=object_type, old_id=old_id)
    if new_id is None:
        raise NotFound("No such record.")
    response = HttpResponse(status=308)
    response["Location"] = url.format(new_id)
    return response


class RecordSummary(Schema):
    id: uuid.UUID
    name: str
    email: str | None = Field(None, description="People: the email")
    phone: str | None = None
    company: str | None = Field(None, description="People: the company's name")
    domain: str | None = Field(None, description="Companies: the domain")


class DuplicateOut(Schema):
    id: uuid.UUID
    type: Literal["person", "company"]
    score: int = Field(..., ge=0, le=100)
    reasons: list[str]
    status: Literal["open", "dismissed"]
    records: list[RecordSummary] = Field(..., min_length=2, max_length=2)
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_type(obj) -> str:
        return obj.object_type

    @staticmethod
    def resolve_records(obj) -> list[dict]:
        return [summary(obj.object_type, obj.a), summary(obj.object_type, obj.b)]


def summary(object_type: str, obj) -> dict:
    if object_type == DuplicatePair.PERSON:
        company = obj.company if obj.company_id and not obj.company.deleted_at else None
        return {
            "id": obj.pk,
            "name": obj.full_name,
            "email": obj.email or None,
            "phone": obj.phone or None,
            "company": company.name if company else None,
        }
    return {
        "id": obj.pk,
        "name": obj.name,
        "domain": obj.domain or None,
        "phone": obj.phone or None,
    }


class DuplicateList(Schema):
    results: list[DuplicateOut]
    next: str | None


class ScanOut(Schema):
    id: uuid.UUID
    status: str
    phase: str
    processed: int
    total: int | None
    percent: int
    comparisons: int
    pairs_found: int
    error: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


@router.get(
    "",
    response={200: DuplicateList, **COMMON_ERRORS},
    summary="List possible duplicates (open pairs), best score first",
)
def list_duplicates(
    request,
    type: Literal["person", "company"] | None = Query(
        None, description="`person` or `company` (both when absent)"
    ),
    limit: int = Query(50, ge=1, le=500, description="Page size (max 500)"),
    cursor: str | None = Query(None, max_length=1000, description="The `next` of a page"),
) -> HttpResponse:
    page = dedupe.pair_list(actor=actor_of(request), object_type=type, cursor=cursor, limit=limit)
    return list_response(DuplicateOut, page)


@router.post(
    "/scan",
    response={202: ScanOut, **WRITE_ERRORS},
    summary="Scan the whole workspace for duplicates in the background",
)
def start_scan(request) -> HttpResponse:
    job = dedupe.scan_start(actor=actor_of(request))
    return json_response(
        ScanOut.from_orm(job).model_dump(mode="json"),
        status=202,
        headers={"Location": f"/api/v1/duplicates/scans/{job.pk}"},
    )


@router.get(
    "/scans/{scan_id}",
    response={200: ScanOut, **COMMON_ERRORS},
    summary="A duplicate scan's progress",
)
def get_scan(request, scan_id: uuid.UUID) -> HttpResponse:
    job = dedupe.scan_get(actor=actor_of(request), scan_id=scan_id)
    return json_response(ScanOut.from_orm(job).model_dump(mode="json"))


@router.get(
    "/{pair_id}", response={200: DuplicateOut, **COMMON_ERRORS}, summary="A possible duplicate"
)
def get_duplicate(request, pair_id: uuid.UUID) -> HttpResponse:
    pair = dedupe.pair_get(actor=actor_of(request), pair_id=pair_id)
    return json_response(DuplicateOut.from_orm(pair).model_dump(mode="json"))


@router.post(
    "/{pair_id}/dismiss",
    response={200: DuplicateOut, **WRITE_ERRORS},
    summary="Dismiss a possible duplicate: not the same record (later scans keep it dismissed)",
)
def dismiss_duplicate(request, pair_id: uuid.UUID) -> HttpResponse:
    pair = dedupe.pair_dismiss(actor=actor_of(request), pair_id=pair_id, source="api")
    return json_response(DuplicateOut.from_orm(pair).model_dump(mode="json"))
