"""API shapes of pipelines, deals, lost reasons, exchange rates (DESIGN: API contract).

Money is ``{"amount": "1234.50", "currency": "EUR"}`` with the amount a decimal string: a JSON
number is refused (422), so a float never becomes a price.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from ninja import Field, Schema

from rapport.core.api import StrictSchema

StageTypeValue = Literal["open", "won", "lost"]
ForecastCategoryValue = Literal["pipeline", "best_case", "commit", "closed", "omitted"]
DealRoleValue = Literal[
    "decision_maker",
    "economic_buyer",
    "champion",
    "influencer",
    "technical_buyer",
    "user",
    "blocker",
    "other",
    "",
]

CENT = Decimal("0.01")


class MoneyIn(StrictSchema):
    amount: str | None = Field(
        ...,
        description='Decimal string, e.g. "1234.50" (numbers are refused)',
        examples=["1234.50"],
    )
    currency: str | None = Field(
        None, description="ISO 4217, e.g. EUR (default: the workspace's base currency)"
    )


class MoneyOut(Schema):
    amount: str = Field(..., description="Decimal string", examples=["1234.50"])
    currency: str = Field(..., description="ISO 4217", examples=["EUR"])


def money(amount: Decimal | None, currency: str) -> dict[str, str] | None:
    if amount is None:
        return None
    return {"amount": f"{amount:.2f}", "currency": currency}


# --- pipelines ----------------------------------------------------------------------------------


class StageIn(StrictSchema):
    id: uuid.UUID | None = Field(None, description="An existing stage's id (omit for a new one)")
    name: str
    type: StageTypeValue = "open"
    probability: int | None = Field(
        None, ge=0, le=100, description="0-100 (default 0, won 100, lost 0)"
    )
    rotting_days: int | None = Field(
        None, ge=1, le=3650, description="An open deal untouched this many days is rotting"
    )
    required_fields: list[str] = Field(
        default_factory=list,
        description=(
            "Deal fields that must hold a value before a deal enters the stage: amount, "
            "close_date, owner, company, people, next_step, source, lost_reason, lost_note or "
            "custom.<key>"
        ),
    )
    forecast_category: ForecastCategoryValue | None = Field(
        None, description="Default pipeline (won: closed, lost: omitted)"
    )
    position: int | None = Field(None, description="Ignored: stages take the order sent")


class PipelineIn(StrictSchema):
    name: str | None = Field(None, description="Unique in the workspace; required to create")
    stages: list[StageIn] | None = Field(
        None,
        description=(
            "The stages in order. On update the list replaces the stages: send an existing "
            "stage with its id, a new one without; a stage left out is removed."
        ),
    )
    moves: dict[str, uuid.UUID] | None = Field(
        None,
        description=(
            'On update: {"<removed stage id>": "<stage id>"} says where the deals of a removed '
            "stage go (any stage of any pipeline); required for a stage that holds deals"
        ),
    )


class StageOut(Schema):
    id: uuid.UUID
    name: str
    type: str
    probability: int
    position: int
    rotting_days: int | None
    required_fields: list[str]
    forecast_category: str


class PipelineOut(Schema):
    id: uuid.UUID
    name: str
    position: int
    stages: list[StageOut]
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_stages(obj) -> list:
        return list(obj.stages.all())  # prefetched in order by the selector


class PipelineList(Schema):
    results: list[PipelineOut]
    next: str | None


# --- deals --------------------------------------------------------------------------------------


class DealPersonIn(StrictSchema):
    id: uuid.UUID
    role: DealRoleValue | None = None


class DealPersonOut(Schema):
    id: uuid.UUID
    role: str


class _DealFieldsIn(StrictSchema):
    amount: MoneyIn | None = Field(None, description="null clears the amount")
    close_date: dt.date | None = Field(None, description="Expected close date (YYYY-MM-DD)")
    owner: uuid.UUID | None = Field(None, description="A member's user id (default: you)")
    company: uuid.UUID | None = None
    people: list[DealPersonIn] | None = Field(
        None, description="Replaces the deal's people: [{id, role}]"
    )
    next_step: str | None = None
    source: str | None = None
    lost_reason: uuid.UUID | None = Field(None, description="A lost reason's id")
    lost_note: str | None = None
    forecast_category: ForecastCategoryValue | Literal[""] | None = Field(
        None, description='Overrides the stage\'s forecast category; "" follows the stage'
    )
    tags: list[str] | None = None
    custom: dict[str, Any] | None = Field(
        None,
        description=(
            "Values of the workspace's custom deal fields by key (`GET /api/v1/custom-fields"
            "?object_type=sales.deal`); send only the keys that change; null removes a value"
        ),
    )
    external_id: str | None = Field(
        None, max_length=255, description="Its id in another system; unique in the workspace"
    )


class DealIn(_DealFieldsIn):
    name: str | None = Field(None, description="Required when creating")
    pipeline: uuid.UUID | None = Field(
        None, description="Without a stage: the pipeline's first stage (default: first pipeline)"
    )
    stage: uuid.UUID | None = Field(
        None, description="A stage id (changing it moves the deal, like /move)"
    )


class DealMoveIn(_DealFieldsIn):
    """The stage to move to and, in the same step, fields the stage requires."""

    stage: uuid.UUID = Field(..., description="A stage of any pipeline of the workspace")


class DealOut(Schema):
    id: uuid.UUID
    name: str
    pipeline: uuid.UUID
    stage: uuid.UUID
    status: str = Field(..., description="open, won or lost (from the stage)")
    amount: MoneyOut | None
    close_date: dt.date | None
    owner: uuid.UUID | None
    company: uuid.UUID | None
    people: list[DealPersonOut]
    lost_reason: uuid.UUID | None
    lost_note: str
    next_step: str
    source: str
    forecast_category: str = Field(..., description="Effective: the override or the stage's")
    forecast_category_override: str = Field(..., description='"" follows the stage')
    probability: int = Field(..., description="The stage's probability (0-100)")
    weighted_amount: MoneyOut | None = Field(..., description="amount × probability")
    stage_entered_at: dt.datetime
    closed_at: dt.datetime | None
    last_interaction_at: dt.datetime | None
    external_id: str
    tags: list[str]
    custom: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_pipeline(obj) -> uuid.UUID:
        return obj.pipeline_id

    @staticmethod
    def resolve_stage(obj) -> uuid.UUID:
        return obj.stage_id

    @staticmethod
    def resolve_amount(obj) -> dict | None:
        return money(obj.amount, obj.currency)

    @staticmethod
    def resolve_owner(obj) -> uuid.UUID | None:
        return obj.owner_id

    @staticmethod
    def resolve_company(obj) -> uuid.UUID | None:
        return obj.company_id

    @staticmethod
    def resolve_people(obj) -> list[dict]:
        return [{"id": dp.person_id, "role": dp.role} for dp in obj.deal_people.all()]

    @staticmethod
    def resolve_lost_reason(obj) -> uuid.UUID | None:
        return obj.lost_reason_id

    @staticmethod
    def resolve_forecast_category(obj) -> str:
        return obj.forecast_category or obj.stage.forecast_category

    @staticmethod
    def resolve_forecast_category_override(obj) -> str:
        return obj.forecast_category

    @staticmethod
    def resolve_probability(obj) -> int:
        return obj.stage.probability

    @staticmethod
    def resolve_weighted_amount(obj) -> dict | None:
        if obj.amount is None:
            return None
        weighted = (obj.amount * obj.stage.probability / 100).quantize(CENT, ROUND_HALF_UP)
        return money(weighted, obj.currency)

    @staticmethod
    def resolve_tags(obj) -> list[str]:
        return sorted(t.name for t in obj.tags.all())


class DealList(Schema):
    results: list[DealOut]
    next: str | None


class StageHistoryOut(Schema):
    id: uuid.UUID
    pipeline: uuid.UUID | None
    stage: uuid.UUID | None = Field(..., description="null once the stage was removed")
    stage_name: str
    stage_type: str
    entered_at: dt.datetime
    left_at: dt.datetime | None = Field(..., description="null: the deal is in this stage now")
    duration_seconds: int = Field(..., description="Time in the stage (up to now if current)")
    actor: uuid.UUID | None = Field(..., description="The user who moved the deal, if any")

    @staticmethod
    def resolve_pipeline(obj) -> uuid.UUID | None:
        return obj.pipeline_id

    @staticmethod
    def resolve_stage(obj) -> uuid.UUID | None:
        return obj.stage_id

    @staticmethod
    def resolve_actor(obj) -> uuid.UUID | None:
        return obj.actor_id


class StageHistoryList(Schema):
    results: list[StageHistoryOut]
    next: str | None


# --- lost reasons -------------------------------------------------------------------------------


class LostReasonIn(StrictSchema):
    name: str | None = Field(None, description="Unique in the workspace; required to create")
    active: bool | None = Field(None, description="Inactive reasons are kept but not offered")


class LostReasonOut(Schema):
    id: uuid.UUID
    name: str
    position: int
    active: bool


class LostReasonList(Schema):
    results: list[LostReasonOut]
    next: str | None


# --- exchange rates -----------------------------------------------------------------------------


class ExchangeRateIn(StrictSchema):
    currency: str = Field(..., description="ISO 4217, not the base currency")
    rate: str = Field(
        ..., description="1 currency = rate base currency, a decimal string", examples=["1.0850"]
    )
    valid_from: dt.date | None = Field(
        None, description="From this day until the next dated rate (default today)"
    )


class ExchangeRateOut(Schema):
    id: uuid.UUID
    base: str
    currency: str
    rate: str = Field(..., description="1 currency = rate base, a decimal string")
    valid_from: dt.date
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_rate(obj) -> str:
        return f"{obj.rate.normalize():f}"


class ExchangeRateList(Schema):
    results: list[ExchangeRateOut]
    next: str | None


class RejectedLine(Schema):
    line: int
    reason: str


class ExchangeRateImportOut(Schema):
    stored: int
    rejected: list[RejectedLine]
