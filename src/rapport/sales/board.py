"""Reads of the deals board: column totals per stage and one page of a column's cards.

The board's first render is cheap at any size: one aggregate query (``GROUP BY stage,
currency`` on the ``deal_stage_totals`` index) gives every column's count and per-currency sums,
which ``sales.money.Rates`` (one query) converts into the base currency with the conversion
explained; cards come one keyset page per column at a time (``deal_stage_entered`` index:
newest in the stage first). Weighted totals are the stage's sums times its probability: the
probability is the same for every deal of a column, so no per-row arithmetic is needed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from rapport.core.actors import Actor
from rapport.core.pagination import Page, Sort, keyset_page

from .filters import DealFilters
from .models import Deal, Pipeline, Stage, StageType
from .money import CENT, Rates, Total
from .selectors import deal_queryset

COLUMN_SORT = Sort(field="stage_entered_at", descending=True)
COLUMN_PAGE = 20
MAX_COLUMN_PAGE = 100
# What a card shows: nothing else is read from the deal row.
CARD_FIELDS = (
    "id",
    "name",
    "pipeline_id",
    "stage_id",
    "status",
    "amount",
    "currency",
    "close_date",
    "owner_id",
    "company_id",
    "stage_entered_at",
    "last_interaction_at",
    "version",
    "owner__id",
    "owner__full_name",
    "owner__email",
    "company__id",
    "company__name",
)


@dataclass
class Column:
    stage: Stage
    count: int = 0
    per_currency: dict[str, Decimal] = field(default_factory=dict)
    total: Total | None = None
    weighted: Total | None = None

    @property
    def explanation(self) -> str:
        """How the column's totals were converted (a tooltip / disclosure)."""
        if self.total is None or not self.total.parts:
            return "No amounts in this column."
        lines = [f"Total: {self.total.explanation}"]
        if self.weighted is not None and self.stage.probability not in (0, 100):
            lines.append(f"Weighted at {self.stage.probability}%: {self.weighted.explanation}")
        return "\n".join(lines)


@dataclass
class Board:
    pipeline: Pipeline
    columns: list[Column]
    base: str
    on: dt.date

    @property
    def count(self) -> int:
        return sum(c.count for c in self.columns)

    def column(self, stage_id) -> Column | None:
        return next((c for c in self.columns if str(c.stage.pk) == str(stage_id)), None)


def _filtered(actor: Actor, filters: DealFilters | None):
    return deal_queryset(actor=actor, filters=filters)


def _weighted(rates: Rates, per_currency: dict[str, Decimal], probability: int, on) -> Total:
    factor = Decimal(probability) / Decimal(100)
    return rates.total(
        {c: (a * factor).quantize(CENT) for c, a in per_currency.items()},
        on=on,
    )


def board(actor: Actor, pipeline: Pipeline, filters: DealFilters | None = None) -> Board:
    """Every stage of ``pipeline`` (stages prefetched or one query) with its deals' count,
    amount total and weighted total in the base currency; two queries in all (the totals,
    grouped by stage and currency, and the exchange rates)."""
    stages = list(pipeline.stages.all())
    stages.sort(key=lambda s: (s.position, s.name))
    columns = {s.pk: Column(stage=s) for s in stages}
    rows = (
        _filtered(actor, filters)
        # By stage, not pipeline: the (workspace, stage, currency, amount) index answers it.
        .filter(stage_id__in=list(columns))
        .order_by()
        .values("stage_id", "currency")
        .annotate(n=Count("*"), amount=Sum("amount"))
    )
    for row in rows:
        column = columns.get(row["stage_id"])
        if column is None:  # pragma: no cover - a deal of the pipeline in a foreign stage
            continue
        column.count += row["n"]
        if row["amount"] is not None and row["currency"]:
            column.per_currency[row["currency"]] = (
                column.per_currency.get(row["currency"], Decimal(0)) + row["amount"]
            )
    rates = Rates(actor.workspace)
    on = timezone.localdate()
    for column in columns.values():
        column.total = rates.total(column.per_currency, on=on)
        column.weighted = _weighted(rates, column.per_currency, column.stage.probability, on)
    return Board(pipeline=pipeline, columns=list(columns.values()), base=rates.base, on=on)


def rotting_days(deal: Deal, stage: Stage, now: dt.datetime | None = None) -> int | None:
    """Days an open deal has sat untouched in a stage that rots, when past the stage's limit
    (else None): untouched since the later of entering the stage and its last interaction."""
    if stage.rotting_days is None or deal.status != StageType.OPEN:
        return None
    now = now or timezone.now()
    last = deal.stage_entered_at
    if deal.last_interaction_at is not None and deal.last_interaction_at > last:
        last = deal.last_interaction_at
    idle = now - last
    return idle.days if idle > dt.timedelta(days=stage.rotting_days) else None


def column_page(
    actor: Actor,
    stage: Stage,
    filters: DealFilters | None = None,
    cursor: str | None = None,
    limit: int = COLUMN_PAGE,
) -> Page:
    """One keyset page of a column's cards, newest in the stage first, in one query (owner and
    company joined). Each deal gets ``rotting`` (days, or None)."""
    qs = (
        _filtered(actor, filters)
        .filter(stage_id=stage.pk)
        .select_related("owner", "company")
        .only(*CARD_FIELDS)
    )
    page = keyset_page(
        qs, sort=COLUMN_SORT, cursor=cursor, limit=max(1, min(limit, MAX_COLUMN_PAGE))
    )
    now = timezone.now()
    for deal in page.rows:
        deal.rotting = rotting_days(deal, stage, now)  # type: ignore[attr-defined]
    return page
