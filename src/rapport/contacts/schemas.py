"""API shapes of people and companies (DESIGN: API contract)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from ninja import Field, Schema

from rapport.core.api import StrictSchema

from .models import LifecycleStage


class AddressIn(StrictSchema):
    street: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = Field(None, description="ISO 3166-1 alpha-2, e.g. DE")


class AddressOut(Schema):
    street: str
    city: str
    region: str
    postal_code: str
    country: str


class Money(StrictSchema):
    amount: str = Field(..., description='Decimal string, e.g. "1234.50"', examples=["1234.50"])
    currency: str = Field(..., description="ISO 4217, e.g. EUR", examples=["EUR"])


class _RecordIn(StrictSchema):
    phone: str | None = Field(None, description="Any format; stored as E.164")
    owner: uuid.UUID | None = Field(None, description="A member's user id")
    tags: list[str] | None = None
    address: AddressIn | None = None
    external_id: str | None = Field(
        None, max_length=255, description="Its id in another system; unique in the workspace"
    )
    custom: dict[str, Any] | None = Field(
        None,
        description=(
            "Values of the workspace's custom fields, keyed by each field's `key`. The fields, "
            "their types and rules are listed by `GET /api/v1/custom-fields` (when this "
            "document is fetched with a token, they are also typed here). Send only the keys "
            "that change; `null` removes a value. Types: text, long_text, url, email, phone "
            '(strings), number (integer), decimal (string, e.g. "12.50"), currency '
            '({"amount": "12.50", "currency": "EUR"}), date ("YYYY-MM-DD"), datetime '
            "(ISO 8601), boolean, select (an option value), multi_select (a list of option "
            "values), user (a member's user id). A value of the wrong type, an unknown key or "
            "a missing required field is a 422 naming `custom.<key>`."
        ),
    )


class ContactIn(_RecordIn):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = Field(None, description="Unique in the workspace (case-insensitive)")
    title: str | None = None
    company: uuid.UUID | None = None
    lifecycle_stage: LifecycleStage | None = None
    source: str | None = None


class CompanyIn(_RecordIn):
    name: str | None = Field(None, description="Required when creating")
    domain: str | None = Field(None, description="Unique in the workspace, e.g. example.com")
    industry: str | None = None
    employees: int | None = Field(None, ge=0, le=2**31 - 1)
    annual_revenue: Money | None = None


def _kept(obj, kind: str) -> list[str]:
    """The emails/phones/domains a record kept from merged records (prefetched by selectors)."""
    return sorted(i.value for i in obj.other_identifiers.all() if i.kind == kind)


class _RecordOut(Schema):
    id: uuid.UUID
    phone: str
    owner: uuid.UUID | None
    tags: list[str]
    address: AddressOut
    external_id: str
    custom: dict[str, Any] = Field(
        ..., description="Custom field values by key (see `GET /api/v1/custom-fields`)"
    )
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_owner(obj) -> uuid.UUID | None:
        return obj.owner_id

    @staticmethod
    def resolve_tags(obj) -> list[str]:
        return sorted(t.name for t in obj.tags.all())


class ContactOut(_RecordOut):
    first_name: str
    last_name: str
    full_name: str
    email: str | None
    title: str
    company: uuid.UUID | None
    lifecycle_stage: str
    source: str
    other_emails: list[str] = Field(..., description="Kept from merged records (read-only)")
    other_phones: list[str] = Field(..., description="Kept from merged records (read-only)")

    @staticmethod
    def resolve_company(obj) -> uuid.UUID | None:
        return obj.company_id

    @staticmethod
    def resolve_other_emails(obj) -> list[str]:
        return _kept(obj, "email")

    @staticmethod
    def resolve_other_phones(obj) -> list[str]:
        return _kept(obj, "phone")

    @staticmethod
    def resolve_email(obj) -> str | None:
        return obj.email or None


class MoneyOut(Schema):
    amount: str
    currency: str


class CompanyOut(_RecordOut):
    name: str
    domain: str | None
    industry: str
    employees: int | None
    annual_revenue: MoneyOut | None
    other_domains: list[str] = Field(..., description="Kept from merged records (read-only)")
    other_phones: list[str] = Field(..., description="Kept from merged records (read-only)")

    @staticmethod
    def resolve_domain(obj) -> str | None:
        return obj.domain or None

    @staticmethod
    def resolve_other_domains(obj) -> list[str]:
        return _kept(obj, "domain")

    @staticmethod
    def resolve_other_phones(obj) -> list[str]:
        return _kept(obj, "phone")

    @staticmethod
    def resolve_annual_revenue(obj) -> dict | None:
        if obj.annual_revenue is None:
            return None
        return {"amount": f"{obj.annual_revenue:.2f}", "currency": obj.annual_revenue_currency}


class ContactList(Schema):
    results: list[ContactOut]
    next: str | None


class CompanyList(Schema):
    results: list[CompanyOut]
    next: str | None


class TrashItemOut(Schema):
    type: Literal["person", "company"]
    id: uuid.UUID
    name: str
    deleted_at: dt.datetime
    deleted_by: uuid.UUID | None = Field(..., description="The user who deleted it (null: system)")
    purge_at: dt.datetime = Field(..., description="When it will be deleted for good")


class TrashList(Schema):
    results: list[TrashItemOut]
    next: str | None
