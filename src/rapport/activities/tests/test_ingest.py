"""POST /api/v1/activities/ingest: channels push interactions, matched by email or phone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rapport.activities.ingest import MAX_ITEMS
from rapport.activities.models import Activity, ActivityTarget
from rapport.audit.models import AuditEntry
from rapport.contacts import merging
from rapport.contacts import services as contacts
from rapport.contacts.models import Person
from rapport.core.actors import Role
from rapport.testing.factories import actor_for
from rapport.testing.suites import assert_problem, count_queries, unique

pytestmark = pytest.mark.django_db

URL = "/activities/ingest"


def person(api, **data):
    data.setdefault("first_name", f"Person {unique()}")
    return contacts.person_create(actor=actor_for(api.membership), data=data)


def call(external_id: str, **extra) -> dict:
    return {
        "type": "call",
        "channel": "aircall",
        "external_id": external_id,
        "data": {"duration_s": 42, "outcome": "connected"},
        **extra,
    }


def linked_people(activity_id) -> set:
    rows = ActivityTarget.objects.filter(activity_id=activity_id, target_type="person")
    return set(rows.values_list("target_id", flat=True))


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert set(body) == {"results"}
    return body["results"]


def fields(result: dict) -> set[str]:
    return {e["field"] for e in result["errors"]}


# --- a mixed batch ------------------------------------------------------------------------------


def test_a_mixed_batch_stores_the_good_items_and_reports_each_bad_one(api):
    ada = person(api, email="ada@example.com")
    items = [
        call("c-1", **{"from": {"email": "ada@example.com"}}),
        call("c-2", type="fax", **{"from": {"email": "ada@example.com"}}),
        call("c-3", **{"from": {"phone": "12"}}),
        call("c-4", **{"from": {"email": "stranger@example.com"}}),
        {**call("c-5"), "targets": [{"type": "person", "id": str(ada.pk)}], "colour": "red"},
        "not an object",
        call("c-6", **{"from": {"name": "Nobody"}}),
        call("c-7", data={"duration_s": -5}, **{"from": {"email": "ada@example.com"}}),
        call("c-8", targets=[{"type": "person", "id": str(ada.pk)}]),
    ]
    out = results(api.post(URL, {"items": items}))

    assert [r["index"] for r in out] == list(range(len(items)))
    assert [r["status"] for r in out] == [
        "created", "error", "error", "error", "error", "error", "error", "error", "created",
    ]  # fmt: skip
    assert fields(out[1]) == {"type"}
    assert fields(out[2]) == {"from.phone"}
    assert fields(out[3]) == {"from"}
    assert "create_unknown=true" in out[3]["errors"][0]["message"]
    assert fields(out[4]) == {"colour"}
    assert out[4]["errors"][0]["message"] == "Unknown field."
    assert fields(out[5]) == {"item"}
    assert fields(out[6]) == {"from"}
    assert fields(out[7]) == {"data.duration_s"}
    for bad in out[1:8]:
        assert bad["id"] is None and bad["errors"] and bad["person"] is None

    stored = Activity.objects.filter(workspace=api.workspace)
    assert set(stored.values_list("external_id", flat=True)) == {"c-1", "c-8"}
    first = stored.get(external_id="c-1")
    assert str(first.pk) == out[0]["id"]
    assert out[0]["person"] == str(ada.pk) and out[0]["person_created"] is False
    assert linked_people(first.pk) == {ada.pk}
    assert first.direction == "inbound"  # the default when `from` names the counterpart
    assert stored.get(external_id="c-8").direction == ""  # (no `from`: as sent)
    # Each stored item is audited like any other interaction; nothing else is.
    assert (
        AuditEntry.objects.filter(workspace=api.workspace, action="activity.created").count() == 2
    )


def test_the_stored_interaction_reads_back_through_the_api(api):
    ada = person(api, email="ada@example.com")
    item = call("c-1", occurred_at="2025-03-04T09:15:00+01:00", subject="Inbound call")
    item["from"] = {"email": "ada@example.com"}
    [result] = results(api.post(URL, {"items": [item]}))
    body = api.get(f"/activities/{result['id']}").json()
    assert body["type"] == "call" and body["channel"] == "aircall"
    assert body["external_id"] == "c-1" and body["direction"] == "inbound"
    assert body["occurred_at"].startswith("2025-03-04T08:15:00")
    assert body["targets"] == [{"type": "person", "id": str(ada.pk)}]
    assert body["data"] == {"duration_s": 42, "outcome": "connected"}
    timeline = api.get("/activities", {"target": str(ada.pk)}).json()["results"]
    assert [a["id"] for a in timeline] == [result["id"]]


# --- matching the counterpart -------------------------------------------------------------------


def test_matches_email_case_insensitively_and_phone_in_another_format(api):
    ada = person(api, email="ada@example.com")
    bob = person(api, phone="+12025550143")
    items = [
        call("c-1", **{"from": {"email": "  ADA@Example.COM "}}),
        call("c-2", **{"from": {"phone": "(202) 555-0143"}}),  # national, the workspace's US
        call("c-3", **{"from": {"phone": "+1 202.555.0143"}}),
    ]
    out = results(api.post(URL, {"items": items}))
    assert [r["status"] for r in out] == ["created"] * 3
    assert [r["person"] for r in out] == [str(ada.pk), str(bob.pk), str(bob.pk)]
    assert linked_people(out[1]["id"]) == {bob.pk}
    assert Person.objects.filter(workspace=api.workspace).count() == 2  # nobody new


def test_the_phone_is_read_with_the_workspaces_default_region(api):
    api.workspace.default_region = "GB"
    api.workspace.save()
    ada = person(api, phone="+442079460958")
    [result] = results(
        api.post(URL, {"items": [call("c-1", **{"from": {"phone": "020 7946 0958"}})]})
    )
    assert result["person"] == str(ada.pk)


def test_the_email_decides_and_the_phone_is_tried_when_the_email_matches_nobody(api):
    ada = person(api, email="ada@example.com", phone="+12025550143")
    bob = person(api, email="bob@example.com", phone="+12025550144")
    items = [
        call("c-1", **{"from": {"email": "bob@example.com", "phone": "+12025550143"}}),
        call("c-2", **{"from": {"email": "unknown@example.com", "phone": "+12025550143"}}),
    ]
    out = results(api.post(URL, {"items": items}))
    assert [r["person"] for r in out] == [str(bob.pk), str(ada.pk)]


def test_a_shared_phone_links_the_most_recently_updated_person(api):
    older = person(api, first_name="Older", phone="+12025550143")
    newer = person(api, first_name="Newer", phone="+12025550143")
    Person.objects.filter(pk=older.pk).update(updated_at=timezone.now() - dt.timedelta(days=3))
    [result] = results(api.post(URL, {"items": [call("c-1", **{"from": {"phone": "2025550143"}})]}))
    assert result["person"] == str(newer.pk)
    assert linked_people(result["id"]) == {newer.pk}  # one counterpart, not everyone sharing it

    Person.objects.filter(pk=older.pk).update(updated_at=timezone.now() + dt.timedelta(days=1))
    [again] = results(api.post(URL, {"items": [call("c-2", **{"from": {"phone": "2025550143"}})]}))
    assert again["person"] == str(older.pk)


def test_matches_the_email_and_phone_a_person_kept_from_a_merge(api):
    actor = actor_for(api.membership)
    ada = person(api, email="ada@acme.example", phone="+12025550143")
    augusta = person(api, email="augusta@home.example", phone="+12025550199")
    merging.person_merge(actor=actor, into_id=ada.pk, from_id=augusta.pk)
    items = [
        call("c-1", **{"from": {"email": "Augusta@Home.example"}}),
        call("c-2", **{"from": {"phone": "+1 202 555 0199"}}),
    ]
    out = results(api.post(URL, {"items": items}, headers={}))
    assert [r["person"] for r in out] == [str(ada.pk), str(ada.pk)]
    assert [r["person_created"] for r in out] == [False, False]


def test_a_deleted_person_is_not_matched(api):
    gone = person(api, email="gone@example.com")
    contacts.person_delete(actor=actor_for(api.membership), person_id=gone.pk)
    [result] = results(
        api.post(URL, {"items": [call("c-1", **{"from": {"email": "gone@example.com"}})]})
    )
    assert result["status"] == "error" and fields(result) == {"from"}


def test_from_and_targets_together_link_both(api):
    ada = person(api, email="ada@example.com")
    acme = contacts.company_create(actor=actor_for(api.membership), data={"name": "Acme"})
    item = call("c-1", targets=[{"type": "company", "id": str(acme.pk)}])
    item["from"] = {"email": "ada@example.com"}
    [result] = results(api.post(URL, {"items": [item]}))
    links = ActivityTarget.objects.filter(activity_id=result["id"], rollup=False)
    assert set(links.values_list("target_type", "target_id")) == {
        ("company", acme.pk),
        ("person", ada.pk),
    }


# --- unknown senders --------------------------------------------------------------------------


def test_create_unknown_creates_the_sender_through_the_contacts_service(api):
    items = [
        call("c-1", **{"from": {"phone": "(202) 555-0143", "name": "Ada  King Lovelace"}}),
        {
            "type": "chat",
            "channel": "intercom",
            "external_id": "m-1",
            "body": "Hello",
            "from": {"email": "Grace@Example.COM", "name": "Grâce Hoppér"},
        },
        # The same sender again in the batch: matched to the person just created.
        call("c-2", **{"from": {"phone": "+12025550143"}}),
    ]
    out = results(api.post(URL, {"items": items, "create_unknown": True}))
    assert [r["status"] for r in out] == ["created"] * 3
    assert [r["person_created"] for r in out] == [True, True, False]
    assert out[2]["person"] == out[0]["person"]

    ada = Person.objects.get(pk=out[0]["person"])
    assert (ada.first_name, ada.last_name, ada.phone, ada.email) == (
        "Ada",
        "King Lovelace",
        "+12025550143",
        "",
    )
    assert ada.source == "aircall"
    grace = Person.objects.get(pk=out[1]["person"])
    assert (grace.first_name, grace.last_name, grace.email) == (
        "Grâce",
        "Hoppér",
        "grace@example.com",
    )
    assert grace.source == "intercom"
    assert linked_people(out[1]["id"]) == {grace.pk}
    # Created like any person: audited, searchable.
    created = AuditEntry.objects.filter(workspace=api.workspace, action="contact.created")
    assert set(created.values_list("object_id", flat=True)) == {str(ada.pk), str(grace.pk)}
    found = api.get("/search", {"q": "grace@example.com"})
    assert found.status_code == 200 and str(grace.pk) in found.content.decode()


def test_an_unknown_sender_of_a_refused_item_is_not_created(api):
    item = call("c-1", type="fax", **{"from": {"email": "new@example.com"}})
    bad_data = call("c-2", data={"outcome": "exploded"}, **{"from": {"email": "new2@example.com"}})
    out = results(api.post(URL, {"items": [item, bad_data], "create_unknown": True}))
    assert [r["status"] for r in out] == ["error", "error"]
    assert fields(out[1]) == {"data.outcome"}
    assert not Person.objects.filter(workspace=api.workspace).exists()


# --- idempotency ------------------------------------------------------------------------------


def test_reposting_a_batch_answers_duplicates_with_the_same_ids(api):
    person(api, email="ada@example.com")
    items = [call(f"c-{i}", **{"from": {"email": "ada@example.com"}}) for i in range(5)]
    items.append(call("n-1", **{"from": {"email": "new@example.com"}}))
    first = results(api.post(URL, {"items": items, "create_unknown": True}))
    assert {r["status"] for r in first} == {"created"}
    counts = (Activity.objects.count(), Person.objects.count(), AuditEntry.objects.count())

    again = results(api.post(URL, {"items": items, "create_unknown": True}))
    assert [r["status"] for r in again] == ["duplicate"] * 6
    assert [r["id"] for r in again] == [r["id"] for r in first]
    assert all(r["errors"] == [] for r in again)
    assert (Activity.objects.count(), Person.objects.count(), AuditEntry.objects.count()) == counts


def test_a_message_repeated_within_the_batch_is_a_duplicate(api):
    ada = person(api, email="ada@example.com")
    item = call("c-1", **{"from": {"email": "ada@example.com"}})
    other_channel = {**item, "channel": "dialpad"}  # the id is unique per channel only
    out = results(api.post(URL, {"items": [item, item, other_channel]}))
    assert [r["status"] for r in out] == ["created", "duplicate", "created"]
    assert out[1]["id"] == out[0]["id"] != out[2]["id"]
    assert Activity.objects.filter(external_id="c-1").count() == 2
    assert linked_people(out[2]["id"]) == {ada.pk}


def test_a_failed_item_does_not_block_its_message_id(api):
    person(api, email="ada@example.com")
    bad = call("c-1", type="fax", **{"from": {"email": "ada@example.com"}})
    good = call("c-1", **{"from": {"email": "ada@example.com"}})
    out = results(api.post(URL, {"items": [bad, good]}))
    assert [r["status"] for r in out] == ["error", "created"]


def test_items_without_an_external_id_are_logged_each_time(api):
    ada = person(api, email="ada@example.com")
    item = {"type": "note", "body": "Walk-in", "targets": [{"type": "person", "id": str(ada.pk)}]}
    assert results(api.post(URL, {"items": [item]}))[0]["status"] == "created"
    assert results(api.post(URL, {"items": [item]}))[0]["status"] == "created"
    assert Activity.objects.filter(workspace=api.workspace).count() == 2


def test_a_message_already_logged_through_post_activities_is_a_duplicate(api):
    ada = person(api, email="ada@example.com")
    body = call("c-1", targets=[{"type": "person", "id": str(ada.pk)}])
    created = api.post("/activities", body)
    assert created.status_code == 201
    [result] = results(
        api.post(URL, {"items": [call("c-1", **{"from": {"email": "ada@example.com"}})]})
    )
    assert result == {
        "index": 0,
        "status": "duplicate",
        "id": created.json()["id"],
        "person": None,
        "person_created": False,
        "errors": [],
    }


# --- the workspace wall, roles, auth, limits ----------------------------------------------------


def test_another_workspaces_people_are_not_found_and_not_named(api, other_api):
    theirs = person(other_api, first_name="Secretname", email="theirs@example.com")
    items = [
        call("c-1", targets=[{"type": "person", "id": str(theirs.pk)}]),
        call("c-2", **{"from": {"email": "theirs@example.com"}}),
    ]
    response = api.post(URL, {"items": items})
    out = results(response)
    assert [r["status"] for r in out] == ["error", "error"]
    assert out[0]["errors"] == [
        {"field": "targets.0.id", "message": "No such record in this workspace."}
    ]
    assert fields(out[1]) == {"from"}  # their email matches nobody here
    assert "Secretname" not in response.content.decode()
    assert str(theirs.pk) not in response.content.decode()
    assert not Activity.objects.exists()


def test_create_unknown_never_reaches_into_another_workspace(api, other_api):
    theirs = person(other_api, email="shared@example.com")
    [result] = results(
        api.post(
            URL,
            {
                "items": [call("c-1", **{"from": {"email": "shared@example.com"}})],
                "create_unknown": True,
            },
        )
    )
    assert result["person_created"] is True and result["person"] != str(theirs.pk)
    mine = Person.objects.get(pk=result["person"])
    assert mine.workspace_id == api.workspace.pk
    assert Person.objects.get(pk=theirs.pk).workspace_id == other_api.workspace.pk


def test_the_same_message_id_may_exist_in_another_workspace(api, other_api):
    person(api, email="ada@example.com")
    person(other_api, email="ada@example.com")
    item = call("c-1", **{"from": {"email": "ada@example.com"}})
    assert results(other_api.post(URL, {"items": [item]}))[0]["status"] == "created"
    assert results(api.post(URL, {"items": [item]}))[0]["status"] == "created"


def test_a_read_only_token_is_refused_for_the_whole_batch(api, api_as):
    person(api, email="ada@example.com")
    reader = api_as(Role.READ_ONLY)
    items = [call("c-1", **{"from": {"email": "ada@example.com"}})]
    assert_problem(reader.post(URL, {"items": items, "create_unknown": True}), 403)
    assert not Activity.objects.exists()


def test_a_member_may_ingest(api, api_as):
    person(api, email="ada@example.com")
    member = api_as(Role.MEMBER)
    items = [call("c-1", **{"from": {"email": "ada@example.com"}})]
    assert results(member.post(URL, {"items": items}))[0]["status"] == "created"


def test_unauthenticated_and_bad_tokens_are_401(api):
    body = {"items": [call("c-1", **{"from": {"email": "ada@example.com"}})]}
    anonymous = Client().post("/api/v1/activities/ingest", body, content_type="application/json")
    assert_problem(anonymous, 401)
    bad = Client(HTTP_AUTHORIZATION="Bearer nope").post(
        "/api/v1/activities/ingest", body, content_type="application/json"
    )
    assert_problem(bad, 401)
    assert not Activity.objects.exists()


def test_more_than_the_limit_is_refused_and_nothing_is_stored(api):
    ada = person(api, email="ada@example.com")
    items = [
        call(f"c-{i}", targets=[{"type": "person", "id": str(ada.pk)}])
        for i in range(MAX_ITEMS + 1)
    ]
    assert_problem(api.post(URL, {"items": items}), 422, "items")
    assert not Activity.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"items": []}, "items"),
        ({}, "items"),
        ({"items": {"type": "call"}}, "items"),
        ({"items": [], "create_unknown": "maybe"}, "create_unknown"),
        ({"items": [call("c-1")], "unknown": 1}, "unknown"),
    ],
)
def test_a_malformed_envelope_is_422(api, body, field):
    assert_problem(api.post(URL, body), 422, field)


def test_malformed_json_is_400(api):
    response = api.post(URL, b"{not json", headers={})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")


# --- content ----------------------------------------------------------------------------------


def test_a_script_tag_is_stored_as_sent_and_never_rendered(api):
    ada = person(api, email="ada@example.com")
    script = "<script>alert('x')</script> hi <img src=x onerror=alert(1)>"
    items = [
        {"type": "note", "body": script, "from": {"email": "ada@example.com"}},
        {"type": "chat", "channel": "intercom", "external_id": "m-1", "body": script,
         "subject": "<b>x</b>", "from": {"email": "ada@example.com"}},
    ]  # fmt: skip
    out = results(api.post(URL, {"items": items}))
    assert [r["status"] for r in out] == ["created", "created"]
    for result in out:
        obj = Activity.objects.get(pk=result["id"])
        assert obj.body == script  # stored as written
        assert "<script" not in obj.body_html.lower()
        assert "<img" not in obj.body_html.lower()  # (the text shows, escaped, as text)
    # The person's page shows the interactions escaped.
    browser = Client()
    browser.force_login(api.user)
    page = browser.get(reverse("contacts:person_detail", args=[ada.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<script>alert(" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(" in html


def test_unicode_and_long_values_are_checked_per_item(api):
    person(api, email="ada@example.com")
    items = [
        call("c-1", subject="Anruf wegen Größe 🙂", **{"from": {"email": "ada@example.com"}}),
        call("c-2", subject="x" * 301, **{"from": {"email": "ada@example.com"}}),
        call("x" * 256, **{"from": {"email": "ada@example.com"}}),
        call("c-4", **{"from": {"email": "ada@example.com", "name": "\x00"}}),
    ]
    out = results(api.post(URL, {"items": items}))
    assert [r["status"] for r in out] == ["created", "error", "error", "error"]
    assert Activity.objects.get(pk=out[0]["id"]).subject == "Anruf wegen Größe 🙂"
    assert fields(out[1]) == {"subject"}
    assert fields(out[2]) == {"external_id"}
    assert fields(out[3]) == {"from.name"}


# --- cost -------------------------------------------------------------------------------------


def test_the_query_count_does_not_pay_a_look_up_per_item(api):
    """Senders and known message ids are resolved once per batch; what grows with the items is
    only each interaction's own write (insert, link, audit, the service's checks)."""
    for i in range(25):
        person(api, email=f"p{i}@example.com", phone=f"+1202555{i + 100:04d}")

    def batch(prefix: str, n: int) -> dict:
        items = []
        for i in range(n):
            sender = (
                {"email": f"P{i % 25}@example.com"}
                if i % 2
                else {"phone": f"(202) 555-{i % 25 + 100:04d}"}
            )
            items.append(call(f"{prefix}-{i}", **{"from": sender}))
        return {"items": items}

    small, _, _ = count_queries(lambda: results(api.post(URL, batch("s", 10))))
    large, response, sql = count_queries(lambda: results(api.post(URL, batch("l", 50))))
    assert {r["status"] for r in response} == {"created"}
    per_item = (large - small) / 40
    assert per_item <= 10, (small, large)
    assert large <= 15 + 10 * 50, large
    # Matching: a constant number of look-ups, whatever the number of senders.
    assert sum("contacts_otheridentifier" in q for q in sql) <= 1
    matching = [
        q for q in sql if "contacts_person" in q and ('"email" IN' in q or '"phone" IN' in q)
    ]
    assert len(matching) <= 2, matching

    # A re-post of known messages costs no write at all.
    again, response, _ = count_queries(lambda: results(api.post(URL, batch("l", 50))))
    assert {r["status"] for r in response} == {"duplicate"}
    assert again <= 15, again


# --- documentation ----------------------------------------------------------------------------


def test_the_openapi_document_describes_the_endpoint_with_examples(api):
    schema = api.get("/openapi.json").json()
    operation = schema["paths"]["/api/v1/activities/ingest"]["post"]
    assert "create_unknown" in operation["description"]
    assert "duplicate" in operation["description"]
    content = operation["requestBody"]["content"]["application/json"]
    example = content["examples"]["channels"]["value"]
    assert {i["type"] for i in example["items"]} == {"call", "chat", "social"}
    envelope = schema["components"]["schemas"]["IngestIn"]
    item = envelope["properties"]["items"]["items"]
    assert {"type", "from", "targets", "external_id", "channel"} <= set(item["properties"])
    assert {"email", "phone", "name"} <= set(item["properties"]["from"]["anyOf"][0]["properties"])
    assert envelope["properties"]["items"]["maxItems"] == MAX_ITEMS
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["$ref"].endswith("/IngestOut")
