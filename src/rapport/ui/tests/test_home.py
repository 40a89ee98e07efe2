"""The start page and the shared UI guard."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import dateformat, timezone

from rapport.contacts.models import Company, Person
from rapport.core.actors import Role
from rapport.testing.clients import make_browser
from rapport.testing.factories import CompanyFactory, PersonFactory, UserFactory, actor_for

pytestmark = pytest.mark.django_db


def html(response) -> str:
    return response.content.decode()


def test_anonymous_visitor_is_sent_to_sign_in(client):
    r = client.get("/")
    assert r.status_code == 302
    assert r["Location"] == "/accounts/login/?next=/"


def test_a_user_without_a_workspace_is_told_so(db):
    client = Client()
    client.force_login(UserFactory())
    for path in ("/", "/people/"):
        r = client.get(path)
        assert r.status_code == 403
        assert "not a member of any workspace" in html(r)


def test_fresh_workspace_shows_how_to_start(browser):
    r = browser.get("/")
    assert r.status_code == 200
    page = html(r)
    assert "Your workspace is empty" in page
    assert 'href="/companies/new/"' in page and 'href="/people/new/"' in page
    assert browser.membership.workspace.name in page


def test_read_only_member_of_a_fresh_workspace_gets_no_add_buttons(browser):
    reader, _ = make_browser(Role.READ_ONLY, workspace=browser.membership.workspace)
    page = html(reader.get("/"))
    assert "Your workspace is empty" in page
    assert "/new/" not in page
    assert "read-only" in page


def test_counts_and_the_ten_most_recently_updated_records(browser):
    actor = actor_for(browser.membership)
    base = timezone.now() - dt.timedelta(days=1)
    for i in range(7):
        company = CompanyFactory(actor=actor, name=f"Company {i}")
        Company.objects.filter(pk=company.pk).update(updated_at=base + dt.timedelta(minutes=2 * i))
    for i in range(8):
        person = PersonFactory(
            actor=actor, first_name=f"Person{i}", last_name="X", email=f"p{i}@example.com"
        )
        Person.objects.filter(pk=person.pk).update(
            updated_at=base + dt.timedelta(minutes=2 * i + 1)
        )
    # Another workspace's records are neither counted nor shown.
    _, elsewhere = make_browser(Role.OWNER)
    CompanyFactory(actor=actor_for(elsewhere), name="Foreign Company")

    page = html(browser.get("/"))
    assert '<span class="stat-value">8</span>' in page
    assert '<span class="stat-value">7</span>' in page
    assert "Foreign Company" not in page
    recent = page.split("Recently updated", 1)[1]
    shown = [
        name
        for name in [f"Person{i} X" for i in range(8)] + [f"Company {i}" for i in range(7)]
        if f">{name}<" in recent
    ]
    assert len(shown) == 10
    # Newest first: Person7 (minute 15), Company 6 (14), ... down to Person2 (minute 5).
    assert recent.index(">Person7 X<") < recent.index(">Company 6<") < recent.index(">Person2 X<")
    assert ">Company 1<" not in recent and ">Person1 X<" not in recent


def test_home_escapes_record_names(browser):
    actor = actor_for(browser.membership)
    PersonFactory(actor=actor, first_name="<script>alert(1)</script>", email="x@example.com")
    page = html(browser.get("/"))
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_times_are_shown_in_the_users_time_zone(browser):
    user = browser.membership.user
    user.time_zone = "Asia/Tokyo"
    user.save()
    actor = actor_for(browser.membership)
    person = PersonFactory(actor=actor, first_name="Ada", email="ada@example.com")
    page = html(browser.get(f"/people/{person.pk}/"))
    tokyo = timezone.localtime(person.created_at, dt.timezone(dt.timedelta(hours=9)))
    # 24-hour or 12-hour clock; Django's "P" leaves the minutes off on the hour ("4 a.m.")
    shown = {tokyo.strftime("%H:%M"), tokyo.strftime("%-I:%M"), dateformat.format(tokyo, "P")}
    assert any(text in page for text in shown), shown
