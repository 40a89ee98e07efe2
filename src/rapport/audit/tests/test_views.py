"""Settings → Audit log: admins read the workspace's change log, filtered and paged."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.utils import timezone

from rapport.audit import views as audit_views
from rapport.contacts import services as contact_services
from rapport.core.actors import Role
from rapport.testing.clients import make_browser
from rapport.testing.factories import CompanyFactory, MembershipFactory, PersonFactory, actor_for

pytestmark = pytest.mark.django_db

URL = "/settings/audit/"


def _person(actor, first: str, last: str):
    # The factory's default address (example.test) is refused by the email validator.
    return PersonFactory(
        actor=actor, first_name=first, last_name=last, email=f"{uuid.uuid4().hex}@example.com"
    )


def _text(r) -> str:
    return " ".join(r.content.decode().split())


def test_owner_sees_entries_with_labels_links_and_changes(browser):
    actor = actor_for(browser.membership)
    person = _person(actor, "Ada", "Lovelace")
    company = CompanyFactory(actor=actor, name="Analytical Engines")
    contact_services.person_update(actor=actor, person_id=person.pk, data={"title": "Countess"})

    r = browser.get(URL)
    assert r.status_code == 200
    html = _text(r)
    assert "Person created" in html
    assert "Company created" in html
    assert "Person changed" in html
    assert f'href="/people/{person.pk}/"' in html
    assert f'href="/companies/{company.pk}/"' in html
    assert browser.membership.user.email in html  # the actor label
    # The update's changed field is summarised, with before/after behind a <details>.
    assert "<summary>title</summary>" in html
    assert '<td class="before">—</td><td class="after">Countess</td>' in html


def test_filters_by_actor_type_action_and_dates(browser):
    ws = browser.membership.workspace
    colleague = MembershipFactory(workspace=ws, role=Role.MEMBER.value)
    _person(actor_for(browser.membership), "Mine", "Person")
    _person(actor_for(colleague), "Theirs", "Person")
    CompanyFactory(actor=actor_for(colleague), name="Their Company")

    r = browser.get(URL, {"actor": str(colleague.user_id)})
    html = _text(r)
    assert "Theirs Person" in html and "Their Company" in html
    assert "Mine Person" not in html

    r = browser.get(URL, {"type": "contacts.company"})
    html = _text(r)
    assert "Their Company" in html
    assert "Theirs Person" not in html and "Mine Person" not in html

    r = browser.get(URL, {"action": "contact.created", "actor": str(colleague.user_id)})
    html = _text(r)
    assert "Theirs Person" in html
    assert "Their Company" not in html

    today = timezone.localdate()
    r = browser.get(URL, {"since": str(today + dt.timedelta(days=1))})
    assert "No entries match these filters." in _text(r)
    r = browser.get(URL, {"until": str(today - dt.timedelta(days=1))})
    assert "No entries match these filters." in _text(r)
    r = browser.get(
        URL,
        {"since": str(today - dt.timedelta(days=1)), "until": str(today + dt.timedelta(days=1))},
    )
    assert "Their Company" in _text(r)


def test_bad_filter_input_is_reported_not_a_500(browser):
    r = browser.get(URL, {"since": "yesterday-ish", "type": "nope"})
    assert r.status_code == 422
    html = _text(r)
    assert "Enter a valid date." in html
    assert "Select a valid choice." in html
    r = browser.get(URL, {"since": "2026-02-01", "until": "2026-01-01"})
    assert "on or after the “From” date" in _text(r)
    r = browser.get(URL, {"cursor": "garbage"})
    assert r.status_code == 200
    assert "That page link is out of date" in _text(r)


def test_older_pages_follow_the_cursor_and_keep_the_filters(browser, monkeypatch):
    monkeypatch.setattr(audit_views, "PAGE_SIZE", 2)
    actor = actor_for(browser.membership)
    for i in range(5):
        CompanyFactory(actor=actor, name=f"Company {i}")
    seen: list[str] = []
    url = f"{URL}?type=contacts.company"
    for _ in range(3):
        html = browser.get(url).content.decode()
        seen += re.findall(r">(Company \d)</a>", html)
        older = re.search(r'href="(\?[^"]+)" rel="next"', html)
        if older is None:
            break
        assert "type=contacts.company" in older.group(1)
        url = URL + older.group(1).replace("&amp;", "&")
    assert seen == [f"Company {i}" for i in (4, 3, 2, 1, 0)]


@pytest.mark.parametrize("role", [Role.MANAGER, Role.MEMBER, Role.READ_ONLY])
def test_non_admins_are_refused(browser, role):
    _person(actor_for(browser.membership), "Secret", "Entry")
    client, _ = make_browser(role, workspace=browser.membership.workspace)
    r = client.get(URL)
    assert r.status_code == 403
    html = _text(r)
    assert "Only workspace owners and admins can read the audit log." in html
    assert "Secret Entry" not in html


def test_admin_can_read_it():
    client, admin = make_browser(Role.ADMIN)
    _person(actor_for(admin), "Visible", "Entry")
    assert "Visible Entry" in _text(client.get(URL))


def test_another_workspaces_entries_never_show(browser):
    _, other = make_browser(Role.OWNER)
    _person(actor_for(other), "Foreign", "Record")
    html = _text(browser.get(URL))
    assert "Foreign Record" not in html
    # Filtering by a foreign user is not even a valid choice.
    r = browser.get(URL, {"actor": str(other.user_id)})
    assert r.status_code == 422
    assert "Foreign Record" not in _text(r)


def test_names_are_escaped(browser):
    _person(actor_for(browser.membership), "<script>alert(1)</script>", "X")
    html = browser.get(URL).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
