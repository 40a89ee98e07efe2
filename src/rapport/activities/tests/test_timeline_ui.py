"""The Customer 360 page's activities: quick-add box, timeline, email frame, interaction page."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.activities import services
from rapport.activities.models import Activity, ActivityTarget, Task
from rapport.contacts import services as contact_services
from rapport.core.actors import Role
from rapport.testing.clients import make_browser
from rapport.testing.factories import CompanyFactory, PersonFactory, actor_for

pytestmark = pytest.mark.django_db

_emails = itertools.count()


@pytest.fixture
def actor(browser):
    return actor_for(browser.membership)


@pytest.fixture
def other_actor(db):
    _, membership = make_browser(Role.OWNER)
    return actor_for(membership)


def person(actor, **data):
    data.setdefault("email", f"tl{next(_emails)}@example.com")
    return PersonFactory(actor=actor, **data)


def log(actor, record, kind="note", **data):
    data.setdefault("body", f"{kind} body")
    target = "company" if record.__class__.__name__ == "Company" else "person"
    return services.activity_create(
        actor=actor,
        data={"type": kind, "targets": [{"type": target, "id": str(record.pk)}], **data},
    )


def html(response) -> str:
    return response.content.decode()


def entry_ids(page: str) -> list[str]:
    """The ids of the interactions on the timeline in the order shown (pinned ones apart)."""
    return re.findall(r'<li class="tl-item tl-(?!task|change)[^"]*" id="tl-([0-9a-f-]{36})"', page)


def all_ids(page: str) -> list[str]:
    """Every entry: interactions, tasks and changes."""
    return re.findall(r'<li class="tl-item[^"]*" id="tl-([0-9a-f-]{36})"', page)


def pinned_ids(page: str) -> list[str]:
    return re.findall(r'<li class="tl-item[^"]*" id="pinned-([0-9a-f-]{36})"', page)


def htmx(target: str) -> dict:
    return {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": target}


def no_live_script(page: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert not re.search(r"<[^>]*\son[a-z]+=", page)  # (as text, escaped, it is harmless)
    assert not re.search(r"<[^>]*javascript:", page, re.I)


# --- quick add --------------------------------------------------------------------------------


def test_quick_add_note_with_a_script_is_stored_and_shown_as_text(browser, actor):
    ada = person(actor, first_name="Ada")
    page = f"/people/{ada.pk}/"
    body = "Met **Ada** <script>alert('x')</script> <img src=x onerror=alert(1)>"
    r = browser.post(
        "/activities/new/",
        {"type": "note", "body": body, "target_type": "person", "target_id": str(ada.pk),
         "next": page},
    )  # fmt: skip
    assert r.status_code == 302 and r["Location"] == page
    note = Activity.objects.get()
    assert note.type == "note" and note.body == body and note.author_id == actor.user.pk
    assert "<script" not in note.body_html and "<strong>Ada</strong>" in note.body_html
    shown = html(browser.get(page))
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in shown
    assert "<strong>Ada</strong>" in shown
    assert "<img src=x" not in shown
    no_live_script(shown)
    assert " style=" not in shown
    assert entry_ids(shown) == [str(note.pk)]


def test_quick_add_with_htmx_redraws_box_timeline_and_figures(browser, actor):
    ada = person(actor, first_name="Ada")
    r = browser.post(
        "/activities/new/",
        {"type": "call", "subject": "Intro call", "body": "Went well", "direction": "outbound",
         "duration": "12:30", "outcome": "connected", "target_type": "person",
         "target_id": str(ada.pk), "follow_up_days": "3", "follow_up_title": "Send the offer"},
        **htmx("quick-add"),
    )  # fmt: skip
    assert r.status_code == 200, html(r)[:2000]
    page = html(r)
    assert page.lstrip().startswith('<form id="quick-add"')
    assert '<div id="timeline" class="timeline" hx-swap-oob="true">' in page
    assert '<div id="activity-summary" class="glance" hx-swap-oob="true">' in page
    call = Activity.objects.get()
    assert call.data == {"duration_s": 750, "outcome": "connected"}
    assert call.direction == "outbound" and call.subject == "Intro call"
    assert entry_ids(page) == [str(call.pk)]
    assert "12 min 30 s" in page and "Connected" in page
    # the box stays on the kind just logged, and the follow-up task exists
    assert 'value="call" id="qa-type-call" checked' in page
    task = Task.objects.get()
    assert task.title == "Send the offer" and task.activity_id == call.pk
    assert task.due_at > timezone.now() + dt.timedelta(days=2, hours=23)
    assert "Send the offer" in page  # the next task, in the figures


def test_quick_add_errors_are_shown_and_nothing_is_saved(browser, actor):
    ada = person(actor, first_name="Ada")
    post = {"target_type": "person", "target_id": str(ada.pk)}
    r = browser.post(
        "/activities/new/", {**post, "type": "note", "body": "  "}, **htmx("quick-add")
    )
    assert r.status_code == 422
    assert "Write something in the note." in html(r)
    r = browser.post(
        "/activities/new/",
        {**post, "type": "call", "duration": "soon", "body": "x"},
        **htmx("quick-add"),
    )
    assert r.status_code == 422 and "minutes:seconds" in html(r)
    r = browser.post(
        "/activities/new/",
        {**post, "type": "email", "email_to": "not an address", "body": "x"},
        **htmx("quick-add"),
    )
    assert r.status_code == 422
    assert re.search(r'id="id_email_to_error">[^<]+', html(r))
    # without JavaScript: a page with the box and its errors
    r = browser.post("/activities/new/", {**post, "type": "meeting", "url": "ftp://x"})
    assert r.status_code == 422 and "Use an http(s) address." in html(r) and "<html" in html(r)
    assert not Activity.objects.exists()


def test_quick_add_refuses_a_record_of_another_workspace(browser, other_actor):
    theirs = person(other_actor, first_name="Secret")
    r = browser.post(
        "/activities/new/",
        {"type": "note", "body": "x", "target_type": "person", "target_id": str(theirs.pk)},
    )
    assert r.status_code == 404
    for target_id in ("nonsense", ""):
        r = browser.post(
            "/activities/new/",
            {"type": "note", "body": "x", "target_type": "person", "target_id": target_id},
        )
        assert r.status_code == 404
    assert not Activity.objects.exists()


def test_read_only_member_sees_no_quick_add_and_cannot_log(browser, actor):
    reader, _ = make_browser(Role.READ_ONLY, workspace=browser.membership.workspace)
    ada = person(actor, first_name="Ada")
    note = log(actor, ada, body="Visible to all")
    page = html(reader.get(f"/people/{ada.pk}/"))
    assert 'id="quick-add"' not in page and "/activities/new/" not in page
    assert "Visible to all" in page
    assert "/pin/" not in page and "/edit/" not in page and "/delete/" not in page
    r = reader.post(
        "/activities/new/",
        {"type": "note", "body": "x", "target_type": "person", "target_id": str(ada.pk)},
    )
    assert r.status_code == 403
    assert reader.post(f"/activities/{note.pk}/pin/").status_code == 403
    assert reader.post(f"/activities/{note.pk}/delete/").status_code == 403
    assert reader.get(f"/activities/{note.pk}/edit/").status_code == 403
    assert Activity.objects.count() == 1 and not Activity.objects.get().pinned


# --- email HTML ------------------------------------------------------------------------------

EVIL_HTML = (
    "<html><head><script>steal()</script><style>p{}</style></head><body>"
    "<p style='color:red' onclick='x()'>Hello <b>there</b></p>"
    "<img src='https://tracker.example/pixel.png' onerror='alert(1)'>"
    "<a href='javascript:alert(2)'>click</a> <a href='https://ok.example/'>fine</a>"
    "<iframe src='https://evil.example'></iframe><form action='https://evil.example'>"
    "<input name=q></form></body></html>"
)


def test_email_html_is_served_inert_in_a_sandboxed_frame(browser, actor):
    ada = person(actor, first_name="Ada")
    email = log(
        actor, ada, "email", subject="Offer", body="Hello there",
        data={"html": EVIL_HTML, "from": ada.email},
    )  # fmt: skip
    page = html(browser.get(f"/people/{ada.pk}/"))
    no_live_script(page)
    assert "tracker.example" not in page and "Hello <b>there</b>" not in page
    frame = re.search(r"<iframe [^>]*>", page)[0]
    assert f'src="/activities/{email.pk}/email-body/"' in frame
    sandbox = re.search(r'sandbox="([^"]*)"', frame)[1]
    assert "allow-scripts" not in sandbox and "allow-same-origin" not in sandbox
    assert "Show remote images" in page
    assert f'href="/activities/{email.pk}/email-body/?images=1" target="email-{email.pk}"' in page

    r = browser.get(f"/activities/{email.pk}/email-body/")
    assert r.status_code == 200
    body = html(r)
    assert "Hello <b>there</b>" in body and 'href="https://ok.example/"' in body
    for bad in ("<script", "steal()", "onerror", "onclick", "javascript:", "<iframe", "<form"):
        assert bad not in body.lower(), bad
    csp = r["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "style-src 'unsafe-inline'" in csp
    assert "img-src data:;" in csp and "https:" not in csp and "script-src" not in csp
    assert "frame-ancestors 'self'" in csp and "sandbox" in csp
    assert r["X-Frame-Options"] == "SAMEORIGIN"
    r = browser.get(f"/activities/{email.pk}/email-body/?images=1")
    assert "img-src data: https: http:" in r["Content-Security-Policy"]
    assert "script-src" not in r["Content-Security-Policy"]
    # an ordinary page stays unframeable
    assert browser.get(f"/people/{ada.pk}/")["X-Frame-Options"] == "DENY"


def test_email_without_remote_images_offers_no_button_and_notes_have_no_frame(browser, actor):
    ada = person(actor, first_name="Ada")
    log(actor, ada, "email", data={"html": "<p>Plain <i>mail</i></p>"})
    note = log(actor, ada, body="just a note")
    page = html(browser.get(f"/people/{ada.pk}/"))
    assert page.count("<iframe") == 1 and "Show remote images" not in page
    assert browser.get(f"/activities/{note.pk}/email-body/").status_code == 404


# --- what shows where -------------------------------------------------------------------------


def test_meeting_with_two_people_of_two_companies_is_on_all_four_timelines(browser, actor):
    acme, globex = (
        CompanyFactory(actor=actor, name="Acme"),
        CompanyFactory(actor=actor, name="Globex"),
    )
    ada = person(actor, first_name="Ada", last_name="Lovelace", company=str(acme.pk))
    bob = person(actor, first_name="Bob", last_name="Stone", company=str(globex.pk))
    meeting = services.activity_create(
        actor=actor,
        data={
            "type": "meeting",
            "subject": "Joint kick-off",
            "data": {"starts_at": "2030-01-02T10:00:00Z", "ends_at": "2030-01-02T11:00:00Z",
                     "location": "Room 1", "url": "https://meet.example/abc",
                     "attendees": [{"email": ada.email}, {"email": "guest@elsewhere.example"}]},
            "targets": [{"type": "person", "id": str(bob.pk)}],
        },
    )  # fmt: skip
    for path in (
        f"/people/{ada.pk}/",
        f"/people/{bob.pk}/",
        f"/companies/{acme.pk}/",
        f"/companies/{globex.pk}/",
    ):
        page = html(browser.get(path))
        assert str(meeting.pk) in entry_ids(page), path
        assert "Room 1" in page and "guest@elsewhere.example" in page, path
        assert 'href="https://meet.example/abc" rel="noopener noreferrer nofollow"' in page, path
    acme_page = html(browser.get(f"/companies/{acme.pk}/"))
    assert re.search(r'via <a href="/people/[0-9a-f-]+/">Ada Lovelace</a></span>', acme_page)
    globex_page = html(browser.get(f"/companies/{globex.pk}/"))
    assert re.search(r'via <a href="/people/[0-9a-f-]+/">Bob Stone</a></span>', globex_page)
    ada_page = html(browser.get(f"/people/{ada.pk}/"))
    assert f'<a href="/people/{bob.pk}/">Bob Stone</a>' in ada_page  # "with" the other person


def test_company_timeline_includes_its_peoples_calls(browser, actor):
    acme = CompanyFactory(actor=actor, name="Acme")
    ada = person(actor, first_name="Ada", last_name="Lovelace", company=str(acme.pk))
    call = log(actor, ada, "call", data={"duration_s": 90, "outcome": "no_answer"})
    direct = log(actor, acme, body="About the company itself")
    elsewhere = log(actor, person(actor, first_name="Zed"), "call")
    page = html(browser.get(f"/companies/{acme.pk}/"))
    assert entry_ids(page) == [str(direct.pk), str(call.pk)]
    assert str(elsewhere.pk) not in page
    item = page.split(f'id="tl-{call.pk}"', 1)[1].split("</li>", 1)[0]
    assert re.search(rf'via <a href="/people/{ada.pk}/">Ada Lovelace</a></span>', item)
    assert "1 min 30 s" in item and "No answer" in item
    direct_item = page.split(f'id="tl-{direct.pk}"', 1)[1].split("</li>", 1)[0]
    assert "via" not in direct_item


def test_pinned_note_is_on_top_once(browser, actor):
    ada = person(actor, first_name="Ada")
    old = log(actor, ada, body="Key fact: prefers email",
              occurred_at=(timezone.now() - dt.timedelta(days=30)).isoformat())  # fmt: skip
    newer = [log(actor, ada, "call", subject=f"Call {i}") for i in range(3)]
    r = browser.post(f"/activities/{old.pk}/pin/", {"pinned": "1", "next": f"/people/{ada.pk}/"})
    assert r.status_code == 302 and r["Location"] == f"/people/{ada.pk}/"
    page = html(browser.get(f"/people/{ada.pk}/"))
    assert pinned_ids(page) == [str(old.pk)]
    assert entry_ids(page) == [str(a.pk) for a in reversed(newer)]
    assert page.index(f'id="pinned-{old.pk}"') < page.index(f'id="tl-{newer[-1].pk}"')
    assert "Unpin" in page
    browser.post(f"/activities/{old.pk}/pin/", {"pinned": "0"})
    page = html(browser.get(f"/people/{ada.pk}/"))
    assert pinned_ids(page) == [] and entry_ids(page)[-1] == str(old.pk)


def test_type_filter(browser, actor):
    ada = person(actor, first_name="Ada")
    note, call = log(actor, ada, body="a note"), log(actor, ada, "call")
    email = log(actor, ada, "email", subject="Mail")
    contact_services.person_update(
        actor=actor, person_id=ada.pk, data={"lifecycle_stage": "customer"}
    )
    url = f"/activities/timeline/person/{ada.pk}/"
    page = html(browser.get(url + "?type=call", **htmx("timeline")))
    assert page.lstrip().startswith('<div id="timeline"') and entry_ids(page) == [str(call.pk)]
    assert 'aria-current="true">Calls</a>' in page
    assert entry_ids(html(browser.get(url + "?type=note"))) == [str(note.pk)]
    assert entry_ids(html(browser.get(url + "?type=email"))) == [str(email.pk)]
    changes = html(browser.get(url + "?type=change"))
    assert "Lifecycle stage:" in changes and str(call.pk) not in changes
    assert "Nothing of this kind yet" in html(browser.get(url + "?type=visit"))
    # an unknown kind shows everything; the record page takes the filter too (no JavaScript)
    assert len(entry_ids(html(browser.get(url + "?type=bogus")))) == 3
    assert entry_ids(html(browser.get(f"/people/{ada.pk}/?type=call"))) == [str(call.pk)]


def test_infinite_scroll_walks_every_entry_once(browser, actor):
    ada = person(actor, first_name="Ada")
    base = timezone.now() - dt.timedelta(days=1)
    made = set()
    for i in range(120):
        # pairs share a time: the cursor must order ties by id
        at = (base - dt.timedelta(minutes=i // 2)).isoformat()
        made.add(str(log(actor, ada, "call" if i % 3 else "note", occurred_at=at).pk))
    first = html(browser.get(f"/people/{ada.pk}/"))
    seen = all_ids(first)
    assert len(seen) == 30
    nxt = re.search(r'hx-get="([^"]+cursor=[^"]+)" hx-trigger="revealed"', first)
    pages = 1
    while nxt:
        r = browser.get(nxt[1].replace("&amp;", "&"), **htmx("timeline-items"))
        assert r.status_code == 200
        part = html(r)
        assert "<html" not in part and 'id="timeline"' not in part
        seen += all_ids(part)
        nxt = re.search(r'hx-get="([^"]+cursor=[^"]+)" hx-trigger="revealed"', part)
        pages += 1
        assert pages < 20
    # the person's "created" change is the oldest entry
    assert len(seen) == len(set(seen))
    assert made <= set(seen) and len(seen) == 121
    # without JavaScript the record page pages with ?cursor= too
    older = re.search(r'<a href="([^"]+cursor=[^"]+)">Older entries</a>', first)[1]
    page = html(browser.get(older.replace("&amp;", "&")))
    assert all_ids(page) == seen[30:60]
    bad = html(browser.get(f"/people/{ada.pk}/?cursor=garbage"))
    assert "no longer works" in bad and all_ids(bad) == seen[:30]


def test_record_changes_and_tasks_appear(browser, actor):
    ada = person(actor, first_name="Ada")
    contact_services.person_update(
        actor=actor,
        person_id=ada.pk,
        data={"lifecycle_stage": "customer", "owner": str(actor.user.pk), "title": "CTO"},
    )
    services.task_create(
        actor=actor,
        data={"title": "Renew contract", "due_at": "2030-01-01T09:00:00Z",
              "targets": [{"type": "person", "id": str(ada.pk)}]},
    )  # fmt: skip
    page = html(browser.get(f"/people/{ada.pk}/"))
    assert re.search(r"Lifecycle stage:</span> Lead → <strong>Customer</strong>", page)
    assert re.search(
        rf"Owner:</span> No owner → <strong>{re.escape(actor.user.display_name)}</strong>", page
    )
    assert "Person created" in page
    assert "Renew contract" in page and "Due Tue 1 Jan 2030" in page
    assert "CTO</strong>" not in page  # a title change is for the History tab


# --- the figures at a glance -------------------------------------------------------------------


def test_summary_counts_the_last_90_days_by_channel(browser, actor):
    ada = person(actor, first_name="Ada")
    now = timezone.now()
    for days in (1, 10, 89):
        log(actor, ada, "call", occurred_at=(now - dt.timedelta(days=days)).isoformat())
    log(actor, ada, "email", occurred_at=(now - dt.timedelta(days=5)).isoformat())
    log(actor, ada, "call", occurred_at=(now - dt.timedelta(days=91)).isoformat())
    log(actor, ada, "meeting", occurred_at=(now - dt.timedelta(days=200)).isoformat())
    latest = log(
        actor, ada, "sms", channel="twilio", occurred_at=(now - dt.timedelta(hours=3)).isoformat()
    )
    page = html(browser.get(f"/people/{ada.pk}/"))
    glance = page.split('id="activity-summary"', 1)[1].split('id="section-quick_add"', 1)[0]
    assert (
        '<li data-type="call"><span aria-hidden="true">☎</span> <strong>3</strong> calls</li>'
        in glance
    )
    assert "<strong>1</strong> email</li>" in glance and "<strong>1</strong> sms</li>" in glance
    assert 'data-type="meeting"' not in glance
    assert f'href="/activities/{latest.pk}/"' in glance and "via twilio" in glance
    assert "3\xa0hours ago" in glance
    assert "No open tasks" in glance


def test_empty_timeline_invites_a_first_note(browser, actor):
    acme = CompanyFactory(actor=actor, name="Acme")
    page = html(browser.get(f"/companies/{acme.pk}/"))
    assert "None yet" in page
    # (the company's own "created" change is there, so the list is not empty)
    url = f"/activities/timeline/company/{acme.pk}/?type=note"
    assert "Nothing of this kind yet" in html(browser.get(url))


# --- the interaction page ---------------------------------------------------------------------


def test_activity_page_shows_the_interaction_and_its_links(browser, actor):
    acme = CompanyFactory(actor=actor, name="Acme")
    ada = person(actor, first_name="Ada", last_name="Lovelace", company=str(acme.pk))
    call = services.activity_create(
        actor=actor,
        data={"type": "call", "subject": "Renewal", "body": "Call <b>notes</b>",
              "direction": "inbound", "data": {"duration_s": 3700, "phone": "+14155550100"},
              "targets": [{"type": "person", "id": str(ada.pk)}],
              "follow_up": {"due_in_days": 1, "title": "Send quote"}},
    )  # fmt: skip
    r = browser.get(f"/activities/{call.pk}/")
    assert r.status_code == 200
    page = html(r)
    assert "<h1>" in page and "Renewal" in page and "inbound" in page
    assert "1 h 1 min 40 s" in page and 'href="tel:+14155550100"' in page
    assert f'<a href="/people/{ada.pk}/">Ada Lovelace</a>' in page
    assert "Call &lt;b&gt;notes&lt;/b&gt;" in page
    assert "Send quote" in page  # its follow-up
    assert f'href="/activities/{call.pk}/edit/"' in page
    assert f'action="/activities/{call.pk}/delete/"' in page
    no_live_script(page)
    assert " style=" not in page


def test_edit_an_interaction(browser, actor):
    ada = person(actor, first_name="Ada")
    email = log(
        actor, ada, "email", subject="Old", body="text",
        data={"from": "ada@example.com", "to": ["me@example.com"], "message_id": "<m1@x>",
              "html": "<p>kept</p>"},
    )  # fmt: skip
    r = browser.get(f"/activities/{email.pk}/edit/")
    assert r.status_code == 200 and 'value="Old"' in html(r)
    form = {
        "subject": "New subject",
        "body": "text",
        "when": timezone.localtime(email.occurred_at).strftime("%Y-%m-%dT%H:%M"),
        "direction": "",
        "email_from": "ada@example.com",
        "email_to": "me@example.com, boss@example.com",
        "email_cc": "",
        "version": str(email.version),
    }
    r = browser.post(f"/activities/{email.pk}/edit/", form)
    assert r.status_code == 302 and r["Location"] == f"/activities/{email.pk}/"
    email.refresh_from_db()
    assert email.subject == "New subject"
    assert email.data["to"] == ["me@example.com", "boss@example.com"]
    assert email.data["message_id"] == "<m1@x>" and email.body_html == "<p>kept</p>"
    # a stale version is refused, nothing changes
    r = browser.post(f"/activities/{email.pk}/edit/", {**form, "subject": "Lost"})
    assert r.status_code == 200 and "Someone else changed" in html(r)
    email.refresh_from_db()
    assert email.subject == "New subject"


def test_delete_an_interaction(browser, actor):
    ada = person(actor, first_name="Ada")
    note = log(actor, ada, body="bye")
    r = browser.post(f"/activities/{note.pk}/delete/", {"version": str(note.version)})
    assert r.status_code == 302 and r["Location"] == f"/people/{ada.pk}/"
    assert Activity.objects.get().deleted_at is not None
    assert str(note.pk) not in html(browser.get(f"/people/{ada.pk}/"))
    assert browser.get(f"/activities/{note.pk}/").status_code == 404


def test_another_workspaces_interaction_is_not_found(browser, other_actor):
    theirs = person(other_actor, first_name="Secret")
    email = log(other_actor, theirs, "email", data={"html": "<p>secret</p>"})
    for path in (
        f"/activities/{email.pk}/",
        f"/activities/{email.pk}/edit/",
        f"/activities/{email.pk}/email-body/",
        f"/activities/timeline/person/{theirs.pk}/",
        f"/activities/timeline/nosuchtype/{theirs.pk}/",
    ):
        assert browser.get(path).status_code == 404, path
    assert browser.post(f"/activities/{email.pk}/pin/").status_code == 404
    assert browser.post(f"/activities/{email.pk}/delete/").status_code == 404
    email.refresh_from_db()
    assert not email.pinned and email.deleted_at is None


def test_anonymous_visitors_are_sent_to_sign_in(client, actor):
    ada = person(actor, first_name="Ada")
    note = log(actor, ada)
    for path in (f"/activities/{note.pk}/", f"/activities/{note.pk}/email-body/"):
        r = client.get(path)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")


# --- cost ---------------------------------------------------------------------------------------


def _queries(client, path: str) -> int:
    client.get(path)  # the first request of a session also stores the workspace in it
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx)


def _history(actor, who, n: int, tasks: int = 7) -> None:
    """``n`` interactions and ``n`` stage and owner changes; always more open tasks than the
    Tasks section lists (so every page has the same parts)."""
    for i in range(n):
        log(actor, who, ("note", "call", "email", "meeting")[i % 4], subject=f"S{i}",
            data={"html": "<p>x</p>"} if i % 4 == 2 else {})  # fmt: skip
        contact_services.person_update(
            actor=actor,
            person_id=who.pk,
            data={
                "lifecycle_stage": ("customer", "lead")[i % 2],
                "owner": (str(actor.user.pk), None)[i % 2],
            },
        )
    for i in range(tasks):
        services.task_create(
            actor=actor,
            data={"title": f"T{i}", "targets": [{"type": "person", "id": str(who.pk)}]},
        )


def test_record_page_queries_do_not_grow_with_the_history(browser, actor):
    acme = CompanyFactory(actor=actor, name="Acme")
    few_person = person(actor, first_name="Few", company=str(acme.pk))
    many_person = person(actor, first_name="Many", company=str(acme.pk))
    _history(actor, few_person, 3)
    _history(actor, many_person, 40)
    few = _queries(browser, f"/people/{few_person.pk}/")
    many = _queries(browser, f"/people/{many_person.pk}/")
    assert few == many, (few, many)
    # the timeline's next pages cost the same as well
    page = html(browser.get(f"/people/{many_person.pk}/"))
    nxt = re.search(r'hx-get="([^"]+cursor=[^"]+)"', page)[1].replace("&amp;", "&")
    first_more = _queries(browser, nxt)
    nxt2 = re.search(r'hx-get="([^"]+cursor=[^"]+)"', html(browser.get(nxt)))[1]
    assert _queries(browser, nxt2.replace("&amp;", "&")) == first_more
    assert ActivityTarget.objects.filter(target_id=acme.pk).count() == 43  # rolled up
    company_before = _queries(browser, f"/companies/{acme.pk}/")
    _history(actor, few_person, 5)
    assert _queries(browser, f"/companies/{acme.pk}/") == company_before


def test_the_quick_add_box_offers_a_task_for_the_record(browser):
    from django.urls import reverse

    from rapport.testing.factories import PersonFactory, actor_for

    person = PersonFactory(actor=actor_for(browser.membership))
    page = browser.get(reverse("contacts:person_detail", args=[person.pk])).content.decode()
    link = f"{reverse('activities:task_create')}?target_type=person&amp;target_id={person.pk}"
    assert link in page
    form = browser.get(
        reverse("activities:task_create"), {"target_type": "person", "target_id": str(person.pk)}
    )
    assert form.status_code == 200
