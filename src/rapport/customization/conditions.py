"""Saved views' conditions: a tree of field/operator/value checked and compiled to a ``Q``.

The shape (also documented in the OpenAPI)::

    {"op": "and" | "or", "items": [
        {"field": "email", "operator": "contains", "value": "@acme.com"},
        {"op": "or", "items": [...]},            # a nested group, at most 3 levels deep
    ]}

Nothing here names a model: the caller gives a *catalogue* (``{key: Field}``) saying, per
field, its kind, the ORM path of a column or the custom field definition (the field-type
registry builds those), or a function for what only the caller knows (tags, text search).
Errors are ``ValidationFailed`` naming ``conditions.<path>``, e.g. ``conditions.items.2.value``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
)
from django.utils import timezone

from rapport.core.errors import FieldError, ValidationFailed

MAX_DEPTH = 3
MAX_CONDITIONS = 50
MAX_VALUES = 50
MAX_TEXT = 200
MAX_DAYS = 36_500

# Operators per kind of field, in the order a condition builder offers them.
OPERATORS: dict[str, tuple[str, ...]] = {
    "text": ("is", "is_not", "contains", "starts_with", "any_of", "empty", "not_empty"),
    "number": ("is", "gt", "gte", "lt", "lte", "between", "empty", "not_empty"),
    "date": ("is", "gt", "gte", "lt", "lte", "between", "in_last_days", "empty", "not_empty"),
    "choice": ("is", "is_not", "any_of", "empty", "not_empty"),
    "boolean": ("is", "empty", "not_empty"),
    "user": ("is", "is_me", "is_not", "any_of", "empty", "not_empty"),
    "reference": ("is", "is_not", "any_of", "empty", "not_empty"),
    "tags": ("any_of", "empty", "not_empty"),
    "search": ("contains",),
}
OPERATOR_LABELS = {
    "is": "is",
    "is_not": "is not",
    "contains": "contains",
    "starts_with": "starts with",
    "any_of": "is any of",
    "empty": "is empty",
    "not_empty": "is not empty",
    "gt": "is greater than / after",
    "gte": "is at least / on or after",
    "lt": "is less than / before",
    "lte": "is at most / on or before",
    "between": "is between",
    "in_last_days": "in the last N days",
    "is_me": "is me",
}
NO_VALUE = frozenset({"empty", "not_empty", "is_me"})
ALL_OPERATORS = tuple(OPERATOR_LABELS)


@dataclass(frozen=True)
class Field:
    """One field a condition may name."""

    key: str
    label: str
    kind: str  # a key of OPERATORS
    path: str = ""  # the ORM path of a column ("email", "owner_id", "company__name")
    nullable: bool = False  # the column may be NULL (not only "")
    lower: bool = False  # stored lower-case: equality is exact (an index), not iexact
    unique_nonblank: bool = False  # a partial unique index WHERE <path> <> '': state it
    choices: tuple[tuple[str, str], ...] = ()
    spec: Any = None  # a custom field definition (customization.types.FieldSpec)
    column: str = "custom"  # the JSON column of ``spec``
    clean: Callable[[Any], Any] | None = None  # a value as stored ("+49 30..." -> E.164)
    build: Callable[[str, Any, Context], Q] | None = None  # tags, text search
    operators: tuple[str, ...] = field(default=())

    def allowed(self) -> tuple[str, ...]:
        return self.operators or OPERATORS[self.kind]


@dataclass(frozen=True)
class Context:
    """Who asks and when: ``is_me`` and ``in_last_days`` depend on it."""

    workspace: Any
    user_id: Any
    now: dt.datetime | None = None

    def current(self) -> dt.datetime:
        return self.now or timezone.now()


class _Errors:
    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(FieldError(path, message))


def empty_tree() -> dict:
    return {"op": "and", "items": []}


def count_conditions(tree: Any) -> int:
    if not isinstance(tree, dict) or not isinstance(tree.get("items"), list):
        return 0
    total = 0
    for item in tree["items"]:
        if isinstance(item, dict) and "items" in item:
            total += count_conditions(item)
        else:
            total += 1
    return total


def compile_conditions(
    tree: Any, catalogue: dict[str, Field], context: Context, *, root: str = "conditions"
) -> tuple[dict, Q]:
    """Checks ``tree`` and answers (the cleaned tree, its ``Q``); every error at once."""
    errors = _Errors()
    if tree in (None, {}, []):
        return empty_tree(), Q()
    count = count_conditions(tree)
    if count > MAX_CONDITIONS:
        raise ValidationFailed.one(root, f"Use at most {MAX_CONDITIONS} conditions.")
    cleaned, q = _group(tree, catalogue, context, root, 1, errors)
    if errors.items:
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors.items[:10])
        raise ValidationFailed(detail, errors.items)
    return cleaned, q


def _group(tree, catalogue, context, path, depth, errors) -> tuple[dict, Q]:
    if not isinstance(tree, dict) or set(tree) - {"op", "items"}:
        errors.add(path, 'A group is {"op": "and"|"or", "items": [...]}.')
        return empty_tree(), Q()
    op = tree.get("op", "and")
    if op not in ("and", "or"):
        errors.add(f"{path}.op", "Use and or or.")
        op = "and"
    items = tree.get("items", [])
    if not isinstance(items, list):
        errors.add(f"{path}.items", "Send a list of conditions and groups.")
        return empty_tree(), Q()
    cleaned: list[dict] = []
    q = Q()
    for index, item in enumerate(items):
        where = f"{path}.items.{index}"
        if isinstance(item, dict) and "items" in item:
            if depth >= MAX_DEPTH:
                errors.add(where, f"Groups nest at most {MAX_DEPTH} levels deep.")
                continue
            sub, sub_q = _group(item, catalogue, context, where, depth + 1, errors)
            if not sub["items"]:
                continue  # an empty group constrains nothing
        else:
            sub, sub_q = _condition(item, catalogue, context, where, errors)
        cleaned.append(sub)
        q = (q & sub_q) if op == "and" else (q | sub_q)
    return {"op": op, "items": cleaned}, q


def _condition(item, catalogue, context, path, errors) -> tuple[dict, Q]:
    if not isinstance(item, dict) or set(item) - {"field", "operator", "value"}:
        errors.add(path, 'A condition is {"field": ..., "operator": ..., "value": ...}.')
        return {}, Q()
    key = item.get("field")
    spec = catalogue.get(key) if isinstance(key, str) else None
    if spec is None:
        errors.add(f"{path}.field", "Unknown field.")
        return {}, Q()
    operator = item.get("operator")
    if not isinstance(operator, str) or operator not in spec.allowed():
        allowed = ", ".join(spec.allowed())
        errors.add(f"{path}.operator", f"{spec.label} can use: {allowed}.")
        return {}, Q()
    value = item.get("value")
    try:
        value = _clean_value(spec, operator, value, context)
        q = _build(spec, operator, value, context)
    except ValidationFailed as exc:
        for err in exc.errors:
            errors.add(f"{path}.value", err.message)
        return {}, Q()
    cleaned = {"field": key, "operator": operator}
    if operator not in NO_VALUE:
        cleaned["value"] = value
    return cleaned, q


# --- values -----------------------------------------------------------------------------------


def _bad(message: str) -> ValidationFailed:
    return ValidationFailed.one("value", message)


def _text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float | decimal.Decimal):
        raise _bad("Give a text value.")
    text = str(value).strip()
    if not text:
        raise _bad("Give a value.")
    if len(text) > MAX_TEXT:
        raise _bad(f"Use at most {MAX_TEXT} characters.")
    if any(ord(ch) < 32 and ch not in "\t" for ch in text):
        raise _bad("Control characters are not allowed.")
    return text


def _scalar(spec: Field, value: Any, context: Context) -> Any:
    """One value of the field, as conditions store it (JSON)."""
    if spec.kind == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        raise _bad("Use true or false.")
    if spec.kind in ("user", "reference"):
        text = _text(value)
        try:
            return str(uuid.UUID(text))
        except ValueError:
            raise _bad("Not a valid id.")
    if spec.kind == "number":
        if isinstance(value, bool):
            raise _bad("Give a number.")
        try:
            number = decimal.Decimal(str(value).strip().replace(",", ""))
        except decimal.InvalidOperation:
            raise _bad("Give a number.")
        if not number.is_finite() or abs(number) >= 10**18:
            raise _bad("Give a number.")
        return int(number) if number == number.to_integral_value() else str(number)
    if spec.kind == "date":
        text = _text(value)
        try:
            return (
                dt.date.fromisoformat(text).isoformat()
                if len(text) == 10
                else dt.datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
            )
        except ValueError:
            raise _bad("Give a date (YYYY-MM-DD) or a date and time (ISO 8601).")
    if spec.kind == "choice":
        text = _text(value)
        if spec.choices:
            for choice, label in spec.choices:
                if text.lower() in (choice.lower(), str(label).lower()):
                    return choice
            raise _bad(f"Use one of: {', '.join(c for c, _ in spec.choices[:30])}.")
        return text
    text = _text(value)
    return spec.clean(text) if spec.clean else text


def _clean_value(spec: Field, operator: str, value: Any, context: Context) -> Any:
    if operator in NO_VALUE:
        if value not in (None, "", []):
            raise _bad("This operator takes no value.")
        return None
    if operator == "any_of":
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        if not isinstance(value, list) or not value:
            raise _bad("Give a list of values.")
        if len(value) > MAX_VALUES:
            raise _bad(f"Give at most {MAX_VALUES} values.")
        out: list[Any] = []
        for item in value:
            cleaned = _scalar(spec, item, context)
            if cleaned not in out:
                out.append(cleaned)
        return out
    if operator == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise _bad("Give two values: [from, to].")
        low, high = (_scalar(spec, v, context) for v in value)
        if _sortable(low) > _sortable(high):
            raise _bad("The first value is above the second.")
        return [low, high]
    if operator == "in_last_days":
        if isinstance(value, bool):
            raise _bad("Give a number of days.")
        try:
            days = int(str(value).strip())
        except ValueError:
            raise _bad("Give a number of days.")
        if not 1 <= days <= MAX_DAYS:
            raise _bad(f"Use 1 to {MAX_DAYS} days.")
        return days
    return _scalar(spec, value, context)


def _sortable(value: Any) -> Any:
    if isinstance(value, int | str) and not isinstance(value, bool):
        try:
            return decimal.Decimal(str(value))
        except decimal.InvalidOperation:
            return str(value)
    return value


# --- building the Q -------------------------------------------------------------------------------


def _build(spec: Field, operator: str, value: Any, context: Context) -> Q:
    if spec.build is not None:
        return spec.build(operator, value, context)
    if spec.spec is not None:
        return _custom(spec, operator, value, context)
    return _column(spec, operator, value, context)


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _moment(value: str, *, end: bool) -> dt.datetime:
    """A date as the start of that day (or of the next one, ``end``) in the user's zone."""
    if len(value) == 10:
        day = dt.date.fromisoformat(value)
        return _day_start(day + dt.timedelta(days=1) if end else day)
    moment = dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else timezone.make_aware(moment)


def _column(spec: Field, operator: str, value: Any, context: Context) -> Q:
    path = spec.path
    blanks: list[Q] = []
    if spec.nullable:
        blanks.append(Q(**{f"{path}__isnull": True}))
    if spec.kind in ("text", "choice"):
        blanks.append(Q(**{path: ""}))
    blank = Q(pk__in=[])  # a column that is never blank
    for part in blanks:
        blank = part if blank == Q(pk__in=[]) else blank | part
    if operator == "empty":
        return blank
    if operator == "not_empty":
        return ~blank
    if operator == "is_me":
        if context.user_id is None:
            return Q(pk__in=[])
        return Q(**{path: context.user_id})
    nonblank = ~Q(**{path: ""}) if spec.unique_nonblank else Q()
    if spec.kind == "date":
        if operator == "in_last_days":
            return Q(**{f"{path}__gte": context.current() - dt.timedelta(days=value)})
        if operator == "is":
            return Q(**{f"{path}__gte": _moment(value, end=False)}) & Q(
                **{f"{path}__lt": _moment(value, end=True)}
            )
        if operator == "between":
            return Q(**{f"{path}__gte": _moment(value[0], end=False)}) & Q(
                **{f"{path}__lt": _moment(value[1], end=True)}
            )
        bound = {
            "gt": ("gte", True),
            "gte": ("gte", False),
            "lt": ("lt", False),
            "lte": ("lt", True),
        }[operator]
        return Q(**{f"{path}__{bound[0]}": _moment(value, end=bound[1])})
    if spec.kind == "number":
        if operator == "between":
            return Q(**{f"{path}__gte": value[0], f"{path}__lte": value[1]})
        if operator == "is":
            return Q(**{path: value})
        return Q(**{f"{path}__{operator}": value})

    def equal(v: Any) -> Q:
        if spec.kind == "text" and not spec.lower:
            return Q(**{f"{path}__iexact": v})
        return Q(**{path: v.lower() if spec.lower and isinstance(v, str) else v})

    if operator == "is":
        return equal(value) & nonblank
    if operator == "is_not":
        return ~equal(value)
    if operator == "any_of":
        if spec.kind != "text" or spec.lower:
            values = [v.lower() if spec.lower and isinstance(v, str) else v for v in value]
            return Q(**{f"{path}__in": values}) & nonblank
        q = Q()
        for v in value:
            q |= equal(v)
        return q
    if operator == "contains":
        return Q(**{f"{path}__icontains": value})
    if operator == "starts_with":
        return Q(**{f"{path}__istartswith": value})
    raise _bad("Unsupported operator.")  # pragma: no cover - checked against allowed()


def _custom(spec: Field, operator: str, value: Any, context: Context) -> Q:
    """A custom field, through the field-type registry (types.py) on its JSON column."""
    definition, column, kind = spec.spec, spec.column, spec.spec.kind
    key = definition.key
    has = Q(**{f"{column}__has_key": key})
    if operator == "empty":
        return ~has
    if operator == "not_empty":
        return has
    workspace = context.workspace

    def typed(v: Any) -> Any:
        """The value as the type compares it (its parser judges it; errors name the value)."""
        return kind.filter_value(str(v), definition, workspace=workspace)

    def equal(v: Any) -> Q:
        if kind.name in ("boolean", "user"):  # already exact: a bool, a user id
            return kind.eq_q(definition, v, column)
        return kind.eq_q(definition, typed(v), column)

    if operator == "is_me":
        if context.user_id is None:
            return Q(pk__in=[])
        return kind.eq_q(definition, str(context.user_id), column)
    if operator == "is":
        if spec.kind == "date" and kind.name == "datetime":
            return _custom_range(spec, value, value, context)
        if spec.kind in ("number", "date"):
            return Q(Exact(kind.sort_expression(key, column), _compare(spec, typed(value))))
        return equal(value)
    if operator == "is_not":
        return ~equal(value) | ~has
    if operator == "any_of":
        q = Q()
        for v in value:
            q |= equal(v)
        return q
    if operator == "contains":
        return Q(**{f"{column}__{key}__icontains": value})
    if operator == "starts_with":
        return Q(**{f"{column}__{key}__istartswith": value})
    if operator == "between":
        return _custom_range(spec, value[0], value[1], context)
    if operator == "in_last_days":
        since = context.current() - dt.timedelta(days=value)
        if kind.name == "datetime":
            bound: Any = since.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        else:
            bound = timezone.localtime(since).date().isoformat()
        return Q(GreaterThanOrEqual(kind.sort_expression(key, column), bound))
    lookup = {
        "gt": GreaterThan,
        "gte": GreaterThanOrEqual,
        "lt": LessThan,
        "lte": LessThanOrEqual,
    }[operator]
    if kind.name == "datetime":
        edge = {"gt": True, "gte": False, "lt": False, "lte": True}[operator]
        lookup = {"gt": GreaterThanOrEqual, "lte": LessThan}.get(operator, lookup)
        return Q(lookup(kind.sort_expression(key, column), _utc_text(value, end=edge)))
    return Q(lookup(kind.sort_expression(key, column), _compare(spec, typed(value))))


def _compare(spec: Field, value: Any) -> Any:
    kind = spec.spec.kind
    compared = kind.compare_value(value)
    if kind.name in ("decimal", "currency"):
        return decimal.Decimal(str(compared))
    return compared


def _utc_text(value: str, *, end: bool) -> str:
    return _moment(value, end=end).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _custom_range(spec: Field, low: Any, high: Any, context: Context) -> Q:
    definition, column, kind = spec.spec, spec.column, spec.spec.kind
    expr = kind.sort_expression(definition.key, column)
    if kind.name == "datetime":
        return Q(GreaterThanOrEqual(expr, _utc_text(low, end=False))) & Q(
            LessThan(expr, _utc_text(high, end=True))
        )

    def typed(v: Any) -> Any:
        return _compare(spec, kind.filter_value(str(v), definition, workspace=context.workspace))

    return Q(GreaterThanOrEqual(expr, typed(low))) & Q(LessThanOrEqual(expr, typed(high)))
