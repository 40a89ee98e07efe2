"""API shapes of lead scoring and assignment rules (``/lead-scoring-rules``,
``/lead-assignment-rules``). Inputs refuse unknown fields; what a value may be is checked by
``lead_services`` (one validation for the UI and the API)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from ninja import Field, Schema

from rapport.core.api import StrictSchema

RuleKindValue = Literal["field", "interaction", "decay"]
OperatorValue = Literal["equals", "contains", "not_empty", ""]

FIELD_HELP = (
    "A lead field (first_name, last_name, email, phone, company_name, title, country, source, "
    "status) or custom.<key> of a lead custom field"
)


class ScoringRuleIn(StrictSchema):
    kind: RuleKindValue | None = Field(
        None,
        description="field: points when a field matches; interaction: points per interaction "
        "of type `value`; decay: `points` lost per `value` days without activity",
    )
    field: str | None = Field(None, max_length=64, description=FIELD_HELP + " (kind field)")
    operator: OperatorValue | None = Field(None, description="kind field")
    value: str | None = Field(
        None,
        max_length=255,
        description="field: the value compared with; interaction: call, email, meeting...; "
        "decay: the days",
    )
    points: int | None = Field(None, description="-1000 to 1000 (decay: 1 to 1000, lost)")


class ScoringRuleOut(Schema):
    id: uuid.UUID
    kind: str
    field: str
    operator: str
    value: str
    points: int
    position: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ScoringRuleList(Schema):
    results: list[ScoringRuleOut]
    next: str | None


class AssignmentRuleIn(StrictSchema):
    name: str | None = Field(None, max_length=100)
    active: bool | None = Field(None, description="Inactive rules route nothing")
    position: int | None = Field(None, ge=0, description="0 = tried first; the others shift")
    field: str | None = Field(None, max_length=64, description=FIELD_HELP + "; empty: no test")
    operator: OperatorValue | None = None
    value: str | None = Field(None, max_length=255)
    countries: list[str] | None = Field(
        None, description="ISO 3166-1 alpha-2 codes; the lead's country must be one of them"
    )
    user: uuid.UUID | None = Field(None, description="Assign to this member (clears `team`)")
    team: uuid.UUID | None = Field(None, description="Round robin in this team (clears `user`)")


class AssignmentRuleOut(Schema):
    id: uuid.UUID
    name: str
    position: int
    active: bool
    field: str
    operator: str
    value: str
    countries: list[str]
    user: uuid.UUID | None
    team: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_user(obj) -> uuid.UUID | None:
        return obj.user_id

    @staticmethod
    def resolve_team(obj) -> uuid.UUID | None:
        return obj.team_id


class AssignmentRuleList(Schema):
    results: list[AssignmentRuleOut]
    next: str | None
