"""The calendar pages: week and month views of my meetings and tasks, the feed settings page,
the public ICS feed (the secret in its URL authenticates; no session) and a meeting's invite.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, re_path, reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from rapport.core.errors import ValidationFailed
from rapport.tenancy.rls import bind_workspace
from rapport.ui.views import workspace_required

from . import calendar, selectors
from .calendar import CalendarItem

VIEWS = ("week", "month")
MONTH_CELL_ITEMS = 4  # a month cell lists this many; "+N more" opens the week
PAGE_MAX_ITEMS = 1_000  # a month of one person's calendar is far less
EARLIEST, LATEST = dt.date(1900, 1, 8), dt.date(2199, 11, 30)  # (with room for a month grid)


@dataclass(frozen=True)
class Entry:
    """An item on one day: multi-day meetings show on every day they cover."""

    item: CalendarItem
    url: str
    first_day: bool  # the day it starts (its time is shown there only)


@dataclass
class Day:
    date: dt.date
    today: bool
    in_month: bool = True
    week_url: str = ""  # the week view of this day ("+N more" in a month cell)
    entries: list[Entry] = field(default_factory=list)

    @property
    def shown(self) -> list[Entry]:
        return self.entries[:MONTH_CELL_ITEMS]

    @property
    def hidden(self) -> int:
        return max(len(self.entries) - MONTH_CELL_ITEMS, 0)


def _item_url(item: CalendarItem) -> str:
    name = "activities:activity_detail" if item.kind == "meeting" else "activities:task_detail"
    return reverse(name, args=[item.id])


def _midnight(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """The instant a local day begins (zoneinfo resolves DST gaps and folds)."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=zone).astimezone(dt.UTC)


def _parse_day(value: str, today: dt.date) -> tuple[dt.date, str]:
    if not value:
        return today, ""
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        return today, "That date is not a valid YYYY-MM-DD date; showing today."
    if not EARLIEST <= day <= LATEST:  # the years times may be stored in
        return today, f"Pick a date between {EARLIEST.year} and {LATEST.year}; showing today."
    return day, ""


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _place(days: list[Day], items: list[CalendarItem], zone: dt.tzinfo) -> None:
    by_date = {d.date: d for d in days}
    for item in items:
        first = item.starts_at.astimezone(zone).date()
        # An item ending exactly at midnight does not spill into the next day.
        last = (item.ends_at - dt.timedelta(microseconds=1)).astimezone(zone).date()
        url = _item_url(item)
        day = max(first, days[0].date)
        while day <= last and day <= days[-1].date:
            if day in by_date:
                by_date[day].entries.append(Entry(item, url, day == first))
            day += dt.timedelta(days=1)


@require_safe
@workspace_required
def calendar_page(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    zone = timezone.get_current_timezone()  # the user's (workspace_required sets it)
    today = timezone.localdate()
    view = request.GET.get("view", "week")
    if view not in VIEWS:
        view = "week"
    anchor, date_error = _parse_day(request.GET.get("date", ""), today)
    if view == "week":
        first = anchor - dt.timedelta(days=anchor.weekday())  # weeks start on Monday
        last = first + dt.timedelta(days=6)
        prev_day, next_day = first - dt.timedelta(days=7), first + dt.timedelta(days=7)
        title = _week_title(first, last)
    else:
        month_start = anchor.replace(day=1)
        month_end = _add_months(month_start, 1) - dt.timedelta(days=1)
        first = month_start - dt.timedelta(days=month_start.weekday())
        last = month_end + dt.timedelta(days=6 - month_end.weekday())
        prev_day, next_day = _add_months(month_start, -1), _add_months(month_start, 1)
        title = month_start.strftime("%B %Y")
    start, end = _midnight(first, zone), _midnight(last + dt.timedelta(days=1), zone)
    days = [
        Day(
            first + dt.timedelta(days=n),
            today=first + dt.timedelta(days=n) == today,
            in_month=view == "week" or (first + dt.timedelta(days=n)).month == anchor.month,
        )
        for n in range((last - first).days + 1)
    ]
    items, truncated = calendar.calendar_items(
        actor=actor, start=start, end=end, limit=PAGE_MAX_ITEMS
    )
    _place(days, items, zone)

    def link(day: dt.date, v: str = view) -> str:
        return "?" + urlencode({"view": v, "date": day.isoformat()})

    for day in days:
        day.week_url = link(day.date, "week")

    context = {
        "nav": "calendar",
        "view": view,
        "title": title,
        "days": days,
        "weeks": [days[i : i + 7] for i in range(0, len(days), 7)],
        "weekdays": [(first + dt.timedelta(days=n)).strftime("%a") for n in range(7)],
        "anchor": anchor,
        "prev_url": link(prev_day),
        "next_url": link(next_day),
        "today_url": "?" + urlencode({"view": view}),
        "week_url": link(anchor, "week"),
        "month_url": link(anchor, "month"),
        "time_zone": str(zone),
        "date_error": date_error,
        "truncated": truncated,
        "max_items": PAGE_MAX_ITEMS,
        "empty": not items,
    }
    return render(request, "activities/calendar/calendar.html", context)


def _week_title(first: dt.date, last: dt.date) -> str:
    if first.year != last.year:
        return f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}"
    if first.month != last.month:
        return f"{first.day} {first:%b} – {last.day} {last:%b %Y}"
    return f"{first.day}–{last.day} {last:%B %Y}"


# --- the feed settings page ------------------------------------------------------------------


def _feed_url(request: HttpRequest, secret: str) -> str:
    return request.build_absolute_uri(reverse("activities:calendar_ics", args=[secret]))


def _feed_page(request: HttpRequest, *, secret: str = "", status: int = 200) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    feed_url = _feed_url(request, secret) if secret else ""
    context = {
        "nav": "calendar",
        "feed": calendar.calendar_feed_get(actor=actor),
        "feed_url": feed_url,
        # Calendar apps subscribe with webcal:// (the same URL, opened by the calendar app).
        "webcal_url": "webcal://" + feed_url.split("://", 1)[1] if feed_url else "",
        "past_days": calendar.FEED_PAST.days,
        "future_days": calendar.FEED_FUTURE.days,
        "max_items": calendar.FEED_MAX_ITEMS,
    }
    response = render(request, "activities/calendar/feed.html", context, status=status)
    if secret:
        response["Cache-Control"] = "no-store"  # the only time the secret is shown
    return response


@require_http_methods(["GET", "HEAD", "POST"])
@workspace_required
def calendar_feed(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    if request.method != "POST":
        return _feed_page(request)
    action = request.POST.get("action", "")
    try:
        if action == "create":
            _feed, secret = calendar.calendar_feed_create(actor=actor)
            return _feed_page(request, secret=secret, status=201)
        if action == "revoke":
            if calendar.calendar_feed_revoke(actor=actor):
                messages.success(request, "Calendar feed link revoked: it stops working at once.")
            else:
                messages.info(request, "You had no calendar feed link.")
            return redirect("activities:calendar_feed")
    except ValidationFailed as exc:
        messages.error(request, exc.detail)
        return redirect("activities:calendar_feed")
    messages.error(request, "Unknown action.")
    return redirect("activities:calendar_feed")


# --- the public feed ------------------------------------------------------------------------


@never_cache
@require_safe
def calendar_ics(request: HttpRequest, secret: str) -> HttpResponse:
    """The subscribed calendar. The secret is the only credential: a session is ignored, so
    the feed shows the same thing whoever fetches it, and never another workspace's rows."""
    if getattr(request, "rls_bound", False):
        # A signed-in browser's workspace was bound by the middleware; the feed's own
        # workspace is known only after the lookup, which runs unbound like token auth does.
        bind_workspace(None)
        request.rls_bound = False  # type: ignore[attr-defined]
    found = calendar.calendar_feed_authenticate(secret)
    if found is None:
        raise Http404("No such calendar feed.")
    _feed, actor = found
    request.rls_bound = bind_workspace(actor.workspace.pk)  # type: ignore[attr-defined]
    now = timezone.now()
    items, _truncated = calendar.calendar_items(
        actor=actor,
        start=now - calendar.FEED_PAST,
        end=now + calendar.FEED_FUTURE,
        limit=calendar.FEED_MAX_ITEMS,
    )
    body = calendar.feed_ics(actor=actor, items=items, link=_linker(request))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="rapport.ics"'
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"  # the URL is the secret
    return response


def _linker(request: HttpRequest) -> calendar.Linker:
    def link(kind: str, pk: uuid.UUID) -> str:
        name = "activities:activity_detail" if kind == "meeting" else "activities:task_detail"
        return request.build_absolute_uri(reverse(name, args=[pk]))

    return link


# --- a meeting's invite --------------------------------------------------------------------


@require_safe
@workspace_required
def meeting_ics(request: HttpRequest, activity_id: uuid.UUID) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    activity = selectors.activity_get(actor=actor, activity_id=activity_id)  # 404 if not seen
    body = calendar.meeting_invite_ics(actor=actor, activity=activity, link=_linker(request))
    filename = (slugify(activity.subject)[:60] or "meeting") + ".ics"
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8; method=REQUEST")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


urlpatterns = [
    path("calendar/", calendar_page, name="calendar"),
    path("calendar/feed/", calendar_feed, name="calendar_feed"),
    re_path(
        rf"^calendar/ics/(?P<secret>{calendar.SECRET_PATTERN})\.ics$",
        calendar_ics,
        name="calendar_ics",
    ),
    path("activities/<uuid:activity_id>/invite.ics", meeting_ics, name="meeting_ics"),
]
