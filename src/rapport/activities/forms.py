"""The quick-add box and the edit form of an interaction.

Like every form of the UI they only turn the POST into the API-shaped ``data`` the service
takes (``services.activity_create`` / ``activity_update``); the service judges it, and its
field errors (``data.duration_s``, ``follow_up.due_in_days``) are put back on the inputs.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms

from rapport.contacts.forms import ServiceForm, choice, text

from .kinds import CALL_OUTCOMES
from .models import Activity, ActivityType, Direction

# The order of the quick-add box's tabs: the everyday kinds first.
TYPE_TABS = ("note", "call", "email", "meeting", "sms", "chat", "social", "visit")
# Which inputs each kind shows (besides subject and body): the others are not sent.
FIELDS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "note": (),
    "call": ("when", "direction", "duration", "outcome", "phone"),
    "email": ("when", "direction", "email_from", "email_to", "email_cc"),
    "meeting": ("when", "ends", "location", "url", "attendees"),
    "chat": ("when", "direction", "handle"),
    "social": ("when", "direction", "network", "handle", "url"),
    "sms": ("when", "direction", "phone"),
    "visit": ("when", "ends", "location"),
}
# Form input → key of the interaction's ``data`` (for errors and for edits).
DATA_FIELDS = {
    "duration": "duration_s",
    "outcome": "outcome",
    "phone": "phone",
    "email_from": "from",
    "email_to": "to",
    "email_cc": "cc",
    "ends": "ends_at",
    "location": "location",
    "url": "url",
    "attendees": "attendees",
    "handle": "handle",
    "network": "network",
}
# The order the type-specific inputs are laid out in.
KIND_FIELD_ORDER = (
    "when", "ends", "direction", "duration", "outcome", "phone", "email_from", "email_to",
    "email_cc", "location", "url", "attendees", "network", "handle",
)  # fmt: skip
_STARTS = {"meeting", "visit"}  # kinds whose "When" is data.starts_at
_DURATION = re.compile(r"^\s*(\d{1,4})(?::([0-5]?\d))?\s*$")


def _datetime(label: str) -> forms.DateTimeField:
    # A local date and time typed in the user's time zone (the view runs in it).
    return forms.DateTimeField(
        label=label,
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class ActivityForm(ServiceForm):
    """Log an interaction (``target`` given: the record page it is logged from) or edit one
    (``instance`` given: its type stays, only the inputs the user changed are sent)."""

    type = forms.ChoiceField(
        choices=[(t, ActivityType(t).label) for t in TYPE_TABS],
        initial="note",
        widget=forms.RadioSelect,
    )
    subject = text("Subject", max_length=300)
    body = forms.CharField(
        label="Notes",
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "What happened? Markdown and @mentions work."}
        ),
    )
    when = _datetime("When")
    ends = _datetime("Ends")
    direction = choice("Direction", [("", "—"), *Direction.choices])
    duration = text(
        "Duration (minutes)", max_length=8, inputmode="numeric", placeholder="12 or 12:30"
    )
    outcome = choice("Outcome", [("", "—"), *CALL_OUTCOMES])
    phone = text("Phone", max_length=40, type="tel")
    email_from = text("From", max_length=254, type="email")
    email_to = text("To", max_length=2000, placeholder="Separate addresses with commas")
    email_cc = text("Cc", max_length=2000)
    location = text("Location", max_length=300)
    url = text("Link", max_length=2000, type="url", placeholder="https://")
    attendees = text("Attendees", max_length=4000, placeholder="Emails, separated by commas")
    network = text("Network", max_length=50, placeholder="LinkedIn, X, Mastodon…")
    handle = text("Handle", max_length=200)
    follow_up_days = forms.CharField(
        label="Follow up in (days)",
        required=False,
        widget=forms.NumberInput(attrs={"min": 0, "max": 3650, "placeholder": "—"}),
    )
    follow_up_title = text("Follow-up task", max_length=300, placeholder="Follow up: …")
    version = forms.CharField(required=False, widget=forms.HiddenInput)

    error_fields = {
        "occurred_at": "when",
        "data.starts_at": "when",
        "follow_up.due_in_days": "follow_up_days",
        "follow_up.title": "follow_up_title",
        "follow_up.assignee": "follow_up_days",
        "follow_up": "follow_up_days",
        **{f"data.{key}": name for name, key in DATA_FIELDS.items()},
    }

    def __init__(self, *args, instance: Activity | None = None, **kwargs):
        self.instance = instance
        if instance is not None:
            kwargs.setdefault("initial", self.initial_for(instance))
            kwargs["partial"] = True
        super().__init__(*args, **kwargs)
        if instance is not None:
            # An interaction keeps its kind; the follow-up belongs to new ones.
            self.fields["type"].required = False
            for name in ("type", "follow_up_days", "follow_up_title"):
                del self.fields[name]

    @property
    def kind(self) -> str:
        if self.instance is not None:
            return self.instance.type
        value = (self.data.get("type") if self.is_bound else None) or self.initial.get("type")
        return value if value in FIELDS_BY_TYPE else "note"

    @property
    def kind_fields(self) -> list[tuple[Any, str]]:
        """The type-specific inputs, each with the CSS classes of the kinds that show it
        (``for-call for-sms``); an edit form shows only its own kind's."""
        out = []
        for name in KIND_FIELD_ORDER:
            kinds = [k for k, names in FIELDS_BY_TYPE.items() if name in names]
            if self.instance is not None and self.instance.type not in kinds:
                continue
            out.append((self[name], " ".join(f"for-{k}" for k in kinds)))
        return out

    def form_field_for(self, service_field: str) -> str | None:
        # data.attendees.2.email → attendees; data.to.0 → email_to
        parts = service_field.split(".")
        for depth in (3, 2):
            name = self.error_fields.get(".".join(parts[:depth]))
            if name is not None and name in self.fields:
                return name
        return super().form_field_for(service_field)

    @classmethod
    def initial_for(cls, obj: Activity) -> dict[str, Any]:
        data = obj.data or {}
        initial: dict[str, Any] = {
            "type": obj.type,
            "subject": obj.subject,
            "body": obj.body,
            "direction": obj.direction,
            "version": obj.version,
            "when": _minute(obj.occurred_at),
        }
        if obj.type in _STARTS and data.get("starts_at"):
            initial["when"] = _minute(_parse_iso(data["starts_at"]))
        for name, key in DATA_FIELDS.items():
            value: Any = data.get(key)
            if value in (None, ""):
                continue
            if key == "duration_s":
                minutes, seconds = divmod(int(value), 60)
                value = f"{minutes}:{seconds:02d}" if seconds else str(minutes)
            elif key == "ends_at":
                value = _minute(_parse_iso(value))
            elif key in ("to", "cc"):
                value = ", ".join(value)
            elif key == "attendees":
                value = ", ".join(a.get("email") or a.get("name", "") for a in value)
            initial[name] = value
        return initial

    def clean_duration(self) -> int | None:
        value = self.cleaned_data.get("duration", "")
        if not value.strip():
            return None
        match = _DURATION.match(value)
        if not match:
            raise forms.ValidationError("Give minutes (12) or minutes:seconds (12:30).")
        return int(match[1]) * 60 + int(match[2] or 0)

    def to_data(self) -> dict[str, Any]:
        cd = self.cleaned_data
        kind = self.kind
        wanted = FIELDS_BY_TYPE[kind]
        out: dict[str, Any] = {}
        if self.instance is None:
            out["type"] = kind
        out.update(self.pick(cd, "subject", "body"))
        if "direction" in wanted and self.changed("direction"):
            out["direction"] = cd["direction"]
        data: dict[str, Any] = {}
        for name in wanted:
            if name in DATA_FIELDS and self.changed(name):
                value = cd.get(name)
                if name == "attendees":
                    value = [v.strip() for v in (value or "").split(",") if v.strip()]
                data[DATA_FIELDS[name]] = value
        if "when" in wanted and self.changed("when") and cd.get("when"):
            if kind in _STARTS:
                data["starts_at"] = cd["when"]
            else:
                out["occurred_at"] = cd["when"]
        if self.instance is None:
            if data:
                out["data"] = data
            days = (cd.get("follow_up_days") or "").strip()
            if days:
                out["follow_up"] = {"due_in_days": days, "title": cd.get("follow_up_title", "")}
        elif data:
            # ``data`` replaces the whole object: keep what the form does not show (an
            # email's message id, a meeting attendee's name) and change only what was edited.
            kept = {k: v for k, v in (self.instance.data or {}).items() if k != "mentions"}
            if "starts_at" in data and self.instance.type in _STARTS:
                out["occurred_at"] = data["starts_at"]  # the meeting moved: so does its time
            if "attendees" in data:
                by_email = {a.get("email"): a for a in kept.get("attendees", [])}
                data["attendees"] = [by_email.get(e, {"email": e}) for e in data["attendees"]]
            out["data"] = {**kept, **data}
        return out


def _parse_iso(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def _minute(value: dt.datetime | None) -> dt.datetime | None:
    """The input shows minutes: an untouched time must compare equal to what it shows."""
    return value.replace(second=0, microsecond=0) if value else None
