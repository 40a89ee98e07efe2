"""API shapes of custom field definitions."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from ninja import Field, Schema

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
