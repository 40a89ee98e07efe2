"""Forecast, quotas and sales dashboard pages. The figures come from ``sales.forecast`` and
``sales.dashboard`` (their docstrings define them); quotas are written by ``services.quota_set``.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from rapport.core.actors import Actor, Role
from rapport.core.errors import PermissionDenied, ValidationFailed
from rapport.ui.views import workspace_required

from . import dashboard as dash
from . import forecast as forecasting
from . import services
from .models import Pipeline, Quota, QuotaPeriod

PERIOD_CHOICES = QuotaPeriod.choices
GROUP_CHOICES = [("owner", "Owner"), ("team", "Team"), ("pipeline", "Pipeline")]
PERIOD_COUNTS = [1, 2, 3, 4, 6, 8, 12, 24]


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _pipelines(actor: Actor) -> list[tuple[str, str]]:
    return [
        (str(pk), name)
        for pk, name in Pipeline.objects.in_workspace(actor.workspace)
        .order_by("position", "name")
        .values_list("id", "name")
    ]


@workspace_required
def forecast_page(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    q = request.GET
    errors: list[str] = []
    today = timezone.localdate()
    values = {
        "period": q.get("period") or QuotaPeriod.QUARTER,
        "start": q.get("start") or services.period_start(QuotaPeriod.YEAR, today).isoformat(),
        "periods": q.get("periods") or "4",
        "group_by": q.get("group_by") or "owner",
        "pipeline": q.get("pipeline") or "",
    }
    try:
        result = forecasting.forecast(actor=actor, **values)
    except ValidationFailed as exc:
        errors = [f"{e.field}: {e.message}" for e in exc.errors] or [exc.detail]
        result = forecasting.forecast(
            actor=actor, period="quarter", start=today, periods=4, group_by="owner"
        )
    return render(
        request,
        "sales/forecast/forecast.html",
        {
            "nav": "forecast",
            "result": result,
            "chart": result.chart(),
            "values": values,
            "errors": errors,
            "period_choices": PERIOD_CHOICES,
            "group_choices": GROUP_CHOICES,
            "period_counts": PERIOD_COUNTS,
            "pipelines": _pipelines(actor),
            "can_set_quotas": actor.role.at_least(Role.MANAGER),
            "show_quota": result.params.group_by != "pipeline",
        },
    )


# --- quotas -------------------------------------------------------------------------------


THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")


def _plain_number(value: str) -> str:
    """ "12,500.00" -> "12500.00" (thousands separators typed by people); anything else as is,
    for the service to accept or explain."""
    value = value.strip().replace(" ", "").replace("\u00a0", "")
    return value.replace(",", "") if THOUSANDS.match(value) else value


def _quota_starts(period: str, year: int) -> list[dt.date]:
    first = dt.date(year, 1, 1)
    count = {"month": 12, "quarter": 4, "year": 1}[period]
    return [forecasting.add_periods(first, period, i) for i in range(count)]


@workspace_required
@require_http_methods(["GET", "POST"])
def quotas_page(request: HttpRequest) -> HttpResponse:
    """Every member's quota per period of one year; managers and up edit them."""
    actor = _actor(request)
    data = request.POST if request.method == "POST" else request.GET
    period = data.get("period") or QuotaPeriod.QUARTER
    if period not in QuotaPeriod.values:
        period = QuotaPeriod.QUARTER
    try:
        year = int(data.get("year") or timezone.localdate().year)
    except ValueError:
        year = timezone.localdate().year
    year = min(max(year, 2000), 2100)
    starts = _quota_starts(period, year)
    can_edit = actor.role.at_least(Role.MANAGER)
    members = dash.owner_choices(actor)
    allowed = forecasting.visible_owner_ids(actor)
    if allowed is not None:
        members = [m for m in members if m[0] in {str(a) for a in allowed}]
    existing = {
        (str(q.user_id), q.start): q
        for q in Quota.objects.in_workspace(actor.workspace).filter(period=period, start__in=starts)
    }
    cell_errors: dict[str, str] = {}
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("Only managers, admins and owners set quotas.")
        changed = 0
        for user_id, _name in members:
            for start in starts:
                name = f"q-{user_id}-{start.isoformat()}"
                if name not in request.POST:
                    continue
                raw = _plain_number(request.POST[name])
                current = existing.get((user_id, start))
                before = f"{current.amount:.2f}" if current else ""
                if raw == before or (raw == "" and current is None):
                    continue
                try:
                    if raw and Decimal(raw) == (current.amount if current else None):
                        continue
                except ArithmeticError:
                    pass
                try:
                    services.quota_set(
                        actor=actor,
                        user=user_id,
                        period=period,
                        start=start,
                        amount={"amount": raw, "currency": actor.workspace.default_currency}
                        if raw
                        else None,
                    )
                    changed += 1
                except ValidationFailed as exc:
                    cell_errors[name] = "; ".join(e.message for e in exc.errors) or exc.detail
        if not cell_errors:
            if changed:
                messages.success(request, f"Saved {changed} quota{'s' if changed != 1 else ''}.")
            else:
                messages.info(request, "No quota changed.")
            return redirect(f"{reverse('sales:quotas')}?period={period}&year={year}")
        existing = {
            (str(q.user_id), q.start): q
            for q in Quota.objects.in_workspace(actor.workspace).filter(
                period=period, start__in=starts
            )
        }
    rows = []
    for user_id, name in members:
        cells = []
        for start in starts:
            key = f"q-{user_id}-{start.isoformat()}"
            q = existing.get((user_id, start))
            value = (
                request.POST.get(key, "")
                if key in cell_errors
                else (f"{q.amount:.2f}" if q else "")
            )
            cells.append(
                {
                    "name": key,
                    "value": value,
                    "currency": q.currency if q else "",
                    "error": cell_errors.get(key, ""),
                    "label": f"{name}, {forecasting.period_label(period, start)}",
                }
            )
        rows.append({"user_id": user_id, "name": name, "cells": cells})
    return render(
        request,
        "sales/forecast/quotas.html",
        {
            "nav": "forecast",
            "period": period,
            "year": year,
            "years": list(range(year - 2, year + 3)),
            "period_choices": PERIOD_CHOICES,
            "headers": [forecasting.period_label(period, s) for s in starts],
            "rows": rows,
            "can_edit": can_edit,
            "currency": actor.workspace.default_currency,
            "has_errors": bool(cell_errors),
        },
        status=422 if cell_errors else 200,
    )


# --- dashboard ----------------------------------------------------------------------------


@workspace_required
def dashboard_page(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    q = request.GET
    values: dict[str, Any] = {
        "days": q.get("days") or str(dash.DEFAULT_WINDOW),
        "pipeline": q.get("pipeline") or "",
        "owner": q.get("owner") or "",
        "stalled_days": q.get("stalled_days") or str(dash.DEFAULT_STALLED),
    }
    errors: list[str] = []
    try:
        board = dash.dashboard(actor=actor, **values)
    except ValidationFailed as exc:
        errors = [f"{e.field}: {e.message}" for e in exc.errors] or [exc.detail]
        board = dash.dashboard(actor=actor)
    return render(
        request,
        "sales/forecast/dashboard.html",
        {
            "nav": "sales_dashboard",
            "board": board,
            "charts": board.charts(),
            "values": values,
            "errors": errors,
            "windows": dash.WINDOWS,
            "stalled_choices": dash.STALLED_CHOICES,
            "pipelines": _pipelines(actor),
            "owners": dash.owner_choices(actor),
        },
    )


urlpatterns = [
    path("forecast/", forecast_page, name="forecast"),
    path("forecast/quotas/", quotas_page, name="quotas"),
    path("sales/dashboard/", dashboard_page, name="dashboard"),
]
