"""Display helpers of the timeline: ``{% load activity_tags %}``. None reads the database."""

from __future__ import annotations

import datetime as dt
import re

from django import template

from ..content import plain_preview
from ..kinds import CALL_OUTCOMES

register = template.Library()

# One glyph per kind (from fonts every system has), beside the kind's name.
ICONS = {
    "note": "✎",
    "call": "☎",
    "email": "✉",
    "meeting": "◷",
    "chat": "❝",
    "social": "#",
    "sms": "✆",
    "visit": "⌂",
    "task": "✓",
    "change": "↻",
}
OUTCOMES = dict(CALL_OUTCOMES)


@register.filter
def kind_icon(kind: str) -> str:
    return ICONS.get(kind, "•")


@register.filter
def duration(seconds) -> str:
    """``750`` → ``12 min 30 s``."""
    try:
        total = int(seconds)
    except (TypeError, ValueError):
        return ""
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    if minutes:
        parts.append(f"{minutes} min")
    if secs or not parts:
        parts.append(f"{secs} s")
    return " ".join(parts)


@register.filter
def outcome(value: str) -> str:
    return OUTCOMES.get(value, value)


@register.filter
def moment(value) -> dt.datetime | None:
    """An ISO date-time kept in ``data`` (a meeting's start) as a datetime for ``{% when %}``."""
    if isinstance(value, dt.datetime):
        return value
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None


@register.filter
def attendee(value) -> str:
    if isinstance(value, dict):
        name, email = value.get("name", ""), value.get("email", "")
        return f"{name} <{email}>" if name and email else name or email or "a member"
    return str(value)


EMPHASIS = re.compile(r"\*\*|__|`")


@register.filter
def preview(text: str, limit: int = 80) -> str:
    """A note's first words on one line, without Markdown's emphasis marks."""
    return plain_preview(EMPHASIS.sub("", text or ""), int(limit))
