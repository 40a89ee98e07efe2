"""The sections deals bring to record pages (``rapport.ui.sections``), registered on import
from ``SalesConfig.ready``:

- on a deal's own page: key facts (the amount converted into the base currency, explained),
  its people with their roles, the stage history with the time spent in each stage, and the
  activities sections every record page has (figures, quick-add, timeline, tasks, files);
- on person and company pages: "Deals", the record's deals the reader may see, open first.

It also tells the timeline of a person or company to show their deals' changes (created,
moved, won, lost) through ``activities.selectors.register_change_source``.

Every section costs a fixed number of queries whatever the number of deals, people or
history rows.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.db.models import Case, F, IntegerField, Q, Sum, Value, When
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from rapport.core import targets
from rapport.core.actors import Actor
from rapport.core.policy import can_write
from rapport.ui import sections

from .models import Deal, DealRole, DealStatus, StageHistory
from .money import Rates

DEALS_SHOWN = 10
COUNT_CAP = 999
# A person's or company's timeline shows the changes of at most this many of their deals
# (the newest): one bounded index range of the change log.
TIMELINE_DEALS = 200
TIMELINE_DEAL_ACTIONS = ("deal.created", "deal.stage_changed", "deal.deleted", "deal.restored")


def human_duration(seconds: int | float | None) -> str:
    """``93784`` → "1 day 2 h"; "less than a minute" under 60 s."""
    if seconds is None:
        return "—"
    seconds = int(seconds)
    if seconds < 60:
        return "less than a minute"
    minutes, _ = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days >= 365:
        years, days = divmod(days, 365)
        return f"{years} year{'s' if years > 1 else ''}" + (f" {days} d" if days else "")
    if days:
        return f"{days} day{'s' if days > 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{minutes} min"


def converted(workspace, amount: Decimal | None, currency: str, on: dt.date) -> dict | None:
    """The amount in the base currency with its explanation (None when no conversion is
    needed: no amount, or already in the base currency)."""
    if amount is None or not currency or currency == workspace.default_currency:
        return None
    total = Rates(workspace).total({currency: amount}, on=on)
    return {
        "amount": total.amount if not total.missing else None,
        "currency": total.base,
        "explanation": total.explanation,
        "missing": bool(total.missing),
    }


# --- the deal's own page --------------------------------------------------------------------


def deal_facts(request: HttpRequest, actor: Actor, deal: Deal) -> dict[str, Any]:
    on = deal.close_date or timezone.localdate()
    company = deal.company
    if company is not None and company.deleted_at is not None:
        company = None  # (in the trash: not linked)
    return {
        "deal": deal,
        "company": company,
        "base": converted(actor.workspace, deal.amount, deal.currency, on),
        "forecast_category": deal.get_forecast_category_display()
        if deal.forecast_category
        else deal.stage.get_forecast_category_display(),
        "forecast_overridden": bool(deal.forecast_category),
        "weighted": (deal.amount * deal.stage.probability / 100).quantize(Decimal("0.01"))
        if deal.amount is not None and deal.status == DealStatus.OPEN
        else None,
    }


def deal_people(request: HttpRequest, actor: Actor, deal: Deal) -> dict[str, Any]:
    people = [dp for dp in deal.deal_people.all() if dp.person.deleted_at is None]
    return {
        "deal": deal,
        "people": people,
        "title_count": len(people),
        "can_write": can_write(actor),
        "edit_url": reverse("sales:deal_edit", args=[deal.pk]) + "#deal-people",
    }


def stage_history(request: HttpRequest, actor: Actor, deal: Deal) -> dict[str, Any]:
    now = timezone.now()
    rows = list(
        StageHistory.objects.filter(deal_id=deal.pk)
        .select_related("actor")
        .order_by("-entered_at", "-id")[:50]
    )
    items = []
    for row in rows:
        seconds = (
            row.duration_seconds
            if row.left_at is not None
            else max(0, int((now - row.entered_at).total_seconds()))
        )
        items.append(
            {"row": row, "current": row.left_at is None, "duration": human_duration(seconds)}
        )
    return {"items": items, "deal": deal}


# --- person and company pages: their deals -------------------------------------------------


def _record_deals(actor: Actor, target_type: str, record) -> Any:
    qs = Deal.objects.visible_to(actor)
    if target_type == "company":
        return qs.filter(company_id=record.pk)
    return qs.filter(deal_people__person_id=record.pk)


def record_deals(request: HttpRequest, actor: Actor, obj) -> dict[str, Any] | None:
    """The "Deals" section: open deals first (nearest close date first), then closed ones
    (most recently closed first). Three queries: the rows, the open totals per currency and,
    only when some are in another currency, the exchange rates."""
    target_type = targets.type_of(obj).name
    qs = _record_deals(actor, target_type, obj)
    ordered = qs.select_related("stage", "owner").annotate(
        closed=Case(
            When(status=DealStatus.OPEN, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
    )
    if target_type == "person":
        ordered = ordered.annotate(role=F("deal_people__role"))
    rows = list(
        ordered.order_by(
            "closed",
            F("close_date").asc(nulls_last=True),
            F("closed_at").desc(nulls_last=True),
            "-created_at",
            "id",
        )[: DEALS_SHOWN + 1]
    )
    writable = can_write(actor)
    if not rows and not writable:
        return None
    more = len(rows) > DEALS_SHOWN
    rows = rows[:DEALS_SHOWN]
    roles = dict(DealRole.choices)
    for deal in rows:
        deal.role_label = roles.get(getattr(deal, "role", "") or "", "")  # type: ignore[attr-defined]
    count = qs.order_by()[: COUNT_CAP + 1].count() if more else len(rows)
    open_total = None
    if rows and any(d.status == DealStatus.OPEN for d in rows):
        sums = (
            qs.filter(status=DealStatus.OPEN, amount__isnull=False)
            .order_by()
            .values("currency")
            .annotate(total=Sum("amount"))
        )
        per_currency = {s["currency"]: s["total"] for s in sums}
        if per_currency:
            base = actor.workspace.default_currency
            if set(per_currency) == {base}:
                open_total = {"amount": per_currency[base], "currency": base, "explanation": ""}
            else:
                total = Rates(actor.workspace).total(per_currency, on=timezone.localdate())
                open_total = {
                    "amount": total.amount,
                    "currency": total.base,
                    "explanation": total.explanation,
                }
    return {
        "deals": rows,
        "more": more,
        "title_count": f"{COUNT_CAP}+" if count > COUNT_CAP else count,
        "open_total": open_total,
        "is_person": target_type == "person",
        "can_write": writable,
        "add_url": reverse("sales:deal_new") + "?" + urlencode({target_type: obj.pk}),
    }


def deal_changes(actor: Actor, record) -> Q | None:
    """The change log entries of the record's newest visible deals (created, moved, won or
    lost, deleted, restored): shown on the person's or company's timeline."""
    target_type = targets.type_of(record).name
    ids = list(
        _record_deals(actor, target_type, record)
        .order_by("-created_at")
        .values_list("pk", flat=True)[:TIMELINE_DEALS]
    )
    if not ids:
        return None
    return Q(
        object_type="sales.deal",
        object_id__in=[str(pk) for pk in ids],
        action__in=TIMELINE_DEAL_ACTIONS,
    )


# --- registration -----------------------------------------------------------------------------


def register() -> None:
    from rapport.activities import selectors as activity_selectors
    from rapport.activities.task_sections import tasks_context
    from rapport.activities.timeline_views import (
        quick_add_context,
        summary_context,
        timeline_context,
    )

    page = [
        ("facts", "About", "sales/sections/facts.html", deal_facts, 10, "side"),
        ("tasks", "Tasks", "activities/tasks/section.html", tasks_context, 20, "side"),
        ("people", "People", "sales/sections/people.html", deal_people, 30, "side"),
        (
            "activity_summary",
            "At a glance",
            "activities/sections/summary.html",
            summary_context,
            10,
            "main",
        ),
        (
            "quick_add",
            "Log an interaction",
            "activities/sections/quick_add.html",
            quick_add_context,
            20,
            "main",
        ),
        (
            "stage_history",
            "Stage history",
            "sales/sections/stage_history.html",
            stage_history,
            40,
            "main",
        ),
        ("timeline", "Timeline", "activities/sections/timeline.html", timeline_context, 90, "main"),
    ]
    from django.apps import apps

    if apps.is_installed("rapport.attachments"):
        from rapport.attachments.views import section_context

        page.append(("files", "Files", "attachments/section.html", section_context, 60, "side"))
    for key, title, template, context, order, column in page:
        sections.register(
            "deal",
            sections.Section(
                key=key,
                title=title,
                template=template,
                context=context,
                order=order,
                column=column,  # type: ignore[arg-type]
            ),
        )
    for object_type in ("person", "company"):
        sections.register(
            object_type,
            sections.Section(
                key="deals",
                title="Deals",
                template="sales/sections/record_deals.html",
                context=record_deals,
                order=15,
                column="side",
            ),
        )
        activity_selectors.register_change_source(object_type, deal_changes)


register()
