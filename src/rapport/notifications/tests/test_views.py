"""The notification centre page, the bell, opening a notification and the settings form."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from rapport.core.actors import Role
from rapport.notifications.models import Notification, NotificationPreference
from rapport.tenancy.selectors import SESSION_KEY
from rapport.testing.factories import MembershipFactory, PersonFactory, actor_for
from rapport.testing.suites import count_queries

from .helpers import send

pytestmark = pytest.mark.django_db


@pytest.fixture
def colleague(browser):
    return MembershipFactory(workspace=browser.membership.workspace, role=Role.MEMBER.value)


def _notify(browser, colleague, n: int = 1, **kw) -> list[Notification]:
    return [
        row
        for _ in range(n)
        for row in send(actor_for(colleague), [browser.membership.user_id], **kw)
    ]


def test_the_bell_shows_the_unread_count_on_every_page(browser, colleague):
    html = browser.get("/").content.decode()
    assert 'class="notif-bell"' in html and "notif-count" not in html
    _notify(browser, colleague, 3)
    html = browser.get("/").content.decode()
    assert 'aria-label="Notifications, 3 unread"' in html
    assert 'data-count="3"' in html
    assert 'hx-trigger="every 60s"' in html


def test_the_bell_partial_for_polling(browser, colleague):
    _notify(browser, colleague, 2)
    r = browser.get("/notifications/bell/")
    assert r.status_code == 200
    assert r["Cache-Control"] == "no-store"
    html = r.content.decode()
    assert html.strip().startswith('<a class="notif-bell"') and 'data-count="2"' in html
    assert "<html" not in html


def test_a_signed_out_tab_stops_polling(db):
    r = Client().get("/notifications/bell/")
    assert r.status_code == 286 and r.content == b""


def test_the_page_lists_newest_first_and_escapes(browser, colleague):
    _notify(browser, colleague, title="Older one")
    _notify(browser, colleague, kind="assignment", title="<script>alert(1)</script> task for you")
    r = browser.get("/notifications/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; task for you" in html
    assert html.index("task for you") < html.index("Older one")
    assert "Assignments" in html and "Mentions" in html
    assert "Mark all read" in html
    assert colleague.user.email in html


def test_the_empty_states(browser):
    html = browser.get("/notifications/").content.decode()
    assert "No notifications yet." in html and "Mark all read" not in html
    html = browser.get("/notifications/?unread=1").content.decode()
    assert "You are all caught up." in html


def test_the_unread_filter(browser, colleague):
    [read] = _notify(browser, colleague, title="Seen it")
    _notify(browser, colleague, title="Not yet")
    browser.get(f"/notifications/{read.pk}/open/")
    html = browser.get("/notifications/?unread=1").content.decode()
    assert "Not yet" in html and "Seen it" not in html
    html = browser.get("/notifications/").content.decode()
    assert "Not yet" in html and "Seen it" in html


def test_pages_of_notifications(browser, colleague, monkeypatch):
    from rapport.notifications import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    rows = _notify(browser, colleague, 3, title="News")
    first = browser.get("/notifications/").context
    assert [n.pk for n, _ in first["rows"]] == [rows[2].pk, rows[1].pk]
    second = browser.get("/notifications/" + first["older_url"]).context
    assert [n.pk for n, _ in second["rows"]] == [rows[0].pk]
    assert second["older_url"] == ""
    stale = browser.get("/notifications/?cursor=nonsense")
    assert stale.status_code == 200 and "out of date" in stale.content.decode()


def test_the_list_page_query_count_is_constant(browser, colleague):
    person = PersonFactory(actor=actor_for(browser.membership))
    _notify(browser, colleague, 2, target_type="person", target_id=person.pk)
    browser.get("/notifications/")
    few, r, _ = count_queries(lambda: browser.get("/notifications/"))
    assert len(r.context["rows"]) == 2
    _notify(browser, colleague, 20, target_type="person", target_id=person.pk)
    _notify(browser, colleague, 10)
    many, r, sql = count_queries(lambda: browser.get("/notifications/"))
    assert len(r.context["rows"]) == 32
    assert many == few, "\n".join(sql)


def test_opening_marks_read_and_follows_the_link(browser, colleague):
    person = PersonFactory(actor=actor_for(browser.membership))
    [n] = _notify(
        browser, colleague, url=f"/people/{person.pk}/", target_type="person", target_id=person.pk
    )
    r = browser.get(f"/notifications/{n.pk}/open/")
    assert r.status_code == 302 and r["Location"] == f"/people/{person.pk}/"
    n.refresh_from_db()
    assert n.read_at is not None
    assert browser.get(f"/notifications/{n.pk}/open/")["Location"] == f"/people/{person.pk}/"


def test_a_notification_without_a_link_opens_the_list(browser, colleague):
    [n] = _notify(browser, colleague)
    assert browser.get(f"/notifications/{n.pk}/open/")["Location"] == "/notifications/"


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
    ],
)
def test_open_redirects_are_refused(browser, url):
    # Written straight to the table: notify() refuses such links already.
    n = Notification.objects.create(
        workspace=browser.membership.workspace,
        recipient=browser.membership.user,
        kind="mention",
        title="Crafted",
        url=url,
        key=f"crafted:{uuid.uuid4()}",
    )
    r = browser.get(f"/notifications/{n.pk}/open/")
    assert r.status_code == 302 and r["Location"] == "/notifications/"


def test_someone_elses_notification_is_not_found(browser, colleague):
    [theirs] = send(actor_for(browser.membership), [colleague.user_id])
    assert browser.get(f"/notifications/{theirs.pk}/open/").status_code == 404
    assert browser.get(f"/notifications/{uuid.uuid4()}/open/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_a_mail_link_switches_to_the_notifications_workspace(browser):
    user = browser.membership.user
    elsewhere = MembershipFactory(user=user, role=Role.MEMBER.value)
    other_member = MembershipFactory(workspace=elsewhere.workspace)
    [n] = send(actor_for(other_member), [user.pk], url="/people/")
    url = f"/notifications/{n.pk}/open/?ws={elsewhere.workspace_id}"
    r = browser.get(url)
    assert r.status_code == 302 and r["Location"] == f"/notifications/{n.pk}/open/"
    assert browser.session[SESSION_KEY] == str(elsewhere.workspace_id)
    assert browser.get(r["Location"])["Location"] == "/people/"
    n.refresh_from_db()
    assert n.read_at is not None


def test_a_mail_link_to_a_workspace_one_left_is_not_found(browser):
    stranger = MembershipFactory()
    [n] = send(actor_for(MembershipFactory(workspace=stranger.workspace)), [stranger.user_id])
    r = browser.get(f"/notifications/{n.pk}/open/?ws={stranger.workspace_id}")
    assert r.status_code == 404
    assert browser.session[SESSION_KEY] == str(browser.membership.workspace_id)
    assert browser.get(f"/notifications/{n.pk}/open/?ws=garbage").status_code == 404


def test_mark_all_read(browser, colleague):
    _notify(browser, colleague, 3)
    assert browser.get("/notifications/read-all/").status_code == 405
    r = browser.post("/notifications/read-all/", follow=True)
    assert r.redirect_chain[-1][0] == "/notifications/"
    assert "All notifications are marked as read." in r.content.decode()
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_the_preferences_form(browser):
    r = browser.get("/notifications/preferences/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "Email settings" in html and "Your time zone: UTC" in html
    assert 'value="immediate"' in html and "checked" in html
    r = browser.post(
        "/notifications/preferences/", {"email_mode": "digest", "digest_hour": "18"}, follow=True
    )
    assert "Your notification settings are saved." in r.content.decode()
    pref = NotificationPreference.objects.get()
    assert (pref.email_mode, pref.digest_hour) == ("digest", 18)


@pytest.mark.parametrize(
    "data",
    [{"email_mode": "weekly", "digest_hour": "8"}, {"email_mode": "off", "digest_hour": "24"}, {}],
)
def test_bad_preferences_are_shown_on_the_form(browser, data):
    r = browser.post("/notifications/preferences/", data)
    assert r.status_code == 422
    assert r.context["form"].errors
    assert not NotificationPreference.objects.exists()


def test_the_pages_need_a_sign_in(db):
    client = Client()
    for path in ("/notifications/", "/notifications/preferences/"):
        r = client.get(path)
        assert r.status_code == 302 and "/accounts/login/" in r["Location"]
