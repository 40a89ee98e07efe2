"""Reads of people and companies. Every query starts from ``visible_to(actor)``."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet

from rapport.core.actors import Actor
from rapport.core.errors import NotFound
from rapport.core.models import Tag
from rapport.core.pagination import Page, Sort, keyset_page

from .filters import CompanyFilters, PersonFilters
from .models import Company, Person

_TAGS = Prefetch("tags", queryset=Tag.objects.only("id", "name"))


def people(actor: Actor) -> QuerySet[Person]:
    return Person.objects.visible_to(actor)


def companies(actor: Actor) -> QuerySet[Company]:
    return Company.objects.visible_to(actor)


def _filtered(qs: QuerySet, filters, actor: Actor) -> QuerySet:
    # No DISTINCT needed: every filter is a condition on the row itself or an EXISTS.
    return qs.filter(filters.to_q(actor))


def person_list(
    *,
    actor: Actor,
    filters: PersonFilters,
    sort: Sort,
    cursor: str | None,
    limit: int,
    for_display: bool = False,
) -> Page:
    qs = _filtered(people(actor), filters, actor).prefetch_related(_TAGS)
    if for_display:
        qs = qs.select_related("company", "owner")
    return keyset_page(qs, sort=sort, cursor=cursor, limit=limit)


def person_get(*, actor: Actor, person_id, for_display: bool = False) -> Person:
    qs = people(actor).prefetch_related(_TAGS)
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
    qs = _filtered(companies(actor), filters, actor).prefetch_related(_TAGS)
    if for_display:
        qs = qs.select_related("owner")
    return keyset_page(qs, sort=sort, cursor=cursor, limit=limit)


def company_get(*, actor: Actor, company_id, for_display: bool = False) -> Company:
    qs = companies(actor).prefetch_related(_TAGS)
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
