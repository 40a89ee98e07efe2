"""The sales dashboard: win rate per stage, average deal size, sales cycle, pipeline velocity,
stalled deals and won/lost reasons, over the deals the actor may see.

Definitions:

- **Window**: deals *closed* (won or lost, by ``closed_at``) in the last N days (default 90), or
  for stalled deals and the open-deal count, the deals open now. Filters: pipeline, owner.
- **Win rate per stage**: of the deals closed in the window that entered an open stage (one or
  more ``StageHistory`` rows), the share that ended won. Overall win rate: won / (won + lost).
- **Average deal size**: the won deals' amounts summed per currency, converted into the base
  currency at today's rate (``sales.money.Rates``), divided by the number of won deals with an
  amount. Per month for the chart (converted at today's rate as well, so months compare).
- **Sales cycle**: days from ``created_at`` to ``closed_at`` of the won deals: average and
  median (exact: the middle row(s) of the sorted durations).
- **Pipeline velocity** (per day): open deals × win rate × average deal size / average cycle
  days (at least one day), for all pipelines together and per pipeline (for the chart).
- **Stalled deals**: open deals with no interaction for N days (default 14): their
  ``last_interaction_at``, or ``stage_entered_at`` when they never had one, is older than N
  days. Counted per stage; the longest-silent ones listed.
- **Won/lost reasons**: lost deals in the window per lost reason (count and amount in the base
  currency), won deals counted.

Every figure is an aggregate in SQL (``GROUP BY`` currency where money is summed); the number of
queries does not depend on the number of deals.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from rapport.core.actors import Actor
from rapport.core.errors import ErrorCollector, ValidationFailed
from rapport.tenancy.models import Membership

from .forecast import _uuid, add_periods
from .models import Deal, DealStatus, Pipeline, StageHistory, StageType
from .money import CENT, Rates, Total

WINDOWS = (30, 90, 180, 365)
DEFAULT_WINDOW = 90
STALLED_CHOICES = (7, 14, 30, 60, 90)
DEFAULT_STALLED = 14
STALLED_LIST = 10
DAY = Decimal(86400)


@dataclass(frozen=True)
class DashboardParams:
    days: int
    pipeline: uuid.UUID | None
    owner: uuid.UUID | None
    stalled_days: int


def _int_choice(value: Any, choices: tuple[int, ...], default: int, name: str) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(str(value))
    except ValueError:
        raise ValidationFailed.one(name, "Must be a whole number.")
    if number not in choices:
        raise ValidationFailed.one(name, f"Use one of: {', '.join(map(str, choices))}.")
    return number


def clean_params(*, days=None, pipeline=None, owner=None, stalled_days=None) -> DashboardParams:
    c = ErrorCollector()
    c.take("days", _int_choice, days, WINDOWS, DEFAULT_WINDOW, "days")
    c.take("pipeline", _uuid, pipeline, "pipeline")
    c.take("owner", _uuid, owner, "owner")
    c.take(
        "stalled_days", _int_choice, stalled_days, STALLED_CHOICES, DEFAULT_STALLED, "stalled_days"
    )
    c.raise_if_any()
    v = c.values
    return DashboardParams(v["days"], v["pipeline"], v["owner"], v["stalled_days"])


@dataclass
class StageRate:
    stage: str
    entered: int
    won: int

    @property
    def rate(self) -> Decimal | None:
        return None if not self.entered else _pct(self.won, self.entered)


@dataclass
class PipelineVelocity:
    name: str
    open_deals: int
    win_rate: Decimal | None
    avg_size: Decimal | None
    avg_cycle_days: Decimal | None
    velocity: Decimal | None


@dataclass
class StalledDeal:
    id: uuid.UUID
    name: str
    stage: str
    owner: str
    amount: Decimal | None
    currency: str
    silent_since: dt.datetime
    days: int
    url: str


@dataclass
class Reason:
    name: str
    count: int
    amount: Total


@dataclass
class Dashboard:
    params: DashboardParams
    currency: str
    since: dt.datetime
    won: int
    lost: int
    win_rate: Decimal | None
    stage_rates: list[StageRate]
    won_total: Total
    avg_size: Decimal | None
    monthly_sizes: list[tuple[str, Decimal | None, int]]
    cycle_avg_days: Decimal | None
    cycle_median_days: Decimal | None
    cycle_histogram: list[tuple[str, int]]
    open_deals: int
    velocity: Decimal | None
    pipelines: list[PipelineVelocity]
    stalled_count: int
    stalled_by_stage: list[tuple[str, int]]
    stalled: list[StalledDeal]
    lost_reasons: list[Reason]
    missing_rates: list[str] = field(default_factory=list)

    def charts(self) -> dict[str, dict[str, Any]]:
        """Data for charts.js, one entry per chart (numbers are for drawing only)."""

        def num(v):
            return None if v is None else float(v)

        return {
            "win_rate": {
                "type": "bar",
                "format": "percent",
                "labels": [s.stage for s in self.stage_rates],
                "datasets": [
                    {"label": "Win rate", "data": [num(s.rate) for s in self.stage_rates]}
                ],
            },
            "deal_size": {
                "type": "bar",
                "format": "money",
                "currency": self.currency,
                "labels": [m[0] for m in self.monthly_sizes],
                "datasets": [
                    {"label": "Average won deal", "data": [num(m[1]) for m in self.monthly_sizes]}
                ],
            },
            "cycle": {
                "type": "bar",
                "format": "count",
                "labels": [h[0] for h in self.cycle_histogram],
                "datasets": [{"label": "Won deals", "data": [h[1] for h in self.cycle_histogram]}],
            },
            "velocity": {
                "type": "bar",
                "format": "money",
                "currency": self.currency,
                "horizontal": True,
                "labels": [p.name for p in self.pipelines],
                "datasets": [
                    {"label": "Per day", "data": [num(p.velocity) for p in self.pipelines]}
                ],
            },
            "stalled": {
                "type": "bar",
                "format": "count",
                "horizontal": True,
                "labels": [s[0] for s in self.stalled_by_stage],
                "datasets": [
                    {"label": "Stalled deals", "data": [s[1] for s in self.stalled_by_stage]}
                ],
            },
            "reasons": {
                "type": "bar",
                "format": "count",
                "horizontal": True,
                "labels": ["Won", *[r.name for r in self.lost_reasons]],
                "datasets": [
                    {
                        "label": "Deals",
                        "data": [self.won, *[r.count for r in self.lost_reasons]],
                    }
                ],
            },
        }


def _pct(part: int, whole: int) -> Decimal:
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_EVEN)


def _days(seconds: Decimal | None) -> Decimal | None:
    return None if seconds is None else (seconds / DAY).quantize(Decimal("0.1"))


def _seconds(value) -> Decimal | None:
    """A duration from the database (timedelta, or microseconds on some backends) in seconds."""
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        return Decimal(value.days * 86400 + value.seconds) + Decimal(value.microseconds) / 10**6
    return Decimal(value) / 10**6


CYCLE_BUCKETS = [(7, "≤ 7 d"), (30, "8–30 d"), (60, "31–60 d"), (90, "61–90 d"), (180, "91–180 d")]


def dashboard(
    *,
    actor: Actor,
    days: Any = None,
    pipeline: Any = None,
    owner: Any = None,
    stalled_days: Any = None,
    now: dt.datetime | None = None,
) -> Dashboard:
    params = clean_params(days=days, pipeline=pipeline, owner=owner, stalled_days=stalled_days)
    now = now or timezone.now()
    today = timezone.localdate(now)
    since = now - dt.timedelta(days=params.days)
    ws = actor.workspace

    deals = Deal.objects.visible_to(actor)
    if params.pipeline is not None:
        deals = deals.filter(pipeline_id=params.pipeline)
    if params.owner is not None:
        deals = deals.filter(owner_id=params.owner)
    closed = deals.filter(status__in=[DealStatus.WON, DealStatus.LOST], closed_at__gte=since)
    won_deals = closed.filter(status=DealStatus.WON)
    # A deal closed "before" it was created (imported history, clock skew) counts as 0 days.
    cycle = Case(
        When(
            closed_at__gt=F("created_at"),
            then=ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField()),
        ),
        default=Value(dt.timedelta(0)),
        output_field=DurationField(),
    )
    rates = Rates(ws)
    missing: set[str] = set()

    def convert(sums) -> Total:
        total = rates.total(sums, today)
        missing.update(total.missing)
        return total

    # 1. Closed deals per pipeline, status and currency: counts, amounts, cycle sums.
    per_pipeline: dict[Any, dict[str, Any]] = defaultdict(
        lambda: {
            "won": 0,
            "lost": 0,
            "sized": 0,
            "amounts": defaultdict(Decimal),
            "cycle": Decimal(0),
        }
    )
    rows = (
        closed.annotate(cycle=cycle)
        .values("pipeline_id", "status", "currency")
        .annotate(
            n=Count("id"), sized=Count("amount"), amount=Sum("amount"), cycle_sum=Sum("cycle")
        )
        .order_by()
    )
    for r in rows:
        p = per_pipeline[r["pipeline_id"]]
        p[r["status"]] += r["n"]
        if r["status"] == DealStatus.WON:
            p["sized"] += r["sized"]
            if r["amount"] is not None and r["currency"]:
                p["amounts"][r["currency"]] += r["amount"]
            p["cycle"] += _seconds(r["cycle_sum"]) or Decimal(0)
    won = sum(p["won"] for p in per_pipeline.values())
    lost = sum(p["lost"] for p in per_pipeline.values())
    won_amounts: dict[str, Decimal] = defaultdict(Decimal)
    for p in per_pipeline.values():
        for currency, amount in p["amounts"].items():
            won_amounts[currency] += amount
    won_total = convert(won_amounts)
    sized = sum(p["sized"] for p in per_pipeline.values())
    avg_size = (won_total.amount / sized).quantize(CENT) if sized else None
    cycle_seconds = sum((p["cycle"] for p in per_pipeline.values()), Decimal(0))
    cycle_avg = _days(cycle_seconds / won) if won else None
    win_rate = _pct(won, won + lost) if won + lost else None

    # 2. Median cycle: the middle one or two of the won deals' sorted durations.
    cycle_median = None
    if won:
        lo, hi = (won - 1) // 2, won // 2
        middle = list(
            won_deals.annotate(cycle=cycle)
            .order_by("cycle", "id")
            .values_list("cycle", flat=True)[lo : hi + 1]
        )
        secs = [_seconds(m) or Decimal(0) for m in middle]
        if secs:
            cycle_median = _days(sum(secs, Decimal(0)) / len(secs))

    # 3. Cycle histogram.
    whens = [
        When(cycle__lte=dt.timedelta(days=limit), then=Value(i))
        for i, (limit, _label) in enumerate(CYCLE_BUCKETS)
    ]
    hist = dict(
        won_deals.annotate(cycle=cycle)
        .annotate(
            bucket=Case(*whens, default=Value(len(CYCLE_BUCKETS)), output_field=IntegerField())
        )
        .values("bucket")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("bucket", "n")
    )
    labels = [label for _, label in CYCLE_BUCKETS] + ["> 180 d"]
    cycle_histogram = [(label, hist.get(i, 0)) for i, label in enumerate(labels)]

    # 4. Won amounts per month of closing (converted at today's rate: months compare).
    months = []
    first = since.astimezone(timezone.get_current_timezone()).date().replace(day=1)
    m = first
    while m <= today:
        months.append(m)
        m = add_periods(m, "month", 1)
    zone = timezone.get_current_timezone()
    month_whens = [
        When(
            closed_at__gte=dt.datetime.combine(s, dt.time.min, tzinfo=zone),
            closed_at__lt=dt.datetime.combine(add_periods(s, "month", 1), dt.time.min, tzinfo=zone),
            then=Value(i),
        )
        for i, s in enumerate(months)
    ]
    monthly: dict[int, dict[str, Any]] = defaultdict(lambda: {"n": 0, "amounts": {}})
    for r in (
        won_deals.annotate(
            month=Case(*month_whens, default=Value(None), output_field=IntegerField())
        )
        .values("month", "currency")
        .annotate(n=Count("amount"), amount=Sum("amount"))
        .order_by()
    ):
        if r["month"] is None:
            continue
        monthly[r["month"]]["n"] += r["n"]
        if r["amount"] is not None and r["currency"]:
            monthly[r["month"]]["amounts"][r["currency"]] = r["amount"]
    monthly_sizes = []
    for i, s in enumerate(months):
        data = monthly.get(i)
        if data and data["n"]:
            total = convert(data["amounts"])
            monthly_sizes.append(
                (f"{s:%b %Y}", (total.amount / data["n"]).quantize(CENT), data["n"])
            )
        else:
            monthly_sizes.append((f"{s:%b %Y}", None, 0))

    # 5. Win rate per stage (stage history of the deals closed in the window).
    stage_rows = (
        StageHistory.objects.filter(
            workspace=ws, deal__in=closed.values("pk"), stage_type=StageType.OPEN
        )
        .values("stage_id", "stage_name", "stage__position", "pipeline__position", "pipeline__name")
        .annotate(
            entered=Count("deal_id", distinct=True),
            won=Count("deal_id", distinct=True, filter=Q(deal__status=DealStatus.WON)),
        )
        .order_by("pipeline__position", "pipeline__name", "stage__position", "stage_name")
    )
    several = params.pipeline is None and len({r["pipeline__name"] for r in stage_rows}) > 1
    stage_rates = [
        StageRate(
            f"{r['pipeline__name']}: {r['stage_name']}" if several else r["stage_name"],
            r["entered"],
            r["won"],
        )
        for r in stage_rows
    ]

    # 6. Open deals per pipeline (velocity) and pipeline names.
    open_counts = dict(
        deals.filter(status=DealStatus.OPEN)
        .values("pipeline_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("pipeline_id", "n")
    )
    open_deals = sum(open_counts.values())
    names = dict(Pipeline.objects.in_workspace(ws).values_list("id", "name"))
    order = list(
        Pipeline.objects.in_workspace(ws).order_by("position", "name").values_list("id", flat=True)
    )

    def velocity(n_open, w, n_lost, amounts, n_sized, cycle_secs) -> PipelineVelocity:
        rate = Decimal(w) / Decimal(w + n_lost) if w + n_lost else None
        size = (convert(amounts).amount / n_sized) if n_sized else None
        cyc = (cycle_secs / w / DAY) if w else None
        vel = None
        if rate is not None and size is not None and cyc is not None:
            # A cycle shorter than a day counts as one day: velocity is per day.
            vel = (Decimal(n_open) * rate * size / max(cyc, Decimal(1))).quantize(CENT)
        return PipelineVelocity(
            "",
            n_open,
            None if rate is None else (rate * 100).quantize(Decimal("0.1")),
            None if size is None else size.quantize(CENT),
            None if cyc is None else cyc.quantize(Decimal("0.1")),
            vel,
        )

    overall = velocity(open_deals, won, lost, won_amounts, sized, cycle_seconds)
    pipelines = []
    for pid in order:
        if pid not in open_counts and pid not in per_pipeline:
            continue
        p = per_pipeline.get(pid) or {
            "won": 0,
            "lost": 0,
            "sized": 0,
            "amounts": {},
            "cycle": Decimal(0),
        }
        v = velocity(
            open_counts.get(pid, 0), p["won"], p["lost"], p["amounts"], p["sized"], p["cycle"]
        )
        v.name = names.get(pid, "?")
        pipelines.append(v)

    # 7. Stalled deals: count per stage, and the longest silent ones.
    cutoff = now - dt.timedelta(days=params.stalled_days)
    stalled_qs = (
        deals.filter(status=DealStatus.OPEN)
        .annotate(silent_since=Coalesce("last_interaction_at", "stage_entered_at"))
        .filter(silent_since__lt=cutoff)
    )
    by_stage = list(
        stalled_qs.values("stage__name", "stage__position", "pipeline__name")
        .annotate(n=Count("id"))
        .order_by("pipeline__name", "stage__position")
    )
    several_stalled = len({r["pipeline__name"] for r in by_stage}) > 1
    stalled_by_stage = [
        (
            f"{r['pipeline__name']}: {r['stage__name']}" if several_stalled else r["stage__name"],
            r["n"],
        )
        for r in by_stage
    ]
    stalled_count = sum(n for _, n in stalled_by_stage)
    stalled = [
        StalledDeal(
            d.pk,
            d.name,
            d.stage.name,
            d.owner.display_name if d.owner else "",
            d.amount,
            d.currency,
            d.silent_since,
            (now - d.silent_since).days,
            deal_url(d.pk),
        )
        for d in stalled_qs.select_related("stage", "owner").order_by("silent_since", "id")[
            :STALLED_LIST
        ]
    ]

    # 8. Lost reasons (count and amount per currency, converted).
    reasons: dict[Any, dict[str, Any]] = {}
    for r in (
        closed.filter(status=DealStatus.LOST)
        .values("lost_reason_id", "lost_reason__name", "currency")
        .annotate(n=Count("id"), amount=Sum("amount"))
        .order_by()
    ):
        entry = reasons.setdefault(
            r["lost_reason_id"],
            {"name": r["lost_reason__name"] or "No reason given", "n": 0, "amounts": {}},
        )
        entry["n"] += r["n"]
        if r["amount"] is not None and r["currency"]:
            entry["amounts"][r["currency"]] = r["amount"]
    lost_reasons = sorted(
        (Reason(e["name"], e["n"], convert(e["amounts"])) for e in reasons.values()),
        key=lambda x: (-x.count, x.name),
    )

    return Dashboard(
        params=params,
        currency=rates.base,
        since=since,
        won=won,
        lost=lost,
        win_rate=win_rate,
        stage_rates=stage_rates,
        won_total=won_total,
        avg_size=avg_size,
        monthly_sizes=monthly_sizes,
        cycle_avg_days=cycle_avg,
        cycle_median_days=cycle_median,
        cycle_histogram=cycle_histogram,
        open_deals=open_deals,
        velocity=overall.velocity,
        pipelines=pipelines,
        stalled_count=stalled_count,
        stalled_by_stage=stalled_by_stage,
        stalled=stalled,
        lost_reasons=lost_reasons,
        missing_rates=sorted(missing),
    )


def deal_url(pk) -> str:
    """The deal page (``sales:deal_detail``), or the board while that page is not wired."""
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("sales:deal_detail", args=[pk])
    except NoReverseMatch:
        return ""


def owner_choices(actor: Actor) -> list[tuple[str, str]]:
    rows = (
        Membership.objects.filter(workspace=actor.workspace)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
    return [(str(m.user_id), m.user.display_name) for m in rows]
