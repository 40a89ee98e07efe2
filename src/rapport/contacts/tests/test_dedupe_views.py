"""The Duplicates page, the scan's progress, dismissing, the merge screen and redirects."""

from __future__ import annotations

import uuid

import pytest

from rapport.contacts import dedupe, services
from rapport.contacts.models import DuplicatePair, DuplicateScan, Person
from rapport.contacts.tasks import scan_duplicates
from rapport.core.actors import Role
from rapport.testing.clients import make_browser
from rapport.testing.factories import actor_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(browser):
    return actor_for(browser.membership)


def person(actor, **data):
    data.setdefault("first_name", uuid.uuid4().hex[:8])
    return services.person_create(actor=actor, data=data)


def html(response) -> str:
    return response.content.decode()


def htmx(target: str) -> dict:
    return {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": target}


@pytest.fixture
def twins(actor):
    acme = services.company_create(actor=actor, data={"name": "Acme", "domain": "acme.com"})
    a = person(
        actor, first_name="Ada", last_name="Lovelace", email="ada@acme.com", company=str(acme.pk)
    )
    b = person(
        actor, first_name="Adah", last_name="Lovelace", phone="+442079460958", company=str(acme.pk)
    )
    return a, b


def test_nav_links_the_duplicates_page(browser):
    assert 'href="/duplicates/"' in html(browser.get("/"))


def test_duplicates_page_lists_pairs_with_score_and_reasons(browser, twins):
    r = browser.get("/duplicates/")
    assert r.status_code == 200
    page = html(r)
    assert "similar name at the same company" in page
    assert "Ada Lovelace" in page and "Adah Lovelace" in page
    pair = DuplicatePair.objects.get()
    assert f"/duplicates/{pair.pk}/" in page
    assert "Scan workspace" in page
    companies = html(browser.get("/duplicates/?type=company"))
    assert "No possible duplicate companies" in companies
    fragment = browser.get("/duplicates/?type=person", **htmx("duplicate-list"))
    assert "<html" not in html(fragment) and "Ada Lovelace" in html(fragment)


def test_dismiss_removes_the_pair(browser, twins):
    pair = DuplicatePair.objects.get()
    r = browser.post(f"/duplicates/{pair.pk}/dismiss/", **htmx(f"pair-{pair.pk}"))
    assert r.status_code == 200 and r.content == b""
    assert DuplicatePair.objects.get().status == "dismissed"
    assert "Ada Lovelace" not in html(browser.get("/duplicates/"))


def test_scan_button_queues_a_scan_and_progress_polls(browser, actor, twins):
    r = browser.post("/duplicates/scan/", **htmx("scan-status"))
    assert r.status_code == 200
    scan = DuplicateScan.objects.get()
    assert f'hx-get="/duplicates/scan/{scan.pk}/"' in html(r)
    assert 'hx-trigger="every 1s"' in html(r)
    scan_duplicates.apply(args=[str(scan.pk)])
    done = browser.get(f"/duplicates/scan/{scan.pk}/")
    assert "Scan finished" in html(done)
    assert "hx-trigger" not in html(done)  # polling stops
    assert "Scan finished" in html(browser.get("/duplicates/"))


def test_record_pages_show_the_possible_duplicate(browser, twins):
    a, _b = twins
    page = html(browser.get(f"/people/{a.pk}/"))
    assert "Possible duplicate" in page and "Adah Lovelace" in page
    pair = DuplicatePair.objects.get()
    assert f"/duplicates/{pair.pk}/" in page


def test_a_pair_opens_the_merge_screen_older_record_kept(browser, twins):
    a, b = twins
    pair = DuplicatePair.objects.get()
    r = browser.get(f"/duplicates/{pair.pk}/")
    assert r.status_code == 302
    assert r["Location"] == f"/people/{a.pk}/merge/{b.pk}/"


def test_merge_screen_shows_both_records_and_what_moves(browser, actor):
    keep = services.company_create(actor=actor, data={"name": "Acme", "domain": "acme.com"})
    old = services.company_create(actor=actor, data={"name": "Acme Inc", "domain": "acme.de"})
    for _ in range(12):
        person(actor, company=str(old.pk))
    page = html(browser.get(f"/companies/{keep.pk}/merge/{old.pk}/"))
    assert "12 people</strong> will move to Acme" in page
    assert 'name="domain" value="into" checked' in page
    assert 'name="domain" value="from"' in page
    assert "acme.de" in page
    assert f"/companies/{old.pk}/merge/{keep.pk}/" in page  # keep the other one instead


def test_merging_through_the_screen(browser, twins):
    a, b = twins
    r = browser.post(
        f"/people/{a.pk}/merge/{b.pk}/", {"first_name": "from", "phone": "from", "email": "into"}
    )
    assert r.status_code == 302
    assert r["Location"] == f"/people/{a.pk}/"
    merged = Person.objects.get(pk=a.pk)
    assert merged.first_name == "Adah"
    assert merged.phone == "+442079460958"
    assert not Person.objects.filter(pk=b.pk).exists()
    # The merged record's URLs lead to the survivor.
    for suffix in ("", "history/"):
        old = browser.get(f"/people/{b.pk}/{suffix}")
        assert old.status_code == 301
        assert old["Location"] == f"/people/{a.pk}/{suffix}"
    assert "Merged the two records into Adah Lovelace" in html(browser.get(f"/people/{a.pk}/"))


def test_merge_screen_errors_and_walls(browser, actor, twins):
    a, b = twins
    assert browser.get(f"/people/{a.pk}/merge/{a.pk}/").status_code == 404
    assert browser.get(f"/people/{a.pk}/merge/{uuid.uuid4()}/").status_code == 404
    other, _membership = make_browser(Role.OWNER)
    assert other.get(f"/people/{a.pk}/merge/{b.pk}/").status_code == 404
    assert other.post(f"/people/{a.pk}/merge/{b.pk}/").status_code == 404
    pair = DuplicatePair.objects.get()
    assert other.get(f"/duplicates/{pair.pk}/").status_code == 404
    assert other.post(f"/duplicates/{pair.pk}/dismiss/").status_code == 404
    assert "Ada Lovelace" not in html(other.get("/duplicates/"))
    reader, _ = make_browser(Role.READ_ONLY, workspace=actor.workspace)
    assert reader.get(f"/people/{a.pk}/merge/{b.pk}/").status_code == 403
    assert reader.post(f"/people/{a.pk}/merge/{b.pk}/").status_code == 403
    assert reader.post(f"/duplicates/{pair.pk}/dismiss/").status_code == 403
    assert "Scan workspace" not in html(reader.get("/duplicates/"))
    assert Person.objects.filter(pk__in=[a.pk, b.pk]).count() == 2


def test_a_member_cannot_merge_away_a_colleagues_record(actor, twins):
    a, b = twins
    member, _ = make_browser(Role.MEMBER, workspace=actor.workspace)
    page = member.get(f"/people/{a.pk}/merge/{b.pk}/")
    assert "cannot be merged away" in html(page)
    assert member.post(f"/people/{a.pk}/merge/{b.pk}/").status_code == 403


def test_duplicates_page_queries_do_not_grow_with_pairs(browser, actor):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        browser.get("/duplicates/")
        with CaptureQueriesContext(connection) as ctx:
            assert browser.get("/duplicates/").status_code == 200
        return len(ctx)

    for i in range(2):
        person(actor, phone=f"+4420794600{i:02d}")
        person(actor, phone=f"+4420794600{i:02d}")
    few = queries()
    for i in range(2, 12):
        person(actor, phone=f"+4420794600{i:02d}")
        person(actor, phone=f"+4420794600{i:02d}")
    assert queries() == few
    assert dedupe.pair_list(actor=actor, object_type="person", cursor=None, limit=50).rows
