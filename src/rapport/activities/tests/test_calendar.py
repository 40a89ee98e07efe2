"""The calendar: week/month pages, the private ICS feed and a meeting's .ics invite."""

from __future__ import annotations

import datetime as dt
import re

import icalendar
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rapport.activities import calendar
from rapport.activities import services as activity_services
from rapport.activities.models import CalendarFeed
from rapport.audit.models import AuditEntry
from rapport.contacts import services as contact_services
from rapport.core.actors import Role
from rapport.testing.factories import MembershipFactory, PersonFactory, actor_for
from rapport.testing.suites import count_queries

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def _soon(days: int = 1, hour: int = 10, minute: int = 0) -> dt.datetime:
    base = timezone.now().astimezone(UTC).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return base + dt.timedelta(days=days)


@pytest.fixture
def me(browser):
    return actor_for(browser.membership)


@pytest.fixture
def person(me):
    return PersonFactory(actor=me)


def meeting(actor, person, *, starts, minutes=60, subject="Kick-off", **extra):
    data = {
        "starts_at": starts.isoformat(),
        "ends_at": (starts + dt.timedelta(minutes=minutes)).isoformat(),
        **extra.pop("data", {}),
    }
    return activity_services.activity_create(
        actor=actor,
        data={
            "type": "meeting",
            "subject": subject,
            "targets": [{"type": "person", "id": str(person.pk)}],
            "data": data,
            **extra,
        },
    )


def task(actor, person, *, due, title="Send the quote", assignee=None, **extra):
    return activity_services.task_create(
        actor=actor,
        data={
            "title": title,
            "due_at": due.isoformat(),
            "assignee": str(assignee or actor.user_id),
            "targets": [{"type": "person", "id": str(person.pk)}],
            **extra,
        },
    )


def colleague(me, role=Role.MEMBER):
    return actor_for(MembershipFactory(workspace=me.workspace, role=role.value))


def feed_url(actor) -> tuple[str, str]:
    _feed, secret = calendar.calendar_feed_create(actor=actor)
    return reverse("activities:calendar_ics", args=[secret]), secret


def parse(response) -> icalendar.Calendar:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(response.content)


def events_by_uid(cal) -> dict[str, icalendar.Event]:
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}


# --- the feed ------------------------------------------------------------------------------


def test_feed_is_valid_icalendar_with_meetings_and_tasks_in_utc(me, person):
    starts = _soon(2, 9, 15)
    m = meeting(
        me,
        person,
        starts=starts,
        minutes=45,
        data={
            "location": "Room 4",
            "url": "https://meet.example/abc",
            "attendees": [
                {"email": "Grace@Example.com", "name": "Grace Hopper"},
                {"email": "alan@example.com"},
            ],
        },
        body="Agenda: pricing",
    )
    t = task(me, person, due=_soon(3, 16))
    url, _secret = feed_url(me)

    cal = parse(Client().get(url))  # no session: the secret authenticates

    assert str(cal["version"]) == "2.0"
    assert str(cal["prodid"]) == calendar.PRODID
    assert me.workspace.name in str(cal["x-wr-calname"])
    assert b"X-PUBLISHED-TTL:PT1H" in Client().get(url).content
    events = events_by_uid(cal)
    assert set(events) == {f"{m.pk}@rapport", f"{t.pk}@rapport"}
    ev = events[f"{m.pk}@rapport"]
    assert ev["dtstart"].dt == starts
    assert ev["dtstart"].dt.utcoffset() == dt.timedelta(0)
    assert ev["dtend"].dt == starts + dt.timedelta(minutes=45)
    assert b"DTSTART:" + starts.strftime("%Y%m%dT%H%M%SZ").encode() in Client().get(url).content
    assert "dtstamp" in ev
    assert str(ev["summary"]) == "Kick-off"
    assert str(ev["location"]) == "Room 4"
    assert str(ev["url"]) == "https://meet.example/abc"
    assert str(ev["description"]).startswith("Agenda: pricing")
    assert "<" not in str(ev["description"])  # plain text, never HTML
    attendees = ev["attendee"] if isinstance(ev["attendee"], list) else [ev["attendee"]]
    by_mail = {str(a).lower(): a for a in attendees}
    assert set(by_mail) == {"mailto:grace@example.com", "mailto:alan@example.com"}
    assert by_mail["mailto:grace@example.com"].params["CN"] == "Grace Hopper"
    assert str(ev["organizer"]).lower() == f"mailto:{me.user.email}"
    tv = events[f"{t.pk}@rapport"]
    assert tv["dtstart"].dt == t.due_at
    assert tv["dtend"].dt == t.due_at + calendar.TASK_LENGTH
    assert str(tv["summary"]) == "Task: Send the quote"
    assert str(tv["transp"]) == "TRANSPARENT"
    assert str(tv["url"]).endswith(reverse("activities:task_detail", args=[t.pk]))


def test_text_is_escaped_and_parses_back_unchanged(me, person):
    subject = "Café, “Zürich”; 東京 \\ <script>alert(1)</script> 🎉"
    body = "Line one, with a comma;\nline two; semicolon\n\n\\n not a newline"
    location = "Rue de l'Église, 3; 2nd floor"
    m = meeting(
        me,
        person,
        starts=_soon(1),
        subject=subject,
        body=body,
        data={
            "location": location,
            "attendees": [{"email": "x@example.com", "name": 'O"Brien, Ann; Jr'}],
        },
    )
    t = task(me, person, due=_soon(2), title="Ünïcode, task; done?", description="a;b,c\nd")
    url, _ = feed_url(me)

    events = events_by_uid(parse(Client().get(url)))

    ev = events[f"{m.pk}@rapport"]
    assert str(ev["summary"]) == subject
    assert str(ev["location"]) == location
    assert str(ev["description"]).startswith(body + "\n\n")
    assert ev["attendee"].params["CN"] == 'O"Brien, Ann; Jr'
    tv = events[f"{t.pk}@rapport"]
    assert str(tv["summary"]) == "Task: Ünïcode, task; done?"
    assert str(tv["description"]).startswith("a;b,c\nd")


def test_meeting_linked_only_to_a_person_in_the_trash_is_not_in_the_feed(me, person):
    other = PersonFactory(actor=me)
    hidden = meeting(me, person, starts=_soon(1), subject="Hidden")
    shown = meeting(me, other, starts=_soon(1), subject="Shown")
    hidden_task = task(me, person, due=_soon(2), title="Hidden task")
    contact_services.person_delete(actor=me, person_id=person.pk)
    url, _ = feed_url(me)

    events = events_by_uid(parse(Client().get(url)))

    assert f"{shown.pk}@rapport" in events
    assert f"{hidden.pk}@rapport" not in events
    assert f"{hidden_task.pk}@rapport" not in events


def test_feed_has_only_my_meetings_and_my_tasks(me, person):
    bob = colleague(me)
    mine_author = meeting(me, person, starts=_soon(1), subject="Mine")
    theirs = meeting(bob, person, starts=_soon(1), subject="Bob's alone")
    by_id = meeting(
        bob,
        person,
        starts=_soon(2),
        subject="By id",
        data={"attendees": [{"user": str(me.user_id)}]},
    )
    by_email = meeting(
        bob,
        person,
        starts=_soon(3),
        subject="By email",
        data={"attendees": [{"email": me.user.email.upper()}]},
    )
    # My address inside a longer one is not me.
    lookalike = meeting(
        bob,
        person,
        starts=_soon(4),
        subject="Lookalike",
        data={"attendees": [{"email": "x" + me.user.email}]},
    )
    my_task = task(me, person, due=_soon(1), title="Mine")
    bobs_task = task(bob, person, due=_soon(1), title="Bob's", assignee=bob.user_id)
    assigned_by_bob = task(bob, person, due=_soon(2), title="For me", assignee=me.user_id)
    url, _ = feed_url(me)

    uids = set(events_by_uid(parse(Client().get(url))))

    wanted = {mine_author, by_id, by_email, my_task, assigned_by_bob}
    assert uids == {f"{o.pk}@rapport" for o in wanted}
    assert f"{theirs.pk}@rapport" not in uids
    assert f"{lookalike.pk}@rapport" not in uids
    assert f"{bobs_task.pk}@rapport" not in uids


def test_feed_window_leaves_out_old_and_far_items(me, person):
    old = meeting(me, person, starts=timezone.now() - dt.timedelta(days=120), subject="Old")
    recent = meeting(me, person, starts=timezone.now() - dt.timedelta(days=30), subject="Recent")
    far = task(me, person, due=timezone.now() + dt.timedelta(days=400), title="Far")
    url, _ = feed_url(me)

    uids = set(events_by_uid(parse(Client().get(url))))

    assert uids == {f"{recent.pk}@rapport"}
    assert f"{old.pk}@rapport" not in uids and f"{far.pk}@rapport" not in uids


def test_revoked_feed_is_404_and_a_regenerated_one_works(me, person):
    meeting(me, person, starts=_soon(1))
    first_url, _ = feed_url(me)
    assert Client().get(first_url).status_code == 200

    second_url, _ = feed_url(me)  # regenerating revokes the first

    assert Client().get(first_url).status_code == 404
    assert len(events_by_uid(parse(Client().get(second_url)))) == 1
    assert CalendarFeed.objects.filter(user=me.user, revoked_at__isnull=True).count() == 1

    assert calendar.calendar_feed_revoke(actor=me) == 1
    assert Client().get(second_url).status_code == 404
    assert calendar.calendar_feed_revoke(actor=me) == 0  # nothing left to revoke
    actions = list(
        AuditEntry.objects.filter(workspace=me.workspace, action__startswith="calendar_feed.")
        .order_by("created_at")
        .values_list("action", flat=True)
    )
    assert actions.count("calendar_feed.created") == 2
    assert actions.count("calendar_feed.revoked") == 2


def test_only_a_hash_of_the_secret_is_stored(me):
    feed, secret = calendar.calendar_feed_create(actor=me)
    feed.refresh_from_db()
    assert secret not in feed.token_hash
    assert feed.token_hash == calendar.hash_secret(secret)
    assert len(feed.token_hash) == 64


@pytest.mark.parametrize("secret", ["A" * 43, "x" * 128])
def test_unknown_secret_is_404(me, secret):
    feed_url(me)
    assert Client().get(reverse("activities:calendar_ics", args=[secret])).status_code == 404


def test_malformed_feed_paths_are_404(me):
    _, secret = feed_url(me)
    for path in (
        f"/calendar/ics/{secret}",
        f"/calendar/ics/{secret}.ics.ics",
        "/calendar/ics/short.ics",
        f"/calendar/ics/{'a' * 500}.ics",
        "/calendar/ics/%3Cscript%3E.ics",
    ):
        assert Client().get(path).status_code == 404, path


def test_removed_member_feed_is_404(me, person):
    bob = colleague(me)
    url, _ = feed_url(bob)
    assert Client().get(url).status_code == 200
    from rapport.tenancy import services as tenancy_services
    from rapport.tenancy.models import Membership

    membership = Membership.objects.get(workspace=me.workspace, user=bob.user)
    tenancy_services.member_remove(actor=me, membership_id=membership.pk)

    assert Client().get(url).status_code == 404


def test_feed_ignores_the_session_of_another_workspace(me, person, browser):
    m = meeting(me, person, starts=_soon(1))
    url, _ = feed_url(me)
    stranger, _membership = _browser_elsewhere(me)

    events = events_by_uid(parse(stranger.get(url)))

    assert f"{m.pk}@rapport" in events


def _browser_elsewhere(me):
    from rapport.testing.clients import make_browser

    return make_browser(Role.OWNER)


def test_last_used_at_is_written_at_most_every_few_minutes(me):
    url, _ = feed_url(me)
    Client().get(url)
    feed = CalendarFeed.objects.get(user=me.user, revoked_at__isnull=True)
    first = feed.last_used_at
    assert first is not None
    Client().get(url)
    feed.refresh_from_db()
    assert feed.last_used_at == first
    CalendarFeed.objects.filter(pk=feed.pk).update(
        last_used_at=first - calendar.FEED_LAST_USED_RESOLUTION - dt.timedelta(seconds=1)
    )
    Client().get(url)
    feed.refresh_from_db()
    assert feed.last_used_at > first - dt.timedelta(seconds=1)


def test_feed_query_count_is_constant_in_the_number_of_items(me, person):
    bob = colleague(me)
    url, _ = feed_url(me)

    def add(n):
        for i in range(n):
            meeting(
                bob,
                person,
                starts=_soon(1 + i),
                data={"attendees": [{"user": str(me.user_id)}, {"user": str(bob.user_id)}]},
            )
            task(me, person, due=_soon(1 + i))

    add(1)
    client = Client()
    client.get(url)  # last_used_at written once
    few, response, _ = count_queries(lambda: client.get(url))
    assert len(events_by_uid(parse(response))) == 2
    add(5)
    many, response, sql = count_queries(lambda: client.get(url))
    assert len(events_by_uid(parse(response))) == 12
    assert many == few, "\n".join(sql)


# --- the feed settings page ------------------------------------------------------------------


def test_feed_page_creates_shows_once_and_revokes(browser, me, person):
    page = reverse("activities:calendar_feed")
    r = browser.get(page)
    assert r.status_code == 200
    assert b"no active feed link" in r.content

    r = browser.post(page, {"action": "create"})
    assert r.status_code == 201
    match = re.search(rb'value="(http://testserver/calendar/ics/[A-Za-z0-9_-]+\.ics)"', r.content)
    assert match, r.content.decode()[:2000]
    url = match.group(1).decode().removeprefix("http://testserver")
    assert b"webcal://testserver/calendar/ics/" in r.content
    assert Client().get(url).status_code == 200

    r = browser.get(page)
    assert b"/calendar/ics/" not in r.content  # the secret is shown once only
    assert b"A link is active" in r.content

    r = browser.post(page, {"action": "revoke"}, follow=True)
    assert r.status_code == 200
    assert b"no active feed link" in r.content
    assert Client().get(url).status_code == 404


def test_feed_page_for_a_read_only_member(me):
    from rapport.testing.clients import make_browser

    client, _membership = make_browser(Role.READ_ONLY, workspace=me.workspace)
    r = client.post(reverse("activities:calendar_feed"), {"action": "create"})
    assert r.status_code == 201  # reading one's own calendar needs no write role


def test_feed_page_needs_sign_in():
    r = Client().get(reverse("activities:calendar_feed"))
    assert r.status_code == 302
    r = Client().post(reverse("activities:calendar_feed"), {"action": "create"})
    assert r.status_code in (302, 403)
    assert not CalendarFeed.objects.exists()


def test_token_actor_cannot_have_a_feed(me):
    from rapport.core.actors import Actor, ActorKind
    from rapport.core.errors import ValidationFailed

    token_actor = Actor(
        kind=ActorKind.TOKEN, workspace=me.workspace, role=me.role, user=me.user, name="script"
    )
    with pytest.raises(ValidationFailed):
        calendar.calendar_feed_create(actor=token_actor)


# --- week and month pages ----------------------------------------------------------------------


def _set_zone(browser, zone: str):
    user = browser.membership.user
    user.time_zone = zone
    user.save(update_fields=["time_zone"])


def _day_block(html: str, day: dt.date) -> str:
    """The HTML of one day's column/cell, from its <time> to the next day's."""
    start = html.index(f'datetime="{day.isoformat()}"')
    nxt = html.find(f'datetime="{(day + dt.timedelta(days=1)).isoformat()}"', start)
    return html[start : nxt if nxt != -1 else len(html)]


@pytest.mark.parametrize("view", ["week", "month"])
def test_items_show_on_the_users_local_day(browser, me, person, view):
    _set_zone(browser, "Europe/Berlin")
    # Tuesday 23:30 UTC is Wednesday 00:30 (CET) or 01:30 (CEST) in Berlin.
    tuesday = dt.date(2031, 1, 7)
    late = dt.datetime.combine(tuesday, dt.time(23, 30), tzinfo=UTC)
    m = meeting(me, person, starts=late, subject="Late call with Tokyo")
    t = task(me, person, due=late + dt.timedelta(minutes=10), title="Write minutes")

    r = browser.get(reverse("activities:calendar"), {"view": view, "date": "2031-01-08"})

    assert r.status_code == 200
    html = r.content.decode()
    wednesday = _day_block(html, tuesday + dt.timedelta(days=1))
    assert "Late call with Tokyo" in wednesday
    assert "00:30" in wednesday
    assert "Write minutes" in wednesday
    assert reverse("activities:activity_detail", args=[m.pk]) in wednesday
    assert reverse("activities:task_detail", args=[t.pk]) in wednesday
    assert "Late call with Tokyo" not in _day_block(html, tuesday)
    assert "Europe/Berlin" in html
    assert 'href="/static/ui/calendar.css"' in html or "ui/calendar" in html


def test_week_lists_items_in_time_order_and_navigates(browser, me, person):
    monday = dt.date(2031, 3, 3)
    meeting(me, person, starts=dt.datetime(2031, 3, 5, 15, tzinfo=UTC), subject="Afternoon")
    task(me, person, due=dt.datetime(2031, 3, 5, 8, tzinfo=UTC), title="Morning task")
    meeting(me, person, starts=dt.datetime(2031, 3, 5, 11, tzinfo=UTC), subject="Noon")
    meeting(me, person, starts=dt.datetime(2031, 3, 12, 11, tzinfo=UTC), subject="Following week")

    r = browser.get(reverse("activities:calendar"), {"view": "week", "date": "2031-03-06"})

    html = r.content.decode()
    day = _day_block(html, dt.date(2031, 3, 5))
    assert day.index("Morning task") < day.index("Noon") < day.index("Afternoon")
    assert "Following week" not in html
    assert html.count('<li class="cal-day') == 7
    assert f"date={(monday - dt.timedelta(days=7)).isoformat()}" in html  # previous
    assert f"date={(monday + dt.timedelta(days=7)).isoformat()}" in html  # next
    assert "3–9 March 2031" in html


def test_month_is_a_grid_of_weeks_with_more_link(browser, me, person):
    for hour in range(6):
        meeting(
            me, person, starts=dt.datetime(2031, 2, 12, 8 + hour, tzinfo=UTC), subject=f"M{hour}"
        )

    r = browser.get(reverse("activities:calendar"), {"view": "month", "date": "2031-02-20"})

    html = r.content.decode()
    assert "February 2031" in html
    # Feb 2031 starts on a Saturday: the grid runs Mon 27 Jan .. Sun 2 Mar (5 weeks).
    assert html.count('role="cell"') == 35
    assert 'datetime="2031-01-27"' in html and 'datetime="2031-03-02"' in html
    cell = _day_block(html, dt.date(2031, 2, 12))
    assert "+2 more" in cell
    assert "view=week&amp;date=2031-02-12" in cell


def test_calendar_escapes_titles_and_survives_bad_input(browser, me, person):
    meeting(me, person, starts=_soon(0, 12), subject="<script>alert(1)</script>")
    r = browser.get(reverse("activities:calendar"))
    assert r.status_code == 200
    assert b"<script>alert(1)</script>" not in r.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in r.content
    for params in (
        {"date": "2031-02-30"},
        {"date": "garbage"},
        {"view": "year"},
        {"date": "9999-12-31", "view": "month"},
        {"date": "0001-01-01"},
        {"date": "\x00"},
    ):
        r = browser.get(reverse("activities:calendar"), params)
        assert r.status_code == 200, params
        if "date" in params:
            assert b"showing today" in r.content, params


def test_calendar_shows_only_my_items(browser, me, person):
    bob = colleague(me)
    meeting(bob, person, starts=_soon(0, 12), subject="Bob only")
    task(bob, person, due=_soon(0, 13), title="Bob task", assignee=bob.user_id)
    meeting(me, person, starts=_soon(0, 14), subject="My own")
    r = browser.get(reverse("activities:calendar"), {"date": timezone.now().date().isoformat()})
    assert b"My own" in r.content
    assert b"Bob only" not in r.content and b"Bob task" not in r.content


def test_calendar_needs_sign_in():
    r = Client().get(reverse("activities:calendar"))
    assert r.status_code == 302


@pytest.mark.parametrize("view", ["week", "month"])
def test_calendar_query_count_is_constant_in_the_number_of_items(browser, me, person, view):
    day = dt.date(2031, 5, 14)
    params = {"view": view, "date": day.isoformat()}

    def add(n, offset):
        for i in range(n):
            at = dt.datetime.combine(day, dt.time(8 + i + offset), tzinfo=UTC)
            meeting(me, person, starts=at, subject=f"Meeting {offset}-{i}")
            task(me, person, due=at, title=f"Task {offset}-{i}")

    add(1, 0)
    browser.get(reverse("activities:calendar"), params)  # warm caches
    few, r, _ = count_queries(lambda: browser.get(reverse("activities:calendar"), params))
    assert r.content.count(b'class="cal-item cal-') == 2
    add(4, 1)
    many, r, sql = count_queries(lambda: browser.get(reverse("activities:calendar"), params))
    assert r.content.count(b'class="cal-item cal-') == (10 if view == "week" else 4)
    assert many == few, "\n".join(sql)


# --- a meeting's invite -------------------------------------------------------------------------


def test_meeting_invite_ics(browser, me, person):
    bob = colleague(me)
    starts = _soon(5, 14)
    m = meeting(
        me,
        person,
        starts=starts,
        subject="Demo, v2; final",
        data={"attendees": [{"user": str(bob.user_id)}, {"email": "c@example.com", "name": "C"}]},
    )
    r = browser.get(reverse("activities:meeting_ics", args=[m.pk]))
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/calendar; charset=utf-8")
    assert "attachment" in r["Content-Disposition"] and ".ics" in r["Content-Disposition"]
    cal = icalendar.Calendar.from_ical(r.content)
    assert str(cal["method"]) == "REQUEST"
    (ev,) = cal.walk("VEVENT")
    assert str(ev["uid"]) == f"{m.pk}@rapport"
    assert str(ev["summary"]) == "Demo, v2; final"
    assert ev["dtstart"].dt == starts
    assert str(ev["organizer"]).lower() == f"mailto:{me.user.email}"
    mails = {str(a).lower() for a in ev["attendee"]}
    assert mails == {f"mailto:{bob.user.email}", "mailto:c@example.com"}  # member by id → email
    assert all(a.params["RSVP"] == "TRUE" for a in ev["attendee"])


def test_meeting_invite_is_404_elsewhere_and_for_other_kinds(browser, me, person):
    from rapport.testing.clients import make_browser

    m = meeting(me, person, starts=_soon(1))
    call = activity_services.activity_create(
        actor=me,
        data={
            "type": "call",
            "subject": "Call",
            "targets": [{"type": "person", "id": str(person.pk)}],
        },
    )
    stranger, _ = make_browser(Role.OWNER)  # another workspace
    assert stranger.get(reverse("activities:meeting_ics", args=[m.pk])).status_code == 404
    assert browser.get(reverse("activities:meeting_ics", args=[call.pk])).status_code == 404
    contact_services.person_delete(actor=me, person_id=person.pk)
    assert browser.get(reverse("activities:meeting_ics", args=[m.pk])).status_code == 404
    assert Client().get(reverse("activities:meeting_ics", args=[m.pk])).status_code == 302


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL only")
@pytest.mark.parametrize("signed_in_elsewhere", [False, True])
def test_feed_binds_the_feed_workspace_for_row_level_security(me, signed_in_elsewhere):
    url, _ = feed_url(me)
    client = Client()
    if signed_in_elsewhere:
        client, membership = _browser_elsewhere(me)
    seen: list[str] = []

    def spy(execute, sql, params, many, context):
        if "set_config" in sql:
            seen.append(params[1])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        assert client.get(url).status_code == 200
    expected = [str(me.workspace.pk), ""]
    if signed_in_elsewhere:  # the session's binding is dropped before the lookup
        expected = [str(membership.workspace_id), "", *expected]
    assert seen == expected


# --- in a real browser ------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("view", ["week", "month"])
def test_calendar_fits_a_phone_and_keeps_to_the_csp(phone_page, page, live_server, view):
    from rapport.testing.browser import assert_no_horizontal_scroll, login, screenshot
    from rapport.testing.factories import PASSWORD

    owner = MembershipFactory(role=Role.OWNER.value, user__full_name="Olivia Owner")
    actor = actor_for(owner)
    person = PersonFactory(actor=actor)
    monday = dt.date(2031, 3, 3)  # a week inside one month: the phone month list shows it all
    for n, subject in enumerate(
        ["Quarterly business review with Northwind Traders International", "Stand-up", "Demo"]
    ):
        at = dt.datetime.combine(monday + dt.timedelta(days=n), dt.time(9 + n), tzinfo=UTC)
        meeting(actor, person, starts=at, subject=subject, data={"location": "Room 4"})
        task(actor, person, due=at + dt.timedelta(hours=2), title=f"Follow up {n}")
    for name, p in (("phone", phone_page), ("desktop", page)):
        problems: list[str] = []
        p.on("console", lambda m, problems=problems: m.type == "error" and problems.append(m.text))
        login(p, live_server, owner.user.email, PASSWORD)
        p.goto(f"{live_server.url}{reverse('activities:calendar')}?view={view}&date=2031-03-05")
        assert p.locator(".cal-item").count() >= 6
        assert p.get_by_text("Stand-up").first.is_visible()
        if name == "phone":
            assert_no_horizontal_scroll(p)
        screenshot(p, f"calendar-{view}-{name}")
        assert not problems, problems  # a CSP violation is logged as a console error
