"""Reads of people and companies. Every query starts from ``visible_to(actor)``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet

from rapport.core.actors import Actor
from rapport.core.errors import NotFound
from rapport.core.models import Tag
from rapport.core.pagination import Page, Sort, after_cursor, encode_cursor, keyset_page
from rapport.core.policy import require_write

from .filters import CompanyFilters, PersonFilters, TrashFilters
from .models import Company, OtherIdentifier, Person

_TAGS = Prefetch("tags", queryset=Tag.objects.only("id", "name"))
# What records kept from merged ones (contacts/merging.py): shown in the API and on the page.
_KEPT = Prefetch(
    "other_identifiers",
    queryset=OtherIdentifier.objects.only("id", "kind", "value", "person_id", "company_id"),
)


def people(actor: Actor) -> QuerySet[Person]:
    return Person.objects.visible_to(actor)


def companies(actor: Actor) -> QuerySet[Company]:
    return Company.objects.visible_to(actor)


def _filtered(qs: QuerySet, filters, actor: Actor) -> QuerySet:
    # No DISTINCT needed: every filter is a condition on the row itself or an EXISTS.
    return qs.filter(filters.to_q(actor))


def person_queryset(*, actor: Actor, filters: PersonFilters) -> QuerySet[Person]:
    """The people a list with ``filters`` shows, unordered: exports and bulk work."""
    return _filtered(people(actor), filters, actor)


def company_queryset(*, actor: Actor, filters: CompanyFilters) -> QuerySet[Company]:
    return _filtered(companies(actor), filters, actor)


def person_list(
    *,
    actor: Actor,
    filters: PersonFilters,
    sort: Sort,
    cursor: str | None,
    limit: int,
    for_display: bool = False,
) -> Page:
    qs = _filtered(people(actor), filters, actor).prefetch_related(_TAGS, _KEPT)
    if for_display:
        qs = qs.select_related("company", "owner")
    return keyset_page(qs, sort=sort, cursor=cursor, limit=limit)


def person_get(*, actor: Actor, person_id, for_display: bool = False) -> Person:
    qs = people(actor).prefetch_related(_TAGS, _KEPT)
    if for_display:
        qs = qs.select_related("company", "owner", "created_by", "updated_by")
    person = qs.filter(pk=person_id).first()
    if person is None:
        raise NotFound("No such person.")
    return person


def company_list(
    *,
    actor: Actor,
    filters: CompanyFilters,
    sort: Sort,
    cursor: str | None,
    limit: int,
    for_display: bool = False,
) -> Page:
    qs = _filtered(companies(actor), filters, actor).prefetch_related(_TAGS, _KEPT)
    if for_display:
        qs = qs.select_related("owner")
    return keyset_page(qs, sort=sort, cursor=cursor, limit=limit)


def company_get(*, actor: Actor, company_id, for_display: bool = False) -> Company:
    qs = companies(actor).prefetch_related(_TAGS, _KEPT)
    if for_display:
        qs = qs.select_related("owner", "created_by", "updated_by").annotate(
            people_count=Count("people", filter=Q(people__deleted_at__isnull=True))
        )
    company = qs.filter(pk=company_id).first()
    if company is None:
        raise NotFound("No such company.")
    return company


def company_people(*, actor: Actor, company: Company, limit: int = 100) -> list[Person]:
    return list(
        people(actor)
        .filter(company=company)
        .select_related("owner")
        .prefetch_related(_TAGS)
        .order_by("last_name", "first_name", "id")[:limit]
    )


def company_choices(*, actor: Actor, ids) -> dict:
    return {str(c.pk): c.name for c in companies(actor).filter(pk__in=ids).only("id", "name")}


# --- the trash ------------------------------------------------------------------------------

TRASH_MODELS: dict[str, type[Person] | type[Company]] = {"person": Person, "company": Company}
TRASH_SORT = Sort(field="deleted_at", descending=True)  # newest deletions first, then by id


@dataclass(frozen=True)
class TrashItem:
    """A deleted person or company as the trash shows it."""

    type: str  # "person" | "company"
    obj: Person | Company
    purge_at: dt.datetime  # when the daily purge deletes it for good

    @property
    def id(self):
        return self.obj.pk

    @property
    def pk(self):
        return self.obj.pk

    @property
    def name(self) -> str:
        return self.obj.full_name if isinstance(self.obj, Person) else self.obj.name

    @property
    def detail(self) -> str:
        return self.obj.email if isinstance(self.obj, Person) else self.obj.domain

    @property
    def deleted_at(self) -> dt.datetime:
        assert self.obj.deleted_at is not None
        return self.obj.deleted_at

    @property
    def deleted_by(self):
        return self.obj.deleted_by_id

    @property
    def deleted_by_user(self):
        return self.obj.deleted_by


def _trash_query(actor: Actor, type_: str, filters: TrashFilters) -> QuerySet:
    model = TRASH_MODELS[type_]
    return model.objects.in_trash_of(actor).filter(filters.to_q(type_, actor))


def trash_list(*, actor: Actor, filters: TrashFilters, cursor: str | None, limit: int) -> Page:
    """Deleted people and companies, newest deletion first: one query per type per page.

    Each type's next ``limit + 1`` rows after the cursor are read and merged on
    ``(deleted_at, id)``, so the pages of both tables interleave as one keyset-paginated list.
    The trash is for those who can restore: read-only members get 403.
    """
    require_write(actor)
    days = actor.workspace.trash_retention_days
    rows: list[TrashItem] = []
    for type_ in filters.types():
        qs = _trash_query(actor, type_, filters).select_related("deleted_by")
        if cursor:
            qs = after_cursor(qs, sort=TRASH_SORT, cursor=cursor)
        rows.extend(
            TrashItem(type_, obj, obj.deleted_at + dt.timedelta(days=days))
            for obj in qs.order_by(*TRASH_SORT.order_by())[: limit + 1]
        )
    rows.sort(key=lambda item: (item.deleted_at, item.id), reverse=True)
    next_cursor = encode_cursor(TRASH_SORT, rows[limit - 1]) if len(rows) > limit else None
    return Page(rows=rows[:limit], next_cursor=next_cursor)


def trash_refs(*, actor: Actor, filters: TrashFilters, limit: int) -> list[tuple[str, object]]:
    """``(type, id)`` of the trashed records matching ``filters``, newest deletion first, at
    most ``limit`` (for "restore all matching")."""
    require_write(actor)
    found: list[tuple[dt.datetime, object, str]] = []
    for type_ in filters.types():
        qs = _trash_query(actor, type_, filters).order_by(*TRASH_SORT.order_by())
        found.extend((at, pk, type_) for pk, at in qs.values_list("pk", "deleted_at")[:limit])
    found.sort(key=lambda row: (row[0], row[1]), reverse=True)
    return [(type_, pk) for _, pk, type_ in found[:limit]]
