"""The "Deleted deals" page: what it lists (record access, workspace), restoring through the
same service as the API, paging, bad input and its query count."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rapport.audit.models import AuditEntry
from rapport.core.actors import Role
from rapport.sales import deal_views, services
from rapport.sales.models import Deal
from rapport.tenancy import services as tenancy_services
from rapport.testing.clients import make_browser
from rapport.testing.factories import CompanyFactory, DealFactory, actor_for

pytestmark = pytest.mark.django_db

TRASH = "/deals/trash/"
RESTORE = "/deals/trash/restore/"


@pytest.fixture
def actor(browser):
    return actor_for(browser.membership)


def member(browser, role: Role = Role.MEMBER):
    client, membership = make_browser(role, workspace=browser.membership.workspace)
    return client, actor_for(membership)


def deleted(actor, by=None, **data) -> Deal:
    deal = DealFactory(actor=actor, **data)
    services.deal_delete(actor=by or actor, deal_id=deal.pk, expected_version=None)
    return deal


def names(response) -> list[str]:
    return [d.name for d, _ in response.context["rows"]]


def test_the_page_lists_deleted_deals_with_who_deleted_them(browser, actor):
    live = DealFactory(actor=actor, name="Still open")
    gone = deleted(actor, name="Gone <script>alert(1)</script> Ünïcode")
    r = browser.get(TRASH)
    assert r.status_code == 200
    assert names(r) == [gone.name]
    html = r.content.decode()
    assert "Gone &lt;script&gt;alert(1)&lt;/script&gt; Ünïcode" in html
    assert "<script>alert(1)" not in html
    assert actor.user.display_name in html  # deleted by
    assert live.name not in html
    # reachable from the deals table and the board
    assert reverse("sales:deal_trash") in browser.get(reverse("sales:deal_table")).content.decode()
    assert reverse("sales:deal_trash") in browser.get(reverse("sales:board")).content.decode()


def test_restore_from_the_page_goes_through_the_service(browser, actor):
    gone = deleted(actor, name="Bring me back")
    r = browser.post(RESTORE, {"deal": str(gone.pk), "q": "bring"})
    assert r.status_code == 302 and r["Location"] == "/deals/trash/?q=bring"
    gone.refresh_from_db()
    assert gone.deleted_at is None and gone.deleted_by is None
    assert AuditEntry.objects.filter(object_id=str(gone.pk), action="deal.restored").count() == 1
    page = browser.get(r["Location"])
    assert names(page) == []
    assert "Restored" in page.content.decode()
    assert browser.get(f"/deals/{gone.pk}/").status_code == 200
    # a second click: it is no longer in the trash
    assert browser.post(RESTORE, {"deal": str(gone.pk)}).status_code == 404


def test_a_restore_that_would_clash_changes_nothing(browser, actor):
    gone = deleted(actor, name="Old", external_id="crm-1")
    live = DealFactory(actor=actor, name="New", external_id="crm-1")
    r = browser.post(RESTORE, {"deal": str(gone.pk)}, follow=True)
    assert "Not restored" in r.content.decode()
    assert f"/deals/{live.pk}/" in r.content.decode()
    gone.refresh_from_db()
    assert gone.deleted_at is not None


@pytest.mark.parametrize("value", ["", "not-a-uuid", "<script>", "x" * 5000])
def test_bad_ids_restore_nothing(browser, actor, value):
    gone = deleted(actor)
    r = browser.post(RESTORE, {"deal": value}, follow=True)
    assert r.status_code == 200
    assert "Nothing to restore" in r.content.decode()
    gone.refresh_from_db()
    assert gone.deleted_at is not None


def test_a_member_sees_and_restores_only_what_record_access_shows(browser, actor):
    client, mate = member(browser)
    mine = deleted(actor, by=actor, name="Mate's deal", owner=str(mate.user.pk))
    theirs = deleted(actor, name="Owner's deal", owner=str(actor.user.pk))
    pool = deleted(actor, name="Nobody's deal", owner=None)
    assert sorted(names(client.get(TRASH))) == sorted([mine.name, theirs.name, pool.name])
    tenancy_services.workspace_update(actor=actor, record_access="own")
    assert sorted(names(client.get(TRASH))) == sorted([mine.name, pool.name])
    assert client.post(RESTORE, {"deal": str(theirs.pk)}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.deleted_at is not None
    assert client.post(RESTORE, {"deal": str(mine.pk)}).status_code == 302
    mine.refresh_from_db()
    assert mine.deleted_at is None


def test_a_member_may_restore_only_what_they_could_delete(browser, actor):
    client, _mate = member(browser)
    theirs = deleted(actor, name="Owner's deal", owner=str(actor.user.pk))
    page = client.get(TRASH)
    assert [(d.name, ok) for d, ok in page.context["rows"]] == [("Owner's deal", False)]
    assert f'value="{theirs.pk}"' not in page.content.decode()
    assert "Its owner or a manager can restore it" in page.content.decode()
    assert client.post(RESTORE, {"deal": str(theirs.pk)}).status_code == 403
    theirs.refresh_from_db()
    assert theirs.deleted_at is not None
    assert "deleted for good" in browser.get(TRASH).content.decode()


def test_another_workspaces_deleted_deal_is_404(browser, actor):
    _, stranger = make_browser(Role.OWNER)
    theirs = deleted(actor_for(stranger), name="Elsewhere")
    assert theirs.name not in browser.get(TRASH).content.decode()
    assert browser.post(RESTORE, {"deal": str(theirs.pk)}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.deleted_at is not None


def test_read_only_members_get_403(browser, actor):
    gone = deleted(actor)
    client, _ = member(browser, Role.READ_ONLY)
    assert client.get(TRASH).status_code == 403
    assert client.post(RESTORE, {"deal": str(gone.pk)}).status_code == 403
    assert "Deleted deals" not in client.get(reverse("sales:deal_table")).content.decode()
    gone.refresh_from_db()
    assert gone.deleted_at is not None


def test_search_paging_and_stale_links(browser, actor, monkeypatch):
    monkeypatch.setattr(deal_views, "TRASH_PAGE_SIZE", 2)
    for i in range(5):
        deleted(actor, name=f"Acme {i}")
    deleted(actor, name="Other")
    first = browser.get(TRASH, {"q": "acme"})
    assert names(first) == ["Acme 4", "Acme 3"]
    second = browser.get(TRASH + first.context["next_url"])
    assert names(second) == ["Acme 2", "Acme 1"]
    assert "Latest deletions" in second.content.decode()
    third = browser.get(TRASH + second.context["next_url"])
    assert names(third) == ["Acme 0"] and third.context["next_url"] == ""
    stale = browser.get(TRASH, {"cursor": "garbage"})
    assert stale.status_code == 200 and "out of date" in stale.content.decode()
    assert names(browser.get(TRASH, {"q": "x" * 10_000})) == []
    assert names(browser.get(TRASH, {"q": "<script>"})) == []


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_the_rows(browser, actor):
    _, mate = member(browser)
    deleted(actor, company=str(CompanyFactory(actor=actor).pk))
    browser.get(TRASH)  # warm caches
    before = _count(browser, TRASH)
    for i in range(8):
        deleted(
            actor,
            by=mate if i % 2 else actor,
            owner=str((mate if i % 2 else actor).user.pk),
            company=str(CompanyFactory(actor=actor).pk),
        )
    assert _count(browser, TRASH) == before
