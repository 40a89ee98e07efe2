"""/api/v1/pipelines, /deals, /lost-reasons and /exchange-rates: parse, call a selector or a
service, shape the answer. Every rule (roles, record access, required fields, money) lives in
``sales.services`` and ``sales.selectors``."""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from ninja.errors import HttpError

from rapport.audit import selectors as audit_selectors
from rapport.audit.schemas import AuditEntryList, AuditEntryOut
from rapport.core.api import (
    COMMON_ERRORS,
    WRITE_ERRORS,
    actor_of,
    dump,
    idempotent,
    if_match_version,
    json_response,
    list_response,
    record_response,
)
from rapport.core.errors import ValidationFailed
from rapport.core.pagination import sort_pattern

from . import selectors, services
from .filters import DEAL_SORTS, DealFilters
from .schemas import (
    DealIn,
    DealList,
    DealMoveIn,
    DealOut,
    ExchangeRateImportOut,
    ExchangeRateIn,
    ExchangeRateList,
    ExchangeRateOut,
    LostReasonIn,
    LostReasonList,
    LostReasonOut,
    PipelineIn,
    PipelineList,
    PipelineOut,
    StageHistoryList,
    StageHistoryOut,
)

pipelines_router = Router(tags=["pipelines"])
deals_router = Router(tags=["deals"])
lost_reasons_router = Router(tags=["lost reasons"])
exchange_rates_router = Router(tags=["exchange rates"])

Limit = Query(50, ge=1, le=500, description="Page size (max 500)")
Cursor = Query(None, max_length=1000, description="The `next` value of the previous page")
MoveTo = Query(
    None, description="A stage of another pipeline: required when the pipeline holds deals"
)
MAX_RATES_FILE = 2 * 1024 * 1024  # bytes of an exchange-rate CSV


# --- pipelines ----------------------------------------------------------------------------------


@pipelines_router.get(
    "", response={200: PipelineList, **COMMON_ERRORS}, summary="List pipelines with their stages"
)
def list_pipelines(request, limit: int = Limit, cursor: str | None = Cursor) -> HttpResponse:
    page = selectors.pipeline_page(actor=actor_of(request), cursor=cursor, limit=limit)
    return list_response(PipelineOut, page)


@pipelines_router.post(
    "",
    response={201: PipelineOut, **WRITE_ERRORS},
    summary="Create a pipeline with its stages (admins)",
)
def create_pipeline(request, payload: PipelineIn) -> HttpResponse:
    actor = actor_of(request)

    def create() -> HttpResponse:
        data = payload.model_dump(mode="json", exclude_unset=True)
        pipeline = services.pipeline_create(actor=actor, data=data, source="api")
        pipeline = selectors.pipeline_get(actor=actor, pipeline_id=pipeline.pk)
        return record_response(
            PipelineOut, pipeline, status=201, location=f"/api/v1/pipelines/{pipeline.pk}"
        )

    return idempotent(request, create)


@pipelines_router.get(
    "/{pipeline_id}", response={200: PipelineOut, **COMMON_ERRORS}, summary="Get a pipeline"
)
def get_pipeline(request, pipeline_id: uuid.UUID) -> HttpResponse:
    return record_response(
        PipelineOut, selectors.pipeline_get(actor=actor_of(request), pipeline_id=pipeline_id)
    )


@pipelines_router.patch(
    "/{pipeline_id}",
    response={200: PipelineOut, **WRITE_ERRORS},
    summary="Rename a pipeline and/or replace its stages (admins)",
    description=(
        "`stages` replaces the stages in the order sent: an existing stage keeps its id, a "
        "stage without id is created, a stage left out is removed. A removed stage holding "
        'deals needs `moves`: {"<removed stage id>": "<stage id>"}; the 422 names '
        "`moves.<stage id>` for each one missing."
    ),
)
def update_pipeline(request, pipeline_id: uuid.UUID, payload: PipelineIn) -> HttpResponse:
    actor = actor_of(request)
    selectors.pipeline_get(actor=actor, pipeline_id=pipeline_id)  # another workspace's: 404
    services.pipeline_update(
        actor=actor,
        pipeline_id=pipeline_id,
        data=payload.model_dump(mode="json", exclude_unset=True),
        expected_version=if_match_version(request),
        source="api",
    )
    return record_response(
        PipelineOut, selectors.pipeline_get(actor=actor, pipeline_id=pipeline_id)
    )


@pipelines_router.delete(
    "/{pipeline_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Delete a pipeline (admins); its deals move to the stage `move_to`",
)
def delete_pipeline(
    request,
    pipeline_id: uuid.UUID,
    move_to: uuid.UUID | None = MoveTo,
) -> HttpResponse:
    actor = actor_of(request)
    selectors.pipeline_get(actor=actor, pipeline_id=pipeline_id)  # another workspace's: 404
    services.pipeline_delete(
        actor=actor,
        pipeline_id=pipeline_id,
        move_to=move_to,
        expected_version=if_match_version(request),
    )
    return HttpResponse(status=204)


# --- deals --------------------------------------------------------------------------------------


def _view_defaults(request, actor, filters: DealFilters, sort: str, limit: int):
    """``?view=``: the saved view's sort and page size unless the query gives its own."""
    view = filters.saved_view(actor)
    if view is None:
        return sort, limit
    if "sort" not in request.GET and view.sort:
        sort = view.sort
    if "limit" not in request.GET:
        limit = view.page_size
    return sort, limit


@deals_router.get("", response={200: DealList, **COMMON_ERRORS}, summary="List deals")
def list_deals(
    request,
    filters: Query[DealFilters],
    limit: int = Limit,
    cursor: str | None = Cursor,
    sort: str = Query(
        "-created_at",
        pattern=sort_pattern(DEAL_SORTS, custom=True),
        description=(
            f"One of {', '.join(DEAL_SORTS)} or `custom.<key>` (a sortable custom field); "
            "prefix - for descending. Deals without a close date or amount come last."
        ),
    ),
) -> HttpResponse:
    actor = actor_of(request)
    sort, limit = _view_defaults(request, actor, filters, sort, limit)
    page = selectors.deal_list(
        actor=actor,
        filters=filters.with_custom(request.GET),
        sort=selectors.parse_deal_sort(sort, workspace=actor.workspace),
        cursor=cursor,
        limit=limit,
        related=selectors.with_api_related,
    )
    return list_response(DealOut, page)


@deals_router.post("", response={201: DealOut, **WRITE_ERRORS}, summary="Create a deal")
def create_deal(request, payload: DealIn) -> HttpResponse:
    actor = actor_of(request)

    def create() -> HttpResponse:
        deal = services.deal_create(
            actor=actor, data=payload.model_dump(exclude_unset=True), source="api"
        )
        deal = selectors.deal_get(actor=actor, deal_id=deal.pk)
        return record_response(DealOut, deal, status=201, location=f"/api/v1/deals/{deal.pk}")

    return idempotent(request, create)


@deals_router.get("/{deal_id}", response={200: DealOut, **COMMON_ERRORS}, summary="Get a deal")
def get_deal(request, deal_id: uuid.UUID) -> HttpResponse:
    return record_response(DealOut, selectors.deal_get(actor=actor_of(request), deal_id=deal_id))


@deals_router.patch(
    "/{deal_id}",
    response={200: DealOut, **WRITE_ERRORS},
    summary="Update a deal (send only the fields that change; a new stage moves it)",
)
def update_deal(request, deal_id: uuid.UUID, payload: DealIn) -> HttpResponse:
    actor = actor_of(request)
    services.deal_update(
        actor=actor,
        deal_id=deal_id,
        data=payload.model_dump(exclude_unset=True),
        expected_version=if_match_version(request),
        source="api",
    )
    return record_response(DealOut, selectors.deal_get(actor=actor, deal_id=deal_id))


@deals_router.delete(
    "/{deal_id}", response={204: None, **WRITE_ERRORS}, summary="Delete a deal (to the trash)"
)
def delete_deal(request, deal_id: uuid.UUID) -> HttpResponse:
    services.deal_delete(
        actor=actor_of(request),
        deal_id=deal_id,
        expected_version=if_match_version(request),
        source="api",
    )
    return HttpResponse(status=204)


@deals_router.post(
    "/{deal_id}/restore",
    response={200: DealOut, **WRITE_ERRORS},
    summary="Restore a deleted deal from the trash",
)
def restore_deal(request, deal_id: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    services.deal_restore(actor=actor, deal_id=deal_id, source="api")
    return record_response(DealOut, selectors.deal_get(actor=actor, deal_id=deal_id))


@deals_router.post(
    "/{deal_id}/move",
    response={200: DealOut, **WRITE_ERRORS},
    summary="Move a deal to a stage (of any pipeline)",
    description=(
        "`stage` is the target; other fields (e.g. `lost_reason`, `lost_note`) are saved in the "
        "same step, so a stage's required fields can be filled while moving. A stage whose "
        "required fields are still empty answers 422 naming each of them. Honours If-Match."
    ),
)
def move_deal(request, deal_id: uuid.UUID, payload: DealMoveIn) -> HttpResponse:
    actor = actor_of(request)
    data = payload.model_dump(exclude_unset=True)
    stage = data.pop("stage")
    services.deal_move(
        actor=actor,
        deal_id=deal_id,
        stage=stage,
        data=data,
        expected_version=if_match_version(request),
        source="api",
    )
    return record_response(DealOut, selectors.deal_get(actor=actor, deal_id=deal_id))


@deals_router.get(
    "/{deal_id}/stage-history",
    response={200: StageHistoryList, **COMMON_ERRORS},
    summary="Stage history of a deal: each stage it was in, when, and for how long",
)
def deal_stage_history(
    request, deal_id: uuid.UUID, limit: int = Limit, cursor: str | None = Cursor
) -> HttpResponse:
    page = selectors.stage_history_page(
        actor=actor_of(request), deal_id=deal_id, cursor=cursor, limit=limit
    )
    return list_response(StageHistoryOut, page)


@deals_router.get(
    "/{deal_id}/history",
    response={200: AuditEntryList, **COMMON_ERRORS},
    summary="Field-level change history of a deal (the audit log)",
)
def deal_changes(
    request, deal_id: uuid.UUID, limit: int = Limit, cursor: str | None = Cursor
) -> HttpResponse:
    actor = actor_of(request)
    deal = selectors.deal_get(actor=actor, deal_id=deal_id)
    return list_response(
        AuditEntryOut,
        audit_selectors.record_history(actor=actor, obj=deal, cursor=cursor, limit=limit),
    )


# --- lost reasons -------------------------------------------------------------------------------


def _lost_reason(reason, status: int = 200, location: str = "") -> HttpResponse:
    headers = {"Location": location} if location else None
    return json_response(dump(LostReasonOut, reason), status=status, headers=headers)


@lost_reasons_router.get(
    "", response={200: LostReasonList, **COMMON_ERRORS}, summary="List lost reasons"
)
def list_lost_reasons(
    request,
    limit: int = Limit,
    cursor: str | None = Cursor,
    active: bool | None = Query(None, description="true: only those offered in forms"),
) -> HttpResponse:
    page = selectors.lost_reason_page(
        actor=actor_of(request), cursor=cursor, limit=limit, active=active
    )
    return list_response(LostReasonOut, page)


@lost_reasons_router.post(
    "", response={201: LostReasonOut, **WRITE_ERRORS}, summary="Create a lost reason (admins)"
)
def create_lost_reason(request, payload: LostReasonIn) -> HttpResponse:
    actor = actor_of(request)

    def create() -> HttpResponse:
        reason = services.lost_reason_create(actor=actor, name=payload.name or "")
        if payload.active is False:
            reason = services.lost_reason_update(actor=actor, reason_id=reason.pk, active=False)
        return _lost_reason(reason, status=201, location=f"/api/v1/lost-reasons/{reason.pk}")

    return idempotent(request, create)


@lost_reasons_router.get(
    "/{reason_id}", response={200: LostReasonOut, **COMMON_ERRORS}, summary="Get a lost reason"
)
def get_lost_reason(request, reason_id: uuid.UUID) -> HttpResponse:
    return _lost_reason(selectors.lost_reason_get(actor=actor_of(request), reason_id=reason_id))


@lost_reasons_router.patch(
    "/{reason_id}",
    response={200: LostReasonOut, **WRITE_ERRORS},
    summary="Rename or (de)activate a lost reason (admins)",
)
def update_lost_reason(request, reason_id: uuid.UUID, payload: LostReasonIn) -> HttpResponse:
    actor = actor_of(request)
    selectors.lost_reason_get(actor=actor, reason_id=reason_id)  # another workspace's: 404
    reason = services.lost_reason_update(
        actor=actor, reason_id=reason_id, name=payload.name, active=payload.active
    )
    return _lost_reason(reason)


@lost_reasons_router.delete(
    "/{reason_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Delete a lost reason (admins; deals keep their note, lose the link)",
)
def delete_lost_reason(request, reason_id: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    selectors.lost_reason_get(actor=actor, reason_id=reason_id)  # another workspace's: 404
    services.lost_reason_delete(actor=actor, reason_id=reason_id)
    return HttpResponse(status=204)


# --- exchange rates -----------------------------------------------------------------------------


def _rate(rate, status: int = 200, location: str = "") -> HttpResponse:
    headers = {"Location": location} if location else None
    return json_response(dump(ExchangeRateOut, rate), status=status, headers=headers)


@exchange_rates_router.get(
    "",
    response={200: ExchangeRateList, **COMMON_ERRORS},
    summary="List exchange rates to the base currency, newest first",
)
def list_exchange_rates(
    request,
    limit: int = Limit,
    cursor: str | None = Cursor,
    currency: str | None = Query(None, min_length=3, max_length=3, description="ISO 4217"),
) -> HttpResponse:
    page = selectors.exchange_rate_page(
        actor=actor_of(request), currency=currency, cursor=cursor, limit=limit
    )
    return list_response(ExchangeRateOut, page)


@exchange_rates_router.post(
    "",
    response={201: ExchangeRateOut, **WRITE_ERRORS},
    summary="Set a dated exchange rate (admins); the same currency and day replaces it",
)
def set_exchange_rate(request, payload: ExchangeRateIn) -> HttpResponse:
    actor = actor_of(request)

    def create() -> HttpResponse:
        rate = services.exchange_rate_set(
            actor=actor,
            currency=payload.currency,
            rate=payload.rate,
            valid_from=payload.valid_from,
            source="api",
        )
        return _rate(rate, status=201, location=f"/api/v1/exchange-rates/{rate.pk}")

    return idempotent(request, create)


def _csv_text(request: HttpRequest) -> str:
    """The CSV of an import request: a multipart ``file`` or a text/csv body, UTF-8."""
    upload = request.FILES.get("file")
    if upload is not None:
        if upload.size and upload.size > MAX_RATES_FILE:
            raise HttpError(413, f"The file is larger than {MAX_RATES_FILE // 1024} KiB.")
        raw = upload.read(MAX_RATES_FILE + 1)
    elif request.content_type in ("text/csv", "text/plain"):
        raw = request.body
    else:
        raise ValidationFailed.one(
            "file", "Send the CSV as a multipart `file` or as a text/csv request body."
        )
    if len(raw) > MAX_RATES_FILE:
        raise HttpError(413, f"The file is larger than {MAX_RATES_FILE // 1024} KiB.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed.one("file", "The file is not UTF-8 text.")


@exchange_rates_router.post(
    "/import",
    response={200: ExchangeRateImportOut, **WRITE_ERRORS},
    summary="Import dated exchange rates from CSV (admins)",
    description=(
        "A CSV with a header row naming `currency`, `rate` and optionally `valid_from` (or "
        "`date`), sent as a multipart `file` or as a `text/csv` body. Good rows are stored even "
        "when others are rejected; each rejected line comes back with its number and reason."
    ),
    openapi_extra={
        "requestBody": {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
            },
            "required": True,
        }
    },
)
def import_exchange_rates(request) -> HttpResponse:
    result = services.exchange_rates_import(actor=actor_of(request), text=_csv_text(request))
    return json_response(result)


@exchange_rates_router.get(
    "/{rate_id}", response={200: ExchangeRateOut, **COMMON_ERRORS}, summary="Get an exchange rate"
)
def get_exchange_rate(request, rate_id: uuid.UUID) -> HttpResponse:
    return _rate(selectors.exchange_rate_get(actor=actor_of(request), rate_id=rate_id))


@exchange_rates_router.delete(
    "/{rate_id}", response={204: None, **WRITE_ERRORS}, summary="Delete an exchange rate (admins)"
)
def delete_exchange_rate(request, rate_id: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    selectors.exchange_rate_get(actor=actor, rate_id=rate_id)  # another workspace's: 404
    services.exchange_rate_delete(actor=actor, rate_id=rate_id)
    return HttpResponse(status=204)
