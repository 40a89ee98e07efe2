"""Settings → Audit log: the workspace change log for owners and admins."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from rapport.core.errors import PermissionDenied, ValidationFailed
from rapport.core.policy import is_admin
from rapport.tenancy.selectors import member_choices
from rapport.tenancy.views import actor_of
from rapport.ui.views import workspace_required
from rapport.users.forms import NoColon

from . import events, selectors
from .models import AuditEntry

PAGE_SIZE = 50
# Record pages other apps serve, by object type.
RECORD_URLS = {"contacts.person": "/people/{id}/", "contacts.company": "/companies/{id}/"}


class AuditFilterForm(NoColon, forms.Form):
    actor = forms.ChoiceField(label="Who", required=False)
    type = forms.ChoiceField(label="Record type", required=False)
    action = forms.ChoiceField(label="Action", required=False)
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [("", "Anyone"), *member_choices(workspace=workspace)]
        self.fields["type"].choices = [("", "Any type"), *selectors.OBJECT_TYPES.items()]
        self.fields["action"].choices = [
            ("", "Any action"),
            *((e.name, e.label) for e in sorted(events.all_types(), key=lambda e: e.label)),
        ]

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "Pick a date on or after the “From” date.")
        return data


@dataclass
class Change:
    field: str
    before: str
    after: str


@dataclass
class Row:
    entry: AuditEntry
    action_label: str
    type_label: str
    url: str
    changes: list[Change]

    @property
    def changed_fields(self) -> str:
        return ", ".join(c.field for c in self.changes)


def _show(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _row(entry: AuditEntry) -> Row:
    try:
        action_label = events.get(entry.action).label
    except KeyError:
        action_label = entry.action
    template = RECORD_URLS.get(entry.object_type)
    changes = [
        Change(
            field.replace("_", " "),
            _show((diff or {}).get("before")),
            _show((diff or {}).get("after")),
        )
        for field, diff in sorted((entry.changes or {}).items())
        if isinstance(diff, dict)
    ]
    return Row(
        entry=entry,
        action_label=action_label,
        type_label=selectors.OBJECT_TYPES.get(entry.object_type, entry.object_type),
        url=template.format(id=entry.object_id) if template and entry.object_id else "",
        changes=changes,
    )


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


@require_GET
@workspace_required
def audit_log(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if not is_admin(actor):
        raise PermissionDenied("Only workspace owners and admins can read the audit log.")
    form = AuditFilterForm(request.GET or None, workspace=actor.workspace)
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {
            "actor_user": data["actor"] or None,
            "object_type": data["type"] or None,
            "action": data["action"] or None,
            "since": _day_start(data["since"]) if data["since"] else None,
            "until": _day_start(data["until"] + dt.timedelta(days=1)) if data["until"] else None,
        }
    cursor = request.GET.get("cursor") or None
    cursor_error = ""
    try:
        page = selectors.workspace_log(actor=actor, cursor=cursor, limit=PAGE_SIZE, **filters)
    except ValidationFailed:
        cursor_error = "That page link is out of date; showing the newest entries."
        page = selectors.workspace_log(actor=actor, limit=PAGE_SIZE, **filters)
        cursor = None
    query = {k: v for k, v in request.GET.items() if k != "cursor" and v}
    context = {
        "nav": "settings",
        "tab": "audit",
        "is_admin": True,
        "form": form,
        "rows": [_row(e) for e in page.rows],
        "filtered": bool(query),
        "paged": bool(cursor),
        "cursor_error": cursor_error,
        "older_url": (
            "?" + urlencode({**query, "cursor": page.next_cursor}) if page.next_cursor else ""
        ),
        "newest_url": "?" + urlencode(query) if query else "?",
    }
    return render(request, "audit/log.html", context, status=200 if not form.errors else 422)
