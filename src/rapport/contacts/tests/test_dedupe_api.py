"""The dedupe and merge API: /contacts/{id}/merge, /companies/{id}/merge, /duplicates."""

from __future__ import annotations

import pytest

from rapport.audit.models import AuditEntry
from rapport.contacts.models import DuplicatePair
from rapport.core.actors import Role
from rapport.testing.suites import all_pages, assert_problem, count_queries, unique

pytestmark = pytest.mark.django_db


def contact(client, **body):
    body.setdefault("first_name", f"P{unique()}x{unique() * 7919}")
    r = client.post("/contacts", body)
    assert r.status_code == 201, r.content
    return r.json()


def firm(client, **body):
    body.setdefault("name", f"Firm {unique()}")
    r = client.post("/companies", body)
    assert r.status_code == 201, r.content
    return r.json()


def test_merge_contact_answers_the_survivor_and_redirects_the_merged_id(api):
    a = contact(api, first_name="Ada", email="ada@example.com", phone="+442079460958")
    b = contact(api, first_name="Augusta", email="augusta@example.com", title="Countess")
    r = api.post(f"/contacts/{a['id']}/merge", {"from": b["id"], "fields": {"first_name": "from"}})
    assert r.status_code == 200, r.content
    body = r.json()
    assert r["ETag"] == f'"{body["version"]}"'
    assert body["id"] == a["id"]
    assert body["first_name"] == "Augusta"
    assert body["title"] == "Countess"
    assert body["other_emails"] == ["augusta@example.com"]
    assert body["other_phones"] == []
    moved = api.get(f"/contacts/{b['id']}")
    assert moved.status_code == 308
    assert moved["Location"] == f"/api/v1/contacts/{a['id']}"
    assert api.get(moved["Location"]).json() == body
    assert AuditEntry.objects.filter(action="contact.merged").count() == 1


def test_merge_company_moves_people(api):
    keep = firm(api, name="Acme", domain="acme.com")
    old = firm(api, name="Acme Inc", domain="acme.de")
    people = [contact(api, company=old["id"]) for _ in range(3)]
    r = api.post(f"/companies/{keep['id']}/merge", {"from": old["id"]})
    assert r.status_code == 200, r.content
    assert r.json()["other_domains"] == ["acme.de"]
    for p in people:
        assert api.get(f"/contacts/{p['id']}").json()["company"] == keep["id"]
    assert api.get(f"/companies/{old['id']}")["Location"] == f"/api/v1/companies/{keep['id']}"


def test_merge_errors_are_problems(api, other_api):
    a = contact(api)
    assert_problem(api.post(f"/contacts/{a['id']}/merge", {"from": a["id"]}), 422, "from")
    missing = "00000000-0000-4000-8000-000000000000"
    assert_problem(api.post(f"/contacts/{a['id']}/merge", {"from": missing}), 404)
    assert_problem(api.post(f"/contacts/{missing}/merge", {"from": a["id"]}), 404)
    assert_problem(api.post(f"/contacts/{a['id']}/merge", {}), 422, "from")
    assert_problem(api.post(f"/contacts/{a['id']}/merge", {"from": a["id"], "x": 1}), 422, "x")
    b = contact(api)
    assert_problem(
        api.post(f"/contacts/{a['id']}/merge", {"from": b["id"], "fields": {"email": "b"}}),
        422,
        "fields.email",
    )
    assert_problem(
        api.post(f"/contacts/{a['id']}/merge", {"from": b["id"], "fields": {"nope": "from"}}),
        422,
        "fields.nope",
    )
    # Another workspace: 404 both ways, and nothing changes.
    theirs = contact(other_api)
    assert_problem(api.post(f"/contacts/{a['id']}/merge", {"from": theirs["id"]}), 404)
    assert_problem(other_api.post(f"/contacts/{theirs['id']}/merge", {"from": a["id"]}), 404)
    assert api.get(f"/contacts/{a['id']}").status_code == 200
    assert other_api.get(f"/contacts/{theirs['id']}").status_code == 200
    # Stale If-Match.
    assert_problem(
        api.post(f"/contacts/{a['id']}/merge", {"from": b["id"]}, headers={"If-Match": '"9"'}),
        412,
    )


def test_a_merged_id_is_404_in_another_workspace(api, other_api):
    a, b = contact(api), contact(api)
    assert api.post(f"/contacts/{a['id']}/merge", {"from": b["id"]}).status_code == 200
    assert_problem(other_api.get(f"/contacts/{b['id']}"), 404)


@pytest.mark.parametrize("role, status", [(Role.READ_ONLY, 403), (Role.MEMBER, 403)])
def test_merge_roles(api, api_as, role, status):
    a, b = contact(api), contact(api)  # made by the owner: a member may not delete b
    client = api_as(role)
    assert_problem(client.post(f"/contacts/{a['id']}/merge", {"from": b["id"]}), status)
    assert api.get(f"/contacts/{b['id']}").status_code == 200
    manager = api_as(Role.MANAGER)
    assert manager.post(f"/contacts/{a['id']}/merge", {"from": b["id"]}).status_code == 200


def test_duplicates_list_dismiss_and_isolation(api, other_api):
    a = contact(api, phone="+442079460958", first_name="Ann")
    b = contact(api, phone="+44 20 7946 0958", first_name="Bob")
    c1 = firm(api, name="Globex Corporation")
    c2 = firm(api, name="Globex Corp.")
    contact(other_api, phone="+442079460958")

    people = all_pages(api, "/duplicates", {"type": "person"})
    assert len(people) == 1
    pair = people[0]
    assert pair["type"] == "person"
    assert pair["reasons"] == ["same phone"]
    assert {r["id"] for r in pair["records"]} == {a["id"], b["id"]}
    assert pair["status"] == "open"
    companies = all_pages(api, "/duplicates", {"type": "company"})
    assert [{r["id"] for r in p["records"]} for p in companies] == [{c1["id"], c2["id"]}]
    assert len(all_pages(api, "/duplicates")) == 2
    assert_problem(api.get("/duplicates", {"type": "deal"}), 422, "type")

    assert all_pages(other_api, "/duplicates") == []
    assert_problem(other_api.get(f"/duplicates/{pair['id']}"), 404)
    assert_problem(other_api.post(f"/duplicates/{pair['id']}/dismiss"), 404)
    reader = api_as_reader(api)
    assert_problem(reader.post(f"/duplicates/{pair['id']}/dismiss"), 403)

    r = api.post(f"/duplicates/{pair['id']}/dismiss")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "dismissed"
    assert all_pages(api, "/duplicates", {"type": "person"}) == []
    assert AuditEntry.objects.filter(action="duplicate.dismissed").count() == 1


def api_as_reader(api):
    from rapport.testing.clients import make_api_client

    return make_api_client(Role.READ_ONLY, workspace=api.workspace)


def test_duplicates_list_pages_and_query_count_is_constant(api):
    api.get("/duplicates")  # warm up the token
    for i in range(3):
        contact(api, phone=f"+4420794600{i:02d}")
        contact(api, phone=f"+4420794600{i:02d}")
    few, r, _ = count_queries(lambda: api.get("/duplicates", {"limit": 100}))
    assert len(r.json()["results"]) == 3
    for i in range(3, 12):
        contact(api, phone=f"+4420794600{i:02d}")
        contact(api, phone=f"+4420794600{i:02d}")
    many, r, sql = count_queries(lambda: api.get("/duplicates", {"limit": 100}))
    assert len(r.json()["results"]) == 12
    assert many == few, "\n".join(sql)
    rows = all_pages(api, "/duplicates", {"limit": 5})
    assert len(rows) == 12 and len({row["id"] for row in rows}) == 12
    assert [row["score"] for row in rows] == sorted((row["score"] for row in rows), reverse=True)


def test_contact_list_query_count_stays_constant_with_kept_identifiers(api):
    api.get("/contacts")

    def mailed():
        return contact(api, email=f"p{unique()}@example.com")

    a, b = mailed(), mailed()
    api.post(f"/contacts/{a['id']}/merge", {"from": b["id"]})
    few, _, _ = count_queries(lambda: api.get("/contacts", {"limit": 100}))
    for _ in range(6):
        x, y = mailed(), mailed()
        api.post(f"/contacts/{x['id']}/merge", {"from": y["id"]})
    many, r, sql = count_queries(lambda: api.get("/contacts", {"limit": 100}))
    assert len(r.json()["results"]) == 7
    assert all(row["other_emails"] for row in r.json()["results"])
    assert many == few, "\n".join(sql)


def test_scan_api(api, other_api):
    r = api.post("/duplicates/scan")
    assert r.status_code == 202, r.content
    body = r.json()
    assert body["status"] == "queued"
    assert r["Location"] == f"/api/v1/duplicates/scans/{body['id']}"
    assert api.get(r["Location"]).json()["id"] == body["id"]
    assert_problem(other_api.get(f"/duplicates/scans/{body['id']}"), 404)
    assert_problem(api_as_reader(api).post("/duplicates/scan"), 403)
    assert DuplicatePair.objects.count() == 0
