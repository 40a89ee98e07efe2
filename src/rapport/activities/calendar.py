"""The calendar: a user's meetings and tasks between two instants, their private ICS feed
(RFC 5545) and a meeting's .ics invite.

Which meetings are "mine": the ones I authored, and the ones whose ``data.attendees`` name me
by member id (``user``) or by email. Finding attendees inside the JSON portably: PostgreSQL has
``@>`` containment on jsonb, SQLite has no containment operator, and Django refuses
``__contains`` on a JSONField there. Both databases answer ``data__attendees__icontains`` (a
``LIKE`` over the JSON text of the list; ``JSON_EXTRACT`` on SQLite, ``->`` cast to text on
PostgreSQL), so the query narrows by that text inside the workspace, the time window (the
``activity_occurred`` index) and visibility, and Python then checks the match exactly (a
substring may be part of a longer address or of a name). A meeting is placed by its
``data.starts_at``/``data.ends_at``; the database window is on ``occurred_at`` (a meeting's
start, set from ``starts_at`` when it is logged), widened by ``MEETING_SLACK`` so a meeting that
began the day before and is still running is found.

Tasks are exported as short VEVENTs at their due time, not VTODOs: Google Calendar ignores
VTODO in subscribed feeds, and a due time is what people want to see in their calendar.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import icalendar
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from rapport.audit.services import record
from rapport.core.actors import Actor, ActorKind
from rapport.core.errors import NotFound, ValidationFailed
from rapport.tenancy.models import Membership
from rapport.users.models import User

from . import events
from .models import Activity, ActivityType, CalendarFeed, Task, TaskStatus

PRODID = "-//Rapport//Rapport CRM//EN"
# The feed spans what a calendar app shows around today; older and later items are left out
# so the answer stays small however long the history.
FEED_PAST = dt.timedelta(days=90)
FEED_FUTURE = dt.timedelta(days=365)
FEED_MAX_ITEMS = 5_000
FEED_REFRESH = dt.timedelta(hours=1)
# Calendar apps poll every few minutes to hours: last_used_at is written at most this often.
FEED_LAST_USED_RESOLUTION = dt.timedelta(minutes=5)
# A meeting without an end lasts this long; a task is shown as this long an event.
DEFAULT_MEETING_LENGTH = dt.timedelta(minutes=30)
TASK_LENGTH = dt.timedelta(minutes=15)
# How far back of a window the query looks for meetings that started earlier and still run.
MEETING_SLACK = dt.timedelta(days=1)
SECRET_MAX_LENGTH = 128
SECRET_PATTERN = r"[A-Za-z0-9_-]{20,128}"  # noqa: S105 (the shape token_urlsafe makes)

# (kind, id) -> absolute URL of the item's page, for the URL and DESCRIPTION properties.
Linker = Callable[[str, uuid.UUID], str]


def _feeds() -> QuerySet[CalendarFeed]:
    # CalendarFeed inherits WorkspaceModel's manager, which django-stubs types as the abstract
    # model's; the default manager is the same one, typed for this model.
    return CalendarFeed._default_manager.all()


def hash_secret(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


# --- services: the feed link ----------------------------------------------------------------


def _feed_owner(actor: Actor) -> User:
    """A feed is a person's: only a signed-in member (not a token, an automation) has one."""
    if actor.kind != ActorKind.USER or actor.user is None:
        raise ValidationFailed.one("user", "Only a signed-in member has a calendar feed.")
    return actor.user


def _revoke_live(actor: Actor, user: User, now: dt.datetime) -> int:
    live = list(
        _feeds()
        .select_for_update()
        .filter(workspace=actor.workspace, user=user, revoked_at__isnull=True)
    )
    for feed in live:
        feed.revoked_at = now
        feed.save(update_fields=["revoked_at"])
        record(
            actor=actor,
            action=events.CALENDAR_FEED_REVOKED,
            obj=feed,
            changes={"revoked_at": {"before": None, "after": now.isoformat()}},
        )
    return len(live)


@transaction.atomic
def calendar_feed_create(*, actor: Actor) -> tuple[CalendarFeed, str]:
    """A new private feed URL secret for the actor in their workspace, answered once in plain.

    One live feed per user and workspace: creating one revokes the previous (regenerating a
    leaked link). The membership row is locked so two concurrent creates cannot both leave a
    live feed behind (PostgreSQL; SQLite serialises writers anyway)."""
    user = _feed_owner(actor)
    membership = (
        Membership.objects.select_for_update().filter(workspace=actor.workspace, user=user).first()
    )
    if membership is None:
        raise NotFound("Not a member of this workspace.")
    now = timezone.now()
    _revoke_live(actor, user, now)
    raw = secrets.token_urlsafe(32)
    feed = _feeds().create(workspace=actor.workspace, user=user, token_hash=hash_secret(raw))
    record(
        actor=actor,
        action=events.CALENDAR_FEED_CREATED,
        obj=feed,
        changes={"user": {"before": None, "after": user.email}},
    )
    return feed, raw


@transaction.atomic
def calendar_feed_revoke(*, actor: Actor) -> int:
    """Revokes the actor's live feed (the URL answers 404 from now on); answers how many were
    revoked (0 when there was none: revoking twice is not an error)."""
    user = _feed_owner(actor)
    return _revoke_live(actor, user, timezone.now())


def calendar_feed_get(*, actor: Actor) -> CalendarFeed | None:
    """The actor's live feed, if any (its secret is not kept, only its hash)."""
    if actor.user is None:
        return None
    return (
        _feeds()
        .filter(workspace=actor.workspace, user=actor.user, revoked_at__isnull=True)
        .order_by("-created_at")
        .first()
    )


def calendar_feed_authenticate(raw: str) -> tuple[CalendarFeed, Actor] | None:
    """The live feed a presented secret opens and the actor it reads as: its owner with their
    *current* membership and role (a removed member's feed opens nothing). Looked up by hash, so
    no timing comparison of secrets happens in Python."""
    from rapport.tenancy.services import actor_for

    if not raw or len(raw) > SECRET_MAX_LENGTH:
        return None
    feed = (
        _feeds()
        .select_related("user", "workspace")
        .filter(token_hash=hash_secret(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if feed is None:
        return None
    actor = actor_for(feed.user, feed.workspace)
    if actor is None:
        return None
    now = timezone.now()
    if feed.last_used_at is None or now - feed.last_used_at > FEED_LAST_USED_RESOLUTION:
        _feeds().filter(pk=feed.pk).update(last_used_at=now)
        feed.last_used_at = now
    return feed, actor


# --- selectors: my calendar items -------------------------------------------------------------


@dataclass(frozen=True)
class CalendarItem:
    kind: str  # "meeting" | "task"
    id: uuid.UUID
    title: str
    starts_at: dt.datetime  # UTC
    ends_at: dt.datetime  # UTC, after starts_at
    obj: Any  # the Activity or Task

    @property
    def done(self) -> bool:
        return self.kind == "task" and self.obj.status == TaskStatus.DONE


def _parse_instant(value: Any) -> dt.datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def meeting_span(activity: Activity) -> tuple[dt.datetime, dt.datetime]:
    """When a meeting starts and ends, in UTC (``data`` first, then ``occurred_at``)."""
    data = activity.data or {}
    starts = _parse_instant(data.get("starts_at")) or activity.occurred_at.astimezone(dt.UTC)
    ends = _parse_instant(data.get("ends_at"))
    if ends is None or ends <= starts:
        ends = starts + DEFAULT_MEETING_LENGTH
    return starts, ends


def _json_forms(value: str) -> set[str]:
    """``value`` as it appears inside JSON text: PostgreSQL's jsonb prints non-ASCII as is,
    SQLite keeps the ``\\uXXXX`` escapes Django's encoder wrote."""
    return {value, json.dumps(value)[1:-1]}


def is_attendee(activity: Activity, user: User) -> bool:
    user_id = str(user.pk).lower()
    email = (user.email or "").lower()
    for attendee in (activity.data or {}).get("attendees") or []:
        if not isinstance(attendee, dict):
            continue
        if str(attendee.get("user") or "").lower() == user_id:
            return True
        if email and str(attendee.get("email") or "").lower() == email:
            return True
    return False


def my_meetings(
    *, actor: Actor, start: dt.datetime, end: dt.datetime, limit: int = FEED_MAX_ITEMS
) -> list[Activity]:
    """Visible meetings the actor authored or attends that overlap ``[start, end)``, by start."""
    user = actor.user
    if user is None:
        return []
    mine = Q(author_id=user.pk)
    # Quoted, so "ann@x.com" does not match inside "joann@x.com"; exact check below.
    for needle in _json_forms(str(user.pk)) | (_json_forms(user.email) if user.email else set()):
        mine |= Q(data__attendees__icontains=f'"{needle}"')
    rows = (
        Activity.objects.visible_to(actor)
        .filter(type=ActivityType.MEETING, occurred_at__gte=start - MEETING_SLACK)
        .filter(occurred_at__lt=end)
        .filter(mine)
        .select_related("author")
        .order_by("occurred_at", "id")[:limit]
    )
    found = []
    for activity in rows:
        if activity.author_id != user.pk and not is_attendee(activity, user):
            continue
        starts, ends = meeting_span(activity)
        if starts < end and ends > start:
            found.append(activity)
    return found


def my_tasks(
    *, actor: Actor, start: dt.datetime, end: dt.datetime, limit: int = FEED_MAX_ITEMS
) -> list[Task]:
    """Visible tasks assigned to the actor, due in ``[start, end)`` and not cancelled."""
    if actor.user is None:
        return []
    return list(
        Task.objects.visible_to(actor)
        .filter(
            assignee_id=actor.user.pk,
            status__in=[TaskStatus.OPEN, TaskStatus.DONE],
            due_at__gte=start,
            due_at__lt=end,
        )
        .order_by("due_at", "id")[:limit]
    )


def calendar_items(
    *, actor: Actor, start: dt.datetime, end: dt.datetime, limit: int = FEED_MAX_ITEMS
) -> tuple[list[CalendarItem], bool]:
    """The actor's meetings and tasks overlapping ``[start, end)`` in time order, at most
    ``limit`` of them; the flag says whether some were left out. Two queries, whatever the
    number of items."""
    items = [
        CalendarItem("meeting", a.pk, a.subject or "Meeting", *meeting_span(a), a)
        for a in my_meetings(actor=actor, start=start, end=end, limit=limit + 1)
    ]
    for task in my_tasks(actor=actor, start=start, end=end, limit=limit + 1):
        assert task.due_at is not None  # (filtered on)
        due = task.due_at.astimezone(dt.UTC)
        items.append(CalendarItem("task", task.pk, task.title, due, due + TASK_LENGTH, task))
    items.sort(key=lambda i: (i.starts_at, i.kind, i.title, str(i.id)))
    return items[:limit], len(items) > limit


# --- ICS --------------------------------------------------------------------------------------


def _calendar(name: str, method: str = "") -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    cal.add("x-wr-calname", name)
    return cal


def _address(email: str, name: str = "", **params: str) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = name
    for key, value in params.items():
        address.params[key.replace("_", "-").upper()] = value
    return address


def _member_emails(workspace, activities: Iterable[Activity]) -> dict[str, User]:
    """Members named by id among the attendees, for their email: one query for all."""
    ids: set[uuid.UUID] = set()
    for activity in activities:
        for attendee in (activity.data or {}).get("attendees") or []:
            if isinstance(attendee, dict) and attendee.get("user") and not attendee.get("email"):
                try:
                    ids.add(uuid.UUID(str(attendee["user"])))
                except ValueError:
                    continue
    if not ids:
        return {}
    users = User.objects.filter(pk__in=ids, memberships__workspace=workspace)
    return {str(u.pk): u for u in users}


def _description(*parts: str) -> str:
    return "\n\n".join(p.strip() for p in parts if p and p.strip())


def _meeting_event(
    activity: Activity,
    *,
    link: Linker,
    members: dict[str, User],
    invite: bool,
    organizer: User | None,
) -> icalendar.Event:
    starts, ends = meeting_span(activity)
    data = activity.data or {}
    url = link("meeting", activity.pk)
    event = icalendar.Event()
    event.add("uid", f"{activity.pk}@rapport")
    # A feed's DTSTAMP is the item's last change; an invite's is the moment it is sent.
    event.add("dtstamp", timezone.now() if invite else activity.updated_at.astimezone(dt.UTC))
    event.add("dtstart", starts)
    event.add("dtend", ends)
    event.add("created", activity.created_at.astimezone(dt.UTC))
    event.add("last-modified", activity.updated_at.astimezone(dt.UTC))
    # Every edit bumps the version: calendar apps apply an invite with a higher SEQUENCE.
    event.add("sequence", max(activity.version - 1, 0))
    event.add("summary", activity.subject or "Meeting")
    if data.get("location"):
        event.add("location", data["location"])
    meeting_url = data.get("url") or url
    event.add("url", meeting_url)
    # The text as written (plain; body_html is never sent: calendar apps show it raw).
    event.add("description", _description(activity.body, f"Open in Rapport: {url}"))
    event.add("status", "CONFIRMED")
    organizer = activity.author or organizer
    if organizer is not None and organizer.email:
        event.add("organizer", _address(organizer.email, organizer.display_name))
    seen: set[str] = set()
    for attendee in data.get("attendees") or []:
        if not isinstance(attendee, dict):
            continue
        member = members.get(str(attendee.get("user") or ""))
        email = attendee.get("email") or (member.email if member else "")
        if not email or email.lower() in seen:
            continue
        seen.add(email.lower())
        name = attendee.get("name") or (member.display_name if member else "")
        params = {"role": "REQ-PARTICIPANT", "cutype": "INDIVIDUAL"}
        if invite:
            params |= {"partstat": "NEEDS-ACTION", "rsvp": "TRUE"}
        event.add("attendee", _address(email, name, **params), encode=False)
    return event


def _task_event(task: Task, *, link: Linker) -> icalendar.Event:
    assert task.due_at is not None
    due = task.due_at.astimezone(dt.UTC)
    url = link("task", task.pk)
    event = icalendar.Event()
    event.add("uid", f"{task.pk}@rapport")
    event.add("dtstamp", task.updated_at.astimezone(dt.UTC))
    event.add("dtstart", due)
    event.add("dtend", due + TASK_LENGTH)
    event.add("last-modified", task.updated_at.astimezone(dt.UTC))
    event.add("sequence", max(task.version - 1, 0))
    done = task.status == TaskStatus.DONE
    event.add("summary", f"{'Done' if done else 'Task'}: {task.title}")
    event.add("url", url)
    event.add("description", _description(task.description, f"Open in Rapport: {url}"))
    # A reminder to do something does not make the user busy.
    event.add("transp", "TRANSPARENT")
    event.add("categories", ["Task"])
    return event


def feed_ics(*, actor: Actor, items: list[CalendarItem], link: Linker) -> bytes:
    """The subscribed calendar (METHOD:PUBLISH): one VEVENT per meeting and per task."""
    who = actor.user.display_name if actor.user else actor.label
    cal = _calendar(f"Rapport · {actor.workspace.name} · {who}", method="PUBLISH")
    # Calendar apps that honour these refresh hourly (RFC 7986 and Outlook's older name;
    # Google decides on its own).
    cal.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", icalendar.vDuration(FEED_REFRESH))
    meetings = [i.obj for i in items if i.kind == "meeting"]
    members = _member_emails(actor.workspace, meetings)
    for item in items:
        if item.kind == "meeting":
            event = _meeting_event(
                item.obj, link=link, members=members, invite=False, organizer=None
            )
        else:
            event = _task_event(item.obj, link=link)
        cal.add_component(event)
    return cal.to_ical()


def meeting_invite_ics(*, actor: Actor, activity: Activity, link: Linker) -> bytes:
    """One meeting as an invite (METHOD:REQUEST) to open in a calendar app or forward."""
    if activity.type != ActivityType.MEETING:
        raise NotFound("Not a meeting.")
    cal = _calendar(activity.subject or "Meeting", method="REQUEST")
    members = _member_emails(actor.workspace, [activity])
    cal.add_component(
        _meeting_event(activity, link=link, members=members, invite=True, organizer=actor.user)
    )
    return cal.to_ical()
