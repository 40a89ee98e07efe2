"""The notification centre: the list, opening one, "mark all read", the bell, preferences."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rapport.core.errors import ValidationFailed
from rapport.tenancy.selectors import SESSION_KEY, memberships_of
from rapport.tenancy.views import actor_of, apply_errors
from rapport.ui.views import workspace_required

from . import kinds, selectors, services
from .forms import PreferenceForm
from .templatetags.notification_tags import bell_context

PAGE_SIZE = 50
# htmx stops polling when it gets this status: a signed-out tab stops asking for the count.
STOP_POLLING = 286


def _kind_label(name: str) -> str:
    return kinds.get(name).label if kinds.is_registered(name) else name


@require_GET
@workspace_required
def notification_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    unread_only = request.GET.get("unread") == "1"
    cursor = request.GET.get("cursor") or None
    cursor_error = ""
    try:
        page = selectors.notification_list(
            actor=actor, unread_only=unread_only, cursor=cursor, limit=PAGE_SIZE
        )
    except ValidationFailed:
        cursor_error = "That page link is out of date; showing the newest notifications."
        page = selectors.notification_list(actor=actor, unread_only=unread_only, limit=PAGE_SIZE)
        cursor = None
    base = {"unread": "1"} if unread_only else {}
    context = {
        "nav": "notifications",
        "rows": [(n, _kind_label(n.kind)) for n in page.rows],
        "unread_only": unread_only,
        "unread": selectors.unread_count(actor=actor),
        "count_cap": selectors.COUNT_CAP,
        "paged": bool(cursor),
        "cursor_error": cursor_error,
        "older_url": (
            "?" + urlencode({**base, "cursor": page.next_cursor}) if page.next_cursor else ""
        ),
        "newest_url": "?" + urlencode(base),
    }
    return render(request, "notifications/list.html", context)


@require_GET
@workspace_required
def open_notification(request: HttpRequest, notification_id: uuid.UUID) -> HttpResponse:
    """Marks the notification read and follows its link (a path on this site only).

    A GET, so the link opens in a new tab and from a mail like any link; marking one's own
    notification read is the only effect. ``?ws=`` (set in mails) first switches to the
    notification's workspace when the user is a member of it."""
    actor = actor_of(request)
    wanted = request.GET.get("ws", "")
    if wanted and wanted != str(actor.workspace.pk):
        membership = next(
            (m for m in memberships_of(request.user) if str(m.workspace_id) == wanted), None
        )
        if membership is None:
            raise Http404("No such notification.")
        request.session[SESSION_KEY] = str(membership.workspace_id)
        return redirect(request.path)  # the next request acts (and binds RLS) in that one
    notification = selectors.notification_get(actor=actor, notification_id=notification_id)
    services.mark_read(actor=actor, ids=[notification.pk])
    if notification.url and services.is_safe_url(notification.url):
        return redirect(notification.url)
    return redirect("notifications:list")


@require_POST
@workspace_required
def read_all(request: HttpRequest) -> HttpResponse:
    marked = services.mark_all_read(actor=actor_of(request))
    if marked:
        messages.success(request, "All notifications are marked as read.")
    return redirect("notifications:list")


def bell(request: HttpRequest) -> HttpResponse:
    """The bell alone, for htmx polling. Not behind ``workspace_required``: a signed-out tab
    must not swap the login page into the top bar, it must stop polling."""
    actor = getattr(request, "actor", None)
    if actor is None:
        return HttpResponse(status=STOP_POLLING)
    response = render(request, "notifications/_bell.html", bell_context(actor))
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@workspace_required
def preferences(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    pref = selectors.preference_of(actor=actor)
    initial = {"email_mode": pref.email_mode, "digest_hour": str(pref.digest_hour)}
    form = PreferenceForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.set_preference(
                    actor=actor,
                    email_mode=form.cleaned_data["email_mode"],
                    digest_hour=form.cleaned_data["digest_hour"],
                )
            except ValidationFailed as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, "Your notification settings are saved.")
                return redirect("notifications:preferences")
        status = 422
    context = {
        "nav": "notifications",
        "form": form,
        "time_zone": request.user.time_zone or "UTC",  # type: ignore[union-attr]
    }
    return render(request, "notifications/preferences.html", context, status=status)
