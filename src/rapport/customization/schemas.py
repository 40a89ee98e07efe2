"""API shapes of custom field definitions."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import WithJsonSchema

from rapport.core.api import StrictSchema

from .models import FieldType, ObjectType


class OptionIn(StrictSchema):
    value: str | None = Field(
        None, description="a-z, 0-9, - and _; made from the label when left out"
    )
    label: str


class OptionOut(Schema):
    value: str
    label: str


class CustomFieldIn(StrictSchema):
    object_type: ObjectType | None = Field(None, description="Required when creating; fixed")
    key: str | None = Field(
        None,
        description=(
            "The name of the value in a record's `custom` object, e.g. `contract_end`; made "
            "from the label when left out; fixed after creation"
        ),
    )
    label: str | None = Field(None, description="Required when creating; renaming keeps the data")
    help_text: str | None = None
    type: FieldType | None = Field(None, description="Required when creating; fixed")
    required: bool | None = Field(None, description="A value is needed when a record is created")
    default: Any = Field(None, description="Filled in when a record is created without a value")
    options: list[OptionIn] | None = Field(None, description="The choices of a select")
    minimum: Any = Field(
        None, description="Least number, decimal, amount, date or text length allowed"
    )
    maximum: Any = Field(None, description="Greatest number, decimal, amount, date or length")
    regex: str | None = Field(None, description="A text value must match it (at most 200 chars)")
    position: int | None = Field(None, ge=0, le=100_000, description="Order in forms and pages")
    show_in_list: bool | None = Field(None, description="Shown as a column of the list page")


class CustomFieldOut(Schema):
    id: uuid.UUID
    object_type: str
    key: str
    label: str
    help_text: str
    type: str
    required: bool
    default: Any
    options: list[OptionOut]
    minimum: Any
    maximum: Any
    regex: str
    position: int
    show_in_list: bool
    filters: list[str] = Field(..., description="The query parameters lists accept for it")
    sortable: bool
    searchable: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_filters(obj) -> list[str]:
        return [obj.param if op == "eq" else f"{obj.param}__{op}" for op in obj.kind.lookups]

    @staticmethod
    def resolve_sortable(obj) -> bool:
        return obj.kind.sortable

    @staticmethod
    def resolve_searchable(obj) -> bool:
        return obj.kind.textual


class CustomFieldList(Schema):
    results: list[CustomFieldOut]
    next: str | None


# --- saved views ------------------------------------------------------------------------------

CONDITION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Condition",
    "properties": {
        "field": {
            "type": "string",
            "description": (
                "A standard field (people: first_name, last_name, email, phone, title, company, "
                "company_name, lifecycle_stage, source; companies: name, domain, industry, "
                "employees, annual_revenue, phone; both: owner, tags, city, region, postal_code, "
                "country, external_id, created_at, updated_at, search) or `custom.<key>`"
            ),
        },
        "operator": {
            "type": "string",
            "enum": [
                "is",
                "is_not",
                "contains",
                "starts_with",
                "any_of",
                "empty",
                "not_empty",
                "gt",
                "gte",
                "lt",
                "lte",
                "between",
                "in_last_days",
                "is_me",
            ],
            "description": (
                "text: is, is_not, contains, starts_with, any_of, empty, not_empty; numbers and "
                "dates: is, gt, gte, lt, lte, between, empty, not_empty (dates also "
                "in_last_days); choices: is, is_not, any_of, empty, not_empty; users: is, is_me, "
                "is_not, any_of, empty, not_empty; tags: any_of, empty, not_empty"
            ),
        },
        "value": {
            "description": (
                "A string or number; a list for any_of (at most 50) and between ([from, to]); "
                "a number of days for in_last_days; left out for empty, not_empty and is_me. "
                "Dates are YYYY-MM-DD (whole days in the user's time zone) or ISO 8601."
            ),
        },
    },
    "required": ["field", "operator"],
    "additionalProperties": False,
}
CONDITIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Conditions",
    "description": (
        "A group of conditions: every item (`and`) or any item (`or`) must hold. Groups nest at "
        "most 3 levels deep; at most 50 conditions in all. Errors name the path, e.g. "
        "`conditions.items.2.value`."
    ),
    "properties": {
        "op": {"type": "string", "enum": ["and", "or"], "default": "and"},
        "items": {
            "type": "array",
            "items": {
                "anyOf": [
                    CONDITION_SCHEMA,
                    {
                        "type": "object",
                        "title": "Group",
                        "description": "A nested group: {op, items} as above",
                        "required": ["items"],
                    },
                ]
            },
        },
    },
    "examples": [
        {
            "op": "and",
            "items": [
                {"field": "lifecycle_stage", "operator": "is", "value": "customer"},
                {
                    "op": "or",
                    "items": [
                        {"field": "owner", "operator": "is_me"},
                        {"field": "tags", "operator": "any_of", "value": ["vip"]},
                    ],
                },
            ],
        }
    ],
}
Conditions = Annotated[dict[str, Any], WithJsonSchema(CONDITIONS_SCHEMA)]


class SavedViewIn(StrictSchema):
    object_type: ObjectType | None = Field(None, description="Required when creating; fixed")
    name: str | None = Field(None, description="Required when creating")
    shared: bool | None = Field(None, description="Shown to the whole workspace (else private)")
    pinned: bool | None = Field(None, description="Listed in the main navigation")
    conditions: Conditions | None = None
    sort: str | None = Field(
        None, description="e.g. `-updated_at` or `custom.<key>`; blank: default"
    )
    columns: list[str] | None = Field(
        None, description="Column keys in order (e.g. name, email, custom.<key>); empty: default"
    )
    page_size: int | None = Field(None, description="Rows per page, 10 to 200")


class SavedViewOut(Schema):
    id: uuid.UUID
    object_type: str
    name: str
    owner: uuid.UUID | None = Field(..., description="The user who owns the view")
    shared: bool
    pinned: bool
    conditions: Conditions
    sort: str
    columns: list[str]
    page_size: int
    url: str = Field(..., description="The list page showing the view (shareable)")
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_owner(obj) -> uuid.UUID | None:
        return obj.owner_id

    @staticmethod
    def resolve_url(obj) -> str:
        from django.urls import reverse

        name = (
            "contacts:person_list"
            if obj.object_type == "contacts.person"
            else "contacts:company_list"
        )
        return f"{reverse(name)}?view={obj.pk}"


class SavedViewList(Schema):
    results: list[SavedViewOut]
    next: str | None
