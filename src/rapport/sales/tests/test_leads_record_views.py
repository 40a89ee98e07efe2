"""The lead's page as a record page: edit form, timeline and quick-add, history, global search,
and the web form's errors as problem+json or a small page."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from rapport.activities import services as activity_services
from rapport.core.actors import Role
from rapport.core.errors import ValidationFailed
from rapport.customization.models import CustomField
from rapport.customization.services import field_create, view_create
from rapport.sales import lead_services as services
from rapport.sales.lead_models import Lead, LeadForm
from rapport.search.models import SearchEntry
from rapport.tenancy import services as tenancy_services
from rapport.testing.clients import make_api_client, make_browser
from rapport.testing.factories import actor_for

pytestmark = [pytest.mark.django_db, pytest.mark.urls("rapport.sales.tests.test_leads_urlconf")]


@pytest.fixture(autouse=True)
def _setup():
    services.register()
    cache.clear()


@pytest.fixture
def actor(browser):
    return actor_for(browser.membership)


def member(browser, role: Role):
    client, membership = make_browser(role, workspace=browser.membership.workspace)
    return client, actor_for(membership)


def make_lead(actor, **data) -> Lead:
    data.setdefault("first_name", "Grace")
    data.setdefault("last_name", "Hopper")
    data.setdefault("email", "grace@navy.example")
    return services.lead_create(actor=actor, data=data)


def html(response) -> str:
    return response.content.decode()


def section(body: str, key: str) -> str:
    return body.split(f'id="section-{key}"', 1)[1].split("</section>", 1)[0]


def edit_data(lead: Lead, **changes) -> dict:
    data = {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "email": lead.email,
        "phone": lead.phone,
        "company_name": lead.company_name,
        "title": lead.title,
        "country": lead.country,
        "source": lead.source,
        "owner": str(lead.owner_id or ""),
        "status": lead.status,
        "disqualified_reason": lead.disqualified_reason,
        "tags": ", ".join(t.name for t in lead.tags.all()),
        "version": str(lead.version),
    }
    return {**data, **changes}


# --- edit -----------------------------------------------------------------------------------------


def test_the_lead_page_links_to_its_edit_page(browser, actor):
    lead = make_lead(actor)
    body = html(browser.get(f"/leads/{lead.pk}/"))
    assert f'href="/leads/{lead.pk}/edit/"' in body


def test_edit_saves_every_field_and_records_the_change(browser, actor):
    _, colleague = member(browser, Role.MEMBER)
    lead = make_lead(actor)
    r = browser.get(f"/leads/{lead.pk}/edit/")
    assert r.status_code == 200 and 'value="Grace"' in html(r)
    r = browser.post(
        f"/leads/{lead.pk}/edit/",
        edit_data(
            lead,
            first_name="Grâce 🚀",
            email="Grace@Cobol.EXAMPLE",
            phone="+49 30 1234567",
            company_name="Cobol GmbH",
            title="Rear admiral",
            country="DE",
            source="Conference",
            owner=str(colleague.user_id),
            status="working",
            tags="vip, navy",
        ),
    )
    assert r.status_code == 302 and r["Location"] == f"/leads/{lead.pk}/"
    lead.refresh_from_db()
    assert lead.first_name == "Grâce 🚀" and lead.email == "grace@cobol.example"
    assert lead.phone == "+49301234567" and lead.country == "DE"
    assert lead.company_name == "Cobol GmbH" and lead.title == "Rear admiral"
    assert lead.owner_id == colleague.user_id and lead.status == "working"
    assert sorted(t.name for t in lead.tags.all()) == ["navy", "vip"]
    assert lead.version == 2
    history = html(browser.get(f"/leads/{lead.pk}/history/"))
    assert "Lead changed" in history and "Cobol GmbH" in history


def test_edit_shows_the_services_errors_beside_the_fields(browser, actor):
    lead = make_lead(actor)
    r = browser.post(
        f"/leads/{lead.pk}/edit/",
        edit_data(lead, email="not-an-email", country="XX", phone="abc", status="disqualified"),
    )
    body = html(r)
    assert r.status_code == 200 and "Nothing was saved" in body
    assert "Not a valid email" in body
    assert "ISO 3166-1" in body
    assert body.count("has-error") >= 3
    lead.refresh_from_db()
    assert lead.email == "grace@navy.example" and lead.version == 1


def test_edit_needs_a_reason_to_disqualify_and_a_name_email_or_company(browser, actor):
    lead = make_lead(actor)
    r = browser.post(f"/leads/{lead.pk}/edit/", edit_data(lead, status="disqualified"))
    assert "Say why the lead is disqualified" in html(r)
    r = browser.post(
        f"/leads/{lead.pk}/edit/", edit_data(lead, first_name="", last_name="", email="")
    )
    assert "Give a name, an email or a company" in html(r)
    r = browser.post(
        f"/leads/{lead.pk}/edit/",
        edit_data(lead, status="disqualified", disqualified_reason="No budget"),
    )
    assert r.status_code == 302
    lead.refresh_from_db()
    assert lead.status == "disqualified" and lead.disqualified_reason == "No budget"


def test_edit_refuses_huge_and_hostile_input(browser, actor):
    lead = make_lead(actor)
    r = browser.post(f"/leads/{lead.pk}/edit/", edit_data(lead, first_name="x" * 5000))
    assert "Nothing was saved" in html(r)
    r = browser.post(
        f"/leads/{lead.pk}/edit/", edit_data(lead, company_name="<script>alert(1)</script>")
    )
    assert r.status_code == 302
    body = html(browser.get(f"/leads/{lead.pk}/"))
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_edit_with_a_stale_version_changes_nothing(browser, actor):
    lead = make_lead(actor)
    stale = edit_data(lead, title="Mine")
    services.lead_update(actor=actor, lead_id=lead.pk, data={"title": "Theirs"})
    r = browser.post(f"/leads/{lead.pk}/edit/", stale)
    body = html(r)
    assert r.status_code == 200 and "Someone else changed this record" in body
    assert "Reload the latest version" in body
    lead.refresh_from_db()
    assert lead.title == "Theirs"


def test_an_untouched_field_is_not_rewritten(browser, actor):
    lead = make_lead(actor, title="Admiral")
    data = edit_data(lead, source="Referral")
    services.lead_update(actor=actor, lead_id=lead.pk, data={"title": "Commodore"})
    data["version"] = "2"  # the user reloaded only the version; their title input was stale
    r = browser.post(f"/leads/{lead.pk}/edit/", {**data, "title": "Admiral"})
    assert r.status_code == 302
    lead.refresh_from_db()
    assert lead.source == "Referral"


def test_a_converted_lead_is_read_only(browser, actor):
    lead = make_lead(actor, status="qualified")
    services.lead_convert(actor=actor, lead_id=lead.pk)
    lead.refresh_from_db()
    body = html(browser.get(f"/leads/{lead.pk}/"))
    assert "This lead is read-only" in body
    assert f"/leads/{lead.pk}/edit/" not in body
    assert 'id="quick-add"' not in body and "Change status" not in body
    r = browser.get(f"/leads/{lead.pk}/edit/")
    assert r.status_code == 200 and "This lead is read-only" in html(r)
    assert 'name="first_name"' not in html(r)
    r = browser.post(f"/leads/{lead.pk}/edit/", edit_data(lead, first_name="Changed"))
    assert r.status_code == 409
    lead.refresh_from_db()
    assert lead.first_name == "Grace"


def test_edit_permissions(browser, actor):
    lead = make_lead(actor)
    reader, _ = member(browser, Role.READ_ONLY)
    assert reader.get(f"/leads/{lead.pk}/").status_code == 200
    assert f"/leads/{lead.pk}/edit/" not in html(reader.get(f"/leads/{lead.pk}/"))
    assert reader.get(f"/leads/{lead.pk}/edit/").status_code == 403
    assert reader.post(f"/leads/{lead.pk}/edit/", edit_data(lead, title="x")).status_code == 403
    # under "own" record access a member does not see a colleague's lead at all
    other, _ = member(browser, Role.MEMBER)
    tenancy_services.workspace_update(actor=actor, record_access="own")
    assert other.get(f"/leads/{lead.pk}/").status_code == 404
    assert other.get(f"/leads/{lead.pk}/edit/").status_code == 404
    assert other.post(f"/leads/{lead.pk}/edit/", edit_data(lead, title="x")).status_code == 404
    lead.refresh_from_db()
    assert lead.title == "" and lead.version == 1


def test_another_workspace_gets_404(actor):
    lead = make_lead(actor)
    other, _ = make_browser(Role.OWNER)
    for path in ("", "edit/", "history/"):
        assert other.get(f"/leads/{lead.pk}/{path}").status_code == 404
    assert other.post(f"/leads/{lead.pk}/edit/", {"title": "x"}).status_code == 404
    assert other.get("/leads/00000000-0000-0000-0000-000000000000/edit/").status_code == 404


def test_custom_fields_of_leads_are_edited_like_a_persons(browser, actor):
    field_create(
        actor=actor,
        data={"object_type": "sales.lead", "key": "budget", "label": "Budget", "type": "number"},
    )
    assert CustomField.objects.filter(workspace=actor.workspace, object_type="sales.lead").exists()
    # Leads have no list to save as a view.
    with pytest.raises(ValidationFailed):
        view_create(actor=actor, data={"object_type": "sales.lead", "name": "Hot leads"})
    lead = make_lead(actor)
    r = browser.get(f"/leads/{lead.pk}/edit/")
    assert 'name="custom.budget"' in html(r)
    r = browser.post(f"/leads/{lead.pk}/edit/", {**edit_data(lead), "custom.budget": "lots"})
    assert r.status_code == 200 and "has-error" in html(r)
    r = browser.post(f"/leads/{lead.pk}/edit/", {**edit_data(lead), "custom.budget": "5000"})
    assert r.status_code == 302
    lead.refresh_from_db()
    assert lead.custom == {"budget": 5000}
    assert "Budget" in html(browser.get(f"/leads/{lead.pk}/"))


# --- timeline -------------------------------------------------------------------------------------


def test_a_note_added_from_the_lead_page_shows_on_its_timeline(browser, actor):
    lead = make_lead(actor)
    body = html(browser.get(f"/leads/{lead.pk}/"))
    assert 'id="quick-add"' in body and 'name="target_type" value="lead"' in body
    r = browser.post(
        "/activities/new/",
        {
            "target_type": "lead",
            "target_id": str(lead.pk),
            "type": "note",
            "body": "Met at the booth, wants a demo",
            "next": f"/leads/{lead.pk}/",
        },
    )
    assert r.status_code == 302 and r["Location"] == f"/leads/{lead.pk}/"
    timeline = section(html(browser.get(f"/leads/{lead.pk}/")), "timeline")
    assert "Met at the booth, wants a demo" in timeline
    assert "Lead created" in timeline
    lead.refresh_from_db()
    assert lead.last_activity_at is not None


def test_the_timeline_shows_tasks_and_status_changes(browser, actor):
    lead = make_lead(actor)
    activity_services.task_create(
        actor=actor,
        data={"title": "Send the pricing", "targets": [{"type": "lead", "id": str(lead.pk)}]},
    )
    services.lead_update(actor=actor, lead_id=lead.pk, data={"status": "working"})
    body = html(browser.get(f"/leads/{lead.pk}/"))
    assert "Send the pricing" in section(body, "tasks")
    timeline = section(body, "timeline")
    assert "Send the pricing" in timeline
    assert "Lead changed" in timeline and "Working" in timeline
    assert "(no longer available)" not in timeline
    assert f"/activities/tasks/new/?target_type=lead&amp;target_id={lead.pk}" in body or (
        "target_type=lead" in section(body, "tasks")
    )


def test_the_lead_page_queries_stay_constant(browser, actor, django_assert_max_num_queries):
    def busy_lead(n: int) -> Lead:
        lead = make_lead(actor, email=f"busy{n}@example.org")
        for i in range(n):
            activity_services.activity_create(
                actor=actor,
                data={
                    "type": "note",
                    "body": f"note {i}",
                    "targets": [{"type": "lead", "id": str(lead.pk)}],
                },
            )
            services.lead_update(actor=actor, lead_id=lead.pk, data={"title": f"t{i}"})
        return lead

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    few, many = busy_lead(2), busy_lead(12)
    browser.get(f"/leads/{few.pk}/")  # (the first request fills the per-process caches)
    counts = []
    for lead in (few, many):
        with CaptureQueriesContext(connection) as ctx:
            assert browser.get(f"/leads/{lead.pk}/").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
    with django_assert_max_num_queries(40):
        browser.get(f"/leads/{lead.pk}/")


# --- search ---------------------------------------------------------------------------------------


def test_search_finds_a_lead_by_name_email_and_company(browser, actor):
    lead = make_lead(actor, first_name="Zenobia", email="zq@quokka.example", company_name="Quux")
    for q in ("zenobia", "zq@quokka.example", "quux"):
        body = html(browser.get("/search/", {"q": q}))
        assert f'href="/leads/{lead.pk}/"' in body, q
        assert "Lead" in body
    palette = html(browser.get("/search/palette/", {"q": "zenobia"}))
    assert f'href="/leads/{lead.pk}/"' in palette and 'data-kind="lead"' in palette


def test_search_follows_lead_updates_deletes_and_conversion(browser, actor):
    lead = make_lead(actor, first_name="Ottoline", status="qualified")
    services.lead_update(actor=actor, lead_id=lead.pk, data={"first_name": "Philippa"})
    assert f"/leads/{lead.pk}/" in html(browser.get("/search/", {"q": "philippa"}))
    assert f"/leads/{lead.pk}/" not in html(browser.get("/search/", {"q": "ottoline"}))
    services.lead_convert(actor=actor, lead_id=lead.pk)
    assert not SearchEntry.objects.filter(object_id=lead.pk).exists()  # found as the person
    other = make_lead(actor, first_name="Wilhelmina", email="w@x.example")
    services.lead_delete(actor=actor, lead_id=other.pk)
    assert f"/leads/{other.pk}/" not in html(browser.get("/search/", {"q": "wilhelmina"}))


def test_search_hides_leads_a_member_may_not_see(browser, actor):
    client, reader = member(browser, Role.MEMBER)
    mine = make_lead(actor, first_name="Xanthe", email="x1@example.org", owner=str(reader.user_id))
    secret = make_lead(actor, first_name="Xanthe", email="x2@example.org", owner=str(actor.user_id))
    body = html(client.get("/search/", {"q": "xanthe"}))
    assert f"/leads/{mine.pk}/" in body and f"/leads/{secret.pk}/" in body
    tenancy_services.workspace_update(actor=actor, record_access="own")
    body = html(client.get("/search/", {"q": "xanthe"}))
    assert f"/leads/{mine.pk}/" in body and f"/leads/{secret.pk}/" not in body
    palette = html(client.get("/search/palette/", {"q": "x2@example.org"}))
    assert f"/leads/{secret.pk}/" not in palette
    assert f"/leads/{secret.pk}/" in html(browser.get("/search/", {"q": "xanthe"}))
    other, _ = make_browser(Role.OWNER)
    assert "Xanthe" not in html(other.get("/search/", {"q": "xanthe"}))


def test_search_api_returns_leads(actor):
    api = make_api_client(Role.OWNER, workspace=actor.workspace)
    lead = make_lead(actor, first_name="Yvaine")
    r = api.get("/search", {"q": "yvaine", "type": "lead"})
    assert r.status_code == 200
    [hit] = r.json()["results"]
    assert hit["type"] == "lead" and hit["id"] == str(lead.pk)
    assert hit["url"] == f"/leads/{lead.pk}/"


# --- web form errors ------------------------------------------------------------------------------


@pytest.fixture
def web_form(actor):
    return LeadForm.objects.create(workspace=actor.workspace, key="k3y", name="Contact us")


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def post_form(data, *, ip="203.0.113.9", **headers):
    return Client(enforce_csrf_checks=True).post("/f/k3y/", data, REMOTE_ADDR=ip, **headers)


def test_scripts_get_problem_json_with_field_paths(web_form):
    r = post_form({"first_name": "No email"}, HTTP_ACCEPT="application/json")
    assert r.status_code == 422 and r["Content-Type"] == "application/problem+json"
    body = r.json()
    assert body["type"].endswith("/invalid") and body["title"] == "Invalid input"
    assert body["status"] == 422
    assert body["errors"] == [{"field": "email", "message": "Give your email address."}]
    r = post_form({"email": "not an email"}, HTTP_SEC_FETCH_MODE="cors", HTTP_ACCEPT="*/*")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "email"
    r = post_form({"email": "a@b.example", "country": "Narnia"})  # no Accept: JSON
    assert r["Content-Type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "country"
    r = post_form({"email": "a@b.example", "message": "x" * (11 * 1024)})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "message"
    assert not Lead.objects.exists()


def test_a_browser_posting_the_form_gets_a_page_listing_the_errors(web_form):
    r = post_form(
        {"first_name": "<script>alert(1)</script>", "email": "nope"},
        HTTP_ACCEPT=BROWSER_ACCEPT,
        HTTP_SEC_FETCH_MODE="navigate",
        HTTP_REFERER="https://shop.example/contact",
    )
    body = html(r)
    assert r.status_code == 422 and r["Content-Type"].startswith("text/html")
    assert "Your message was not sent" in body
    assert "<strong>Email</strong>" in body and "Not a valid email" in body
    assert 'href="https://shop.example/contact"' in body
    assert "<script>alert(1)</script>" not in body
    r = post_form(
        {"first_name": "x"}, HTTP_ACCEPT=BROWSER_ACCEPT, HTTP_REFERER="javascript:alert(1)"
    )
    assert "javascript:" not in html(r) and "back button" in html(r)


def test_rate_limit_answers_429_in_both_formats(web_form):
    for i in range(10):
        assert post_form({"email": f"p{i}@example.org"}).status_code == 200
    r = post_form({"email": "late@example.org"})
    assert r.status_code == 429 and r["Content-Type"] == "application/problem+json"
    assert r.json()["type"].endswith("/rate-limited") and r["Retry-After"] == "60"
    r = post_form({"email": "late@example.org"}, HTTP_ACCEPT=BROWSER_ACCEPT)
    assert r.status_code == 429 and "Please wait a moment" in html(r)


def test_the_honeypot_still_looks_accepted(web_form):
    r = post_form({"email": "bot@spam.example", "website_url": "x"}, HTTP_ACCEPT=BROWSER_ACCEPT)
    assert r.status_code == 200 and not Lead.objects.exists()


def test_an_unknown_form_is_a_problem_404(web_form):
    r = Client().post("/f/nope/", {"email": "a@b.example"}, HTTP_ACCEPT="application/json")
    assert r.status_code == 404 and r.json()["title"] == "Not found"
