"""Keyset pagination: ``(sort value, id)`` after the last row shown; no OFFSET, no COUNT(*).

The cursor is opaque to clients (base64 of JSON) and carries the sort it was made for, so a
cursor cannot be replayed against another ordering.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

import orjson
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connections
from django.db.models import CharField, DateTimeField, F, Q, QuerySet, TextField
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan

from .errors import ValidationFailed


@dataclass(frozen=True)
class Sort:
    field: str
    descending: bool
    # A sort on a computed, nullable value (a custom field): the SQL expression, and how its
    # value goes into a cursor and comes back checked. Rows without a value come last.
    expression: Any = dc_field(default=None, compare=False)
    to_cursor: Callable[[Any], Any] | None = dc_field(default=None, compare=False)
    from_cursor: Callable[[Any], Any] | None = dc_field(default=None, compare=False)

    @property
    def token(self) -> str:
        return ("-" if self.descending else "") + self.field

    def order_by(self) -> list[Any]:
        if self.expression is not None:
            value = F(SORT_VALUE)
            ordered = value.desc(nulls_last=True) if self.descending else value.asc(nulls_last=True)
            return [ordered, "-id" if self.descending else "id"]
        prefix = "-" if self.descending else ""
        return [prefix + self.field, prefix + "id"]


SORT_VALUE = "_sort_value"  # the annotation an expression sort orders by


CUSTOM_SORT = r"custom\.[a-z][a-z0-9_]{0,49}"


def sort_pattern(allowed: tuple[str, ...], *, custom: bool = False) -> str:
    """The regular expression a ``?sort=`` value matches (declared in the OpenAPI);
    ``custom`` admits ``custom.<key>`` (a sortable custom field)."""
    return f"^-?({'|'.join([*allowed, CUSTOM_SORT] if custom else allowed)})$"


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


def after_cursor(qs: QuerySet, *, sort: Sort, cursor: str) -> QuerySet:
    """``qs`` narrowed to the rows after ``cursor``, with the same conditions as
    ``keyset_page`` (for selectors that merge pages of several tables)."""
    value, pk = decode_cursor(cursor, sort)
    value = _cursor_value(qs, sort, value)
    if getattr(connections[qs.db].features, "supports_tuple_lookups", False):
        # PostgreSQL: a row comparison, ``(field, id) < (value, pk)``, is one range of the
        # (…, field, id) index whatever the planner estimates. With the OR below, a selective
        # filter (the trash's "deleted by me", 10,000 of 495,000) was estimated at 8 rows and
        # planned as two bitmap scans and a sort of 9,908 rows: 80 ms instead of 0.4 ms.
        # (Django's tuple lookups; on SQLite they expand to the OR alone.)
        after = TupleLessThan if sort.descending else TupleGreaterThan
        return qs.filter(after(Tuple(F(sort.field), F("pk")), (value, pk)))
    op = "lt" if sort.descending else "gt"
    # (field, id) after the cursor. The redundant ``field <= value`` (>= ascending) lets
    # the planner seek the (workspace, field, id) index to the cursor: with bound
    # parameters neither SQLite nor PostgreSQL turn the OR alone into an index range, and
    # a page deep in the table would scan every row before it (see docs/performance.md).
    return qs.filter(
        Q(**{f"{sort.field}__{op}e": value}),
        Q(**{f"{sort.field}__{op}": value}) | Q(**{sort.field: value, f"pk__{op}": pk}),
    )


def _expression_page(qs: QuerySet, *, sort: Sort, cursor: str | None, limit: int) -> Page:
    """Keyset over a nullable computed value, NULLs last in both directions."""
    qs = qs.annotate(**{SORT_VALUE: sort.expression})
    if cursor:
        raw, pk = decode_cursor(cursor, sort)
        op = "lt" if sort.descending else "gt"
        if raw is None:
            qs = qs.filter(**{f"{SORT_VALUE}__isnull": True, f"pk__{op}": pk})
        else:
            try:
                value = sort.from_cursor(raw) if sort.from_cursor else raw
            except Exception:
                raise _invalid_cursor()
            qs = qs.filter(
                Q(**{f"{SORT_VALUE}__{op}": value})
                | Q(**{SORT_VALUE: value, f"pk__{op}": pk})
                | Q(**{f"{SORT_VALUE}__isnull": True})
            )
    rows = list(qs.order_by(*sort.order_by())[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        value = getattr(last, SORT_VALUE)
        if value is not None and sort.to_cursor:
            value = sort.to_cursor(value)
        payload = [sort.token, _encode_value(value), str(last.pk)]
        next_cursor = base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")
    return Page(rows=rows[:limit], next_cursor=next_cursor)


def keyset_page(qs: QuerySet, *, sort: Sort, cursor: str | None, limit: int) -> Page:
    if sort.expression is not None:
        return _expression_page(qs, sort=sort, cursor=cursor, limit=limit)
    if cursor:
        qs = after_cursor(qs, sort=sort, cursor=cursor)
    rows = list(qs.order_by(*sort.order_by())[: limit + 1])
    next_cursor = encode_cursor(sort, rows[limit - 1]) if len(rows) > limit else None
    return Page(rows=rows[:limit], next_cursor=next_cursor)
