"""Field cleaners shared by every write path. Each returns the stored form or raises
``ValidationFailed`` naming the field, so API, UI and imports report the same message.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import re
import uuid
from typing import Any

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import DOT_ATOM_TEXT
from moneyed import get_currency

from .context import memo
from .errors import ValidationFailed

# C0 controls other than tab/newline would corrupt exports and terminals.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_COUNTRIES = frozenset(c.alpha_2 for c in pycountry.countries)
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def clean_text(
    value: Any, *, field: str, max_length: int, required: bool = False, multiline: bool = False
) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed.one(field, "Must be text.")
    value = value.strip()
    if not multiline:
        value = " ".join(value.split())
    if _CONTROL.search(value):
        raise ValidationFailed.one(field, "Contains control characters.")
    if required and not value:
        raise ValidationFailed.one(field, "This field is required.")
    if len(value) > max_length:
        raise ValidationFailed.one(field, f"Use at most {max_length} characters.")
    return value


def reject_control_characters(value: Any) -> Any:
    """A Pydantic after-validator for query parameters: NUL and other C0 controls never reach
    a query (PostgreSQL refuses NUL in text and would answer 500)."""
    if isinstance(value, str) and _CONTROL.search(value):
        raise ValueError("Contains control characters.")
    return value


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A Pydantic after-validator for datetime query parameters: the instant in UTC (a naive
    value is read as UTC). PostgreSQL refuses offsets beyond ±15:59 that Python accepts, so an
    exotic offset must not reach a query as is."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("Date out of range.")


def clean_email(value: Any, *, field: str = "email") -> str:
    value = clean_text(value, field=field, max_length=254)
    if not value:
        return ""
    # An import checks a row's email twice (to match the record, then to clean the row):
    # inside a batch the answer is remembered.
    outcome = memo(("email", value), lambda: _validated_email(value))
    if isinstance(outcome, EmailNotValidError):
        raise ValidationFailed.one(field, f"Not a valid email address: {outcome}")
    return outcome


def _validated_email(value: str) -> str | EmailNotValidError:
    # Most of email-validator's time goes to the domain (IDNA, special-use names). A plain
    # ASCII local part passes its checks unchanged, so only the domain is asked, once per
    # process; anything else (quoted, Unicode, too long, a refused domain) takes the full
    # path and its exact message.
    local, _at, domain = value.rpartition("@")
    if len(local) <= 64 and DOT_ATOM_TEXT.match(local):
        checked = _checked_domain(domain)
        if checked is not None:
            normalized = f"{local}@{checked[0]}"
            if (
                max(len(value.encode()), len(normalized.encode()), len(local) + 1 + len(checked[1]))
                <= 254
            ):
                return normalized.lower()
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        return exc


@functools.lru_cache(maxsize=4096)
def _checked_domain(domain: str) -> tuple[str, str] | None:
    """(normalized, ASCII) form of an email domain, or None when email-validator refuses it."""
    try:
        checked = validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.domain, checked.ascii_domain


def clean_phone(value: Any, *, field: str = "phone", region: str = "US") -> str:
    value = clean_text(value, field=field, max_length=40)
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, region or None)
    except phonenumbers.NumberParseException:
        raise ValidationFailed.one(field, "Not a phone number.")
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed.one(
            field, "Not a valid phone number; include the country code, e.g. +44 20 7946 0958."
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def clean_country(value: Any, *, field: str = "address.country") -> str:
    value = clean_text(value, field=field, max_length=2).upper()
    if value and value not in _COUNTRIES:
        raise ValidationFailed.one(field, "Use an ISO 3166-1 alpha-2 country code, e.g. DE.")
    return value


def clean_currency(value: Any, *, field: str) -> str:
    value = clean_text(value, field=field, max_length=3).upper()
    try:
        if len(value) != 3:
            raise ValueError
        get_currency(value)
    except Exception:
        raise ValidationFailed.one(field, "Use an ISO 4217 currency code, e.g. EUR.")
    return value


def clean_amount(value: Any, *, field: str, max_digits: int = 18, places: int = 2):
    if value is None or value == "":
        return None
    if isinstance(value, float | bool):
        raise ValidationFailed.one(field, 'Send amounts as decimal strings, e.g. "1234.50".')
    try:
        amount = decimal.Decimal(str(value).strip())
    except (decimal.InvalidOperation, ValueError):
        raise ValidationFailed.one(field, "Not a decimal number.")
    if not amount.is_finite():
        raise ValidationFailed.one(field, "Not a decimal number.")
    if amount < 0:
        raise ValidationFailed.one(field, "Must not be negative.")
    # Refuse before quantize(): a huge value (1e30) overflows the context and raises there.
    if amount and amount.adjusted() >= max_digits - places:
        raise ValidationFailed.one(field, "The amount is too large.")
    try:
        quantized = amount.quantize(decimal.Decimal(1).scaleb(-places))
    except decimal.InvalidOperation:
        raise ValidationFailed.one(field, "The amount is too large.")
    if quantized != amount:
        raise ValidationFailed.one(field, f"Use at most {places} decimal places.")
    if len(quantized.as_tuple().digits) > max_digits:
        raise ValidationFailed.one(field, "The amount is too large.")
    return quantized


def clean_domain(value: Any, *, field: str = "domain") -> str:
    """A bare host name: scheme, www., port, path and case are stripped."""
    value = clean_text(value, field=field, max_length=300).lower()
    if not value:
        return ""
    value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value)
    value = value.split("/")[0].split("?")[0].split("#")[0].split("@")[-1].split(":")[0]
    value = value.rstrip(".")
    if value.startswith("www."):
        value = value[4:]
    try:
        ascii_host = value.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationFailed.one(field, "Not a valid domain name.")
    labels = ascii_host.split(".")
    if (
        len(labels) < 2
        or len(ascii_host) > 253
        or not all(_DOMAIN_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ValidationFailed.one(field, "Not a valid domain name, e.g. example.com.")
    return value


def clean_int(value: Any, *, field: str, minimum: int = 0, maximum: int = 2**31 - 1):
    if value is None or value == "":
        return None
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValidationFailed.one(field, "Must be a whole number.")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationFailed.one(field, "Must be a whole number.")
    if not minimum <= number <= maximum:
        raise ValidationFailed.one(field, f"Must be between {minimum} and {maximum}.")
    return number


def clean_tags(value: Any, *, field: str = "tags") -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [t for t in value.split(",")]
    if not isinstance(value, list | tuple):
        raise ValidationFailed.one(field, "Must be a list of tag names.")
    names: dict[str, str] = {}
    for item in value:
        name = clean_text(item, field=field, max_length=50)
        if name:
            names.setdefault(name.lower(), name)
    if len(names) > 100:
        raise ValidationFailed.one(field, "Use at most 100 tags.")
    return list(names.values())


def clean_choice(value: Any, *, field: str, choices, default: str = "") -> str:
    value = clean_text(value, field=field, max_length=64) or default
    allowed = [c[0] for c in choices]
    if value not in allowed:
        raise ValidationFailed.one(field, f"Use one of: {', '.join(allowed)}.")
    return value


_EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
_LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)


def clean_datetime(value: Any, *, field: str, required: bool = False) -> dt.datetime | None:
    """An instant from a datetime or an ISO 8601 string, stored in UTC (a value without an
    offset is read as UTC); None when empty and not required."""
    if value in (None, ""):
        if required:
            raise ValidationFailed.one(field, "This field is required.")
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValidationFailed.one(field, "Use an ISO 8601 date and time.")
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, dt.datetime):
        raise ValidationFailed.one(field, "Use an ISO 8601 date and time.")
    try:
        moment = as_utc(value)
    except ValueError:
        raise ValidationFailed.one(field, "Date out of range.")
    assert moment is not None
    if not _EARLIEST <= moment < _LATEST:
        raise ValidationFailed.one(field, "Use a date between 1900 and 2199.")
    return moment


def clean_date(value: Any, *, field: str, required: bool = False) -> dt.date | None:
    """A calendar day from a date or an ISO 8601 string (YYYY-MM-DD); None when empty."""
    if value in (None, ""):
        if required:
            raise ValidationFailed.one(field, "This field is required.")
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    elif isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValidationFailed.one(field, "Use an ISO 8601 date (YYYY-MM-DD).")
    if not isinstance(value, dt.date):
        raise ValidationFailed.one(field, "Use an ISO 8601 date (YYYY-MM-DD).")
    if not _EARLIEST.date() <= value < _LATEST.date():
        raise ValidationFailed.one(field, "Use a date between 1900 and 2199.")
    return value


def clean_uuid(value: Any, field: str = "id") -> uuid.UUID:
    """An id sent as a UUID or its string; anything else is "Not a valid id." on ``field``."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed.one(field, "Not a valid id.")


def uuid_or_none(value: Any) -> uuid.UUID | None:
    """An id from a query string or a form (``?stage=``), or None when it is missing or is
    not an id: for inputs where nonsense simply means "not given"."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def clean_member(workspace, value: Any, field: str = "owner") -> uuid.UUID | None:
    """The id of a member of ``workspace`` (an owner, an assignee), or None when empty.
    Remembered per batch (``core.context.memo``), so an import asks once per member."""
    if value in (None, ""):
        return None
    from rapport.tenancy.models import Membership

    from .context import memo

    user_id = clean_uuid(value, field)
    is_member = memo(
        ("member", workspace.pk, user_id),
        lambda: Membership.objects.filter(workspace=workspace, user_id=user_id).exists(),
    )
    if not is_member:
        raise ValidationFailed.one(field, "Must be a member of this workspace.")
    return user_id
