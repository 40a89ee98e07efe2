"""Lead pages and the public web form endpoint (/f/<key>/)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from rapport.contacts.models import Person
from rapport.core.actors import Role
from rapport.sales import lead_services as services
from rapport.sales.lead_models import Lead, LeadForm
from rapport.testing.clients import make_browser
from rapport.testing.factories import actor_for

pytestmark = [pytest.mark.django_db, pytest.mark.urls("rapport.sales.tests.test_leads_urlconf")]


@pytest.fixture(autouse=True)
def _setup():
    services.register()
    cache.clear()


@pytest.fixture
def actor(browser):
    return actor_for(browser.membership)


@pytest.fixture
def web_form(actor):
    return LeadForm.objects.create(
        workspace=actor.workspace,
        key="k3y",
        name="Contact us",
        fields=["message"],
        consent_text="You may email me about Rapport.",
    )


def submit(data, key="k3y", ip="203.0.113.5"):
    return Client(enforce_csrf_checks=True).post(f"/f/{key}/", data, REMOTE_ADDR=ip)


# --- pages ---------------------------------------------------------------------------------------


def test_list_filters_and_empty_state(browser, actor):
    r = browser.get("/leads/")
    assert r.status_code == 200 and b"No leads" in r.content
    services.lead_create(actor=actor, data={"first_name": "Alpha", "status": "qualified"})
    services.lead_create(actor=actor, data={"first_name": "Beta"})
    r = browser.get("/leads/", {"status": "qualified"})
    assert b"Alpha" in r.content and b"Beta" not in r.content
    r = browser.get("/leads/", {"q": "bet"})
    assert b"Beta" in r.content and b"Alpha" not in r.content


def test_list_paginates(browser, actor):
    for i in range(55):
        services.lead_create(actor=actor, data={"first_name": f"L{i:02d}"})
    r = browser.get("/leads/")
    assert r.content.count(b'href="/leads/') >= 50
    assert b'rel="next"' in r.content


def test_detail_explains_the_score_and_offers_convert(browser, actor):
    services.scoring_rule_create(
        actor=actor,
        data={
            "kind": "field",
            "field": "title",
            "operator": "contains",
            "value": "VP",
            "points": 10,
        },
    )
    lead = services.lead_create(
        actor=actor,
        data={
            "first_name": "Vee",
            "title": "VP",
            "status": "qualified",
            "email": "vee@vp.example",
            "company_name": "VP Inc",
        },
    )
    r = browser.get(f"/leads/{lead.pk}/")
    assert r.status_code == 200
    assert "+10 title contains &#x27;VP&#x27;" in r.content.decode()
    assert b"Convert lead" in r.content
    r = browser.post(f"/leads/{lead.pk}/convert/", {})
    person = Person.objects.get(workspace=actor.workspace)
    assert r.status_code == 302 and str(person.pk) in r["Location"]
    r = browser.get(f"/leads/{lead.pk}/")
    assert b"Converted" in r.content and b"Convert lead" not in r.content


def test_converting_an_unqualified_lead_shows_why(browser, actor):
    lead = services.lead_create(actor=actor, data={"first_name": "N"})
    r = browser.post(f"/leads/{lead.pk}/convert/", {}, follow=True)
    assert b"Only qualified leads convert" in r.content
    assert not Person.objects.filter(workspace=actor.workspace).exists()


def test_converting_a_lead_changed_since_the_page_opened_is_refused(browser, actor):
    lead = services.lead_create(actor=actor, data={"first_name": "N", "status": "qualified"})
    page = browser.get(f"/leads/{lead.pk}/").content.decode()
    assert f'name="version" value="{lead.version}"' in page
    services.lead_update(actor=actor, lead_id=lead.pk, data={"title": "Changed meanwhile"})
    r = browser.post(f"/leads/{lead.pk}/convert/", {"version": lead.version}, follow=True)
    assert b"changed since you opened the page" in r.content
    assert not Person.objects.filter(workspace=actor.workspace).exists()


def test_create_page(browser, actor):
    assert browser.get("/leads/new/").status_code == 200
    r = browser.post("/leads/new/", {"email": "bad", "status": "new"})
    # The edit form's page (form_page): the service's errors beside the inputs, nothing saved.
    assert r.status_code == 200 and b"Not a valid email" in r.content
    assert not Lead.objects.filter(workspace=actor.workspace).exists()
    r = browser.post("/leads/new/", {"email": "ok@example.org", "status": "new"})
    lead = Lead.objects.get(workspace=actor.workspace)
    assert r.status_code == 302 and r["Location"] == f"/leads/{lead.pk}/"


def test_another_workspace_gets_404(actor):
    lead = services.lead_create(actor=actor, data={"first_name": "Secret"})
    other, _ = make_browser(Role.OWNER)
    assert other.get(f"/leads/{lead.pk}/").status_code == 404
    assert other.post(f"/leads/{lead.pk}/convert/").status_code == 404
    assert b"Secret" not in other.get("/leads/").content


def test_forms_page_shows_an_embed_snippet(browser, web_form):
    r = browser.get("/leads/forms/")
    text = r.content.decode()
    assert r.status_code == 200
    assert "&lt;form method=&quot;post&quot; action=&quot;http://testserver/f/k3y/&quot;" in text
    assert "website_url" in text and "consent" in text


def test_forms_page_answers_only_get_and_post(browser, web_form):
    assert browser.put("/leads/forms/").status_code == 405
    assert browser.delete("/leads/forms/").status_code == 405
    assert LeadForm.objects.count() == 1


# --- the public web form -------------------------------------------------------------------------


def test_a_submission_creates_a_lead_with_consent(web_form):
    r = submit(
        {
            "email": "Visitor@Example.org",
            "first_name": "Vi",
            "consent": "on",
            "message": "<script>alert(1)</script>",
        }
    )
    assert r.status_code == 200
    lead = Lead.objects.get(workspace=web_form.workspace)
    assert lead.email == "visitor@example.org"
    assert lead.consent and lead.consent_at is not None
    assert lead.consent_text == "You may email me about Rapport."
    assert lead.source == "Web form: Contact us"
    assert lead.form_id == web_form.pk
    assert lead.form_data == {"message": "<script>alert(1)</script>"}  # kept as text


def test_missing_email_is_a_clear_422(web_form):
    r = submit({"first_name": "No email"})
    assert r.status_code == 422 and r["Content-Type"] == "application/problem+json"
    assert r.json()["detail"] == "Give your email address."
    assert not Lead.objects.exists()


def test_honeypot_drops_the_submission_silently(web_form):
    r = submit({"email": "bot@spam.example", "website_url": "http://spam"})
    assert r.status_code == 200
    assert not Lead.objects.exists()


def test_too_many_fields_and_too_long_values_are_refused(web_form):
    r = submit({"email": "a@b.org", **{f"f{i}": "x" for i in range(10_000)}})
    assert r.status_code == 400 and "at most 50 fields" in r.json()["detail"]
    r = submit({"email": "a@b.org", **{f"f{i}": "x" for i in range(60)}})
    assert r.status_code == 400 and "at most 50 fields" in r.json()["detail"]
    r = submit({"email": "a@b.org", "message": "x" * (11 * 1024)})
    assert r.status_code == 400 and "longer than 10 KB" in r.json()["detail"]
    assert not Lead.objects.exists()


def test_bursts_are_rate_limited_per_ip(web_form):
    codes = [submit({"email": f"p{i}@example.org"}).status_code for i in range(12)]
    assert codes[:10] == [200] * 10 and codes[10:] == [429, 429]
    assert submit({"email": "other@example.org"}, ip="198.51.100.7").status_code == 200


def test_inactive_or_unknown_form_is_404(web_form):
    web_form.active = False
    web_form.save()
    assert submit({"email": "a@b.org"}).status_code == 404
    assert submit({"email": "a@b.org"}, key="nope").status_code == 404


def test_redirects_when_the_form_says_so(web_form):
    web_form.redirect_url = "https://example.org/thanks"
    web_form.save()
    r = submit({"email": "a@b.org"})
    assert r.status_code == 302 and r["Location"] == "https://example.org/thanks"


def test_admins_create_web_forms_with_a_working_snippet(browser, actor):
    r = browser.post(
        "/leads/forms/",
        {"name": "Demo request", "consent_text": "Email me", "fields": "message, budget"},
    )
    assert r.status_code == 302
    form = LeadForm.objects.get(workspace=actor.workspace)
    assert form.fields == ["message", "budget"] and len(form.key) >= 16
    page = browser.get("/leads/forms/").content.decode()
    assert f"/f/{form.key}/" in page and "name=&quot;budget&quot;" in page
    r = browser.post("/leads/forms/", {"name": "", "fields": "Bad Name"})
    assert r.status_code == 422 and b"name:" in r.content
    member, _ = make_browser(Role.MEMBER, workspace=actor.workspace)
    assert member.post("/leads/forms/", {"name": "X"}).status_code == 403
    assert b"New web form" not in member.get("/leads/forms/").content


def test_a_lead_detail_escapes_hostile_text(browser, actor):
    lead = services.lead_create(
        actor=actor, data={"first_name": "<script>alert(1)</script>", "email": "h@x.example"}
    )
    page = browser.get(f"/leads/{lead.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_status_changes_from_the_lead_page_then_the_lead_converts(browser, actor):
    lead = services.lead_create(
        actor=actor, data={"first_name": "Gina", "email": "gina@initech.example"}
    )
    r = browser.get(f"/leads/{lead.pk}/")
    assert b"Change status" in r.content and b"Convert lead" not in r.content

    r = browser.post(f"/leads/{lead.pk}/status/", {"status": "disqualified", "version": "1"})
    lead.refresh_from_db()
    assert lead.status == "new"  # a disqualification needs its reason
    r = browser.post(f"/leads/{lead.pk}/status/", {"status": "qualified", "version": "99"})
    lead.refresh_from_db()
    assert lead.status == "new"  # a stale version changes nothing
    r = browser.post(
        f"/leads/{lead.pk}/status/", {"status": "qualified", "version": str(lead.version)}
    )
    assert r.status_code == 302
    lead.refresh_from_db()
    assert lead.status == "qualified"
    assert b"Convert lead" in browser.get(f"/leads/{lead.pk}/").content
