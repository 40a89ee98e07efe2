"""The task form: what a person picks (a date and a time in their own zone, "repeat weekly on
Monday and Thursday", "remind me 1 hour before") turned into the API-shaped ``data`` that
``services.task_create`` / ``task_update`` take (UTC ``due_at``, an RRULE, ``remind_at``).

Like the contacts forms it does not judge the input: the service does, and its field errors are
put back on the inputs. It only refuses what cannot be turned into data at all (a time
without a date, a custom reminder without its date).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django import forms

from rapport.contacts.forms import ServiceForm, choice, owner_choices, text

from .models import Priority, Task

# A task given a date but no time is due at this local time: reminders "at due time" then
# arrive at the start of a working day rather than at midnight.
DEFAULT_TIME = dt.time(9, 0)

WEEKDAYS = [
    ("MO", "Mon"),
    ("TU", "Tue"),
    ("WE", "Wed"),
    ("TH", "Thu"),
    ("FR", "Fri"),
    ("SA", "Sat"),
    ("SU", "Sun"),
]
WEEKDAY_CODES = [code for code, _ in WEEKDAYS]

REPEAT_CHOICES = [
    ("", "Does not repeat"),
    ("daily", "Every day"),
    ("weekly", "Every week on…"),
    ("monthly", "Every month on the due date's day"),
]
KEEP_RULE = "keep"  # a rule made through the API that the chooser cannot show: kept as it is

# Reminder offsets before the due time.
REMINDER_OFFSETS = {
    "at": dt.timedelta(0),
    "15m": dt.timedelta(minutes=15),
    "1h": dt.timedelta(hours=1),
    "1d": dt.timedelta(days=1),
}
REMINDER_CHOICES = [
    ("", "No reminder"),
    ("at", "At the due time"),
    ("15m", "15 minutes before"),
    ("1h", "1 hour before"),
    ("1d", "1 day before"),
    ("custom", "At a time I choose…"),
]


def user_zone(user) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(getattr(user, "time_zone", "") or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def local_moment(day: dt.date, time: dt.time | None, zone: dt.tzinfo) -> dt.datetime:
    """``day`` at ``time`` on the wall clocks of ``zone``, in UTC."""
    return dt.datetime.combine(day, time or DEFAULT_TIME, tzinfo=zone).astimezone(dt.UTC)


def parse_rrule(rule: str) -> tuple[str, list[str]]:
    """What the chooser shows for a stored rule: (repeat choice, weekdays), or KEEP_RULE."""
    if not rule:
        return "", []
    parts = dict(p.split("=", 1) for p in rule.upper().split(";") if "=" in p)
    freq = parts.pop("FREQ", "")
    if freq == "DAILY" and not parts:
        return "daily", []
    if freq == "WEEKLY" and set(parts) <= {"BYDAY"}:
        days = [d for d in parts.get("BYDAY", "").split(",") if d]
        if all(d in WEEKDAY_CODES for d in days):
            return "weekly", days
    if freq == "MONTHLY" and set(parts) <= {"BYMONTHDAY"}:
        return "monthly", []
    return KEEP_RULE, []


def build_rrule(repeat: str, weekdays: list[str], due_local: dt.datetime | None) -> str:
    """The RRULE of a chooser setting. Weekdays and the month day are the user's local ones."""
    if repeat == "daily":
        return "FREQ=DAILY"
    if repeat == "weekly":
        days = [d for d in WEEKDAY_CODES if d in weekdays]
        if not days and due_local is not None:
            days = [WEEKDAY_CODES[due_local.weekday()]]
        return "FREQ=WEEKLY;BYDAY=" + ",".join(days) if days else "FREQ=WEEKLY"
    if repeat == "monthly":
        return f"FREQ=MONTHLY;BYMONTHDAY={due_local.day}" if due_local else "FREQ=MONTHLY"
    return ""


class TaskForm(ServiceForm):
    title = text("Title", max_length=300, placeholder="e.g. Call back about the renewal")
    description = forms.CharField(
        label="Description", required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    due_date = forms.DateField(
        label="Due date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    due_time = forms.TimeField(
        label="Time",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="Leave empty for 9:00.",
    )
    priority = choice("Priority", Priority.choices)
    assignee = choice("Assignee", [])
    repeat = choice("Repeat", REPEAT_CHOICES, **{"data-task-repeat": ""})
    weekdays = forms.MultipleChoiceField(
        label="On",
        required=False,
        choices=WEEKDAYS,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "weekday"}),
    )
    reminder = choice("Reminder", REMINDER_CHOICES, **{"data-task-reminder": ""})
    remind_date = forms.DateField(
        label="Remind on", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    remind_time = forms.TimeField(
        label="at",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    targets = forms.MultipleChoiceField(
        label="Linked records", required=False, widget=forms.CheckboxSelectMultiple
    )
    version = forms.CharField(required=False, widget=forms.HiddenInput)

    field_order = [
        "title",
        "description",
        "due_date",
        "due_time",
        "priority",
        "assignee",
        "repeat",
        "weekdays",
        "reminder",
        "remind_date",
        "remind_time",
        "targets",
    ]
    error_fields = {
        "due_at": "due_date",
        "remind_at": "reminder",
        "rrule": "repeat",
        "assignee": "assignee",
        "targets": "targets",
    }
    log_fields = {"assignee_id": "assignee", "rrule": "repeat", "due_at": "due_date"}

    def __init__(
        self,
        *args,
        zone: dt.tzinfo,
        target_choices: list[tuple[str, str]] = (),  # type: ignore[assignment]
        current: Task | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.zone = zone
        self.current = current
        self.fields["assignee"].widget.choices = owner_choices(self.actor, blank="— Nobody —")
        targets_field = self.fields["targets"]
        assert isinstance(targets_field, forms.MultipleChoiceField)
        targets_field.choices = list(target_choices)
        if current is not None and current.rrule and parse_rrule(current.rrule)[0] == KEEP_RULE:
            # Offer to keep a rule the chooser cannot express (set through the API).
            self.fields["repeat"].widget.choices = [
                *REPEAT_CHOICES,
                (KEEP_RULE, f"Keep: {current.rrule}"),
            ]

    @classmethod
    def initial_for(cls, obj: Task, zone: dt.tzinfo) -> dict[str, Any]:
        due_local = obj.due_at.astimezone(zone) if obj.due_at else None
        repeat, days = parse_rrule(obj.rrule)
        reminder, remind_date, remind_time = "", None, None
        if obj.remind_at is not None:
            offset = obj.due_at - obj.remind_at if obj.due_at else None
            reminder = next((k for k, v in REMINDER_OFFSETS.items() if v == offset), "custom")
            if reminder == "custom":
                remind_local = obj.remind_at.astimezone(zone)
                remind_date, remind_time = remind_local.date(), remind_local.time()
        return {
            "title": obj.title,
            "description": obj.description,
            "due_date": due_local.date() if due_local else None,
            "due_time": due_local.time() if due_local else None,
            "priority": obj.priority,
            "assignee": str(obj.assignee_id) if obj.assignee_id else "",
            "repeat": repeat,
            "weekdays": days,
            "reminder": reminder,
            "remind_date": remind_date,
            "remind_time": remind_time,
            "targets": [f"{t.target_type}:{t.target_id}" for t in obj.targets.all()],
            "version": obj.version,
        }

    def clean(self):
        cd = super().clean()
        if cd.get("due_time") and not cd.get("due_date"):
            self.add_error("due_date", "Pick a date for this time.")
        reminder = cd.get("reminder") or ""
        if reminder in REMINDER_OFFSETS and not cd.get("due_date"):
            self.add_error("reminder", "A reminder before the due time needs a due date.")
        if reminder == "custom" and not cd.get("remind_date"):
            self.add_error("remind_date", "Pick the day of the reminder.")
        if cd.get("repeat") and not cd.get("due_date"):
            self.add_error("repeat", "A repeating task needs a due date.")
        return cd

    def due_at(self) -> dt.datetime | None:
        cd = self.cleaned_data
        if not cd.get("due_date"):
            return None
        return local_moment(cd["due_date"], cd.get("due_time"), self.zone)

    def remind_at(self, due_at: dt.datetime | None) -> dt.datetime | None:
        cd = self.cleaned_data
        reminder = cd.get("reminder") or ""
        if reminder in REMINDER_OFFSETS and due_at is not None:
            return due_at - REMINDER_OFFSETS[reminder]
        if reminder == "custom" and cd.get("remind_date"):
            return local_moment(cd["remind_date"], cd.get("remind_time"), self.zone)
        return None

    def rrule(self, due_at: dt.datetime | None) -> str:
        cd = self.cleaned_data
        repeat = cd.get("repeat") or ""
        if repeat == KEEP_RULE and self.current is not None:
            return self.current.rrule
        due_local = due_at.astimezone(self.zone) if due_at else None
        return build_rrule(repeat, cd.get("weekdays") or [], due_local)

    def to_data(self) -> dict[str, Any]:
        cd = self.cleaned_data
        due_at = self.due_at()
        targets = []
        for value in cd.get("targets") or []:
            type_name, _, pk = value.partition(":")
            targets.append({"type": type_name, "id": pk})
        # The whole task is sent: the service keeps what did not change (no new version, no
        # audit entry), and a reminder time that did not move is not sent again.
        return {
            "title": cd.get("title") or "",
            "description": cd.get("description") or "",
            "due_at": due_at,
            "remind_at": self.remind_at(due_at),
            "priority": cd.get("priority") or Priority.NORMAL,
            "assignee": cd.get("assignee") or None,
            "rrule": self.rrule(due_at),
            "targets": targets,
        }

    def form_field_for(self, service_field: str) -> str | None:
        head = service_field.split(".")[0]
        return self.error_fields.get(head) or (head if head in self.fields else None)
