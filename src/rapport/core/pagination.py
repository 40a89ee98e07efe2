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
from django.db.models import Q, QuerySet

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


def parse_sort(value: str | None, allowed: tuple[str, ...], default: str) -> Sort:
    value = (value or default).strip()
    field = value.lstrip("-")
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


def decode_cursor(cursor: str, sort: Sort) -> tuple[Any, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        token, value, pk = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
        if token != sort.token:
            raise ValueError("cursor made for another sort")
        return _decode_value(value), uuid.UUID(pk)
    except Exception:
        raise ValidationFailed.one(
            "cursor", "Invalid cursor: use the `next` value of a previous page."
        )


@dataclass
class Page:
    rows: list
    next_cursor: str | None


def keyset_page(qs: QuerySet, *, sort: Sort, cursor: str | None, limit: int) -> Page:
    if cursor:
        value, pk = decode_cursor(cursor, sort)
        op = "lt" if sort.descending else "gt"
        qs = qs.filter(
            Q(**{f"{sort.field}__{op}": value}) | Q(**{sort.field: value, f"pk__{op}": pk})
        )
    rows = list(qs.order_by(*sort.order_by())[: limit + 1])
    next_cursor = encode_cursor(sort, rows[limit - 1]) if len(rows) > limit else None
    return Page(rows=rows[:limit], next_cursor=next_cursor)
