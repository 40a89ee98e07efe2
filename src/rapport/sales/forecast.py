"""Sales forecasts: closed won, commit, best case, pipeline and weighted amounts per period and per
owner, team or pipeline, beside each member's quota and the attainment.

Definitions (the forecast page, ``GET /api/v1/forecast`` and the tests follow them):

- **Period of a deal.** A deal counts in the period (month, quarter or year) containing its
  expected ``close_date``. A closed deal without a close date counts on the day it closed
  (the date of ``closed_at`` in the current time zone). An open deal without a close date is in
  no period: it is not forecast.
- **Forecast category** of a deal: its own ``forecast_category`` when set, otherwise its stage's.
- **closed_won**: the amounts of won deals (whatever their category).
- **commit**: open deals in the category *commit* (an open deal marked *closed* counts as
  commit too). Closed won is *not* included: some CRMs roll closed won into commit; here the two
  are separate figures and "closed won + commit" is what a rep is calling.
- **best_case**: open deals in *best case* or *commit*.
- **pipeline**: every open deal that is not *omitted* (pipeline + best case + commit).
- **weighted**: Σ amount × the stage's probability over the same open deals (not omitted).
- Lost deals and omitted deals are left out of every figure.
- **Money.** Amounts are summed per currency by the database (one query, ``GROUP BY`` period
  bucket, owner or pipeline, category, stage probability and currency) and converted into the
  workspace's base currency with ``sales.money.Rates`` at **the rate valid on the period's last
  day** (for a period still running or in the future that is the latest rate known, i.e.
  today's). Nothing is ever added across currencies before conversion; a currency with no rate
  is left out and named in the explanation and in ``missing_rates``.
- **Groups.** ``owner``: the deal's owner ("Unassigned" when none). ``team``: a deal counts for
  each team of its owner (``tenancy.Team``), owners in no team are under "No team"; a team row
  is the sum of its members' rows, totals never count a deal twice. ``pipeline``: the deal's
  pipeline.
- **Quota**: ``sales.Quota`` per user and period (converted like amounts); a team's quota is the
  sum of its members' quotas; pipelines have none (null). **attainment** = closed_won / quota,
  null when there is no quota (or it is zero).
- **Visibility.** Only deals the actor may see (``Deal.objects.visible_to``) are counted; with the
  record access "own" or "team" a member sees only the quotas of the people whose deals they see.

Query count is constant: deals (1), rates (1), quotas (1), names of owners/teams/pipelines (1-2).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, IntegerField, Sum, Value, When
from django.utils import timezone

from rapport.core.actors import Actor, ActorKind, Role
from rapport.core.errors import ErrorCollector, FieldError, ValidationFailed
from rapport.core.validation import clean_date
from rapport.tenancy.models import TeamMember
from rapport.users.models import User

from .models import Deal, DealStatus, ForecastCategory, Pipeline, Quota, QuotaPeriod, Stage
from .money import Rates, Total
from .services import period_start

MAX_PERIODS = 24
GROUP_BYS = ("owner", "team", "pipeline")
FIGURES = ("closed_won", "commit", "best_case", "pipeline", "weighted")
FIGURE_LABELS = {
    "closed_won": "Closed won",
    "commit": "Commit",
    "best_case": "Best case",
    "pipeline": "Pipeline",
    "weighted": "Weighted",
    "quota": "Quota",
}
WON = "won"  # the category key of won deals in the aggregate rows
HUNDRED = Decimal(100)
RATIO = Decimal("0.0001")


# --- periods ------------------------------------------------------------------------------


def add_periods(start: dt.date, period: str, n: int) -> dt.date:
    """The first day of the period ``n`` periods after the one starting on ``start``."""
    months = {"month": 1, "quarter": 3, "year": 12}[period] * n
    index = start.year * 12 + start.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def period_label(period: str, start: dt.date) -> str:
    if period == QuotaPeriod.MONTH:
        return f"{start:%b %Y}"
    if period == QuotaPeriod.QUARTER:
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    return str(start.year)


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # exclusive: the first day of the next period
    label: str

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)


def periods_from(period: str, start: dt.date, count: int) -> list[Period]:
    first = period_start(period, start)
    out = []
    for i in range(count):
        s = add_periods(first, period, i)
        out.append(Period(s, add_periods(first, period, i + 1), period_label(period, s)))
    return out


@dataclass(frozen=True)
class Params:
    period: str
    start: dt.date
    periods: int
    group_by: str
    pipeline: uuid.UUID | None


def _int_periods(value: Any) -> int:
    if value in (None, ""):
        return 1
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationFailed.one("periods", "Must be a whole number.")
    if not 1 <= number <= MAX_PERIODS:
        raise ValidationFailed.one("periods", f"Must be between 1 and {MAX_PERIODS}.")
    return number


def _choice(value: Any, allowed: Iterable[str], field: str, default: str) -> str:
    value = (str(value).strip() if value is not None else "") or default
    allowed = list(allowed)
    if value not in allowed:
        raise ValidationFailed.one(field, f"Use one of: {', '.join(allowed)}.")
    return value


def _uuid(value: Any, field: str) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed.one(field, "Not a valid id.")


def clean_params(
    *, period: Any, start: Any, periods: Any, group_by: Any, pipeline: Any = None
) -> Params:
    """Checks every parameter and names the wrong ones (all at once)."""
    c = ErrorCollector()
    c.take("period", _choice, period, QuotaPeriod.values, "period", QuotaPeriod.QUARTER)
    c.take("start", clean_date, start, field="start")
    c.take("periods", _int_periods, periods)
    c.take("group_by", _choice, group_by, GROUP_BYS, "group_by", "owner")
    c.take("pipeline", _uuid, pipeline, "pipeline")
    if c.values.get("start") is not None and not 1900 <= c.values["start"].year <= 2999:
        c.errors.append(FieldError("start", "Use a date between 1900 and 2999."))
    c.raise_if_any()
    v = c.values
    first = period_start(v["period"], v["start"] or timezone.localdate())
    return Params(v["period"], first, v["periods"], v["group_by"], v["pipeline"])


# --- results ------------------------------------------------------------------------------


@dataclass
class Figures:
    """One row of a forecast (a group in a period, or a period's total), in the base currency."""

    closed_won: Total
    commit: Total
    best_case: Total
    pipeline: Total
    weighted: Total
    quota: Total | None
    deals: int = 0

    @property
    def attainment(self) -> Decimal | None:
        if self.quota is None or not self.quota.amount:
            return None
        return (self.closed_won.amount / self.quota.amount).quantize(RATIO)

    @property
    def attainment_percent(self) -> Decimal | None:
        a = self.attainment
        return None if a is None else (a * HUNDRED).quantize(Decimal("0.1"))

    def totals(self) -> dict[str, Total]:
        out = {name: getattr(self, name) for name in FIGURES}
        if self.quota is not None:
            out["quota"] = self.quota
        return out

    @property
    def explanations(self) -> dict[str, str]:
        """How each converted figure was made (only figures that needed converting)."""
        return {
            name: total.explanation
            for name, total in self.totals().items()
            if total.converted or total.missing
        }


@dataclass(frozen=True)
class Group:
    id: str | None
    name: str


@dataclass
class Row:
    period: Period
    group: Group
    figures: Figures


@dataclass
class PeriodBlock:
    period: Period
    rows: list[Row]
    total: Figures


@dataclass
class Forecast:
    params: Params
    currency: str
    blocks: list[PeriodBlock]
    missing_rates: list[str] = field(default_factory=list)

    @property
    def rows(self) -> list[Row]:
        return [row for block in self.blocks for row in block.rows]

    def as_api(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "period": self.params.period,
            "group_by": self.params.group_by,
            "rows": [_row_api(r.period, r.group, r.figures) for r in self.rows],
            "totals": [_row_api(b.period, None, b.total) for b in self.blocks],
            "missing_rates": self.missing_rates,
        }

    def chart(self) -> dict[str, Any]:
        """The totals per period, shaped for charts.js (amounts as numbers for drawing only)."""
        names = ["closed_won", "commit", "best_case", "pipeline", "weighted"]
        if self.params.group_by != "pipeline":
            names.insert(1, "quota")

        def value(block: PeriodBlock, name: str) -> float | None:
            total = getattr(block.total, name)
            return None if total is None else float(total.amount)

        return {
            "type": "bar",
            "format": "money",
            "currency": self.currency,
            "labels": [b.period.label for b in self.blocks],
            "datasets": [
                {"label": FIGURE_LABELS[n], "data": [value(b, n) for b in self.blocks], "key": n}
                for n in names
            ],
        }


def _money(value: Total | None) -> str | None:
    return None if value is None else f"{value.amount:.2f}"


def _row_api(period: Period, group: Group | None, f: Figures) -> dict[str, Any]:
    a = f.attainment
    row: dict[str, Any] = {
        "period": period.start.isoformat(),
        "period_end": period.last_day.isoformat(),
        "period_label": period.label,
    }
    if group is not None:
        row["group"] = {"id": group.id, "name": group.name}
    row |= {
        "closed_won": _money(f.closed_won),
        "commit": _money(f.commit),
        "best_case": _money(f.best_case),
        "pipeline": _money(f.pipeline),
        "weighted": _money(f.weighted),
        "quota": _money(f.quota),
        "attainment": None if a is None else f"{a}",
        "deals": f.deals,
        "explanations": f.explanations,
    }
    return row


# --- the computation ----------------------------------------------------------------------

# Raw sums per currency of one (period, group) cell: figure -> currency -> amount.
Cell = dict[str, dict[str, Decimal]]


def _new_cell() -> Cell:
    return {name: defaultdict(Decimal) for name in FIGURES}


def _by_close_date(periods: list[Period]) -> Case:
    """The index of the period a deal's close date falls in (null: none); portable SQL."""
    whens = [
        When(close_date__gte=p.start, close_date__lt=p.end, then=Value(i))
        for i, p in enumerate(periods)
    ]
    return Case(*whens, default=Value(None), output_field=IntegerField())


def _by_closed_at(periods: list[Period]) -> Case:
    """The same for a deal won without a close date: the moment it closed, in the current
    time zone."""
    zone = timezone.get_current_timezone()
    whens = []
    for i, p in enumerate(periods):
        since = dt.datetime.combine(p.start, dt.time.min, tzinfo=zone)
        until = dt.datetime.combine(p.end, dt.time.min, tzinfo=zone)
        whens.append(When(closed_at__gte=since, closed_at__lt=until, then=Value(i)))
    return Case(*whens, default=Value(None), output_field=IntegerField())


def _in_periods(deals, periods: list[Period]):
    """The deals a forecast counts, as two querysets with their period expression: those with
    a close date in the periods (a range of the ``deal_forecast`` index), and those won without
    one, by when they closed (a range of ``deal_closed``). One query with an ``OR`` of the two
    reads every deal of the workspace on SQLite."""
    zone = timezone.get_current_timezone()
    first, end = periods[0].start, periods[-1].end
    dated = deals.filter(
        close_date__gte=first, close_date__lt=end, status__in=[DealStatus.OPEN, DealStatus.WON]
    )
    undated = deals.filter(
        status=DealStatus.WON,
        closed_at__gte=dt.datetime.combine(first, dt.time.min, tzinfo=zone),
        closed_at__lt=dt.datetime.combine(end, dt.time.min, tzinfo=zone),
        close_date__isnull=True,
    )
    return [(dated, _by_close_date(periods)), (undated, _by_closed_at(periods))]


def _add(cell: Cell, category: str, probability: int, currency: str, amount: Decimal) -> None:
    if category == WON:
        cell["closed_won"][currency] += amount
        return
    if category == ForecastCategory.OMITTED:
        return
    cell["pipeline"][currency] += amount
    cell["weighted"][currency] += amount * Decimal(probability or 0) / HUNDRED
    if category in (ForecastCategory.COMMIT, ForecastCategory.CLOSED):
        cell["commit"][currency] += amount
        cell["best_case"][currency] += amount
    elif category == ForecastCategory.BEST_CASE:
        cell["best_case"][currency] += amount


def visible_owner_ids(actor: Actor) -> set | None:
    """Whose quotas the actor may see: None for everyone, else the owners of the deals the
    record access setting shows them (mirrors ``core.querysets._owner_scope``)."""
    mode = getattr(actor.workspace, "record_access", "all")
    if (
        mode == "all"
        or actor.user_id is None
        or actor.kind in (ActorKind.SYSTEM, ActorKind.AUTOMATION)
        or actor.role.at_least(Role.MANAGER)
    ):
        return None
    ids = {actor.user_id}
    if mode == "team":
        my_teams = TeamMember.objects.filter(
            workspace=actor.workspace, user_id=actor.user_id
        ).values("team_id")
        ids |= set(
            TeamMember.objects.filter(workspace=actor.workspace, team_id__in=my_teams).values_list(
                "user_id", flat=True
            )
        )
    return ids


def forecast(
    *,
    actor: Actor,
    period: Any = QuotaPeriod.QUARTER,
    start: Any = None,
    periods: Any = 1,
    group_by: Any = "owner",
    pipeline: Any = None,
) -> Forecast:
    """The forecast the actor may see. Raises ValidationFailed naming any bad parameter."""
    params = clean_params(
        period=period, start=start, periods=periods, group_by=group_by, pipeline=pipeline
    )
    spans = periods_from(params.period, params.start, params.periods)
    ws = actor.workspace
    by_pipeline = params.group_by == "pipeline"
    key = "pipeline_id" if by_pipeline else "owner_id"

    deals = Deal.objects.visible_to(actor)
    if params.pipeline is not None:
        deals = deals.filter(pipeline_id=params.pipeline)
    # Grouped by stage rather than joined to it: the stage's probability and category come
    # from a dict, so the grouped query reads only the covering index.
    stages = {
        pk: (probability, category)
        for pk, probability, category in Stage.objects.in_workspace(ws).values_list(
            "id", "probability", "forecast_category"
        )
    }
    aggregates = []
    for subset, bucket in _in_periods(deals, spans):
        for a in (
            subset.annotate(bucket=bucket)
            .values("bucket", key, "status", "forecast_category", "stage_id", "currency")
            .annotate(amount=Sum("amount"), n=Count("*"))
            .order_by()
        ):
            probability, stage_category = stages.get(a["stage_id"], (0, ""))
            a["stage__probability"] = probability
            a["category"] = (
                WON if a["status"] == DealStatus.WON else a["forecast_category"] or stage_category
            )
            aggregates.append(a)

    # (bucket, owner-or-pipeline id) -> raw sums per currency
    cells: dict[tuple[int, Any], Cell] = defaultdict(_new_cell)
    counts: dict[tuple[int, Any], int] = defaultdict(int)
    for a in aggregates:
        if a["bucket"] is None:
            continue
        k = (a["bucket"], a[key])
        counts[k] += a["n"]
        if a["amount"] is not None and a["currency"]:
            _add(cells[k], a["category"], a["stage__probability"], a["currency"], a["amount"])

    rates = Rates(ws)
    missing: set[str] = set()

    def convert(sums: dict[str, Decimal], on: dt.date) -> Total:
        total = rates.total({c: v for c, v in sums.items() if v}, on)
        missing.update(total.missing)
        return total

    # Quotas: user -> bucket -> {currency: amount}
    quota_sums: dict[Any, dict[int, dict[str, Decimal]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(Decimal))
    )
    allowed = visible_owner_ids(actor)
    if not by_pipeline:
        index = {p.start: i for i, p in enumerate(spans)}
        quotas = Quota.objects.in_workspace(ws).filter(period=params.period, start__in=list(index))
        if allowed is not None:
            quotas = quotas.filter(user_id__in=allowed)
        for user_id, start_day, amount, currency in quotas.values_list(
            "user_id", "start", "amount", "currency"
        ):
            quota_sums[user_id][index[start_day]][currency] += amount

    # The groups and which keys (owners) feed each.
    owner_ids = {k[1] for k in cells} | {k[1] for k in counts} | set(quota_sums)
    groups: list[tuple[Group, list[Any]]] = []
    if by_pipeline:
        pipes = Pipeline.objects.in_workspace(ws)
        if params.pipeline is not None:
            pipes = pipes.filter(pk=params.pipeline)
        pipe_ids = {k[1] for k in counts}
        for p in pipes.order_by("position", "name").values("id", "name"):
            if p["id"] in pipe_ids:
                groups.append((Group(str(p["id"]), p["name"]), [p["id"]]))
    else:
        users = {
            u.pk: u for u in User.objects.filter(pk__in=[o for o in owner_ids if o is not None])
        }
        if params.group_by == "owner":
            named = sorted(
                (u.display_name.lower(), Group(str(u.pk), u.display_name), [u.pk])
                for u in users.values()
            )
            groups = [(g, keys) for _, g, keys in named]
            if None in owner_ids:
                groups.append((Group(None, "Unassigned"), [None]))
        else:
            teams: dict[Any, tuple[str, list[Any]]] = {}
            in_a_team: set = set()
            rows = (
                TeamMember.objects.filter(workspace=ws, team__workspace=ws)
                .values_list("team_id", "team__name", "user_id")
                .order_by("team__name")
            )
            for team_id, team_name, user_id in rows:
                teams.setdefault(team_id, (team_name, []))
                if user_id in owner_ids:
                    teams[team_id][1].append(user_id)
                    in_a_team.add(user_id)
            for team_id, (team_name, members) in teams.items():
                if members:
                    groups.append((Group(str(team_id), team_name), members))
            lonely = [o for o in owner_ids if o not in in_a_team]
            if lonely:
                groups.append((Group(None, "No team"), lonely))

    blocks: list[PeriodBlock] = []
    for i, span in enumerate(spans):
        on = span.last_day
        block_rows = []
        for group, keys in groups:
            block_rows.append(
                Row(
                    span,
                    group,
                    _figures(cells, counts, quota_sums, i, keys, by_pipeline, convert, on),
                )
            )
        all_keys = list({k[1] for k in counts} | set(quota_sums))
        total = _figures(cells, counts, quota_sums, i, all_keys, by_pipeline, convert, on)
        blocks.append(PeriodBlock(span, block_rows, total))
    return Forecast(params, rates.base, blocks, sorted(missing))


def _figures(cells, counts, quota_sums, bucket, keys, by_pipeline, convert, on) -> Figures:
    merged = _new_cell()
    n = 0
    for k in keys:
        cell = cells.get((bucket, k))
        n += counts.get((bucket, k), 0)
        if cell is None:
            continue
        for name in FIGURES:
            for currency, amount in cell[name].items():
                merged[name][currency] += amount
    quota = None
    if not by_pipeline:
        q: dict[str, Decimal] = defaultdict(Decimal)
        has_quota = False
        for k in keys:
            per = quota_sums.get(k, {}).get(bucket)
            if per:
                has_quota = True
                for currency, amount in per.items():
                    q[currency] += amount
        quota = convert(q, on) if has_quota else None
    return Figures(
        closed_won=convert(merged["closed_won"], on),
        commit=convert(merged["commit"], on),
        best_case=convert(merged["best_case"], on),
        pipeline=convert(merged["pipeline"], on),
        weighted=convert(merged["weighted"], on),
        quota=quota,
        deals=n,
    )
