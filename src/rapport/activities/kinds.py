"""The type-specific ``data`` of each kind of interaction, validated field by field.

Each kind lists the keys it accepts; an unknown key is an error (a typo must not be dropped
silently). Errors name their path (``data.duration_s``) like every other field error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rapport.core.errors import ErrorCollector, FieldError, ValidationFailed
from rapport.core.validation import (
    clean_choice,
    clean_datetime,
    clean_email,
    clean_int,
    clean_phone,
    clean_text,
)

from .content import clean_email_html

MAX_RECIPIENTS = 200
CALL_OUTCOMES = [
    (v, v.replace("_", " ").capitalize())
    for v in ("connected", "no_answer", "busy", "left_voicemail", "wrong_number", "failed")
]


def _url(value: Any, *, field: str) -> str:
    text = clean_text(value, field=field, max_length=2000)
    if text and not text.lower().startswith(("https://", "http://")):
        raise ValidationFailed.one(field, "Use an http(s) address.")
    return text


def _emails(value: Any, *, field: str) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [v for v in value.replace(";", ",").split(",") if v.strip()]
    if not isinstance(value, list):
        raise ValidationFailed.one(field, "Send a list of email addresses.")
    if len(value) > MAX_RECIPIENTS:
        raise ValidationFailed.one(field, f"At most {MAX_RECIPIENTS} addresses.")
    c = ErrorCollector()
    for i, item in enumerate(value):
        c.take(str(i), clean_email, item, field=f"{field}.{i}")
    c.raise_if_any()
    return [c.values[str(i)] for i in range(len(value)) if c.values[str(i)]]


def _attendees(value: Any, *, field: str) -> list[dict[str, str]]:
    """``[{"email", "name", "user"}]``: people outside the company by email, members by
    ``user`` id (checked by the service, which knows the workspace)."""
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise ValidationFailed.one(field, 'Send a list of {"email", "name"}.')
    if len(value) > MAX_RECIPIENTS:
        raise ValidationFailed.one(field, f"At most {MAX_RECIPIENTS} attendees.")
    out, errors = [], []
    for i, item in enumerate(value):
        if isinstance(item, str):
            item = {"email": item}
        if not isinstance(item, Mapping) or set(item) - {"email", "name", "user"}:
            errors.append(FieldError(f"{field}.{i}", 'Send {"email", "name", "user"}.'))
            continue
        c = ErrorCollector()
        c.take("email", clean_email, item.get("email"), field=f"{field}.{i}.email")
        c.take("name", clean_text, item.get("name"), field=f"{field}.{i}.name", max_length=200)
        c.take("user", clean_text, item.get("user"), field=f"{field}.{i}.user", max_length=36)
        errors.extend(c.errors)
        if not c.errors:
            if not (c.values["email"] or c.values["user"]):
                errors.append(FieldError(f"{field}.{i}", "Give an email or a member's id."))
                continue
            out.append({k: v for k, v in c.values.items() if v})
    if errors:
        raise ValidationFailed("; ".join(f"{e.field}: {e.message}" for e in errors), errors)
    return out


def _text(limit: int) -> Callable[..., str]:
    return lambda value, *, field: clean_text(value, field=field, max_length=limit)


def _seconds(value: Any, *, field: str) -> int | None:
    if value in (None, ""):
        return None
    return clean_int(value, field=field, maximum=7 * 24 * 3600)


def _iso(value: Any, *, field: str) -> str | None:
    moment = clean_datetime(value, field=field)
    return moment.isoformat() if moment else None


def _phone_for(region: str) -> Callable[..., str]:
    return lambda value, *, field: clean_phone(value, field=field, region=region)


def _outcome(value: Any, *, field: str) -> str:
    return clean_choice(value, field=field, choices=CALL_OUTCOMES) if value else ""


def _html(value: Any, *, field: str) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        raise ValidationFailed.one(field, "Must be text.")
    if len(value) > 2_000_000:
        raise ValidationFailed.one(field, "At most 2 MB of HTML.")
    return clean_email_html(value)


def fields_of(kind: str, region: str) -> dict[str, Callable[..., Any]]:
    phone = _phone_for(region)
    common = {"url": _url}
    by_kind: dict[str, dict[str, Callable[..., Any]]] = {
        "note": {},
        "call": {
            "duration_s": _seconds,
            "outcome": _outcome,
            "phone": phone,
            "recording_url": _url,
        },
        "email": {
            "from": lambda v, *, field: clean_email(v, field=field),
            "to": _emails,
            "cc": _emails,
            "bcc": _emails,
            "message_id": _text(998),
            "thread": _text(998),
            "in_reply_to": _text(998),
            "html": _html,
        },
        "meeting": {
            "starts_at": _iso,
            "ends_at": _iso,
            "attendees": _attendees,
            "location": _text(300),
        },
        "chat": {"handle": _text(200), "conversation": _text(255)},
        "social": {"network": _text(50), "handle": _text(200)},
        "sms": {"phone": phone},
        "visit": {"starts_at": _iso, "ends_at": _iso, "location": _text(300)},
    }
    return {**common, **by_kind[kind]}


def clean_data(kind: str, value: Any, *, region: str) -> dict[str, Any]:
    """The ``data`` of an interaction of ``kind``, cleaned; empty values are left out."""
    if value in (None, ""):
        value = {}
    if not isinstance(value, Mapping):
        raise ValidationFailed.one("data", "Must be an object.")
    allowed = fields_of(kind, region)
    c = ErrorCollector()
    for key in value:
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            c.errors.append(FieldError(f"data.{key}", f"Not a field of a {kind}; use: {known}."))
    for key, cleaner in allowed.items():
        if key in value:
            c.take(key, cleaner, value[key], field=f"data.{key}")
    c.raise_if_any()
    data = {k: v for k, v in c.values.items() if v not in (None, "", [])}
    starts, ends = data.get("starts_at"), data.get("ends_at")
    if starts and ends and ends < starts:
        raise ValidationFailed.one("data.ends_at", "The end comes before the start.")
    return data
