"""/api/v1/leads: the shared CRUD contract, filters, conversion and query counts."""

from __future__ import annotations

import pytest

from rapport.contacts.models import Person
from rapport.core.actors import Actor
from rapport.sales import lead_services
from rapport.sales import services as sales_services
from rapport.testing.suites import (
    ApiContractSuite,
    Resource,
    all_pages,
    assert_problem,
    ids,
)

pytestmark = [pytest.mark.urls("rapport.sales.tests.test_leads_urlconf")]


@pytest.fixture(autouse=True)
def _lead_target():
    lead_services.register()


LEADS = Resource(
    path="/leads",
    object_type="sales.lead",
    payload=lambda client, n: {
        "first_name": f"Lead {n}",
        "email": f"lead{n}@example.org",
        "company_name": f"Company {n}",
        "source": "api",
        "tags": ["api"],
    },
    update={"first_name": "Renamed", "status": "working"},
)


class TestLeadsContract(ApiContractSuite):
    resource = LEADS


@pytest.mark.django_db
def test_filters_by_status_owner_source_and_text(api, api_as):
    from rapport.core.actors import Role

    colleague = api_as(Role.MEMBER)
    a = api.post("/leads", {"first_name": "Alpha", "source": "Event", "status": "qualified"})
    b = api.post("/leads", {"first_name": "Beta", "email": "beta@corp.example"})
    c = colleague.post("/leads", {"first_name": "Gamma", "source": "event"})
    assert {r.status_code for r in (a, b, c)} == {201}
    a, b, c = a.json(), b.json(), c.json()

    def listed(params):
        return ids(all_pages(api, "/leads", params))

    assert listed({"status": "qualified"}) == [a["id"]]
    assert set(listed({"source": "EVENT"})) == {a["id"], c["id"]}
    assert set(listed({"owner": str(colleague.user.pk)})) == {c["id"]}
    assert set(listed({"owner": "me"})) == {a["id"], b["id"]}
    assert listed({"q": "corp.example"}) == [b["id"]]
    assert_problem(api.get("/leads", {"status": "hot"}), 422, "status")
    assert_problem(api.get("/leads", {"sort": "password"}), 422, "sort")


@pytest.mark.django_db
def test_bad_input_is_a_problem_naming_the_fields(api):
    r = api.post("/leads", {"email": "nope", "phone": "1", "country": "ZZ"})
    assert_problem(r, 422, "email", "phone", "country")
    assert_problem(api.post("/leads", {"email": "a@b.org", "password": "x"}), 422)


@pytest.mark.django_db
def test_convert_answers_the_new_ids(api):
    sales_services.pipeline_create_default(actor=Actor.system(api.workspace, "tests"))
    lead = api.post(
        "/leads",
        {"first_name": "Ada", "email": "ada@engines.example", "company_name": "Engines"},
    ).json()
    body = assert_problem(api.post(f"/leads/{lead['id']}/convert", {}), 422, "status")
    assert "qualified" in body["detail"]
    api.patch(f"/leads/{lead['id']}", {"status": "qualified"})
    r = api.post(f"/leads/{lead['id']}/convert", {"deal": {"name": "Engines deal"}})
    assert r.status_code == 200, r.content
    out = r.json()
    assert set(out) == {"person", "company", "deal"}
    assert Person.objects.get(pk=out["person"]).email == "ada@engines.example"
    assert api.get(f"/deals/{out['deal']}").json()["company"] == out["company"]
    again = api.get(f"/leads/{lead['id']}").json()
    assert again["converted_person"] == out["person"]
    assert again["converted_deal"] == out["deal"]


@pytest.mark.django_db
def test_convert_refuses_a_lead_changed_since_its_etag(api):
    lead = api.post("/leads", {"email": "v@newco.example", "status": "qualified"})
    etag = lead["ETag"]
    api.patch(f"/leads/{lead.json()['id']}", {"title": "Changed meanwhile"})
    r = api.post(f"/leads/{lead.json()['id']}/convert", {}, headers={"If-Match": etag})
    assert_problem(r, 412)
    assert not Person.objects.filter(workspace=api.workspace).exists()
    fresh = api.get(f"/leads/{lead.json()['id']}")
    r = api.post(f"/leads/{lead.json()['id']}/convert", {}, headers={"If-Match": fresh["ETag"]})
    assert r.status_code == 200, r.content


@pytest.mark.django_db
def test_convert_with_bad_deal_data_makes_nothing(api):
    sales_services.pipeline_create_default(actor=Actor.system(api.workspace, "tests"))
    lead = api.post(
        "/leads", {"email": "x@newco.example", "company_name": "NewCo", "status": "qualified"}
    ).json()
    r = api.post(
        f"/leads/{lead['id']}/convert",
        {"deal": {"name": "D", "close_date": "not a date"}},
    )
    assert_problem(r, 422, "deal.close_date")
    assert not Person.objects.filter(workspace=api.workspace).exists()
    assert api.get(f"/leads/{lead['id']}").json()["converted_at"] is None


@pytest.mark.django_db
def test_convert_another_workspaces_lead_is_404(api, other_api):
    lead = api.post("/leads", {"email": "q@x.example", "status": "qualified"}).json()
    assert_problem(other_api.post(f"/leads/{lead['id']}/convert", {}), 404)


@pytest.mark.django_db
def test_score_and_reasons_are_in_the_answer(api):
    lead_services.scoring_rule_create(
        actor=Actor.system(api.workspace, "tests"),
        data={
            "kind": "field",
            "field": "title",
            "operator": "contains",
            "value": "VP",
            "points": 10,
        },
    )
    body = api.post("/leads", {"first_name": "V", "title": "VP of Sales"}).json()
    assert body["score"] == 10
    assert body["score_reasons"] == ["+10 title contains 'VP'"]


@pytest.mark.django_db
def test_a_deleted_lead_is_restored_under_the_delete_rule(api, api_as, other_api):
    from rapport.core.actors import Role

    alice, bob = api_as(Role.MEMBER), api_as(Role.MEMBER)
    lead = bob.post("/leads", {"email": "back@x.example", "owner": None}).json()
    assert bob.delete(f"/leads/{lead['id']}").status_code == 204
    assert_problem(bob.get(f"/leads/{lead['id']}"), 404)
    # Another workspace finds nothing; a member who did not create it may not restore it.
    assert_problem(other_api.post(f"/leads/{lead['id']}/restore", {}), 404)
    assert_problem(alice.post(f"/leads/{lead['id']}/restore", {}), 403)
    r = bob.post(f"/leads/{lead['id']}/restore", {})
    assert r.status_code == 200, r.content
    assert r.json()["email"] == "back@x.example"
    assert bob.get(f"/leads/{lead['id']}").status_code == 200
    assert_problem(bob.post(f"/leads/{lead['id']}/restore", {}), 404)  # not in the trash now
