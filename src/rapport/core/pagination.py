"""Keyset pagination: ``(sort value, id)`` after the last row shown; no OFFSET, no COUNT(*).

The cursor is opaque to clients (base64 of JSON) and carries the sort it was made for, so a
cursor cannot be replayed against another ordering.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import CharField, DateTimeField, Q, QuerySet, TextField

from .errors import ValidationFailed


@dataclass(frozen=True)
class Sort:
    field: str
    descending: bool

    @property
    def token(self) -> str:
        return ("-" if self.descending else "") + self.field

    def order_by(self) -> list[str]:
        prefix = "-" if self.descending else ""
        return [prefix + self.field, prefix + "id"]


def sort_pattern(allowed: tuple[str, ...]) -> str:
    """The regular expression a ``?sort=`` value matches (declared in the OpenAPI)."""
    return f"^-?({'|'.join(allowed)})$"


def parse_sort(value: str | None, allowed: tuple[str, ...], default: str) -> Sort:
    value = (value or default).strip()
    field = value.removeprefix("-")  # one "-" only: "--email" is not a sort
    if field not in allowed:
        raise ValidationFailed.one(
            "sort", f"Sort by one of: {', '.join(allowed)} (prefix - for descending)."
        )
    return Sort(field=field, descending=value.startswith("-"))


def _encode_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"dt": value.isoformat()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and "dt" in value:
        return dt.datetime.fromisoformat(value["dt"])
    return value


def encode_cursor(sort: Sort, row) -> str:
    payload = [sort.token, _encode_value(getattr(row, sort.field)), str(row.pk)]
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def _invalid_cursor() -> ValidationFailed:
    return ValidationFailed.one(
        "cursor", "Invalid cursor: use the `next` value of a previous page."
    )


def decode_cursor(cursor: str, sort: Sort) -> tuple[Any, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        token, value, pk = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
        if token != sort.token:
            raise ValueError("cursor made for another sort")
        if not isinstance(pk, str):
            raise ValueError("the id must be a string")
        return _decode_value(value), uuid.UUID(pk)
    except Exception:
        raise _invalid_cursor()


def _cursor_value(qs: QuerySet, sort: Sort, value: Any) -> Any:
    """The cursor's sort value checked against the sort field, so a crafted cursor is a 422 and
    never reaches the database as a value it cannot compare (which would answer 500).

    Sort fields are NOT NULL today; a nullable sort field needs NULL-aware keyset conditions.
    """
    field = qs.model._meta.get_field(sort.field)
    if isinstance(field, DateTimeField):
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise _invalid_cursor()
        try:
            return value.astimezone(dt.UTC)  # PostgreSQL refuses offsets beyond ±15:59
        except OverflowError:
            raise _invalid_cursor()
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise _invalid_cursor()
    if isinstance(field, CharField | TextField) and not isinstance(value, str):
        raise _invalid_cursor()
    if isinstance(value, str) and "\x00" in value:
        raise _invalid_cursor()
    try:
        return field.to_python(value)
    except (DjangoValidationError, TypeError, ValueError):
        raise _invalid_cursor()


@dataclass
class Page:
    rows: list
    next_cursor: str | None


def keyset_page(qs: QuerySet, *, sort: Sort, cursor: str | None, limit: int) -> Page:
    if cursor:
        value, pk = decode_cursor(cursor, sort)
        value = _cursor_value(qs, sort, value)
        op = "lt" if sort.descending else "gt"
        # (field, id) after the cursor. The redundant ``field <= value`` (>= ascending) lets
        # the planner seek the (workspace, field, id) index to the cursor: with bound
        # parameters neither SQLite nor PostgreSQL turn the OR alone into an index range, and
        # a page deep in the table would scan every row before it (see docs/performance.md).
        qs = qs.filter(
            Q(**{f"{sort.field}__{op}e": value}),
            Q(**{f"{sort.field}__{op}": value}) | Q(**{sort.field: value, f"pk__{op}": pk}),
        )
    rows = list(qs.order_by(*sort.order_by())[: limit + 1])
    next_cursor = encode_cursor(sort, rows[limit - 1]) if len(rows) > limit else None
    return Page(rows=rows[:limit], next_cursor=next_cursor)
