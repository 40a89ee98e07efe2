"""The new-lead page (the edit form's fields through ``lead_create``), deleting a lead from its
page, and the "Deleted leads" page that restores them: permissions, record access, another
workspace's ids, bad input, audit and query counts."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.audit.models import AuditEntry
from rapport.contacts.models import Person
from rapport.core.actors import Role
from rapport.core.errors import NotFound, PermissionDenied
from rapport.customization.services import field_create
from rapport.sales import lead_services as services
from rapport.sales import lead_views
from rapport.sales import services as sales_services
from rapport.sales.lead_models import Lead
from rapport.search.models import SearchEntry
from rapport.tenancy import services as tenancy_services
from rapport.tenancy.models import Team, TeamMember
from rapport.testing.clients import make_browser
from rapport.testing.factories import actor_for

pytestmark = pytest.mark.django_db

NEW = "/leads/new/"
TRASH = "/leads/trash/"
RESTORE = "/leads/trash/restore/"


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


@pytest.fixture
def actor(browser):
    return actor_for(browser.membership)


def member(browser, role: Role = Role.MEMBER):
    client, membership = make_browser(role, workspace=browser.membership.workspace)
    return client, actor_for(membership)


def make_lead(actor, **data) -> Lead:
    return services.lead_create(actor=actor, data={"first_name": "Ada", **data})


def deleted(actor, by=None, **data) -> Lead:
    lead = make_lead(actor, **data)
    services.lead_delete(actor=by or actor, lead_id=lead.pk)
    return lead


def names(response) -> list[str]:
    return [str(lead) for lead, _ in response.context["rows"]]


# --- the new-lead page -----------------------------------------------------------------------


def test_new_lead_has_every_field_of_the_edit_form(browser, actor):
    field_create(
        actor=actor,
        data={"object_type": "sales.lead", "key": "budget", "label": "Budget", "type": "number"},
    )
    _, mate = member(browser)
    html = browser.get(NEW).content.decode()
    for name in ("owner", "tags", "country", "custom.budget", "status", "disqualified_reason"):
        assert f'name="{name}"' in html
    r = browser.post(
        NEW,
        {
            "first_name": "Zoë <script>alert(1)</script>",
            "email": "ZOE@Example.org",
            "country": "DE",
            "owner": str(mate.user.pk),
            "tags": "vip, newsletter",
            "custom.budget": "1200",
            "status": "working",
        },
    )
    lead = Lead.objects.get(workspace=actor.workspace)
    assert r.status_code == 302 and r["Location"] == f"/leads/{lead.pk}/"
    assert lead.first_name == "Zoë <script>alert(1)</script>"
    assert lead.email == "zoe@example.org" and lead.country == "DE"
    assert lead.owner_id == mate.user.pk and lead.status == "working"
    assert sorted(t.name for t in lead.tags.all()) == ["newsletter", "vip"]
    assert lead.custom == {"budget": 1200}
    entry = AuditEntry.objects.get(object_id=str(lead.pk), action="lead.created")
    assert entry.source == "ui"
    page = browser.get(f"/leads/{lead.pk}/").content.decode()
    assert "<script>alert(1)" not in page


def test_without_an_owner_the_assignment_rules_route_the_new_lead(browser, actor):
    _, mate = member(browser)
    services.assignment_rule_create(
        actor=actor, data={"name": "Germany", "countries": ["DE"], "user": str(mate.user.pk)}
    )
    browser.post(NEW, {"first_name": "Routed", "country": "DE", "owner": ""})
    browser.post(NEW, {"first_name": "Mine", "country": "FR", "owner": ""})
    chosen = actor_for(make_browser(Role.MEMBER, workspace=actor.workspace)[1])
    browser.post(NEW, {"first_name": "Chosen", "country": "DE", "owner": str(chosen.user.pk)})
    owners = dict(Lead.objects.values_list("first_name", "owner_id"))
    assert owners["Routed"] == mate.user.pk  # the rule
    assert owners["Mine"] == actor.user.pk  # no rule matched: the creator's
    assert owners["Chosen"] == chosen.user.pk  # a chosen owner wins over the rules


@pytest.mark.parametrize(
    "data, field_error",
    [
        ({"first_name": "", "email": ""}, "Give a name, an email or a company."),
        ({"email": "not an email"}, "Not a valid email"),
        ({"first_name": "x" * 151}, "Use at most 150 characters"),
        ({"first_name": "A", "status": "disqualified"}, "Say why the lead is disqualified"),
        ({"first_name": "A", "custom.budget": "lots"}, "number"),
    ],
)
def test_bad_input_shows_errors_and_saves_nothing(browser, actor, data, field_error):
    field_create(
        actor=actor,
        data={"object_type": "sales.lead", "key": "budget", "label": "Budget", "type": "number"},
    )
    r = browser.post(NEW, data)
    assert r.status_code == 200
    assert field_error.lower() in r.content.decode().lower()
    assert not Lead.objects.filter(workspace=actor.workspace).exists()


def test_read_only_members_cannot_create(browser):
    client, _ = member(browser, Role.READ_ONLY)
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, {"first_name": "No"}).status_code == 403
    assert not Lead.objects.exists()


# --- deleting a lead from its page -----------------------------------------------------------


def test_delete_from_the_lead_page_goes_to_the_deleted_leads(browser, actor):
    lead = make_lead(actor, email="ada@example.org")
    page = browser.get(f"/leads/{lead.pk}/").content.decode()
    assert f"/leads/{lead.pk}/delete/" in page and "data-confirm" in page
    r = browser.post(f"/leads/{lead.pk}/delete/", {"version": lead.version})
    assert r.status_code == 302 and r["Location"] == "/leads/"
    lead.refresh_from_db()
    assert lead.deleted_at is not None and lead.deleted_by_id == actor.user.pk
    entry = AuditEntry.objects.get(object_id=str(lead.pk), action="lead.deleted")
    assert entry.source == "ui"
    assert not SearchEntry.objects.filter(object_id=lead.pk).exists()
    assert browser.get(f"/leads/{lead.pk}/").status_code == 404
    listing = browser.get("/leads/").content.decode()
    assert "ada@example.org" not in listing and TRASH in listing


def test_a_stale_version_deletes_nothing(browser, actor):
    lead = make_lead(actor)
    services.lead_update(actor=actor, lead_id=lead.pk, data={"title": "CEO"})
    r = browser.post(f"/leads/{lead.pk}/delete/", {"version": lead.version}, follow=True)
    assert "changed since you opened the page" in r.content.decode()
    lead.refresh_from_db()
    assert lead.deleted_at is None


def test_a_converted_lead_can_be_deleted_and_what_it_became_stays(browser, actor):
    sales_services.pipeline_create_default(actor=actor)
    lead = make_lead(actor, email="conv@example.org", status="qualified")
    done = services.lead_convert(actor=actor, lead_id=lead.pk, deal={"name": "From lead"})
    page = browser.get(f"/leads/{lead.pk}/").content.decode()
    assert f"/leads/{lead.pk}/edit/" not in page and f"/leads/{lead.pk}/delete/" in page
    assert browser.post(f"/leads/{lead.pk}/delete/").status_code == 302
    assert Person.objects.filter(pk=done.person.pk, deleted_at__isnull=True).exists()
    # Restored, it is still the converted lead, linked to what it became, not searchable.
    browser.post(RESTORE, {"lead": str(lead.pk)})
    lead.refresh_from_db()
    assert lead.deleted_at is None and lead.converted_person_id == done.person.pk
    assert not SearchEntry.objects.filter(object_id=lead.pk).exists()


def test_members_delete_only_their_own_leads(browser, actor):
    client, mate = member(browser)
    theirs = make_lead(actor, owner=str(actor.user.pk))
    mine = make_lead(actor, owner=str(mate.user.pk))
    assert f"/leads/{theirs.pk}/delete/" not in client.get(f"/leads/{theirs.pk}/").content.decode()
    assert client.post(f"/leads/{theirs.pk}/delete/").status_code == 403
    assert client.post(f"/leads/{mine.pk}/delete/").status_code == 302
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert theirs.deleted_at is None and mine.deleted_at is not None
    reader, _ = member(browser, Role.READ_ONLY)
    assert reader.post(f"/leads/{theirs.pk}/delete/").status_code == 403


def test_another_workspace_and_hidden_leads_are_404(browser, actor):
    stranger_client, _ = make_browser(Role.OWNER)
    lead = make_lead(actor)
    assert stranger_client.post(f"/leads/{lead.pk}/delete/").status_code == 404
    client, _ = member(browser)
    tenancy_services.workspace_update(actor=actor, record_access="own")
    hidden = make_lead(actor, owner=str(actor.user.pk))
    assert client.post(f"/leads/{hidden.pk}/delete/").status_code == 404
    assert Lead.objects.filter(deleted_at__isnull=False).count() == 0
    assert browser.post("/leads/not-a-uuid/delete/").status_code == 404


# --- the deleted leads page ------------------------------------------------------------------


def test_the_page_lists_deleted_leads_and_restores_them(browser, actor):
    make_lead(actor, first_name="Still here")
    gone = deleted(actor, first_name="Gone <script>alert(1)</script> Ünï", tags=["vip"])
    r = browser.get(TRASH)
    assert r.status_code == 200 and names(r) == [str(gone)]
    html = r.content.decode()
    assert "Gone &lt;script&gt;" in html and "<script>alert(1)" not in html
    assert "Still here" not in html and "30 days" in html
    r = browser.post(RESTORE, {"lead": str(gone.pk), "q": "gone"})
    assert r.status_code == 302 and r["Location"] == "/leads/trash/?q=gone"
    gone.refresh_from_db()
    assert gone.deleted_at is None and gone.deleted_by_id is None
    assert [t.name for t in gone.tags.all()] == ["vip"]
    entry = AuditEntry.objects.get(object_id=str(gone.pk), action="lead.restored")
    assert entry.source == "ui" and entry.changes["deleted_at"]["after"] is None
    assert SearchEntry.objects.filter(object_id=gone.pk).exists()
    assert "Restored" in browser.get(r["Location"]).content.decode()
    assert browser.post(RESTORE, {"lead": str(gone.pk)}).status_code == 404  # not in the trash


@pytest.mark.parametrize("value", ["", "not-a-uuid", "<script>", "x" * 5000])
def test_bad_ids_restore_nothing(browser, actor, value):
    gone = deleted(actor)
    r = browser.post(RESTORE, {"lead": value}, follow=True)
    assert r.status_code == 200 and "Nothing to restore" in r.content.decode()
    gone.refresh_from_db()
    assert gone.deleted_at is not None


def test_record_access_own_narrows_the_trash_and_restore(browser, actor):
    client, mate = member(browser)
    mine = deleted(actor, first_name="Mate's", owner=str(mate.user.pk))
    theirs = deleted(actor, first_name="Owner's", owner=str(actor.user.pk))
    tenancy_services.workspace_update(actor=actor, record_access="own")
    page = client.get(TRASH)
    assert names(page) == [str(mine)]
    assert client.post(RESTORE, {"lead": str(theirs.pk)}).status_code == 404
    assert client.post(RESTORE, {"lead": str(mine.pk)}).status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.deleted_at is None and theirs.deleted_at is not None
    # "team": a teammate's deleted lead shows, and restoring follows the delete rule (403).
    tenancy_services.workspace_update(actor=actor, record_access="team")
    team = Team.objects.create(workspace=actor.workspace, name="Sales")
    for user in (mate.user, actor.user):
        TeamMember.objects.create(workspace=actor.workspace, team=team, user=user)
    page = client.get(TRASH)
    assert names(page) == [str(theirs)] and "Its owner or a manager" in page.content.decode()
    assert client.post(RESTORE, {"lead": str(theirs.pk)}).status_code == 403


def test_restore_service_obeys_the_delete_rule(browser, actor):
    _, mate = member(browser)
    gone = deleted(actor, owner=str(actor.user.pk))
    with pytest.raises(PermissionDenied):
        services.lead_restore(actor=mate, lead_id=gone.pk)
    stranger = actor_for(make_browser(Role.OWNER)[1])
    with pytest.raises(NotFound):
        services.lead_restore(actor=stranger, lead_id=gone.pk)
    with pytest.raises(NotFound):
        services.lead_restore(actor=actor, lead_id=make_lead(actor).pk)  # a live lead
    assert services.lead_restore(actor=actor, lead_id=gone.pk).deleted_at is None


def test_another_workspaces_deleted_lead_is_404(browser):
    _, stranger = make_browser(Role.OWNER)
    theirs = deleted(actor_for(stranger), first_name="Elsewhere")
    assert "Elsewhere" not in browser.get(TRASH).content.decode()
    assert browser.post(RESTORE, {"lead": str(theirs.pk)}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.deleted_at is not None


def test_read_only_members_get_403(browser, actor):
    gone = deleted(actor)
    client, _ = member(browser, Role.READ_ONLY)
    assert client.get(TRASH).status_code == 403
    assert client.post(RESTORE, {"lead": str(gone.pk)}).status_code == 403
    assert TRASH not in client.get("/leads/").content.decode()
    gone.refresh_from_db()
    assert gone.deleted_at is not None


def test_search_paging_and_stale_links(browser, actor, monkeypatch):
    monkeypatch.setattr(lead_views, "PAGE_SIZE", 2)
    for i in range(5):
        deleted(actor, first_name=f"Acme {i}")
    deleted(actor, first_name="Other")
    first = browser.get(TRASH, {"q": "acme"})
    assert names(first) == ["Acme 4", "Acme 3"]
    second = browser.get(TRASH + first.context["next_url"])
    assert names(second) == ["Acme 2", "Acme 1"]
    third = browser.get(TRASH + second.context["next_url"])
    assert names(third) == ["Acme 0"] and third.context["next_url"] == ""
    stale = browser.get(TRASH, {"cursor": "garbage"})
    assert stale.status_code == 200 and "out of date" in stale.content.decode()
    assert names(browser.get(TRASH, {"q": "x" * 10_000})) == []


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_the_rows(browser, actor):
    _, mate = member(browser)
    deleted(actor)
    browser.get(TRASH)
    before = _count(browser, TRASH)
    for i in range(8):
        deleted(actor, owner=str((mate if i % 2 else actor).user.pk), by=actor)
    assert _count(browser, TRASH) == before
