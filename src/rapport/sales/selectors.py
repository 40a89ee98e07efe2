"""Reads of pipelines, deals, lost reasons, exchange rates and stage history.

Every deal read starts from ``Deal.objects.visible_to(actor)`` (workspace, trash and the record
access setting), so a list, a record and a move can never disagree about what an actor sees. A
page of deals costs a constant number of queries: the related rows shown with a deal are joined
(``select_related``) or prefetched once per page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import F, Prefetch, QuerySet

from rapport.core.actors import Actor
from rapport.core.errors import NotFound, ValidationFailed
from rapport.core.models import Tag
from rapport.core.pagination import Page, Sort, keyset_page, parse_sort
from rapport.core.validation import uuid_or_none

from .filters import DEAL_OBJECT_TYPE, DEAL_SORTS, DealFilters
from .models import Deal, DealPerson, ExchangeRate, LostReason, Pipeline, Stage, StageHistory

_TAGS = Prefetch("tags", queryset=Tag.objects.only("id", "name"))
_PEOPLE = Prefetch(
    "deal_people",
    queryset=DealPerson.objects.only("id", "deal_id", "person_id", "role").order_by("id"),
)
_STAGES = Prefetch("stages", queryset=Stage.objects.order_by("position"))
_DEAL_RELATED = ("stage", "pipeline", "owner", "company", "lost_reason")

# Sorts on nullable columns: rows without a value come last in both directions.
_NULLABLE_SORTS: dict[str, tuple[Any, Any]] = {
    "close_date": (lambda v: v.isoformat(), dt.date.fromisoformat),
    "amount": (lambda v: f"{v:f}", Decimal),
}


def _from_cursor(convert):
    def parse(value):
        if not isinstance(value, str):
            raise ValueError("not a string")
        try:
            return convert(value)
        except (InvalidOperation, ValueError) as exc:
            raise ValueError(str(exc))

    return parse


def parse_deal_sort(value: str | None, *, workspace, default: str = "-created_at") -> Sort:
    """``?sort=`` of a deal list: one of ``DEAL_SORTS`` or ``custom.<key>`` (a sortable custom
    field), prefix ``-`` for descending; close_date and amount put deals without one last."""
    from rapport.customization.filters import parse_record_sort

    token = (value or default).strip()
    name = token.removeprefix("-")
    if name in _NULLABLE_SORTS:
        parse_sort(token, DEAL_SORTS, default)  # the same error for a malformed value
        to_cursor, from_cursor = _NULLABLE_SORTS[name]
        return Sort(
            field=name,
            descending=token.startswith("-"),
            expression=F(name),
            to_cursor=to_cursor,
            from_cursor=_from_cursor(from_cursor),
        )
    return parse_record_sort(
        token, DEAL_SORTS, default, workspace=workspace, object_type=DEAL_OBJECT_TYPE
    )


# --- deals --------------------------------------------------------------------------------------


def deals(actor: Actor) -> QuerySet[Deal]:
    """The deals ``actor`` may see (workspace, not deleted, record access)."""
    return Deal.objects.visible_to(actor)


def deal_queryset(*, actor: Actor, filters: DealFilters | None = None) -> QuerySet[Deal]:
    """The deals a list with ``filters`` shows, unordered and without related rows (counts,
    totals, exports, bulk work)."""
    qs = deals(actor)
    return filters.apply(qs, actor) if filters is not None else qs


def with_related(qs: QuerySet[Deal]) -> QuerySet[Deal]:
    """What a shown deal needs, in constant queries per page: stage, pipeline, owner, company
    and lost reason joined; tags and people prefetched."""
    return qs.select_related(*_DEAL_RELATED).prefetch_related(_TAGS, _PEOPLE)


def with_api_related(qs: QuerySet[Deal]) -> QuerySet[Deal]:
    """What the API's ``DealOut`` reads: only the stage (probability, forecast category) is
    joined, since the API names pipeline, owner, company and lost reason by id. Joining the
    other four built four model instances per deal for nothing (a third of a list's time)."""
    return qs.select_related("stage").prefetch_related(_TAGS, _PEOPLE)


def deal_list(
    *,
    actor: Actor,
    filters: DealFilters | None = None,
    cursor: str | None = None,
    limit: int = 50,
    sort: str | Sort = "-created_at",
    related: Callable[[QuerySet[Deal]], QuerySet[Deal]] = with_related,
) -> Page:
    """One keyset page of the deals matching ``filters``; ``sort`` is a ``?sort=`` value or a
    parsed ``Sort`` (see ``parse_deal_sort``); ``related`` loads what the page shows."""
    if not isinstance(sort, Sort):
        sort = parse_deal_sort(sort, workspace=actor.workspace)
    if limit < 1 or limit > 500:
        raise ValidationFailed.one("limit", "Use a page size from 1 to 500.")
    qs = related(deal_queryset(actor=actor, filters=filters))
    return keyset_page(qs, sort=sort, cursor=cursor, limit=limit)


def deal_get(*, actor: Actor, deal_id) -> Deal:
    """A deal the actor may see, with its related rows; 404 otherwise (never 403)."""
    pk = uuid_or_none(deal_id)
    deal = with_related(deals(actor)).filter(pk=pk).first() if pk else None
    if deal is None:
        raise NotFound("No such deal.")
    return deal


HISTORY_SORT = Sort(field="entered_at", descending=False)


def _with_current_duration(rows: list[StageHistory]) -> list[StageHistory]:
    from django.utils import timezone

    now = timezone.now()
    for row in rows:
        row.current = row.left_at is None  # type: ignore[attr-defined]
        if row.left_at is None:
            row.duration_seconds = max(0, int((now - row.entered_at).total_seconds()))
    return rows


def _history_of(actor: Actor, deal_id) -> QuerySet[StageHistory]:
    pk = uuid_or_none(deal_id)
    if pk is None or not deals(actor).filter(pk=pk).exists():
        raise NotFound("No such deal.")
    return StageHistory.objects.filter(workspace=actor.workspace, deal_id=pk)


def stage_history(*, actor: Actor, deal_id) -> list[StageHistory]:
    """The stays of a visible deal in its stages, oldest first (404 for a deal the actor may
    not see). The current stay has no ``left_at``; its ``duration_seconds`` is filled in up to
    now (not saved) and ``current`` is True."""
    rows = list(_history_of(actor, deal_id).select_related("actor").order_by("entered_at", "id"))
    return _with_current_duration(rows)


def stage_history_page(
    *, actor: Actor, deal_id, cursor: str | None = None, limit: int = 50
) -> Page:
    """``stage_history`` one keyset page at a time (the API)."""
    page = keyset_page(_history_of(actor, deal_id), sort=HISTORY_SORT, cursor=cursor, limit=limit)
    _with_current_duration(page.rows)
    return page


# --- pipelines ---------------------------------------------------------------------------------

PIPELINE_SORT = Sort(field="position", descending=False)


def pipelines(actor: Actor) -> QuerySet[Pipeline]:
    return Pipeline.objects.visible_to(actor)


def pipeline_list(*, actor: Actor) -> list[Pipeline]:
    """Every pipeline of the workspace in order, with its stages in order (two queries)."""
    return list(pipelines(actor).prefetch_related(_STAGES).order_by("position", "name", "id"))


def pipeline_page(*, actor: Actor, cursor: str | None = None, limit: int = 50) -> Page:
    """Pipelines in order (position, then id), one keyset page, stages prefetched."""
    qs = pipelines(actor).prefetch_related(_STAGES)
    return keyset_page(qs, sort=PIPELINE_SORT, cursor=cursor, limit=limit)


def pipeline_get(*, actor: Actor, pipeline_id) -> Pipeline:
    pk = uuid_or_none(pipeline_id)
    pipeline = pipelines(actor).prefetch_related(_STAGES).filter(pk=pk).first() if pk else None
    if pipeline is None:
        raise NotFound("No such pipeline.")
    return pipeline


def stage_get(*, actor: Actor, stage_id) -> Stage:
    pk = uuid_or_none(stage_id)
    stage = (
        Stage.objects.visible_to(actor).select_related("pipeline").filter(pk=pk).first()
        if pk
        else None
    )
    if stage is None:
        raise NotFound("No such stage.")
    return stage


# --- lost reasons ------------------------------------------------------------------------------

LOST_REASON_SORT = Sort(field="position", descending=False)


def lost_reason_list(*, actor: Actor, active: bool | None = None) -> list[LostReason]:
    """The workspace's lost reasons in order; ``active=True`` for what a form offers."""
    qs = LostReason.objects.visible_to(actor)
    if active is not None:
        qs = qs.filter(active=active)
    return list(qs.order_by("position", "name", "id"))


def lost_reason_page(
    *, actor: Actor, cursor: str | None = None, limit: int = 50, active: bool | None = None
) -> Page:
    qs = LostReason.objects.visible_to(actor)
    if active is not None:
        qs = qs.filter(active=active)
    return keyset_page(qs, sort=LOST_REASON_SORT, cursor=cursor, limit=limit)


def lost_reason_get(*, actor: Actor, reason_id) -> LostReason:
    pk = uuid_or_none(reason_id)
    reason = LostReason.objects.visible_to(actor).filter(pk=pk).first() if pk else None
    if reason is None:
        raise NotFound("No such lost reason.")
    return reason


# --- exchange rates ----------------------------------------------------------------------------

EXCHANGE_RATE_SORT = Sort(field="valid_from", descending=True)


def exchange_rates(actor: Actor, *, currency: str | None = None) -> QuerySet[ExchangeRate]:
    """The rates to the workspace's base currency (rates kept from an earlier base are not
    shown), optionally of one currency."""
    qs = ExchangeRate.objects.visible_to(actor).filter(base=actor.workspace.default_currency)
    if currency:
        qs = qs.filter(currency=currency.upper())
    return qs


def exchange_rate_page(
    *, actor: Actor, currency: str | None = None, cursor: str | None = None, limit: int = 50
) -> Page:
    """Newest ``valid_from`` first (then id), one keyset page."""
    return keyset_page(
        exchange_rates(actor, currency=currency),
        sort=EXCHANGE_RATE_SORT,
        cursor=cursor,
        limit=limit,
    )


def exchange_rate_get(*, actor: Actor, rate_id) -> ExchangeRate:
    pk = uuid_or_none(rate_id)
    rate = ExchangeRate.objects.visible_to(actor).filter(pk=pk).first() if pk else None
    if rate is None:
        raise NotFound("No such exchange rate.")
    return rate


# --- deleted deals ----------------------------------------------------------------------------

TRASH_SORT = Sort(field="deleted_at", descending=True)  # newest deletions first, then by id


def deleted_deals(*, actor: Actor, q: str = "", cursor: str | None, limit: int) -> Page:
    """One keyset page of the deleted deals the actor may see (``in_trash_of``: workspace and
    record access, like ``visible_to`` for live deals), with what the list shows joined."""
    qs = Deal.objects.in_trash_of(actor).select_related(
        "pipeline", "stage", "company", "owner", "deleted_by"
    )
    if q:
        qs = qs.filter(name__icontains=q)
    return keyset_page(qs, sort=TRASH_SORT, cursor=cursor, limit=limit)
