"""One filter set per list, shared by the UI (from request.GET) and the API (query params)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, ClassVar, Literal, Self

from django.db.models import Q
from ninja import Schema
from pydantic import Field, PrivateAttr, field_validator

from rapport.core.errors import FieldError, ValidationFailed
from rapport.core.validation import as_utc, reject_control_characters
from rapport.search.selectors import text_match_ids

from .models import LifecycleStage

OwnerRef = str  # a user id, "me" or "none"


def _owner_q(value: str, actor) -> Q:
    if value == "me":
        return Q(owner_id=actor.user_id)
    if value == "none":
        return Q(owner__isnull=True)
    return Q(owner_id=uuid.UUID(value))


def _tag_q(object_type: str, workspace, name: str) -> Q:
    """Records carrying the tag ``name`` (case-insensitive).

    The tag's id is looked up first (one small query) and the link table probed per record
    (EXISTS): with the id a constant, the planner knows how common the tag is and walks the
    list's own index, stopping after one page. A join on the tag's name needed DISTINCT and
    PostgreSQL sorted every tagged record for each page (see docs/performance.md).
    """
    from django.apps import apps
    from django.db.models import Exists, OuterRef

    from rapport.core.models import Tag

    model = apps.get_model(object_type)
    links = model._meta.get_field("tags").remote_field.through
    ids = list(
        Tag.objects.filter(workspace=workspace, name__iexact=name).values_list("id", flat=True)
    )
    if not ids:
        return Q(pk__in=[])
    column = f"{model._meta.model_name}_id"
    return Q(Exists(links.objects.filter(**{column: OuterRef("pk"), "tag_id__in": ids})))


class _RecordFilters(Schema):
    q: str | None = Field(
        None, max_length=100, description="Text contained in name, email, phone or domain"
    )
    owner: OwnerRef | None = Field(None, description="A user id, `me` or `none`")
    tag: str | None = Field(None, max_length=50)
    phone: str | None = Field(None, max_length=40)
    city: str | None = Field(None, max_length=120)
    region: str | None = Field(None, max_length=120)
    postal_code: str | None = Field(None, max_length=32)
    country: str | None = Field(None, max_length=2)
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None
    updated_after: dt.datetime | None = None
    updated_before: dt.datetime | None = None
    view: uuid.UUID | None = Field(
        None, description="A saved view's id: its conditions apply too (see /views)"
    )

    @field_validator("*")
    @classmethod
    def _no_control_characters(cls, value):
        return reject_control_characters(value)

    @field_validator("created_after", "created_before", "updated_after", "updated_before")
    @classmethod
    def _in_utc(cls, value):
        return as_utc(value)

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

    object_type: ClassVar[str] = ""
    exact_fields: ClassVar[tuple[str, ...]] = ("city", "region", "postal_code")
    # ``custom.<key>[__op]`` parameters (customization.filters): their names are not known
    # until the workspace's definitions are, so they come from the raw query.
    _custom: dict[str, str] = PrivateAttr(default_factory=dict)
    _view: Any = PrivateAttr(default=None)  # the saved view, once read

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
        q = Q()
        data = self.model_dump(exclude_none=True)
        for name in self.exact_fields:
            if name in data and data[name] != "":
                q &= Q(**{f"{name}__iexact": data[name]})
        if self.country:
            q &= Q(country=self.country.upper())
        if self.phone:
            from rapport.core.validation import clean_phone

            try:
                q &= Q(
                    phone=clean_phone(
                        self.phone, field="phone", region=actor.workspace.default_region
                    )
                )
            except ValidationFailed:
                q &= Q(phone=self.phone)
        if self.owner:
            q &= _owner_q(self.owner, actor)
        if self.tag:
            q &= _tag_q(self.object_type, actor.workspace, self.tag)
        for name, lookup in (
            ("created_after", "created_at__gte"),
            ("created_before", "created_at__lt"),
            ("updated_after", "updated_at__gte"),
            ("updated_before", "updated_at__lt"),
        ):
            if getattr(self, name):
                q &= Q(**{lookup: getattr(self, name)})
        if self.q and self.q.strip():
            q &= Q(pk__in=text_match_ids(actor.workspace, self.object_type, self.q))
        if self._custom:
            from rapport.customization.filters import custom_q

            q &= custom_q(actor.workspace, self.object_type, self._custom)
        if self.view is not None:
            from rapport.customization.selectors import view_conditions_q

            q &= view_conditions_q(actor=actor, view=self.saved_view(actor))
        return q

    @classmethod
    def from_querydict(cls, query) -> _RecordFilters:
        """Builds filters from request.GET for the UI; blank inputs are ignored."""
        from pydantic import ValidationError

        data = {k: v for k, v in query.items() if k in cls.model_fields and v.strip() != ""}
        try:
            return cls(**data).with_custom(query)
        except ValidationError as exc:
            errors = [
                FieldError(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()
            ]
            raise ValidationFailed("Invalid filter.", errors)


class PersonFilters(_RecordFilters):
    email: str | None = Field(None, max_length=254)
    first_name: str | None = Field(None, max_length=150)
    last_name: str | None = Field(None, max_length=150)
    title: str | None = Field(None, max_length=150)
    company: uuid.UUID | None = None
    lifecycle_stage: LifecycleStage | None = None
    source: str | None = Field(None, max_length=100)

    object_type: ClassVar[str] = "contacts.person"
    exact_fields: ClassVar[tuple[str, ...]] = (
        "first_name",
        "last_name",
        "title",
        "source",
        "city",
        "region",
        "postal_code",
    )

    def to_q(self, actor) -> Q:
        q = super().to_q(actor)
        if self.email:
            # ~Q(email="") states the partial unique index's condition so SQLite uses it
            q &= Q(email=self.email.strip().lower()) & ~Q(email="")
        if self.company:
            q &= Q(company_id=self.company)
        if self.lifecycle_stage:
            q &= Q(lifecycle_stage=self.lifecycle_stage)
        return q


class CompanyFilters(_RecordFilters):
    name: str | None = Field(None, max_length=200)
    domain: str | None = Field(None, max_length=253)
    industry: str | None = Field(None, max_length=100)
    employees_min: int | None = Field(None, ge=0)
    employees_max: int | None = Field(None, ge=0)

    object_type: ClassVar[str] = "contacts.company"
    exact_fields: ClassVar[tuple[str, ...]] = ("name", "industry", "city", "region", "postal_code")

    def to_q(self, actor) -> Q:
        q = super().to_q(actor)
        if self.domain:
            from rapport.core.validation import clean_domain

            try:
                q &= Q(domain=clean_domain(self.domain)) & ~Q(domain="")
            except ValidationFailed:
                q &= Q(domain=self.domain.lower())
        if self.employees_min is not None:
            q &= Q(employees__gte=self.employees_min)
        if self.employees_max is not None:
            q &= Q(employees__lte=self.employees_max)
        return q


PERSON_SORTS = ("created_at", "updated_at", "first_name", "last_name", "email")
COMPANY_SORTS = ("created_at", "updated_at", "name", "domain")


class TrashFilters(Schema):
    """Filters of the trash (people and companies together), shared by the UI and the API."""

    type: Literal["person", "company"] | None = Field(None, description="`person` or `company`")
    deleted_by: OwnerRef | None = Field(
        None, description="Who deleted: a user id, `me`, or `none` (the system, an automation)"
    )
    deleted_after: dt.datetime | None = None
    deleted_before: dt.datetime | None = None
    q: str | None = Field(
        None, max_length=100, description="Text in the name, email or domain (every word)"
    )

    @field_validator("*")
    @classmethod
    def _no_control_characters(cls, value):
        return reject_control_characters(value)

    @field_validator("deleted_after", "deleted_before")
    @classmethod
    def _in_utc(cls, value):
        return as_utc(value)

    @field_validator("deleted_by")
    @classmethod
    def _check_deleted_by(cls, value):
        return _RecordFilters._check_owner(value)

    TEXT_FIELDS: ClassVar[dict[str, tuple[str, ...]]] = {
        "person": ("first_name", "last_name", "email"),
        "company": ("name", "domain"),
    }

    def types(self) -> list[str]:
        return [self.type] if self.type else ["person", "company"]

    def to_q(self, type_: str, actor) -> Q:
        q = Q()
        if self.deleted_by == "me":
            q &= Q(deleted_by_id=actor.user_id)
        elif self.deleted_by == "none":
            q &= Q(deleted_by__isnull=True)
        elif self.deleted_by:
            q &= Q(deleted_by_id=uuid.UUID(self.deleted_by))
        if self.deleted_after:
            q &= Q(deleted_at__gte=self.deleted_after)
        if self.deleted_before:
            q &= Q(deleted_at__lt=self.deleted_before)
        # The search index forgets deleted records, so the trash matches its own columns: it
        # is small next to the live tables, and kept small by the purge.
        for word in (self.q or "").split():
            any_field = Q()
            for name in self.TEXT_FIELDS[type_]:
                any_field |= Q(**{f"{name}__icontains": word})
            q &= any_field
        return q

    @classmethod
    def from_querydict(cls, query) -> TrashFilters:
        """Builds filters from the UI's form data; blank inputs are ignored."""
        from pydantic import ValidationError

        data = {k: v for k, v in query.items() if k in cls.model_fields and str(v).strip() != ""}
        try:
            return cls(**data)
        except ValidationError as exc:
            errors = [
                FieldError(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()
            ]
            raise ValidationFailed("Invalid filter.", errors)
