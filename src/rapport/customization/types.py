"""The field-type registry: everything a custom field's type decides, in one place per type.

Nothing here knows which model a field is attached to: a definition is any object with the
attributes of :class:`FieldSpec` (``CustomField`` rows have them), values are plain JSON, and
filters and sort expressions are built on a JSON column whose name the caller gives. Custom
objects, formulas and rollups (DESIGN, "Later") reuse this module as it is.

Each type answers:

* ``clean(value, field, workspace=)``: the JSON value to store, or ``ValidationFailed`` naming
  ``custom.<key>``. Strict: the API's "wrong type" is a 422 (``"5"`` is not a number).
* ``parse_text(raw, field, workspace=)``: a CSV cell or form input (lenient: ``"yes"``,
  ``"31/12/2024"``, ``"a; b"``) turned into the stored value, through ``clean``.
* ``format_text(value, field)``: the value as text for exports (``parse_text`` reads it back).
* ``display(value, field)``: the value for people to read on a page.
* ``form_field(field, workspace=)`` / ``form_initial(value, field)``: the Django form input.
* ``json_schema(field)``: the JSON Schema fragment of the value (OpenAPI).
* ``lookups``: the filter operators it supports; ``filter_q`` builds them; ``textual`` whether
  the value goes into the search document; ``sortable`` and ``sort_expression`` for ``?sort=``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import uuid
from collections.abc import Iterable
from typing import Any, Protocol

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import connection
from django.db.models import (
    BigIntegerField,
    DecimalField,
    Expression,
    ExpressionWrapper,
    Q,
    TextField,
)
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Collate
from django.db.models.lookups import (
    Contains,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
)
from django.utils import timezone

from rapport.core.errors import ValidationFailed
from rapport.core.validation import (
    clean_amount,
    clean_currency,
    clean_email,
    clean_phone,
    clean_text,
)

TEXT_MAX = 1000  # a one-line text value, at most
LONG_TEXT_MAX = 10_000
REGEX_VALUE_MAX = 255  # a value checked against an admin's pattern is short (see check_pattern)
PATTERN_MAX = 200
OPTIONS_MAX = 200
OPTION_VALUE = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$")
SAFE_INT = 2**53 - 1  # JavaScript clients read JSON numbers as doubles
DECIMAL_DIGITS = 18
DECIMAL_PLACES = 6
TRUE_WORDS = {"true", "yes", "y", "1", "on", "x", "ja", "oui", "si", "sí"}
FALSE_WORDS = {"false", "no", "n", "0", "off", "nein", "non"}
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d %b %Y", "%b %d %Y")
DATETIME_OUT = "%Y-%m-%dT%H:%M:%SZ"  # canonical, UTC: text order is time order

LOOKUPS = ("eq", "contains", "in", "gt", "gte", "lt", "lte", "isnull")


class FieldSpec(Protocol):
    """What a type needs to know about a field definition."""

    key: str
    label: str
    type: str
    required: bool
    options: list
    minimum: Any
    maximum: Any
    regex: str
    help_text: str


def param(field: FieldSpec) -> str:
    return f"custom.{field.key}"


def fail(field: FieldSpec, message: str) -> ValidationFailed:
    return ValidationFailed.one(param(field), message)


# --- patterns: an admin's regular expression must not hang a worker -------------------------


def check_pattern(pattern: str) -> str | None:
    """An error message when ``pattern`` is not a safe regular expression, else None.

    Python's ``re`` has no time limit, so the patterns that can backtrack exponentially are
    refused when the field is defined: a repetition inside an unbounded repetition
    (``(a+)+``, ``(a|aa)*``), and backreferences. Patterns and the values checked against
    them are short (``PATTERN_MAX``, ``REGEX_VALUE_MAX``), which bounds the polynomial cases.
    """
    if len(pattern) > PATTERN_MAX:
        return f"Use at most {PATTERN_MAX} characters."
    try:
        compiled = re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        return f"Not a valid regular expression: {exc}."
    try:
        from re import _parser  # type: ignore[attr-defined]

        tree = _parser.parse(pattern, compiled.flags)
    except Exception:  # pragma: no cover - compiled above, so it parses
        return "Not a valid regular expression."
    if _dangerous(tree, inside_repeat=False):
        return (
            "This pattern can take exponential time (a repetition inside a repetition, an "
            "alternation under *, + or {n,}, or a backreference): simplify it."
        )
    return None


def _has_branch(items) -> bool:
    from re import _constants as c  # type: ignore[attr-defined]

    for op, av in items:
        if op == c.BRANCH:
            return True
        if op == c.SUBPATTERN and _has_branch(av[-1]):
            return True
        if op in (c.MAX_REPEAT, c.MIN_REPEAT) and _has_branch(av[2]):
            return True
    return False


def _dangerous(items, *, inside_repeat: bool) -> bool:
    from re import _constants as c  # type: ignore[attr-defined]

    for op, av in items:
        if op in (c.GROUPREF, c.GROUPREF_EXISTS):
            return True
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
            low, high, sub = av
            unbounded = high == c.MAXREPEAT or high > 50
            if inside_repeat and (unbounded or low != high):  # a variable length, repeated
                return True
            if unbounded and _has_branch(sub):
                return True
            if _dangerous(sub, inside_repeat=inside_repeat or unbounded):
                return True
        elif op == c.SUBPATTERN:
            if _dangerous(av[-1], inside_repeat=inside_repeat):
                return True
        elif op == c.BRANCH:
            for branch in av[1]:
                if _dangerous(branch, inside_repeat=inside_repeat):
                    return True
        elif op in (c.ASSERT, c.ASSERT_NOT) and _dangerous(av[1], inside_repeat=inside_repeat):
            return True
    return False


# --- the base type ----------------------------------------------------------------------------


class FieldKind:
    name = ""
    label = ""
    textual = False  # its text goes into the record's search document
    sortable = True
    lookups: tuple[str, ...] = ("eq", "isnull")
    bounds = ""  # what minimum/maximum mean: "length", "number", "decimal", "date", "datetime"
    has_options = False
    has_regex = False

    # -- values ----------------------------------------------------------------------------

    def clean(self, value: Any, field: FieldSpec, *, workspace=None) -> Any:
        raise NotImplementedError

    def parse_text(self, raw: Any, field: FieldSpec, *, workspace=None) -> Any:
        """A CSV cell or form input: blank is None (no value), anything else is cleaned."""
        if raw is None:
            return None
        if isinstance(raw, str):
            raw = raw.strip()
            if not raw:
                return None
        return self.clean(
            self.from_text(raw, field, workspace=workspace), field, workspace=workspace
        )

    def from_text(self, raw: Any, field: FieldSpec, *, workspace=None) -> Any:
        return raw

    def format_text(self, value: Any, field: FieldSpec) -> str:
        return "" if value is None else str(value)

    def display(self, value: Any, field: FieldSpec) -> str:
        return self.format_text(value, field)

    def search_text(self, value: Any, field: FieldSpec) -> str:
        return self.display(value, field) if self.textual and value is not None else ""

    # -- forms -----------------------------------------------------------------------------

    def form_field(self, field: FieldSpec, *, workspace=None) -> forms.Field:
        return forms.CharField(
            label=field.label,
            required=False,
            help_text=field.help_text,
            widget=forms.TextInput(attrs=self.input_attrs(field)),
        )

    def input_attrs(self, field: FieldSpec) -> dict[str, Any]:
        return {"aria-required": "true"} if field.required else {}

    def form_initial(self, value: Any, field: FieldSpec) -> Any:
        return self.format_text(value, field)

    # -- the OpenAPI ----------------------------------------------------------------------------

    def json_schema(self, field: FieldSpec) -> dict[str, Any]:
        raise NotImplementedError

    def schema_for(self, field: FieldSpec) -> dict[str, Any]:
        schema = self.json_schema(field)
        schema = {"anyOf": [schema, {"type": "null"}], "title": field.label}
        if field.help_text:
            schema["description"] = field.help_text
        return schema

    # -- definitions ---------------------------------------------------------------------------

    def clean_bound(self, value: Any, name: str) -> Any:
        """A definition's ``minimum``/``maximum`` (``name`` is the field reported)."""
        if value in (None, ""):
            return None
        if not self.bounds:
            raise ValidationFailed.one(name, f"A {self.label.lower()} field has no {name}.")
        if self.bounds == "length":
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise ValidationFailed.one(name, "Use a whole number of characters.")
            try:
                number = int(value)
            except ValueError:
                raise ValidationFailed.one(name, "Use a whole number of characters.")
            if not 0 <= number <= self.max_length():
                raise ValidationFailed.one(name, f"Use 0 to {self.max_length()} characters.")
            return number
        if self.bounds == "number":
            number = _strict_int(value, name, lenient=True)
            return number
        if self.bounds == "decimal":
            return str(_decimal(value, name, lenient=True))
        if self.bounds == "date":
            return _date(value, name).isoformat()
        if self.bounds == "datetime":
            return _datetime(value, name).strftime(DATETIME_OUT)
        return value

    def max_length(self) -> int:
        return TEXT_MAX

    # -- filters and sorting -------------------------------------------------------------------

    def sort_expression(self, key: str, column: str = "custom") -> Expression:
        """The value as SQL, NULL when the record has none (filters and ``?sort=``).

        Wrapped so that comparisons are plain text ones, not the JSON key lookups."""
        return ExpressionWrapper(KeyTextTransform(key, column), output_field=TextField())

    def filter_value(self, raw: str, field: FieldSpec, *, workspace=None) -> Any:
        """A query parameter's value as the sort expression compares it."""
        value = self.parse_text(raw, field, workspace=workspace)
        if value is None:
            raise fail(field, "Give a value to filter by.")
        return value

    def cursor_value(self, value: Any) -> Any:
        """A sort value as a keyset cursor stores it (JSON)."""
        if isinstance(value, decimal.Decimal):
            return str(value)
        return value

    def from_cursor(self, value: Any) -> Any:
        """The cursor's value back, checked: a crafted cursor must not reach the database."""
        if not isinstance(value, str) or "\x00" in value:
            raise ValueError("not a text sort value")
        return value

    def filter_q(
        self, field: FieldSpec, op: str, raw: str, *, workspace=None, column: str = "custom"
    ) -> Q:
        key = field.key
        if op not in self.lookups:
            allowed = ", ".join(_op_names(self.lookups))
            raise fail(field, f"This field cannot be filtered that way; use {allowed}.")
        if op == "isnull":
            flag = _parse_bool(raw)
            if flag is None:
                raise fail(field, "Use true or false.")
            has = Q(**{f"{column}__has_key": key})
            return ~has if flag else has
        if op == "eq":
            return self.eq_q(field, self.filter_value(raw, field, workspace=workspace), column)
        if op == "in":
            values = [v for v in (part.strip() for part in raw.split(",")) if v]
            if not values or len(values) > 50:
                raise fail(field, "Give 1 to 50 values separated by commas.")
            q = Q()
            for value in values:
                q |= self.eq_q(field, self.filter_value(value, field, workspace=workspace), column)
            return q
        if op == "contains":
            value = clean_text(raw, field=param(field), max_length=200)
            if not value:
                raise fail(field, "Give some text to look for.")
            return Q(**{f"{column}__{key}__icontains": value})
        value = self.filter_value(raw, field, workspace=workspace)
        expr = self.sort_expression(key, column)
        lookup = {"gt": GreaterThan, "gte": GreaterThanOrEqual, "lt": LessThan}.get(
            op, LessThanOrEqual
        )
        return Q(lookup(expr, self.compare_value(value)))

    def compare_value(self, value: Any) -> Any:
        return value

    def eq_q(self, field: FieldSpec, value: Any, column: str) -> Q:
        if connection.vendor == "postgresql":
            # Containment uses the GIN index on the column.
            return Q(**{f"{column}__contains": {field.key: value}})
        return Q(**{f"{column}__{field.key}": value})


def _op_names(lookups: Iterable[str]) -> list[str]:
    return [("=" if op == "eq" else f"__{op}") for op in lookups]


def _parse_bool(raw: Any) -> bool | None:
    text = str(raw).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    return None


def _strict_int(value: Any, name: str, *, lenient: bool = False) -> int:
    if isinstance(value, bool):
        raise ValidationFailed.one(name, "Must be a whole number.")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if lenient and isinstance(value, str):
        text = value.strip().replace(" ", "").replace("_", "")
        if re.fullmatch(r"[+-]?\d{1,16}", text):
            value = int(text)
    if not isinstance(value, int):
        raise ValidationFailed.one(name, "Must be a whole number.")
    if not -SAFE_INT <= value <= SAFE_INT:
        raise ValidationFailed.one(name, "The number is too large.")
    return value


def _decimal(value: Any, name: str, *, lenient: bool = False) -> decimal.Decimal:
    if isinstance(value, bool | float):
        raise ValidationFailed.one(name, 'Send decimals as strings, e.g. "12.50".')
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        raise ValidationFailed.one(name, 'Must be a decimal string, e.g. "12.50".')
    text = value.strip()
    if lenient:
        text = text.replace(" ", "").replace("_", "")
    if len(text) > 40 or not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text):
        raise ValidationFailed.one(name, 'Must be a decimal number, e.g. "12.50".')
    number = decimal.Decimal(text)
    digits = number.as_tuple()
    exponent = digits.exponent if isinstance(digits.exponent, int) else 0
    if -exponent > DECIMAL_PLACES:
        raise ValidationFailed.one(name, f"Use at most {DECIMAL_PLACES} decimal places.")
    if number and number.adjusted() >= DECIMAL_DIGITS - DECIMAL_PLACES:
        raise ValidationFailed.one(name, "The number is too large.")
    return _plain(number)


def _plain(number: decimal.Decimal) -> decimal.Decimal:
    """Without trailing zeros or an exponent: one spelling per number (equality filters)."""
    normal = number.normalize()
    if normal == 0:
        return decimal.Decimal(0)
    if normal.as_tuple().exponent > 0:  # type: ignore[operator]
        normal = normal.quantize(decimal.Decimal(1))
    return normal


def _date(value: Any, name: str, *, lenient: bool = False) -> dt.date:
    if not isinstance(value, str):
        raise ValidationFailed.one(name, 'Must be a date string, e.g. "2024-12-31".')
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    if lenient:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ].*", text):
            try:
                return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
            except ValueError:
                pass
        for fmt in DATE_FORMATS:
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
    raise ValidationFailed.one(name, 'Not a date; use YYYY-MM-DD, e.g. "2024-12-31".')


def _datetime(value: Any, name: str, *, lenient: bool = False) -> dt.datetime:
    if not isinstance(value, str):
        raise ValidationFailed.one(name, 'Must be an ISO 8601 string, e.g. "2024-12-31T09:30:00Z".')
    text = value.strip()
    parsed: dt.datetime | None = None
    if len(text) <= 40 and re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*", text):
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
    if parsed is None and lenient:
        for fmt in ("%d.%m.%Y %H:%M", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M"):
            try:
                parsed = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if parsed is None:
            try:
                day = _date(text, name, lenient=True)
                parsed = dt.datetime.combine(day, dt.time.min)
            except ValidationFailed:
                parsed = None
    if parsed is None:
        raise ValidationFailed.one(
            name, 'Not a date and time; use ISO 8601, e.g. "2024-12-31T09:30:00Z".'
        )
    if parsed.tzinfo is None:
        # The API reads a naive time as UTC; a form or an import as the user's time zone.
        zone = timezone.get_current_timezone() if lenient else dt.UTC
        parsed = parsed.replace(tzinfo=zone)
    try:
        return parsed.astimezone(dt.UTC).replace(microsecond=0)
    except OverflowError:
        raise ValidationFailed.one(name, "Date out of range.")


def _check_range(field: FieldSpec, value: Any, convert=lambda v: v, unit: str = "") -> None:
    low, high = field.minimum, field.maximum
    if low not in (None, "") and value < convert(low):
        raise fail(field, f"Must be at least {low}{unit}.")
    if high not in (None, "") and value > convert(high):
        raise fail(field, f"Must be at most {high}{unit}.")


# --- text types -------------------------------------------------------------------------------


class TextKind(FieldKind):
    name = "text"
    label = "Text"
    textual = True
    lookups: tuple[str, ...] = ("eq", "contains", "in", "isnull")
    bounds = "length"
    has_regex = True
    multiline = False

    def max_length(self) -> int:
        return LONG_TEXT_MAX if self.multiline else TEXT_MAX

    def clean(self, value, field, *, workspace=None):
        if not isinstance(value, str):
            raise fail(field, "Must be text.")
        limit = self.max_length()
        if field.maximum not in (None, ""):
            limit = min(limit, int(field.maximum))
        if field.regex:
            limit = min(limit, REGEX_VALUE_MAX)
        if len(value) > LONG_TEXT_MAX * 2:  # refuse before any work on a huge value
            raise fail(field, f"Use at most {limit} characters.")
        text = clean_text(value, field=param(field), max_length=limit, multiline=self.multiline)
        if not text:
            return None
        if field.minimum not in (None, "") and len(text) < int(field.minimum):
            raise fail(field, f"Use at least {field.minimum} characters.")
        if field.regex and not re.fullmatch(field.regex, text):
            raise fail(field, f"Must match the pattern {field.regex}.")
        return text

    def json_schema(self, field):
        schema: dict[str, Any] = {"type": "string", "maxLength": self.max_length()}
        if field.maximum not in (None, ""):
            schema["maxLength"] = int(field.maximum)
        if field.minimum not in (None, ""):
            schema["minLength"] = int(field.minimum)
        if field.regex:
            schema["pattern"] = f"^(?:{field.regex})$"
        return schema

    def input_attrs(self, field):
        attrs = super().input_attrs(field)
        if field.maximum not in (None, ""):
            attrs["maxlength"] = int(field.maximum)
        return attrs

    def eq_q(self, field, value, column):
        return Q(**{f"{column}__{field.key}__iexact": value})


class LongTextKind(TextKind):
    name = "long_text"
    label = "Long text"
    multiline = True
    sortable = False
    lookups: tuple[str, ...] = ("contains", "isnull")
    has_regex = False

    def form_field(self, field, *, workspace=None):
        return forms.CharField(
            label=field.label,
            required=False,
            help_text=field.help_text,
            widget=forms.Textarea(attrs={"rows": 3, **self.input_attrs(field)}),
        )


class UrlKind(TextKind):
    name = "url"
    label = "URL"
    has_regex = False
    bounds = ""
    _validator = URLValidator(schemes=["http", "https"])

    def clean(self, value, field, *, workspace=None):
        if not isinstance(value, str):
            raise fail(field, "Must be a URL string.")
        text = clean_text(value, field=param(field), max_length=2000)
        if not text:
            return None
        if "://" not in text and re.match(r"^[\w.-]+\.[a-z]{2,}(/|$)", text, re.I):
            text = "https://" + text
        try:
            self._validator(text)
        except DjangoValidationError:
            raise fail(field, "Not a valid http(s) URL, e.g. https://example.com.")
        return text

    def json_schema(self, field):
        return {"type": "string", "format": "uri", "maxLength": 2000}

    def input_attrs(self, field):
        return {**super().input_attrs(field), "type": "url", "inputmode": "url"}


class EmailKind(TextKind):
    name = "email"
    label = "Email"
    has_regex = False
    bounds = ""

    def clean(self, value, field, *, workspace=None):
        if not isinstance(value, str):
            raise fail(field, "Must be an email address string.")
        return clean_email(value, field=param(field)) or None

    def json_schema(self, field):
        return {"type": "string", "format": "email", "maxLength": 254}

    def input_attrs(self, field):
        return {**super().input_attrs(field), "type": "email"}

    def eq_q(self, field, value, column):
        return FieldKind.eq_q(self, field, value, column)


class PhoneKind(TextKind):
    name = "phone"
    label = "Phone"
    has_regex = False
    bounds = ""
    lookups: tuple[str, ...] = ("eq", "in", "isnull")

    def clean(self, value, field, *, workspace=None):
        if not isinstance(value, str):
            raise fail(field, "Must be a phone number string.")
        region = getattr(workspace, "default_region", "") or "US"
        return clean_phone(value, field=param(field), region=region) or None

    def json_schema(self, field):
        return {"type": "string", "maxLength": 40, "description": "Any format; stored as E.164"}

    def input_attrs(self, field):
        return {**super().input_attrs(field), "type": "tel"}

    def eq_q(self, field, value, column):
        return FieldKind.eq_q(self, field, value, column)


# --- numbers ---------------------------------------------------------------------------------


class NumberKind(FieldKind):
    name = "number"
    label = "Number"
    lookups: tuple[str, ...] = ("eq", "in", "gt", "gte", "lt", "lte", "isnull")
    bounds = "number"

    def clean(self, value, field, *, workspace=None):
        number = _strict_int(value, param(field))
        _check_range(field, number, int)
        return number

    def from_text(self, raw, field, *, workspace=None):
        if isinstance(raw, str):
            text = raw.replace(",", "").replace(" ", "")
            if re.fullmatch(r"[+-]?\d+\.0*", text):
                text = text.split(".")[0]
            if re.fullmatch(r"[+-]?\d{1,16}", text):
                return int(text)
            raise fail(field, "Must be a whole number.")
        return raw

    def display(self, value, field):
        return f"{value:,}" if isinstance(value, int) else str(value)

    def json_schema(self, field):
        schema: dict[str, Any] = {"type": "integer", "minimum": -SAFE_INT, "maximum": SAFE_INT}
        if field.minimum not in (None, ""):
            schema["minimum"] = int(field.minimum)
        if field.maximum not in (None, ""):
            schema["maximum"] = int(field.maximum)
        return schema

    def input_attrs(self, field):
        return {**super().input_attrs(field), "inputmode": "numeric"}

    def sort_expression(self, key, column="custom"):
        return Cast(KeyTextTransform(key, column), BigIntegerField())

    def from_cursor(self, value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("not a whole number")
        return value


class DecimalKind(FieldKind):
    name = "decimal"
    label = "Decimal"
    lookups: tuple[str, ...] = ("eq", "in", "gt", "gte", "lt", "lte", "isnull")
    bounds = "decimal"

    def clean(self, value, field, *, workspace=None):
        number = _decimal(value, param(field))
        _check_range(field, number, decimal.Decimal)
        return str(number)

    def from_text(self, raw, field, *, workspace=None):
        if isinstance(raw, str):
            text = raw.replace(" ", "")
            if "," in text and "." not in text:
                text = text.replace(",", ".")  # 12,5 (a decimal comma)
            else:
                text = text.replace(",", "")  # 1,234.50
            return text
        if isinstance(raw, float):
            return repr(raw)
        return raw

    def display(self, value, field):
        try:
            number = decimal.Decimal(str(value))
        except decimal.InvalidOperation:
            return str(value)
        return f"{number:,f}"

    def json_schema(self, field):
        return {
            "type": "string",
            "pattern": r"^-?\d+(\.\d+)?$",
            "description": f"A decimal string, at most {DECIMAL_PLACES} decimal places",
            "examples": ["12.50"],
        }

    def input_attrs(self, field):
        return {**super().input_attrs(field), "inputmode": "decimal"}

    def sort_expression(self, key, column="custom"):
        return Cast(KeyTextTransform(key, column), DecimalField(max_digits=30, decimal_places=8))

    def compare_value(self, value):
        return decimal.Decimal(value)

    def cursor_value(self, value):
        return None if value is None else str(_plain(decimal.Decimal(value)))

    def from_cursor(self, value):
        if not isinstance(value, str):
            raise ValueError("not a decimal")
        return decimal.Decimal(str(_decimal(value, "cursor")))


class CurrencyKind(DecimalKind):
    """Money: ``{"amount": "12.50", "currency": "EUR"}``, amount a decimal string (never float)."""

    name = "currency"
    label = "Currency"
    lookups: tuple[str, ...] = ("gt", "gte", "lt", "lte", "isnull")

    def clean(self, value, field, *, workspace=None):
        name = param(field)
        if not isinstance(value, dict) or set(value) - {"amount", "currency"}:
            raise fail(field, 'Send {"amount": "12.50", "currency": "EUR"}.')
        amount = value.get("amount")
        if amount is None or amount == "":
            raise fail(field, "Give an amount.")
        if isinstance(amount, bool) or not isinstance(amount, str | int):
            raise fail(field, 'Send the amount as a string, e.g. "12.50".')
        default = getattr(workspace, "default_currency", "") or "USD"
        try:
            number = clean_amount(amount, field=name)
            code = clean_currency(value.get("currency") or default, field=name)
        except ValidationFailed as exc:  # one error per field: custom.<key>
            raise fail(field, exc.errors[0].message)
        if number is None:
            raise fail(field, "Give an amount.")
        _check_range(field, number, decimal.Decimal)
        return {"amount": f"{number:.2f}", "currency": code}

    def from_text(self, raw, field, *, workspace=None):
        if not isinstance(raw, str):
            return raw
        text = raw.strip()
        match = re.fullmatch(r"([A-Za-z]{3})?\s*([-+\d.,\s]+?)\s*([A-Za-z]{3})?", text)
        if not match or (match.group(1) and match.group(3)):
            raise fail(field, 'Write an amount and a currency, e.g. "12.50 EUR".')
        amount = DecimalKind.from_text(self, match.group(2), field)
        code = (match.group(1) or match.group(3) or "").upper()
        return {"amount": amount, "currency": code} if code else {"amount": amount}

    def format_text(self, value, field):
        if not isinstance(value, dict):
            return "" if value is None else str(value)
        return f"{value.get('amount', '')} {value.get('currency', '')}".strip()

    def display(self, value, field):
        if not isinstance(value, dict):
            return self.format_text(value, field)
        from rapport.ui.templatetags.ui_tags import money

        return money(value.get("amount"), value.get("currency", "")) or self.format_text(
            value, field
        )

    def json_schema(self, field):
        return {
            "type": "object",
            "properties": {
                "amount": {
                    "type": "string",
                    "pattern": r"^\d+(\.\d{1,2})?$",
                    "examples": ["12.50"],
                },
                "currency": {
                    "type": "string",
                    "description": "ISO 4217; the workspace's default when left out",
                },
            },
            "required": ["amount"],
            "additionalProperties": False,
        }

    def input_attrs(self, field):
        return {**FieldKind.input_attrs(self, field), "placeholder": "12.50 EUR"}

    def sort_expression(self, key, column="custom"):
        return Cast(
            KeyTextTransform("amount", KeyTransform(key, column)),
            DecimalField(max_digits=30, decimal_places=8),
        )

    def filter_value(self, raw, field, *, workspace=None):
        value = self.parse_text(raw, field, workspace=workspace)
        if value is None:
            raise fail(field, "Give an amount to filter by.")
        return value["amount"]


# --- dates ------------------------------------------------------------------------------------


class DateKind(FieldKind):
    name = "date"
    label = "Date"
    lookups: tuple[str, ...] = ("eq", "gt", "gte", "lt", "lte", "isnull")
    bounds = "date"

    def clean(self, value, field, *, workspace=None):
        day = _date(value, param(field))
        _check_range(field, day.isoformat())
        return day.isoformat()

    def from_text(self, raw, field, *, workspace=None):
        if isinstance(raw, dt.datetime):
            return raw.date().isoformat()
        if isinstance(raw, dt.date):
            return raw.isoformat()
        return _date(raw, param(field), lenient=True).isoformat()

    def display(self, value, field):
        try:
            from django.utils.formats import date_format

            return date_format(dt.date.fromisoformat(value), "DATE_FORMAT")
        except (TypeError, ValueError):
            return str(value or "")

    def json_schema(self, field):
        schema: dict[str, Any] = {"type": "string", "format": "date"}
        if field.minimum:
            schema["formatMinimum"] = field.minimum
        if field.maximum:
            schema["formatMaximum"] = field.maximum
        return schema

    def form_field(self, field, *, workspace=None):
        return forms.CharField(
            label=field.label,
            required=False,
            help_text=field.help_text,
            widget=forms.DateInput(attrs={"type": "date", **self.input_attrs(field)}),
        )

    def sort_expression(self, key, column="custom"):
        # Stored in one fixed ISO format: byte order is time order (C collation on PostgreSQL).
        expr = super().sort_expression(key, column)
        return Collate(expr, "C") if connection.vendor == "postgresql" else expr


class DateTimeKind(DateKind):
    name = "datetime"
    label = "Date and time"
    lookups: tuple[str, ...] = ("gt", "gte", "lt", "lte", "isnull")
    bounds = "datetime"

    def clean(self, value, field, *, workspace=None):
        moment = _datetime(value, param(field)).strftime(DATETIME_OUT)
        _check_range(field, moment)
        return moment

    def from_text(self, raw, field, *, workspace=None):
        if isinstance(raw, dt.datetime):
            raw = raw.isoformat()
        return _datetime(raw, param(field), lenient=True).strftime(DATETIME_OUT)

    def display(self, value, field):
        try:
            from django.utils.formats import date_format

            moment = dt.datetime.strptime(value, DATETIME_OUT).replace(tzinfo=dt.UTC)
            return date_format(timezone.localtime(moment), "DATETIME_FORMAT")
        except (TypeError, ValueError):
            return str(value or "")

    def form_initial(self, value, field):
        try:
            moment = dt.datetime.strptime(value, DATETIME_OUT).replace(tzinfo=dt.UTC)
        except (TypeError, ValueError):
            return ""
        return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")

    def json_schema(self, field):
        return {"type": "string", "format": "date-time", "description": "Stored in UTC"}

    def form_field(self, field, *, workspace=None):
        return forms.CharField(
            label=field.label,
            required=False,
            help_text=field.help_text,
            widget=forms.DateTimeInput(attrs={"type": "datetime-local", **self.input_attrs(field)}),
        )


# --- choices ----------------------------------------------------------------------------------


class BooleanKind(FieldKind):
    name = "boolean"
    label = "Yes / no"
    sortable = False

    def clean(self, value, field, *, workspace=None):
        if not isinstance(value, bool):
            raise fail(field, "Must be true or false.")
        return value

    def from_text(self, raw, field, *, workspace=None):
        if isinstance(raw, bool):
            return raw
        flag = _parse_bool(raw)
        if flag is None:
            raise fail(field, "Use yes or no (true/false).")
        return flag

    def format_text(self, value, field):
        if value is None:
            return ""
        return "yes" if value else "no"

    def display(self, value, field):
        return "" if value is None else ("Yes" if value else "No")

    def json_schema(self, field):
        return {"type": "boolean"}

    def form_field(self, field, *, workspace=None):
        return forms.CharField(
            label=field.label,
            required=False,
            help_text=field.help_text,
            widget=forms.Select(
                choices=[("", "—"), ("yes", "Yes"), ("no", "No")], attrs=self.input_attrs(field)
            ),
        )


def _options(field: FieldSpec) -> list[dict[str, str]]:
    return list(field.options or [])


def _option_value(field: FieldSpec, raw: Any) -> str:
    """An option's value from its value or (imports, forms) its label, any case."""
    text = str(raw).strip()
    for option in _options(field):
        if text == option["value"]:
            return option["value"]
    for option in _options(field):
        if text.lower() in (option["value"].lower(), str(option["label"]).strip().lower()):
            return option["value"]
    raise fail(field, f"“{text[:80]}” is not one of the options.")


class SelectKind(FieldKind):
    name = "select"
    label = "Single select"
    lookups: tuple[str, ...] = ("eq", "in", "isnull")
    has_options = True

    def clean(self, value, field, *, workspace=None):
        if not isinstance(value, str):
            raise fail(field, "Must be one of the options' values (a string).")
        allowed = [o["value"] for o in _options(field)]
        if value not in allowed:
            raise fail(field, f"Use one of: {', '.join(allowed[:30])}.")
        return value

    def from_text(self, raw, field, *, workspace=None):
        return _option_value(field, raw)

    def display(self, value, field):
        if value is None:
            return ""
        for option in _options(field):
            if option["value"] == value:
                return str(option["label"])
        return str(value)

    def json_schema(self, field):
        return {"type": "string", "enum": [o["value"] for o in _options(field)]}

    def form_field(self, field, *, workspace=None):
        choices = [("", "—")] + [(o["value"], o["label"]) for o in _options(field)]
        return forms.CharField(
            label=field.label,
            required=False,
            help_text=field.help_text,
            widget=forms.Select(choices=choices, attrs=self.input_attrs(field)),
        )


class MultiSelectKind(SelectKind):
    name = "multi_select"
    label = "Multi select"
    sortable = False
    lookups: tuple[str, ...] = ("eq", "in", "isnull")

    def clean(self, value, field, *, workspace=None):
        if not isinstance(value, list):
            raise fail(field, "Must be a list of the options' values.")
        allowed = [o["value"] for o in _options(field)]
        chosen = set()
        for item in value:
            if not isinstance(item, str) or item not in allowed:
                raise fail(field, f"Use values among: {', '.join(allowed[:30])}.")
            chosen.add(item)
        if field.required and not chosen:
            raise fail(field, "Pick at least one.")
        return [v for v in allowed if v in chosen] or None

    def from_text(self, raw, field, *, workspace=None):
        if isinstance(raw, list | tuple):
            parts = [str(p) for p in raw]
        else:
            parts = re.split(r"[;\n]", str(raw))
        return [_option_value(field, p) for p in parts if str(p).strip()]

    def filter_value(self, raw, field, *, workspace=None):
        return _option_value(field, raw)

    def format_text(self, value, field):
        return (
            "; ".join(value) if isinstance(value, list) else ("" if value is None else str(value))
        )

    def display(self, value, field):
        if not isinstance(value, list):
            return "" if value is None else str(value)
        return ", ".join(SelectKind.display(self, v, field) for v in value)

    def json_schema(self, field):
        return {
            "type": "array",
            "items": {"type": "string", "enum": [o["value"] for o in _options(field)]},
            "uniqueItems": True,
        }

    def form_field(self, field, *, workspace=None):
        return forms.MultipleChoiceField(
            label=field.label,
            required=False,
            help_text=field.help_text,
            choices=[(o["value"], o["label"]) for o in _options(field)],
            widget=forms.CheckboxSelectMultiple,
        )

    def form_initial(self, value, field):
        return list(value) if isinstance(value, list) else []

    def eq_q(self, field, value, column):
        if connection.vendor == "postgresql":
            return Q(**{f"{column}__contains": {field.key: [value]}})
        # The stored list is JSON text; option values are slugs, so '"value"' is exact.
        return Q(Contains(KeyTextTransform(field.key, column), f'"{value}"'))


class UserKind(FieldKind):
    """A member of the workspace, stored as their user id."""

    name = "user"
    label = "User"
    lookups: tuple[str, ...] = ("eq", "in", "isnull")

    def clean(self, value, field, *, workspace=None):
        from rapport.tenancy.models import Membership

        if not isinstance(value, str):
            raise fail(field, "Must be a user id (a string).")
        try:
            user_id = uuid.UUID(value)
        except ValueError:
            raise fail(field, "Not a valid user id.")
        if not Membership.objects.filter(workspace=workspace, user_id=user_id).exists():
            raise fail(field, "Must be a member of this workspace.")
        return str(user_id)

    def from_text(self, raw, field, *, workspace=None):
        from rapport.tenancy.models import Membership

        text = str(raw).strip()
        try:
            return str(uuid.UUID(text))
        except ValueError:
            pass
        membership = (
            Membership.objects.filter(workspace=workspace, user__email__iexact=text)
            .only("user_id")
            .first()
        )
        if membership is None:
            raise fail(field, f"No member of this workspace has the email {text[:100]}.")
        return str(membership.user_id)

    def json_schema(self, field):
        return {"type": "string", "format": "uuid", "description": "A member's user id"}

    def form_field(self, field, *, workspace=None):
        from rapport.tenancy.selectors import member_choices

        return forms.CharField(
            label=field.label,
            required=False,
            help_text=field.help_text,
            widget=forms.Select(
                choices=[("", "—"), *member_choices(workspace=workspace)],
                attrs=self.input_attrs(field),
            ),
        )


_REGISTRY: dict[str, FieldKind] = {}


def register(kind: FieldKind) -> FieldKind:
    _REGISTRY[kind.name] = kind
    return kind


for _kind in (
    TextKind(),
    LongTextKind(),
    NumberKind(),
    DecimalKind(),
    CurrencyKind(),
    DateKind(),
    DateTimeKind(),
    BooleanKind(),
    SelectKind(),
    MultiSelectKind(),
    UrlKind(),
    EmailKind(),
    PhoneKind(),
    UserKind(),
):
    register(_kind)


def get_type(name: str) -> FieldKind:
    return _REGISTRY[name]


get = get_type  # the registry as a mapping-like lookup


def all_types() -> list[FieldKind]:
    return list(_REGISTRY.values())


def type_names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def clean_options(value: Any, *, name: str = "options") -> list[dict[str, str]]:
    """A select's options: ``[{"value", "label"}]`` (or bare labels: the value is made from it)."""
    from django.utils.text import slugify

    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationFailed.one(name, 'Send a list of {"value": ..., "label": ...}.')
    if len(value) > OPTIONS_MAX:
        raise ValidationFailed.one(name, f"Use at most {OPTIONS_MAX} options.")
    options: list[dict[str, str]] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        where = f"{name}.{index}"
        if isinstance(item, str):
            item = {"label": item}
        if not isinstance(item, dict) or set(item) - {"value", "label"}:
            raise ValidationFailed.one(where, 'Send {"value": ..., "label": ...}.')
        label = clean_text(item.get("label") or item.get("value"), field=where, max_length=100)
        if not label:
            raise ValidationFailed.one(where, "Give the option a label.")
        raw_value = item.get("value")
        if raw_value in (None, ""):
            raw_value = slugify(label)[:64].strip("-_") or f"option-{index + 1}"
        if not isinstance(raw_value, str) or not OPTION_VALUE.match(raw_value):
            raise ValidationFailed.one(
                where, "An option's value uses a-z, 0-9, - and _ (at most 64 characters)."
            )
        if raw_value in seen:
            raise ValidationFailed.one(where, f"The value “{raw_value}” is used twice.")
        seen.add(raw_value)
        options.append({"value": raw_value, "label": label})
    return options
