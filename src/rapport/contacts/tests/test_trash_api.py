"""/api/v1/trash and the restore endpoints: contract, roles, the workspace wall, query counts."""

from __future__ import annotations

import pytest
from django.db import connection

from rapport.audit.models import AuditEntry
from rapport.core.actors import Role
from rapport.testing.suites import all_pages, assert_problem, count_queries, ids, unique

pytestmark = pytest.mark.django_db


def new_person(client, **extra) -> dict:
    n = unique()
    body = {"first_name": "Trash", "last_name": f"Person{n}", "email": f"trash{n}@example.com"}
    r = client.post("/contacts", body | extra)
    assert r.status_code == 201, r.content
    return r.json()


def new_company(client, **extra) -> dict:
    n = unique()
    r = client.post("/companies", {"name": f"Trash Co {n}", "domain": f"trash{n}.example"} | extra)
    assert r.status_code == 201, r.content
    return r.json()


def trashed_person(client, **extra) -> dict:
    p = new_person(client, **extra)
    assert client.delete(f"/contacts/{p['id']}").status_code == 204
    return p


def trashed_company(client, **extra) -> dict:
    c = new_company(client, **extra)
    assert client.delete(f"/companies/{c['id']}").status_code == 204
    return c


def test_the_trash_lists_deleted_people_and_companies(api):
    p, c = trashed_person(api), trashed_company(api)
    live = new_person(api)
    r = api.get("/trash")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"results", "next"}
    rows = {row["id"]: row for row in body["results"]}
    assert set(rows) == {p["id"], c["id"]}
    assert live["id"] not in rows
    person_row = rows[p["id"]]
    assert set(person_row) == {"type", "id", "name", "deleted_at", "deleted_by", "purge_at"}
    assert person_row["type"] == "person"
    assert person_row["name"] == f"{p['first_name']} {p['last_name']}"
    assert person_row["deleted_by"] == str(api.user.pk)
    assert person_row["purge_at"] > person_row["deleted_at"]
    assert rows[c["id"]]["type"] == "company" and rows[c["id"]]["name"] == c["name"]
    # Newest deletion first.
    assert [row["id"] for row in body["results"]] == [c["id"], p["id"]]


def test_trash_filters_and_pages(api, api_as):
    manager = api_as(Role.MANAGER)
    mine = [trashed_person(api) for _ in range(3)]
    theirs = trashed_company(manager)
    assert ids(all_pages(api, "/trash", {"type": "person"})) == [p["id"] for p in reversed(mine)]
    assert ids(all_pages(api, "/trash", {"type": "company"})) == [theirs["id"]]
    assert ids(all_pages(api, "/trash", {"deleted_by": str(manager.user.pk)})) == [theirs["id"]]
    assert len(ids(all_pages(api, "/trash", {"deleted_by": "me"}))) == 3
    assert ids(all_pages(api, "/trash", {"q": mine[0]["last_name"]})) == [mine[0]["id"]]
    paged = all_pages(api, "/trash", {"limit": 1})
    assert ids(paged) == [theirs["id"], *(p["id"] for p in reversed(mine))]
    far = "2999-01-01T00:00:00Z"
    assert api.get("/trash", {"deleted_after": far}).json()["results"] == []
    assert len(api.get("/trash", {"deleted_before": far}).json()["results"]) == 4


def test_bad_trash_filters_are_422(api):
    assert_problem(api.get("/trash", {"type": "deal"}), 422, "type")
    assert_problem(api.get("/trash", {"deleted_by": "someone"}), 422, "deleted_by")
    assert_problem(api.get("/trash", {"cursor": "garbage"}), 422, "cursor")
    assert_problem(api.get("/trash", {"q": "a\x00b"}), 422, "q")


def test_restore_answers_200_with_the_record_and_etag(api):
    p = trashed_person(api, tags=["vip"])
    assert_problem(api.get(f"/contacts/{p['id']}"), 404)  # the trash is not readable as live
    r = api.post(f"/contacts/{p['id']}/restore")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["id"] == p["id"] and body["version"] == 3 and body["tags"] == ["vip"]
    assert r["ETag"] == '"3"'
    assert api.get(f"/contacts/{p['id']}").json() == body
    assert p["id"] not in ids(all_pages(api, "/trash"))
    assert p["id"] in ids(all_pages(api, "/contacts"))
    # Restoring again: it is no longer in the trash.
    assert_problem(api.post(f"/contacts/{p['id']}/restore"), 404)


def test_restore_of_a_company_brings_back_the_link(api):
    c = new_company(api)
    p = new_person(api, company=c["id"])
    api.delete(f"/companies/{c['id']}")
    assert api.get(f"/contacts/{p['id']}").json()["company"] == c["id"]
    r = api.post(f"/companies/{c['id']}/restore")
    assert r.status_code == 200 and r["ETag"] == '"3"'
    assert ids(all_pages(api, "/contacts", {"company": c["id"]})) == [p["id"]]


def test_restore_clash_is_409_naming_the_live_record(api):
    old = trashed_person(api, email="clash@example.com")
    live = new_person(api, email="clash@example.com")
    body = assert_problem(api.post(f"/contacts/{old['id']}/restore"), 409, "email")
    assert body["existing_id"] == live["id"]
    assert old["id"] in ids(all_pages(api, "/trash"))
    old_c = trashed_company(api, domain="clash.example")
    live_c = new_company(api, domain="clash.example")
    body = assert_problem(api.post(f"/companies/{old_c['id']}/restore"), 409, "domain")
    assert body["existing_id"] == live_c["id"]


def test_restore_honours_if_match(api):
    p = trashed_person(api)
    assert_problem(api.post(f"/contacts/{p['id']}/restore", headers={"If-Match": '"1"'}), 412)
    r = api.post(f"/contacts/{p['id']}/restore", headers={"If-Match": '"2"'})
    assert r.status_code == 200


def test_roles(api, api_as):
    reader, member, manager = api_as(Role.READ_ONLY), api_as(Role.MEMBER), api_as(Role.MANAGER)
    theirs = trashed_person(api)
    assert_problem(reader.get("/trash"), 403)
    assert_problem(reader.post(f"/contacts/{theirs['id']}/restore"), 403)
    # Members restore what they may delete: their own records.
    assert_problem(member.post(f"/contacts/{theirs['id']}/restore"), 403)
    own = trashed_person(member)
    assert member.post(f"/contacts/{own['id']}/restore").status_code == 200
    assert theirs["id"] in ids(all_pages(member, "/trash"))  # listed, not restorable
    assert manager.post(f"/contacts/{theirs['id']}/restore").status_code == 200
    assert AuditEntry.objects.filter(action="contact.restored").count() == 2


def test_another_workspace_never_lists_or_restores(api, other_api):
    p, c = trashed_person(api), trashed_company(api)
    trashed_person(other_api)
    listed = ids(all_pages(other_api, "/trash"))
    assert p["id"] not in listed and c["id"] not in listed and len(listed) == 1
    assert_problem(other_api.post(f"/contacts/{p['id']}/restore"), 404)
    assert_problem(other_api.post(f"/companies/{c['id']}/restore"), 404)
    assert_problem(api.post(f"/companies/{p['id']}/restore"), 404)  # a person is no company
    missing = "00000000-0000-4000-8000-000000000000"
    assert_problem(api.post(f"/contacts/{missing}/restore"), 404)
    assert_problem(api.post("/contacts/not-an-id/restore"), 422)
    assert set(ids(all_pages(api, "/trash"))) == {p["id"], c["id"]}
    assert (
        AuditEntry.objects.filter(
            workspace=other_api.workspace, action__endswith=".restored"
        ).count()
        == 0
    )


def test_trash_list_query_count_does_not_grow_with_rows(api, api_as):
    manager = api_as(Role.MANAGER)
    api.get("/trash")  # warm up: the token's last_used_at is written once
    trashed_person(api)
    trashed_company(manager)
    few, r, _ = count_queries(lambda: api.get("/trash", {"limit": 100}))
    assert len(r.json()["results"]) == 2
    for i in range(10):
        (trashed_person if i % 2 else trashed_company)(manager if i % 3 else api)
    many, r, sql = count_queries(lambda: api.get("/trash", {"limit": 100}))
    assert len(r.json()["results"]) == 12
    assert many == few, "\n".join(sql)
    # token, membership, one query per type (+ binding the workspace on PostgreSQL)
    assert many <= 5 + (2 if connection.vendor == "postgresql" else 0), "\n".join(sql)


def test_the_trash_is_in_the_openapi_document(api):
    doc = api.client.get("/api/v1/openapi.json").json()
    assert "/api/v1/trash" in doc["paths"]
    assert "post" in doc["paths"]["/api/v1/contacts/{contact_id}/restore"]
    assert "post" in doc["paths"]["/api/v1/companies/{company_id}/restore"]
