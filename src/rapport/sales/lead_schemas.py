"""API shapes of leads (DESIGN: API contract)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from ninja import Field, Schema

from rapport.core.api import StrictSchema

LeadStatusValue = Literal["new", "working", "nurturing", "qualified", "disqualified"]


class LeadIn(StrictSchema):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = Field(None, description="Stored as E.164")
    company_name: str | None = None
    title: str | None = None
    country: str | None = Field(None, description="ISO 3166-1 alpha-2")
    status: LeadStatusValue | None = None
    disqualified_reason: str | None = Field(None, description="Required when disqualified")
    source: str | None = None
    owner: uuid.UUID | None = Field(
        None, description="A member; omitted on create: assignment rules, else the creator"
    )
    consent: bool | None = Field(None, description="Consent given (its time is recorded)")
    consent_text: str | None = None
    tags: list[str] | None = None
    custom: dict[str, Any] | None = None


class LeadOut(Schema):
    id: uuid.UUID
    first_name: str
    last_name: str
    email: str
    phone: str
    company_name: str
    title: str
    country: str
    status: str
    disqualified_reason: str
    source: str
    owner: uuid.UUID | None
    score: int
    score_reasons: list[str] = Field(..., description="Why: [\"+10 title contains 'VP'\", ...]")
    last_activity_at: dt.datetime | None
    consent: bool
    consent_text: str
    consent_at: dt.datetime | None
    form_data: dict[str, str] = Field(..., description="A web form's extra answers")
    converted_at: dt.datetime | None
    converted_person: uuid.UUID | None
    converted_company: uuid.UUID | None
    converted_deal: uuid.UUID | None
    tags: list[str]
    custom: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_owner(obj) -> uuid.UUID | None:
        return obj.owner_id

    @staticmethod
    def resolve_converted_person(obj) -> uuid.UUID | None:
        return obj.converted_person_id

    @staticmethod
    def resolve_converted_company(obj) -> uuid.UUID | None:
        return obj.converted_company_id

    @staticmethod
    def resolve_converted_deal(obj) -> uuid.UUID | None:
        return obj.converted_deal_id

    @staticmethod
    def resolve_tags(obj) -> list[str]:
        return sorted(t.name for t in obj.tags.all())


class LeadList(Schema):
    results: list[LeadOut]
    next: str | None


class LeadConvertIn(StrictSchema):
    deal: dict[str, Any] | None = Field(
        None, description="A deal to create (the /deals create body); null: no deal"
    )


class LeadConvertOut(Schema):
    person: uuid.UUID
    company: uuid.UUID | None
    deal: uuid.UUID | None
