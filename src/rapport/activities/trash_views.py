"""The trash of interactions and tasks: what was deleted, by whom, when, and Restore.

Like the other trash pages it is for those who can restore (read-only members get 403), lists
newest deletions first one keyset page at a time, and restores through the API's service.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_POST

from rapport.core.actors import Actor
from rapport.core.errors import NotFound, ValidationFailed
from rapport.core.policy import require_write
from rapport.core.validation import uuid_or_none
from rapport.ui.views import workspace_required

from . import selectors, services

PAGE_SIZE = 50
KINDS = {"interactions": "Interactions", "tasks": "Tasks"}


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _kind(value: str | None) -> str:
    return value if value in KINDS else "interactions"


def _trash_url(kind: str) -> str:
    return reverse("activities:trash") + "?" + urlencode({"kind": kind})


@workspace_required
@require_GET
def trash(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    require_write(actor)
    kind = _kind(request.GET.get("kind"))
    listing = selectors.deleted_tasks if kind == "tasks" else selectors.deleted_activities
    cursor = request.GET.get("cursor") or None
    notice = ""
    try:
        page = listing(actor=actor, cursor=cursor, limit=PAGE_SIZE)
    except ValidationFailed:
        notice = "That page link is out of date; showing the latest deletions."
        cursor = None
        page = listing(actor=actor, cursor=None, limit=PAGE_SIZE)
    names = selectors.link_names(actor, page.rows)
    rows = [(obj, names[obj.pk], services.may_restore(actor, obj)) for obj in page.rows]
    return render(
        request,
        "activities/trash.html",
        {
            "nav": "trash",
            "trash_tab": kind,
            "kind": kind,
            "kind_label": KINDS[kind].lower(),
            "rows": rows,
            "retention_days": actor.workspace.trash_retention_days,
            "notice": notice,
            "paged": bool(cursor),
            "first_url": _trash_url(kind),
            "next_url": _trash_url(kind) + "&" + urlencode({"cursor": page.next_cursor})
            if page.next_cursor
            else "",
        },
    )


@workspace_required
@require_POST
def trash_restore(request: HttpRequest) -> HttpResponse:
    """Restores one deleted interaction (``activity``) or task (``task``) through the service
    the API calls."""
    actor = _actor(request)
    kind = "tasks" if "task" in request.POST else "interactions"
    back = _trash_url(kind)
    pk = uuid_or_none(request.POST.get("task") or request.POST.get("activity"))
    if pk is None:
        messages.error(request, "Nothing to restore: pick an interaction or a task first.")
        return redirect(back)
    try:
        if kind == "tasks":
            task = services.task_restore(actor=actor, task_id=pk, source="ui")
            url, label = reverse("activities:task_detail", args=[task.pk]), task.title
        else:
            activity = services.activity_restore(actor=actor, activity_id=pk, source="ui")
            url = reverse("activities:activity_detail", args=[activity.pk])
            label = str(activity)
    except NotFound:
        messages.error(request, "That one is no longer in the trash (restored or purged).")
    else:
        messages.success(request, format_html('Restored <a href="{}">{}</a>.', url, label))
    return redirect(back)


urlpatterns = [
    path("activities/trash/", trash, name="trash"),
    path("activities/trash/restore/", trash_restore, name="trash_restore"),
]
