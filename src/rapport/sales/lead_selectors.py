"""Reads of leads. Every read starts from ``Lead.objects.visible_to(actor)`` (workspace, trash
and the record access setting); a page costs a constant number of queries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet

from rapport.core.actors import Actor
from rapport.core.errors import NotFound, ValidationFailed
from rapport.core.models import Tag
from rapport.core.pagination import Page, Sort, keyset_page, parse_sort

from .lead_models import Lead, LeadStatus

LEAD_SORTS = ("created_at", "updated_at", "score")
_TAGS = Prefetch("tags", queryset=Tag.objects.only("id", "name"))


@dataclass
class LeadFilters:
    status: str | None = None
    owner: str | None = None  # a user id, "me" or "none"
    source: str | None = None
    q: str | None = None
    converted: bool | None = None

    def apply(self, qs: QuerySet[Lead], actor: Actor) -> QuerySet[Lead]:
        if self.status:
            if self.status not in LeadStatus.values:
                raise ValidationFailed.one("status", f"One of: {', '.join(LeadStatus.values)}.")
            qs = qs.filter(status=self.status)
        if self.owner:
            if self.owner == "me":
                qs = qs.filter(owner_id=actor.user_id)
            elif self.owner == "none":
                qs = qs.filter(owner__isnull=True)
            else:
                try:
                    qs = qs.filter(owner_id=uuid.UUID(self.owner))
                except ValueError:
                    raise ValidationFailed.one("owner", "A user id, `me` or `none`.")
        if self.source:
            qs = qs.filter(source__iexact=self.source)
        if self.converted is not None:
            qs = qs.filter(converted_at__isnull=not self.converted)
        if self.q:
            text = self.q.strip()[:100]
            qs = qs.filter(
                Q(first_name__icontains=text)
                | Q(last_name__icontains=text)
                | Q(email__icontains=text)
                | Q(company_name__icontains=text)
            )
        return qs


def leads(actor: Actor) -> QuerySet[Lead]:
    return Lead.objects.visible_to(actor)


def lead_list(
    *,
    actor: Actor,
    filters: LeadFilters | None = None,
    cursor: str | None = None,
    limit: int = 50,
    sort: str = "-created_at",
) -> Page:
    if limit < 1 or limit > 500:
        raise ValidationFailed.one("limit", "Use a page size from 1 to 500.")
    parsed = parse_sort(sort, LEAD_SORTS, "-created_at")
    qs = leads(actor)
    if filters is not None:
        qs = filters.apply(qs, actor)
    qs = qs.prefetch_related(_TAGS)
    return keyset_page(qs, sort=parsed, cursor=cursor, limit=limit)


def lead_get(*, actor: Actor, lead_id, for_display: bool = False) -> Lead:
    """The visible lead, or NotFound. ``for_display`` also loads what its page shows (the
    people who created and last changed it, the web form it came through)."""
    try:
        pk = lead_id if isinstance(lead_id, uuid.UUID) else uuid.UUID(str(lead_id))
    except ValueError:
        raise NotFound("No such lead.")
    qs = leads(actor).select_related("owner").prefetch_related(_TAGS)
    if for_display:
        qs = qs.select_related("created_by", "updated_by", "form")
    lead = qs.filter(pk=pk).first()
    if lead is None:
        raise NotFound("No such lead.")
    return lead


TRASH_SORT = Sort(field="deleted_at", descending=True)  # newest deletions first, then by id


def deleted_leads(*, actor: Actor, q: str = "", cursor: str | None, limit: int) -> Page:
    """One keyset page of the deleted leads the actor may see (``in_trash_of``: workspace and
    record access, like ``visible_to`` for live leads)."""
    qs = Lead.objects.in_trash_of(actor).select_related("owner", "deleted_by")
    if q:
        qs = qs.filter(
            Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
            | Q(email__icontains=q)
            | Q(company_name__icontains=q)
        )
    return keyset_page(qs, sort=TRASH_SORT, cursor=cursor, limit=limit)
