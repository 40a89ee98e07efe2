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
    F,
    FloatField,
    Func,
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
from .models import Deal, DealStatus, LostReason, Pipeline, Stage, StageHistory, StageType
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
    """Seconds from the database (a float, to the millisecond) as a Decimal."""
    return None if value is None else Decimal(repr(round(float(value), 3)))


CYCLE_BUCKETS = [(7, "≤ 7 d"), (30, "8–30 d"), (60, "31–60 d"), (90, "61–90 d"), (180, "91–180 d")]


class _SecondsBetween(Func):
    """Seconds from the first timestamp to the second, as a float, in native SQL. Django's
    duration arithmetic calls a Python function per row on SQLite, which made the dashboard's
    closed-deal queries cost seconds at 40,000 rows."""

    arity = 2
    output_field = FloatField()

    def as_sql(self, compiler, connection, **extra):  # PostgreSQL
        return super().as_sql(
            compiler, connection, template="EXTRACT(EPOCH FROM (%(expressions)s))", arg_joiner=" - "
        )

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400.0)",
            arg_joiner=") - julianday(",
        )


# Seconds from creation to closing; a deal closed "before" it was created (imported history,
# clock skew) counts as 0.
_CYCLE = Case(
    When(closed_at__gt=F("created_at"), then=_SecondsBetween("closed_at", "created_at")),
    default=Value(0.0),
    output_field=FloatField(),
)
# Since when an open deal has been silent: its last interaction, else its entry in the stage.
# The ``deal_silent`` index is on this expression (the stalled list is a range of it).
SILENT_SINCE = Coalesce("last_interaction_at", "stage_entered_at")
_LAST = 2**31


@dataclass
class _Closed:
    """Running sums over groups of closed deals: counts, won amounts per currency, cycle."""

    won: int = 0
    lost: int = 0
    sized: int = 0
    cycle: Decimal = Decimal(0)
    amounts: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    lost_amounts: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def add(self, f: dict[str, Any]) -> None:
        money = f["amount"] is not None and f["currency"]
        if f["status"] == DealStatus.WON:
            self.won += f["n"]
            self.sized += f["sized"]
            self.cycle += _seconds(f["cycle_sum"]) or Decimal(0)
            if money:
                self.amounts[f["currency"]] += f["amount"]
        else:
            self.lost += f["n"]
            if money:
                self.lost_amounts[f["currency"]] += f["amount"]

    def merge(self, other: _Closed) -> None:
        self.won += other.won
        self.lost += other.lost
        self.sized += other.sized
        self.cycle += other.cycle
        for currency, amount in other.amounts.items():
            self.amounts[currency] += amount
        for currency, amount in other.lost_amounts.items():
            self.lost_amounts[currency] += amount


@dataclass(frozen=True)
class _Stage:
    pipeline_id: uuid.UUID
    # (pipeline position, pipeline name, stage position, stage name): the display order.
    sort_key: tuple[int, str, int, str]


def _stages(ws) -> dict[uuid.UUID, _Stage]:
    rows = Stage.objects.in_workspace(ws).values_list(
        "id", "pipeline_id", "pipeline__position", "pipeline__name", "position", "name"
    )
    return {pk: _Stage(pipe, (ppos, pname, pos, name)) for pk, pipe, ppos, pname, pos, name in rows}


def _pipelines(ws) -> list[tuple[uuid.UUID, str]]:
    return list(
        Pipeline.objects.in_workspace(ws).order_by("position", "name").values_list("id", "name")
    )


def _closed_facts(closed, months: list[dt.date], zone) -> list[dict[str, Any]]:
    """The closed deals grouped by what every closed-deal figure needs, in one query."""
    month_whens = [
        When(
            closed_at__gte=dt.datetime.combine(s, dt.time.min, tzinfo=zone),
            closed_at__lt=dt.datetime.combine(add_periods(s, "month", 1), dt.time.min, tzinfo=zone),
            then=Value(i),
        )
        for i, s in enumerate(months)
    ]
    bucket_whens = [
        When(cycle__lte=limit * 86400, then=Value(i))
        for i, (limit, _label) in enumerate(CYCLE_BUCKETS)
    ]
    return list(
        closed.annotate(cycle=_CYCLE)
        .annotate(
            month=Case(*month_whens, default=Value(None), output_field=IntegerField()),
            bucket=Case(
                *bucket_whens, default=Value(len(CYCLE_BUCKETS)), output_field=IntegerField()
            ),
        )
        .values("pipeline_id", "status", "currency", "lost_reason_id", "month", "bucket")
        .annotate(n=Count("*"), sized=Count("amount"), amount=Sum("amount"), cycle_sum=Sum("cycle"))
        .order_by()
    )


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
    if params.owner is not None:
        deals = deals.filter(owner_id=params.owner)
    stages = _stages(ws)
    if params.pipeline is not None:
        # By stage rather than pipeline: the stage is in the open-deal index, the pipeline not.
        deals = deals.filter(
            stage_id__in=[pk for pk, s in stages.items() if s.pipeline_id == params.pipeline]
        )
    closed = deals.filter(status__in=[DealStatus.WON, DealStatus.LOST], closed_at__gte=since)
    won_deals = closed.filter(status=DealStatus.WON)
    rates = Rates(ws)
    missing: set[str] = set()

    def convert(sums) -> Total:
        total = rates.total(sums, today)
        missing.update(total.missing)
        return total

    # 1. The deals closed in the window, in one grouped query: per pipeline, status, currency,
    #    lost reason, month of closing and cycle bucket (a few hundred groups at most).
    zone = timezone.get_current_timezone()
    months = []
    m = since.astimezone(zone).date().replace(day=1)
    while m <= today:
        months.append(m)
        m = add_periods(m, "month", 1)
    facts = _closed_facts(closed, months, zone)
    per_pipeline: dict[Any, _Closed] = defaultdict(_Closed)
    monthly: dict[int, _Closed] = defaultdict(_Closed)
    hist: dict[int, int] = defaultdict(int)
    reasons: dict[Any, _Closed] = defaultdict(_Closed)
    for f in facts:
        per_pipeline[f["pipeline_id"]].add(f)
        if f["status"] == DealStatus.WON:
            hist[f["bucket"]] += f["n"]
            if f["month"] is not None:
                monthly[f["month"]].add(f)
        else:
            reasons[f["lost_reason_id"]].add(f)
    everything = _Closed()
    for p in per_pipeline.values():
        everything.merge(p)
    won, lost, sized = everything.won, everything.lost, everything.sized
    won_amounts = everything.amounts
    won_total = convert(won_amounts)
    avg_size = (won_total.amount / sized).quantize(CENT) if sized else None
    cycle_seconds = everything.cycle
    cycle_avg = _days(cycle_seconds / won) if won else None
    win_rate = _pct(won, won + lost) if won + lost else None

    labels = [label for _, label in CYCLE_BUCKETS] + ["> 180 d"]
    cycle_histogram = [(label, hist.get(i, 0)) for i, label in enumerate(labels)]
    monthly_sizes: list[tuple[str, Decimal | None, int]] = []
    for i, s in enumerate(months):
        data = monthly.get(i)
        if data and data.sized:
            total = convert(data.amounts)
            monthly_sizes.append(
                (f"{s:%b %Y}", (total.amount / data.sized).quantize(CENT), data.won)
            )
        else:
            monthly_sizes.append((f"{s:%b %Y}", None, data.won if data else 0))
    names = dict(LostReason.objects.in_workspace(ws).values_list("id", "name"))
    lost_reasons = sorted(
        (
            Reason(names.get(key, "No reason given"), r.lost, convert(r.lost_amounts))
            for key, r in reasons.items()
        ),
        key=lambda x: (-x.count, x.name),
    )

    # 2. Median cycle: the middle one or two of the won deals' sorted durations.
    cycle_median = None
    if won:
        lo, hi = (won - 1) // 2, won // 2
        middle = list(
            won_deals.annotate(cycle=_CYCLE)
            .order_by("cycle", "id")
            .values_list("cycle", flat=True)[lo : hi + 1]
        )
        secs = [_seconds(m) or Decimal(0) for m in middle]
        if secs:
            cycle_median = _days(sum(secs, Decimal(0)) / len(secs))

    # 3. Win rate per stage (stage history of the deals closed in the window).
    # The history rows of the closed deals (then of the won ones), grouped by stage id: the
    # deals' ids come from the covering ``deal_closed`` range and each probes the history's
    # ``stagehistory_deal_stage`` index. Rows of a removed stage (no id) are grouped again by
    # the name the history kept. (A join instead lets SQLite walk the whole history.)
    def through(subset, by: str) -> dict[Any, int]:
        rows = StageHistory.objects.filter(deal__in=subset.values("pk"), stage_type=StageType.OPEN)
        if by == "stage_name":
            rows = rows.filter(stage=None)
        rows = (
            rows.values(by)
            .annotate(n=Count("deal_id", distinct=True))
            .order_by()
            .values_list(by, "n")
        )
        return dict(rows)

    # Won and lost apart (disjoint sets, so entered = won + lost): each deal is probed once.
    def rates_by(by: str) -> list[tuple[Any, int, int]]:
        won_by = through(won_deals, by)
        lost_by = through(closed.filter(status=DealStatus.LOST), by)
        keys = {**lost_by, **won_by}
        return [(k, won_by.get(k, 0) + lost_by.get(k, 0), won_by.get(k, 0)) for k in keys]

    by_stage = rates_by("stage_id")
    rated: list[tuple[tuple[int, str, int, str], _Stage | None, int, int]] = [
        (stages[pk].sort_key, stages[pk], n, n_won) for pk, n, n_won in by_stage if pk in stages
    ]
    if any(pk not in stages for pk, _, _ in by_stage):
        rated += [
            ((_LAST, "", _LAST, name), None, n, n_won) for name, n, n_won in rates_by("stage_name")
        ]
    rated.sort(key=lambda x: x[0])
    several = params.pipeline is None and len({k[1] for k, stage, *_ in rated if stage}) > 1
    stage_rates = [
        StageRate(f"{k[1]}: {k[3]}" if several and stage else k[3], n, n_won)
        for k, stage, n, n_won in rated
    ]

    # 4. Open and stalled deals per stage, in one pass over the open-deal index.
    cutoff = now - dt.timedelta(days=params.stalled_days)
    # Stalled spelled on the plain columns (not the COALESCE) so the index covers the count.
    is_stalled = Q(last_interaction_at__lt=cutoff) | Q(
        last_interaction_at__isnull=True, stage_entered_at__lt=cutoff
    )
    per_stage = (
        deals.filter(status=DealStatus.OPEN)
        .values("stage_id")
        .annotate(n=Count("*"), stalled=Sum(Case(When(is_stalled, then=1), default=0)))
        .order_by()
    )
    open_counts: dict[Any, int] = defaultdict(int)
    stalled_rows = []
    for r in per_stage:
        stage = stages.get(r["stage_id"])
        if stage is None:
            continue
        open_counts[stage.pipeline_id] += r["n"]
        if r["stalled"]:
            stalled_rows.append((stage.sort_key, r["stalled"]))
    stalled_rows.sort()
    open_deals = sum(open_counts.values())
    several_stalled = len({k[1] for k, _ in stalled_rows}) > 1
    stalled_by_stage = [
        (f"{k[1]}: {k[3]}" if several_stalled else k[3], n) for k, n in stalled_rows
    ]
    stalled_count = sum(n for _, n in stalled_by_stage)

    # 5. The longest silent open deals (an index range on the silence, newest last).
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
        for d in deals.filter(status=DealStatus.OPEN)
        .annotate(silent_since=SILENT_SINCE)
        .filter(silent_since__lt=cutoff)
        .select_related("stage", "owner")
        .order_by("silent_since", "id")[:STALLED_LIST]
    ]

    # 6. Pipeline velocity, overall and per pipeline.
    def velocity(n_open: int, c: _Closed) -> PipelineVelocity:
        rate = Decimal(c.won) / Decimal(c.won + c.lost) if c.won + c.lost else None
        size = (convert(c.amounts).amount / c.sized) if c.sized else None
        cyc = (c.cycle / c.won / DAY) if c.won else None
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

    overall = velocity(open_deals, everything)
    pipelines = []
    for pid, name in _pipelines(ws):
        if pid not in open_counts and pid not in per_pipeline:
            continue
        v = velocity(open_counts.get(pid, 0), per_pipeline.get(pid) or _Closed())
        v.name = name
        pipelines.append(v)

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
