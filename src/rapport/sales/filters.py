"""The deal filter set, shared by the UI (``DealFilters.from_querydict(request.GET)``) and the
API (``Query[DealFilters]``): one definition of what ``?owner=me&stage=...`` means.

Every condition is on the deal row itself or an EXISTS, so a filtered list needs no DISTINCT
and keeps its keyset order (``sales.selectors.deal_list``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, ClassVar, Literal, Self

from django.db.models import Exists, OuterRef, Q, QuerySet
from ninja import Schema
from pydantic import Field, PrivateAttr, field_validator

from rapport.contacts.filters import _owner_q, _tag_q
from rapport.core.errors import FieldError, ValidationFailed
from rapport.core.validation import as_utc, reject_control_characters

DEAL_OBJECT_TYPE = "sales.deal"
# ``?sort=`` values of a deal list (``-`` for descending); custom.<key> sorts are accepted too.
DEAL_SORTS = ("created_at", "updated_at", "close_date", "name", "amount", "stage_entered_at")


class DealFilters(Schema):
    q: str | None = Field(
        None, max_length=100, description="Text in the name, amount, next step, source, custom"
    )
    pipeline: uuid.UUID | None = Field(None, description="A pipeline id")
    stage: uuid.UUID | None = Field(None, description="A stage id")
    status: Literal["open", "won", "lost"] | None = Field(None, description="open, won or lost")
    owner: str | None = Field(None, description="A user id, `me` or `none`")
    company: uuid.UUID | None = Field(None, description="A company id")
    person: uuid.UUID | None = Field(None, description="A person linked to the deal (any role)")
    tag: str | None = Field(None, max_length=50)
    source: str | None = Field(None, max_length=100, description="Exact (case-insensitive)")
    currency: str | None = Field(None, min_length=3, max_length=3, description="ISO 4217")
    amount_min: Decimal | None = Field(
        None, ge=0, max_digits=18, decimal_places=2, description="Amount at least (its currency)"
    )
    amount_max: Decimal | None = Field(
        None, ge=0, max_digits=18, decimal_places=2, description="Amount at most (its currency)"
    )
    close_after: dt.date | None = Field(None, description="Expected close on or after")
    close_before: dt.date | None = Field(None, description="Expected close on or before")
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None
    updated_after: dt.datetime | None = None
    updated_before: dt.datetime | None = None
    view: uuid.UUID | None = Field(
        None, description="A saved view's id: its conditions apply too (see /views)"
    )

    object_type: ClassVar[str] = DEAL_OBJECT_TYPE
    # ``custom.<key>[__op]`` parameters (customization.filters), read from the raw query.
    _custom: dict[str, str] = PrivateAttr(default_factory=dict)
    _view: Any = PrivateAttr(default=None)

    @field_validator("*")
    @classmethod
    def _no_control_characters(cls, value):
        return reject_control_characters(value)

    @field_validator("created_after", "created_before", "updated_after", "updated_before")
    @classmethod
    def _in_utc(cls, value):
        return as_utc(value)

    @field_validator("currency")
    @classmethod
    def _upper(cls, value):
        return value.upper() if value else value

    @field_validator("owner")
    @classmethod
    def _check_owner(cls, value):
        if value in (None, "me", "none"):
            return value
        try:
            uuid.UUID(value)
        except ValueError:
            raise ValueError("Use a user id, `me` or `none`.")
        return value

    def saved_view(self, actor):
        """The saved view of ``?view=`` (404 when the actor cannot see it), read once."""
        if self.view is None:
            return None
        if self._view is None or self._view.pk != self.view:
            from rapport.customization.selectors import view_get

            self._view = view_get(actor=actor, view_id=self.view, object_type=self.object_type)
        return self._view

    def with_custom(self, query) -> Self:
        from rapport.customization.filters import custom_params

        self._custom = custom_params(query)
        return self

    def to_q(self, actor) -> Q:
        """The condition on ``Deal`` rows (combine with ``Deal.objects.visible_to(actor)``)."""
        q = Q()
        if self.pipeline:
            q &= Q(pipeline_id=self.pipeline)
        if self.stage:
            q &= Q(stage_id=self.stage)
        if self.status:
            q &= Q(status=self.status)
        if self.owner:
            q &= _owner_q(self.owner, actor)
        if self.company:
            q &= Q(company_id=self.company)
        if self.person:
            from .models import DealPerson

            q &= Q(Exists(DealPerson.objects.filter(deal_id=OuterRef("pk"), person_id=self.person)))
        if self.tag:
            q &= _tag_q(self.object_type, actor.workspace, self.tag)
        if self.source:
            q &= Q(source__iexact=self.source)
        if self.currency:
            q &= Q(currency=self.currency)
        if self.amount_min is not None:
            q &= Q(amount__gte=self.amount_min)
        if self.amount_max is not None:
            q &= Q(amount__lte=self.amount_max)
        if self.close_after:
            q &= Q(close_date__gte=self.close_after)
        if self.close_before:
            q &= Q(close_date__lte=self.close_before)
        for name, lookup in (
            ("created_after", "created_at__gte"),
            ("created_before", "created_at__lt"),
            ("updated_after", "updated_at__gte"),
            ("updated_before", "updated_at__lt"),
        ):
            if getattr(self, name):
                q &= Q(**{lookup: getattr(self, name)})
        if self.q and self.q.strip():
            from rapport.search.selectors import text_match_ids

            q &= Q(pk__in=text_match_ids(actor.workspace, self.object_type, self.q))
        if self._custom:
            from rapport.customization.filters import custom_q

            q &= custom_q(actor.workspace, self.object_type, self._custom)
        if self.view is not None:
            from rapport.customization.selectors import view_conditions_q

            q &= view_conditions_q(actor=actor, view=self.saved_view(actor))
        return q

    def apply(self, qs: QuerySet, actor) -> QuerySet:
        """``qs`` (deals the actor may see) narrowed by these filters."""
        return qs.filter(self.to_q(actor))

    def is_empty(self) -> bool:
        return not self.model_dump(exclude_none=True) and not self._custom

    @classmethod
    def from_querydict(cls, query) -> DealFilters:
        """Builds filters from request.GET for the UI; blank inputs are ignored; a bad value
        is a ValidationFailed naming its parameter."""
        from pydantic import ValidationError

        data = {k: v for k, v in query.items() if k in cls.model_fields and str(v).strip() != ""}
        try:
            return cls(**data).with_custom(query)
        except ValidationError as exc:
            errors = [
                FieldError(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()
            ]
            raise ValidationFailed("Invalid filter.", errors)
