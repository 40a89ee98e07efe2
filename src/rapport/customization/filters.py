"""Filters and sorting on custom fields, shared by the UI and the API.

Query parameters are ``custom.<key>=value`` (equality; for a multi select "holds the value"),
``custom.<key>__in=a,b`` (any of), ``custom.<key>__contains=text`` (text types),
``custom.<key>__gt|__gte|__lt|__lte=value`` (numbers, money amounts, dates) and
``custom.<key>__isnull=true|false``; ``?sort=custom.<key>`` or ``-custom.<key>``.

Nothing here names a model: the caller gives the workspace, the object type and the JSON column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db.models import Q

from rapport.core.errors import FieldError, ValidationFailed
from rapport.core.pagination import Sort, parse_sort
from rapport.core.validation import reject_control_characters

from .selectors import field_map

PREFIX = "custom."
SORT_PATTERN = r"custom\.[a-z][a-z0-9_]{0,49}"
_PARAM = re.compile(r"^custom\.([a-z][a-z0-9_]{0,49}?)(?:__(\w+))?$")
MAX_FILTERS = 20


def custom_params(query: Any) -> dict[str, str]:
    """The ``custom.*`` parameters of a QueryDict or a mapping (blank values dropped)."""
    items: Iterable[tuple[str, Any]]
    items = query.items() if hasattr(query, "items") else query
    return {
        k: v
        for k, v in items
        if isinstance(k, str) and k.startswith(PREFIX) and isinstance(v, str) and v.strip()
    }


def custom_q(workspace, object_type: str, params: dict[str, str], *, column: str = "custom") -> Q:
    """One condition for every ``custom.*`` parameter; errors name the parameter's field."""
    if not params:
        return Q()
    if len(params) > MAX_FILTERS:
        raise ValidationFailed.one("custom", f"Use at most {MAX_FILTERS} custom field filters.")
    definitions = field_map(workspace, object_type)
    q = Q()
    errors: list[FieldError] = []
    for name, raw in params.items():
        match = _PARAM.match(name)
        key, op = (match.group(1), match.group(2) or "eq") if match else (name[7:], "eq")
        field = definitions.get(key) if match else None
        if field is None:
            errors.append(FieldError(f"custom.{key}"[:120], "Unknown custom field."))
            continue
        try:
            reject_control_characters(raw)
        except ValueError as exc:
            errors.append(FieldError(field.param, str(exc)))
            continue
        if len(raw) > 1000:
            errors.append(FieldError(field.param, "The filter value is too long."))
            continue
        try:
            q &= field.kind.filter_q(field, op, raw.strip(), workspace=workspace, column=column)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed("Invalid custom field filter.", errors)
    return q


def parse_record_sort(
    value: str | None,
    allowed: tuple[str, ...],
    default: str,
    *,
    workspace,
    object_type: str,
    column: str = "custom",
) -> Sort:
    """``parse_sort`` that also understands ``custom.<key>`` for sortable custom fields."""
    token = (value or default).strip()
    name = token.removeprefix("-")
    if not name.startswith(PREFIX):
        return parse_sort(value, allowed, default)
    key = name[len(PREFIX) :]
    field = field_map(workspace, object_type).get(key)
    if field is None or not field.kind.sortable:
        sortable = [
            f"custom.{f.key}" for f in field_map(workspace, object_type).values() if f.kind.sortable
        ]
        raise ValidationFailed.one(
            "sort",
            f"Sort by one of: {', '.join([*allowed, *sortable])} (prefix - for descending).",
        )
    kind = field.kind
    return Sort(
        field=name,
        descending=token.startswith("-"),
        expression=kind.sort_expression(key, column),
        to_cursor=kind.cursor_value,
        from_cursor=kind.from_cursor,
    )
