"""/api/v1/forecast and /api/v1/quotas: parse, call ``sales.forecast`` or ``services.quota_set``,
shape the answer. The figures and their definitions live in ``sales/forecast.py``."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import HttpResponse
from ninja import Query, Router, Schema

from rapport.core.api import COMMON_ERRORS, WRITE_ERRORS, StrictSchema, actor_of, json_response
from rapport.core.errors import NotFound
from rapport.core.pagination import Sort, keyset_page

from . import forecast as forecasting
from . import services
from .models import Quota, QuotaPeriod

forecast_router = Router(tags=["forecast"])
quotas_router = Router(tags=["quotas"])

QuotaStart = Query(None, description="Quotas of the periods starting on this day")


class MoneyOut(Schema):
    amount: str
    currency: str


class ForecastGroupOut(Schema):
    id: str | None
    name: str


class ForecastRowOut(Schema):
    period: str
    period_end: str
    period_label: str
    group: ForecastGroupOut | None = None
    closed_won: str
    commit: str
    best_case: str
    pipeline: str
    weighted: str
    quota: str | None
    attainment: str | None
    deals: int
    explanations: dict[str, str]


class ForecastOut(Schema):
    currency: str
    period: str
    group_by: str
    rows: list[ForecastRowOut]
    totals: list[ForecastRowOut]
    missing_rates: list[str]


@forecast_router.get(
    "",
    response={200: ForecastOut, **COMMON_ERRORS},
    summary="Forecast per period and owner, team or pipeline (amounts in the base currency)",
    description=(
        "closed_won: won deals; commit: open deals in the commit category (closed won not "
        "included); best_case: open deals in best case or commit; pipeline: every open deal not "
        "omitted; weighted: Σ amount × stage probability of those. A deal counts in the period "
        "of its close date (a closed deal without one: the day it closed). Amounts are summed "
        "per currency and converted at the rate valid on the period's last day; "
        "`explanations` says how. attainment = closed_won / quota (null without a quota)."
    ),
)
def get_forecast(
    request,
    period: str = Query("quarter", max_length=20, description="month, quarter or year"),
    start: str | None = Query(None, max_length=20, description="YYYY-MM-DD (default today)"),
    periods: str = Query("1", max_length=10, description=f"1 to {forecasting.MAX_PERIODS}"),
    group_by: str = Query("owner", max_length=20, description="owner, team or pipeline"),
    pipeline: str | None = Query(None, max_length=64, description="Only this pipeline's deals"),
) -> HttpResponse:
    result = forecasting.forecast(
        actor=actor_of(request),
        period=period,
        start=start,
        periods=periods,
        group_by=group_by,
        pipeline=pipeline,
    )
    return json_response(result.as_api())


# --- quotas -------------------------------------------------------------------------------


class QuotaOut(Schema):
    id: uuid.UUID
    user: uuid.UUID
    period: str
    start: dt.date
    amount: MoneyOut
    created_at: dt.datetime
    updated_at: dt.datetime


class QuotaList(Schema):
    results: list[QuotaOut]
    next: str | None


class MoneyIn(StrictSchema):
    amount: str | int | float | None = None
    currency: str | None = None


class QuotaIn(StrictSchema):
    user: uuid.UUID
    period: str
    start: str
    amount: MoneyIn | None = None


def _quota_out(q: Quota) -> dict[str, Any]:
    return {
        "id": str(q.pk),
        "user": str(q.user_id),
        "period": q.period,
        "start": q.start.isoformat(),
        "amount": {"amount": f"{q.amount:.2f}", "currency": q.currency},
        "created_at": q.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": q.updated_at.isoformat().replace("+00:00", "Z"),
    }


@quotas_router.get(
    "", response={200: QuotaList, **COMMON_ERRORS}, summary="List quotas (per member and period)"
)
def list_quotas(
    request,
    user: uuid.UUID | None = None,
    period: str | None = Query(None, max_length=20, description="month, quarter or year"),
    start: dt.date | None = QuotaStart,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = Query(None, max_length=1000),
) -> HttpResponse:
    actor = actor_of(request)
    qs = Quota.objects.in_workspace(actor.workspace)
    allowed = forecasting.visible_owner_ids(actor)
    if allowed is not None:
        qs = qs.filter(user_id__in=allowed)
    if user is not None:
        qs = qs.filter(user_id=user)
    if period:
        qs = qs.filter(
            period=forecasting._choice(period, QuotaPeriod.values, "period", QuotaPeriod.QUARTER)
        )
    if start is not None:
        qs = qs.filter(start=start)
    page = keyset_page(qs, sort=Sort(field="start", descending=False), cursor=cursor, limit=limit)
    return json_response({"results": [_quota_out(q) for q in page.rows], "next": page.next_cursor})


def _set(request, payload: QuotaIn) -> tuple[Quota, bool]:
    """Calls the service; says whether the quota is new (for 201 and Location)."""
    actor = actor_of(request)
    before = set(
        Quota.objects.in_workspace(actor.workspace)
        .filter(user_id=payload.user)
        .values_list("pk", flat=True)
    )
    data = payload.model_dump(exclude_unset=True)
    quota = services.quota_set(
        actor=actor,
        user=str(payload.user),
        period=payload.period,
        start=payload.start,
        amount=data.get("amount"),
    )
    return quota, quota.pk is not None and quota.pk not in before


@quotas_router.put(
    "",
    response={200: QuotaOut, 204: None, **WRITE_ERRORS},
    summary="Set a member's quota for a period (managers and up); an empty amount removes it",
)
def put_quota(request, payload: QuotaIn) -> HttpResponse:
    quota, _created = _set(request, payload)
    if quota.pk is None:  # an empty amount removed it
        return HttpResponse(status=204)
    return json_response(_quota_out(quota))


@quotas_router.post(
    "",
    response={200: QuotaOut, 201: QuotaOut, 204: None, **WRITE_ERRORS},
    summary="Set a member's quota for a period (201 when new, 200 when replaced)",
)
def post_quota(request, payload: QuotaIn) -> HttpResponse:
    quota, created = _set(request, payload)
    if quota.pk is None:  # an empty amount removed it
        return HttpResponse(status=204)
    if created:
        return json_response(
            _quota_out(quota), status=201, headers={"Location": f"/api/v1/quotas/{quota.pk}"}
        )
    return json_response(_quota_out(quota))


def _get(request, quota_id: uuid.UUID) -> Quota:
    actor = actor_of(request)
    qs = Quota.objects.in_workspace(actor.workspace)
    allowed = forecasting.visible_owner_ids(actor)
    if allowed is not None:
        qs = qs.filter(user_id__in=allowed)
    quota = qs.filter(pk=quota_id).first()
    if quota is None:
        raise NotFound("No such quota.")
    return quota


@quotas_router.get("/{quota_id}", response={200: QuotaOut, **COMMON_ERRORS}, summary="A quota")
def get_quota(request, quota_id: uuid.UUID) -> HttpResponse:
    return json_response(_quota_out(_get(request, quota_id)))


@quotas_router.delete(
    "/{quota_id}", response={204: None, **WRITE_ERRORS}, summary="Remove a quota (managers+)"
)
def delete_quota(request, quota_id: uuid.UUID) -> HttpResponse:
    quota = _get(request, quota_id)
    services.quota_set(
        actor=actor_of(request),
        user=str(quota.user_id),
        period=quota.period,
        start=quota.start,
        amount=None,
    )
    return HttpResponse(status=204)
