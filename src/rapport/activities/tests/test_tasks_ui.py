"""Task pages: My work (buckets, paging, time zones, bulk), the task page, form and section."""

from __future__ import annotations

import datetime as dt
import re
import uuid
import zoneinfo

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from rapport.activities import services
from rapport.activities.models import Task, TaskStatus, TaskTarget
from rapport.activities.task_forms import build_rrule, parse_rrule
from rapport.activities.task_sections import tasks_context
from rapport.core.actors import Role
from rapport.testing.clients import make_browser
from rapport.testing.factories import MembershipFactory, PersonFactory, actor_for
from rapport.testing.suites import count_queries
from rapport.ui import sections

pytestmark = pytest.mark.django_db

MY_WORK = "/my-work/"
AUCKLAND = zoneinfo.ZoneInfo("Pacific/Auckland")


@pytest.fixture
def me(browser):
    return actor_for(browser.membership)


@pytest.fixture
def person(me):
    return PersonFactory(actor=me, first_name="Ada", last_name="Lovelace")


def _task(actor, title="Task", *, person=None, **data) -> Task:
    payload = {"title": title, **data}
    if person is not None:
        payload["targets"] = [{"type": "person", "id": str(person.pk)}]
    return services.task_create(actor=actor, data=payload)


def _many(actor, n: int, *, due, person=None, status=TaskStatus.OPEN, title="Bulk"):
    """``n`` tasks at once (volume for paging and query counts, not behaviour)."""
    now = timezone.now()
    rows = Task.objects.bulk_create(
        Task(
            workspace=actor.workspace,
            title=f"{title} {i:03d}",
            due_at=due + dt.timedelta(minutes=i) if due else None,
            status=status,
            completed_at=now - dt.timedelta(minutes=i) if status == TaskStatus.DONE else None,
            assignee=actor.user,
            created_by=actor.user,
        )
        for i in range(n)
    )
    if person is not None:
        TaskTarget.objects.bulk_create(
            TaskTarget(
                workspace=actor.workspace,
                task=t,
                target_type="person",
                target_id=person.pk,
                created_at=t.created_at,
            )
            for t in rows
        )
    return rows


def _bucket(html: str, key: str) -> str:
    """The HTML of one My work bucket."""
    start = html.index(f'id="bucket-{key}"')
    end = html.find('<section class="task-bucket', start + 1)
    return html[start : end if end != -1 else len(html)]


def _htmx(target: str) -> dict:
    return {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": target}


# --- My work -----------------------------------------------------------------------------------


def test_my_work_sorts_tasks_into_buckets(browser, me, person):
    now = timezone.now()
    _task(me, "Late invoice", person=person, due_at=now - dt.timedelta(days=2), priority="urgent")
    _task(me, "Due in a minute", due_at=now + dt.timedelta(minutes=1) if now.hour < 23 else now)
    _task(me, "Next week", due_at=now + dt.timedelta(days=7), rrule="FREQ=WEEKLY")
    _task(me, "Some day")
    done = _task(me, "Finished", due_at=now)
    services.task_complete(actor=me, task_id=done.pk)
    html = browser.get(MY_WORK).content.decode()
    assert "Late invoice" in _bucket(html, "overdue")
    assert "Ada Lovelace" in _bucket(html, "overdue")  # its linked record, named
    assert "prio-urgent" in _bucket(html, "overdue")
    assert "Due in a minute" in _bucket(html, "today")
    upcoming = _bucket(html, "upcoming")
    assert upcoming.index("Next week") < upcoming.index("Some day")  # undated last
    assert 'aria-label="Repeats"' in upcoming
    assert "Finished" in _bucket(html, "completed")
    assert "Finished" not in _bucket(html, "today")
    assert "<script>" not in html.split("</head>")[1].replace(
        '<script src="/static/ui/tasks.js" defer></script>', ""
    )  # no inline script anywhere in the body (CSP)
    assert ' style="' not in html


def test_empty_buckets_say_so(browser):
    html = browser.get(MY_WORK).content.decode()
    assert "Nothing overdue." in html
    assert "Nothing due today." in html
    assert "Nothing planned." in html


def test_today_is_the_users_local_day(browser, me):
    """A user in Auckland sees the tasks due on their own calendar day as "Today", even when
    that day straddles two UTC dates."""
    me.user.time_zone = "Pacific/Auckland"
    me.user.save(update_fields=["time_zone"])
    today = timezone.now().astimezone(AUCKLAND).date()

    def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=AUCKLAND)

    _task(me, "Just after local midnight", due_at=at(today, 0, 30))  # the previous UTC day
    _task(me, "Late tonight", due_at=at(today, 23, 30))
    _task(me, "Late yesterday", due_at=at(today - dt.timedelta(days=1), 23, 30))
    _task(me, "Early tomorrow", due_at=at(today + dt.timedelta(days=1), 0, 30))
    html = browser.get(MY_WORK).content.decode()
    todays = _bucket(html, "today")
    assert "Just after local midnight" in todays and "Late tonight" in todays
    assert "Today 00:30" in todays  # shown on the user's clock
    assert "Late yesterday" in _bucket(html, "overdue")
    assert "Early tomorrow" in _bucket(html, "upcoming")
    assert "Tomorrow 00:30" in _bucket(html, "upcoming")


def test_my_work_query_count_does_not_grow_with_the_tasks(browser, me, person):
    now = timezone.now()
    midnight = dt.datetime.combine(now.date(), dt.time(0), tzinfo=dt.UTC)

    def fill(n):
        _many(me, n, due=now - dt.timedelta(days=3), person=person, title="Old")
        _many(me, n, due=midnight, person=person, title="Today")
        _many(me, n, due=now + dt.timedelta(days=3), person=person, title="Future")
        _many(me, n, due=None, title="Undated")
        _many(me, n, due=now, status=TaskStatus.DONE, title="Done")

    fill(2)
    small, response, _ = count_queries(lambda: browser.get(MY_WORK))
    assert response.status_code == 200
    fill(40)
    large, response, _ = count_queries(lambda: browser.get(MY_WORK))
    html = response.content.decode()
    assert html.count('class="task-row') == 4 * 25  # one page per bucket, never all of them
    fill(40)
    larger, response, sql = count_queries(lambda: browser.get(MY_WORK))
    assert large == larger, sql
    assert small <= large
    assert "42" in _bucket(html, "overdue")  # counted (capped at 99)
    assert "99+" in _bucket(response.content.decode(), "completed") or "82" in _bucket(
        response.content.decode(), "completed"
    )


def test_show_more_loads_the_next_keyset_page(browser, me):
    now = timezone.now()
    _many(me, 30, due=now - dt.timedelta(days=5), title="Late")
    _many(me, 20, due=now + dt.timedelta(days=2), title="Soon")
    _many(me, 12, due=None, title="Whenever")
    html = browser.get(MY_WORK).content.decode()
    overdue = _bucket(html, "overdue")
    assert overdue.count('class="task-row') == 25
    more = re.search(r'hx-get="([^"]+bucket=overdue[^"]+)"', overdue).group(1).replace("&amp;", "&")
    second = browser.get(MY_WORK + more, **_htmx("more-overdue")).content.decode()
    assert "<html" not in second
    assert second.count('class="task-row') == 5
    assert 'id="more-overdue"' not in second  # the end
    titles = re.findall(r'class="task-title"[^>]*>(Late \d{3})<', overdue + second)
    assert sorted(titles) == [f"Late {i:03d}" for i in range(30)]  # all, once, in order
    # Upcoming: 20 dated, then the undated ones, across pages.
    upcoming = _bucket(html, "upcoming")
    assert upcoming.count(">Soon ") == 20 and upcoming.count(">Whenever ") == 5
    more = re.search(r'hx-get="([^"]+bucket=upcoming[^"]+)"', upcoming).group(1)
    second = browser.get(MY_WORK + more.replace("&amp;", "&"), **_htmx("more-upcoming"))
    assert second.content.decode().count(">Whenever ") == 7
    # A crafted cursor starts the bucket again rather than failing.
    r = browser.get(MY_WORK + "?bucket=overdue&cursor=garbage", **_htmx("more-overdue"))
    assert r.status_code == 200 and r.content.decode().count('class="task-row') == 25


def test_members_see_their_own_work_and_managers_pick_a_member(browser, me):
    colleague = MembershipFactory(workspace=me.workspace, role="member")
    theirs = actor_for(colleague)
    person = PersonFactory(actor=me)
    _task(theirs, "Colleagues call", person=person, due_at=timezone.now())
    _task(me, "My own call", due_at=timezone.now())
    # The owner (a manager and up) picks the colleague.
    html = browser.get(MY_WORK, {"assignee": str(colleague.user_id)}).content.decode()
    assert "Colleagues call" in html and "My own call" not in html
    assert "Work of" in html
    # The colleague, a member, sees their own work whatever they ask for.
    member_browser, _ = make_browser(Role.MEMBER, workspace=me.workspace)
    member_browser.force_login(colleague.user)
    html = member_browser.get(MY_WORK, {"assignee": str(me.user_id)}).content.decode()
    assert "Colleagues call" in html and "My own call" not in html
    assert 'name="assignee"' not in html  # no picker for members
    # An id that is not a member shows one's own work.
    html = browser.get(MY_WORK, {"assignee": str(uuid.uuid4())}).content.decode()
    assert "My own call" in html


# --- create and edit ---------------------------------------------------------------------------


def test_add_task_from_a_record_links_it_and_returns_there(browser, me, person):
    me.user.time_zone = "Pacific/Auckland"
    me.user.save(update_fields=["time_zone"])
    record_url = reverse("contacts:person_detail", args=[person.pk])
    url = (
        reverse("activities:task_create")
        + f"?target_type=person&target_id={person.pk}&next={record_url}"
    )
    page = browser.get(url).content.decode()
    assert "Ada Lovelace (Person)" in page and "checked" in page
    r = browser.post(
        url,
        {
            "title": "Send the proposal",
            "due_date": "2031-03-10",  # a Monday
            "due_time": "14:30",
            "priority": "high",
            "assignee": str(me.user_id),
            "repeat": "weekly",
            "weekdays": ["MO", "TH"],
            "reminder": "1h",
            "targets": [f"person:{person.pk}"],
        },
    )
    assert r.status_code == 302 and r["Location"] == record_url
    task = Task.objects.get(title="Send the proposal")
    due = dt.datetime(2031, 3, 10, 14, 30, tzinfo=AUCKLAND)
    assert task.due_at == due  # entered on the Auckland clock, stored UTC
    assert task.remind_at == due - dt.timedelta(hours=1)
    assert task.rrule == "FREQ=WEEKLY;BYDAY=MO,TH"
    assert task.priority == "high"
    assert [(t.target_type, t.target_id) for t in task.targets.all()] == [("person", person.pk)]
    # The edit form shows it back as it was entered.
    edit = browser.get(reverse("activities:task_edit", args=[task.pk])).content.decode()
    assert 'value="2031-03-10"' in edit and 'value="14:30"' in edit
    assert re.search(r'<option value="1h" selected>', edit)


def test_date_without_time_is_nine_and_custom_reminders(browser, me):
    r = browser.post(
        reverse("activities:task_create"),
        {
            "title": "Renewal",
            "due_date": "2031-05-02",
            "reminder": "custom",
            "remind_date": "2031-05-01",
            "remind_time": "16:00",
            "repeat": "monthly",
        },
    )
    assert r.status_code == 302
    task = Task.objects.get(title="Renewal")
    assert task.due_at == dt.datetime(2031, 5, 2, 9, 0, tzinfo=dt.UTC)
    assert task.remind_at == dt.datetime(2031, 5, 1, 16, 0, tzinfo=dt.UTC)
    assert task.rrule == "FREQ=MONTHLY;BYMONTHDAY=2"
    assert r["Location"] == reverse("activities:task_detail", args=[task.pk])


def test_bad_input_shows_errors_and_saves_nothing(browser, me, person):
    url = reverse("activities:task_create")
    cases = [
        ({"title": ""}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"title": "A", "due_time": "10:00"}, "Pick a date"),
        ({"title": "A", "reminder": "1h"}, "needs a due date"),
        ({"title": "A", "repeat": "weekly"}, "needs a due date"),
        ({"title": "A", "due_date": "not a date"}, "Enter a valid date"),
        ({"title": "A", "assignee": str(uuid.uuid4())}, "member of this workspace"),
        ({"title": "A", "targets": [f"person:{uuid.uuid4()}"]}, "Select a valid choice"),
        (
            {
                "title": "A",
                "due_date": "2031-01-01",
                "reminder": "custom",
                "remind_date": "2031-02-01",
            },
            "after the due time",
        ),
    ]
    for data, message in cases:
        r = browser.post(url, data)
        assert r.status_code == 200, data
        assert "Nothing was saved" in r.content.decode(), data
        if message != "title":
            assert message in r.content.decode(), (data, message)
    assert not Task.objects.exists()
    # Script in a title is text, never markup.
    browser.post(url, {"title": "<script>alert(1)</script> ünïcödé ✓"})
    task = Task.objects.get()
    html = browser.get(reverse("activities:task_detail", args=[task.pk])).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; ünïcödé ✓" in html
    assert "<script>alert(1)" not in html


def test_unsafe_next_is_ignored(browser, me):
    r = browser.post(
        reverse("activities:task_create") + "?next=https://evil.example/x",
        {"title": "Safe"},
    )
    assert r["Location"] == reverse("activities:task_detail", args=[Task.objects.get().pk])
    r = browser.post(reverse("activities:task_create") + "?next=//evil.example", {"title": "S2"})
    assert "evil" not in r["Location"]


def test_edit_with_a_stale_version_is_refused(browser, me):
    task = _task(me, "Original", due_at=timezone.now())
    url = reverse("activities:task_edit", args=[task.pk])
    services.task_update(actor=me, task_id=task.pk, data={"title": "Changed meanwhile"})
    r = browser.post(url, {"title": "Mine", "version": "1", "due_date": "2031-01-01"})
    assert r.status_code == 200 and "Someone else changed" in r.content.decode()
    task.refresh_from_db()
    assert task.title == "Changed meanwhile"
    r = browser.post(url, {"title": "Mine", "version": "2", "due_date": "2031-01-01"})
    assert r.status_code == 302
    task.refresh_from_db()
    assert task.title == "Mine" and task.version == 3


def test_an_api_made_rule_is_kept_on_edit(browser, me):
    task = _task(me, "Every other week", due_at=timezone.now(), rrule="FREQ=WEEKLY;INTERVAL=2")
    url = reverse("activities:task_edit", args=[task.pk])
    page = browser.get(url).content.decode()
    assert "Keep: FREQ=WEEKLY;INTERVAL=2" in page
    r = browser.post(
        url, {"title": "Every other week!", "repeat": "keep", "version": str(task.version),
              "due_date": "2031-01-01"},
    )  # fmt: skip
    assert r.status_code == 302
    task.refresh_from_db()
    assert task.rrule == "FREQ=WEEKLY;INTERVAL=2"


def test_the_rrule_chooser_round_trips():
    monday = dt.datetime(2031, 3, 10, 9, 0)
    assert build_rrule("daily", [], monday) == "FREQ=DAILY"
    assert build_rrule("weekly", ["TH", "MO"], monday) == "FREQ=WEEKLY;BYDAY=MO,TH"
    assert build_rrule("weekly", [], monday) == "FREQ=WEEKLY;BYDAY=MO"
    assert build_rrule("monthly", [], monday) == "FREQ=MONTHLY;BYMONTHDAY=10"
    assert build_rrule("", ["MO"], monday) == ""
    assert parse_rrule("FREQ=WEEKLY;BYDAY=MO,TH") == ("weekly", ["MO", "TH"])
    assert parse_rrule("FREQ=MONTHLY;BYMONTHDAY=10") == ("monthly", [])
    assert parse_rrule("FREQ=DAILY;COUNT=3")[0] == "keep"
    assert parse_rrule("") == ("", [])


# --- the task page, complete, delete -----------------------------------------------------------


def test_the_task_page_shows_links_and_history(browser, me, person):
    task = _task(me, "Call Ada", person=person, due_at=timezone.now() + dt.timedelta(days=1))
    services.task_update(actor=me, task_id=task.pk, data={"priority": "urgent"})
    html = browser.get(reverse("activities:task_detail", args=[task.pk])).content.decode()
    assert "Ada Lovelace" in html
    assert reverse("contacts:person_detail", args=[person.pk]) in html
    assert "History" in html and "Urgent" in html
    assert reverse("activities:task_edit", args=[task.pk]) in html
    assert reverse("activities:task_delete", args=[task.pk]) in html


def test_completing_a_repeating_task_from_the_ui_creates_the_next_one(browser, me, person):
    due = timezone.now().replace(microsecond=0) + dt.timedelta(hours=2)
    task = _task(me, "Weekly report", person=person, due_at=due, rrule="FREQ=WEEKLY")
    url = reverse("activities:task_complete", args=[task.pk])
    r = browser.post(url, {"next": MY_WORK})
    assert r.status_code == 302 and r["Location"] == MY_WORK
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.completed_at is not None
    following = Task.objects.get(previous=task)
    assert following.due_at == due + dt.timedelta(days=7)
    assert following.status == TaskStatus.OPEN and following.rrule == "FREQ=WEEKLY"
    # With htmx the row is swapped for a done row that points to the next one.
    r = browser.post(
        reverse("activities:task_complete", args=[following.pk]), **_htmx(f"task-{following.pk}")
    )
    html = r.content.decode()
    assert r.status_code == 200 and "completed" in html and "is-done" in html
    third = Task.objects.get(previous=following)
    assert reverse("activities:task_detail", args=[third.pk]) in html
    # Completing again changes nothing and makes no second occurrence.
    browser.post(url)
    assert Task.objects.filter(previous=task).count() == 1


def test_delete_goes_back_to_my_work(browser, me):
    task = _task(me, "Throw away")
    url = reverse("activities:task_delete", args=[task.pk])
    r = browser.post(url, {"version": "99"})  # stale
    assert r["Location"] == reverse("activities:task_detail", args=[task.pk])
    assert Task.objects.filter(pk=task.pk, deleted_at__isnull=True).exists()
    r = browser.post(url, {"version": str(task.version)})
    assert r["Location"] == MY_WORK
    assert browser.get(reverse("activities:task_detail", args=[task.pk])).status_code == 404
    assert browser.get(url).status_code == 405


# --- bulk ---------------------------------------------------------------------------------


def test_bulk_complete_and_reschedule(browser, me):
    me.user.time_zone = "Pacific/Auckland"
    me.user.save(update_fields=["time_zone"])
    nine = dt.datetime(2031, 4, 1, 9, 0, tzinfo=AUCKLAND)  # NZ daylight time ends on 6 April
    a = _task(me, "A", due_at=nine, remind_at=nine - dt.timedelta(minutes=15))
    b = _task(me, "B", due_at=nine + dt.timedelta(hours=5))
    c = _task(me, "C")  # undated
    url = reverse("activities:tasks_bulk")
    ids = [str(a.pk), str(b.pk), str(c.pk)]

    r = browser.post(url, {"ids": ids, "action": "shift_7", "next": MY_WORK})
    assert r["Location"] == MY_WORK
    a.refresh_from_db(), b.refresh_from_db(), c.refresh_from_db()
    # Same wall-clock time a week later, across the daylight-saving change.
    assert a.due_at.astimezone(AUCKLAND).replace(tzinfo=None) == dt.datetime(2031, 4, 8, 9, 0)
    assert a.remind_at == a.due_at - dt.timedelta(minutes=15)
    assert b.due_at.astimezone(AUCKLAND).replace(tzinfo=None) == dt.datetime(2031, 4, 8, 14, 0)
    today = timezone.now().astimezone(AUCKLAND).date()
    assert c.due_at == dt.datetime.combine(today + dt.timedelta(days=7), dt.time(9), AUCKLAND)

    browser.post(url, {"ids": ids, "action": "date", "date": "2031-06-15"})
    for task, clock in ((a, dt.time(9)), (b, dt.time(14)), (c, dt.time(9))):
        task.refresh_from_db()
        assert task.due_at == dt.datetime.combine(dt.date(2031, 6, 15), clock, AUCKLAND)

    browser.post(url, {"ids": ids[:2], "action": "shift_1"})
    a.refresh_from_db()
    assert a.due_at.astimezone(AUCKLAND).date() == dt.date(2031, 6, 16)

    r = browser.post(url, {"ids": ids, "action": "complete"})
    assert Task.objects.filter(status=TaskStatus.DONE).count() == 3
    page = browser.get(r["Location"]).content.decode()
    assert "Completed 3 tasks." in page


def test_bulk_without_a_choice_changes_nothing(browser, me):
    task = _task(me, "A", due_at=timezone.now())
    url = reverse("activities:tasks_bulk")
    for data in (
        {"action": "complete"},
        {"ids": ["not-an-id"], "action": "complete"},
        {"ids": [str(task.pk)], "action": "explode"},
        {"ids": [str(task.pk)], "action": "date", "date": "soon"},
    ):
        r = browser.post(url, data, follow=True)
        assert r.status_code == 200
        assert "flash-error" in r.content.decode(), data
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN and task.version == 1


# --- roles and workspaces ---------------------------------------------------------------------


def test_read_only_sees_but_cannot_change(me, person):
    task = _task(me, "Visible task", person=person, due_at=timezone.now() + dt.timedelta(hours=1))
    reader, membership = make_browser(Role.READ_ONLY, workspace=me.workspace)
    _task(me, "Readers task", person=person, assignee=str(membership.user_id))
    html = reader.get(MY_WORK).content.decode()
    assert "Readers task" in html
    assert 'name="ids"' not in html and "task-bulk" not in html and "Add task" not in html
    detail = reader.get(reverse("activities:task_detail", args=[task.pk])).content.decode()
    assert "Visible task" in detail
    assert reverse("activities:task_edit", args=[task.pk]) not in detail
    assert reverse("activities:task_complete", args=[task.pk]) not in detail
    for url, data in (
        (reverse("activities:task_complete", args=[task.pk]), {}),
        (reverse("activities:task_delete", args=[task.pk]), {"version": "1"}),
        (reverse("activities:tasks_bulk"), {"ids": [str(task.pk)], "action": "complete"}),
        (reverse("activities:task_edit", args=[task.pk]), {"title": "No"}),
        (reverse("activities:task_create"), {"title": "No"}),
    ):
        assert reader.post(url, data).status_code == 403, url
    assert reader.get(reverse("activities:task_create")).status_code == 403
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN and task.version == 1 and task.deleted_at is None
    assert Task.objects.count() == 2


def test_another_workspaces_task_is_404(browser, me):
    other = actor_for(MembershipFactory(role="owner"))
    theirs = _task(other, "Secret", person=PersonFactory(actor=other), due_at=timezone.now())
    outsider_person = PersonFactory(actor=other)
    for url in (
        reverse("activities:task_detail", args=[theirs.pk]),
        reverse("activities:task_edit", args=[theirs.pk]),
        reverse("activities:task_create") + f"?target_type=person&target_id={outsider_person.pk}",
        reverse("activities:task_create") + "?target_type=person&target_id=nonsense",
        reverse("activities:task_create") + "?target_type=planet&target_id=1",
    ):
        assert browser.get(url).status_code == 404, url
    for url, data in (
        (reverse("activities:task_complete", args=[theirs.pk]), {}),
        (reverse("activities:task_delete", args=[theirs.pk]), {"version": "1"}),
        (reverse("activities:tasks_bulk"), {"ids": [str(theirs.pk)], "action": "complete"}),
        (reverse("activities:tasks_bulk"), {"ids": [str(theirs.pk)], "action": "shift_1"}),
    ):
        assert browser.post(url, data).status_code == 404, url
    theirs.refresh_from_db()
    assert theirs.status == TaskStatus.OPEN and theirs.version == 1
    # Nor can a form link another workspace's record.
    r = browser.post(
        reverse("activities:task_create"),
        {"title": "Sneaky", "targets": [f"person:{outsider_person.pk}"]},
    )
    assert r.status_code == 200 and not Task.objects.filter(title="Sneaky").exists()
    assert "Secret" not in browser.get(MY_WORK).content.decode()


def test_anonymous_visitors_go_to_the_login_page(client):
    assert client.get(MY_WORK).status_code == 302


# --- the record section ------------------------------------------------------------------------


def _section_request(actor):
    request = RequestFactory().get("/")
    request.user = actor.user
    request.actor = actor
    return request


def test_the_tasks_section_of_a_record(me, person):
    section = next(s for s in sections.for_page("person") if s.key == "tasks")
    assert section.column == "side" and section.template == "activities/tasks/section.html"
    assert any(s.key == "tasks" for s in sections.for_page("company"))
    now = timezone.now()
    _task(me, "Late", person=person, due_at=now - dt.timedelta(days=1))
    _task(me, "Soon", person=person, due_at=now + dt.timedelta(days=1))
    _task(me, "Undated", person=person)
    _task(me, "Elsewhere", due_at=now)  # not linked to this person
    context = tasks_context(_section_request(me), me, person)
    assert [r["task"].title for r in context["rows"]] == ["Late", "Soon", "Undated"]
    assert [r["overdue"] for r in context["rows"]] == [True, False, False]
    assert f"target_id={person.pk}" in context["add_url"]
    from django.template.loader import render_to_string

    html = render_to_string(section.template, context, request=_section_request(me))
    assert "is-overdue" in html and "+ Add task" in html and "hx-post" in html
    # Constant queries: a record with many open tasks shows the next few and a count.
    _many(me, 60, due=now + dt.timedelta(days=2), person=person)
    n, context, _ = count_queries(lambda: tasks_context(_section_request(me), me, person))
    assert len(context["rows"]) == 5 and context["count_label"] == "63" and n <= 3


def test_read_only_gets_no_empty_tasks_section(me, person):
    reader = actor_for(MembershipFactory(workspace=me.workspace, role="read_only"))
    assert tasks_context(_section_request(reader), reader, person) is None
    _task(me, "Visible", person=person)
    context = tasks_context(_section_request(reader), reader, person)
    assert context is not None and context["can_write"] is False


# --- repeating tasks follow the user's local days -----------------------------------------------


def test_a_weekly_rule_repeats_on_the_users_local_weekday(browser, me):
    me.user.time_zone = "Pacific/Auckland"
    me.user.save(update_fields=["time_zone"])
    # Monday 10 March 2031, 09:00 in Auckland is Sunday 20:00 UTC.
    browser.post(
        reverse("activities:task_create"),
        {"title": "Standup", "due_date": "2031-03-10", "due_time": "09:00",
         "repeat": "weekly", "weekdays": ["MO"]},
    )  # fmt: skip
    task = Task.objects.get(title="Standup")
    services.task_complete(actor=me, task_id=task.pk)
    following = Task.objects.get(previous=task)
    assert following.due_at.astimezone(AUCKLAND).replace(tzinfo=None) == dt.datetime(
        2031, 3, 17, 9, 0
    )


# --- in a real browser ------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_my_work_on_a_phone(phone_page, live_server):
    from rapport.testing.browser import assert_no_horizontal_scroll, login, screenshot
    from rapport.testing.factories import PASSWORD

    membership = MembershipFactory(role="owner")
    me = actor_for(membership)
    person = PersonFactory(actor=me, first_name="Bartholomew", last_name="Featherstonehaugh-Smythe")
    now = timezone.now()
    _task(
        me,
        "A very long task title that goes on and on about the quarterly renewal negotiation",
        person=person,
        due_at=now - dt.timedelta(days=1),
        priority="urgent",
        rrule="FREQ=DAILY",
    )
    _many(me, 30, due=now + dt.timedelta(days=2), person=person, title="Later")
    errors: list[str] = []
    phone_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(phone_page, live_server, membership.user.email, PASSWORD)
    phone_page.goto(f"{live_server.url}{MY_WORK}")
    assert_no_horizontal_scroll(phone_page)
    screenshot(phone_page, "my_work_phone")
    # Ticking a task enables the bulk bar.
    assert phone_page.is_disabled("button[value=complete]")
    phone_page.locator("input[name=ids]").first.check()
    assert phone_page.is_enabled("button[value=complete]")
    assert "1 task ticked" in phone_page.inner_text("[data-task-selected]")
    # "Show more" appends the next page of the bucket in place.
    phone_page.click("#more-upcoming a")
    phone_page.wait_for_selector("#more-upcoming", state="detached")
    assert phone_page.locator(".task-bucket-upcoming .task-row").count() == 30
    # The ✓ of a row completes it without leaving the page.
    phone_page.locator(".task-bucket-overdue .task-done-button").first.click()
    phone_page.wait_for_selector(".task-bucket-overdue .task-row.is-done")
    assert Task.objects.filter(status=TaskStatus.DONE).count() == 1
    assert_no_horizontal_scroll(phone_page)
    assert not [e for e in errors if "Content Security Policy" in e], errors
