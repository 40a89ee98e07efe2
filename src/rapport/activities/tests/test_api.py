"""/api/v1/activities and /api/v1/tasks beyond the shared contract: timelines, filters, tasks."""

from __future__ import annotations

import pytest

from rapport.core.actors import Role
from rapport.testing.suites import all_pages, assert_problem, count_queries, ids

pytestmark = pytest.mark.django_db


def _person(api, **extra) -> dict:
    r = api.post("/contacts", {"first_name": "Ada", **extra})
    assert r.status_code == 201, r.content[:300]
    return r.json()


def _log(api, person_id: str, type_: str = "call", **extra) -> dict:
    body = {"type": type_, "targets": [{"type": "person", "id": person_id}], **extra}
    if type_ == "note":
        body.setdefault("body", "a note")
    r = api.post("/activities", body)
    assert r.status_code == 201, r.content[:500]
    return r.json()


def test_a_company_timeline_includes_its_peoples_interactions(api):
    company = api.post("/companies", {"name": "Acme"}).json()
    ada = _person(api, company=company["id"])
    call = _log(api, ada["id"], direction="outbound", data={"duration_s": 90})
    assert call["targets"] == [{"type": "person", "id": ada["id"]}]  # the rollup is not a link
    assert call["direction"] == "outbound" and call["data"] == {"duration_s": 90}
    listed = api.get("/activities", {"target": company["id"]}).json()["results"]
    assert [a["id"] for a in listed] == [call["id"]]
    assert api.get("/activities", {"target": ada["id"], "type": "email"}).json()["results"] == []
    assert (
        len(api.get("/activities", {"target": ada["id"], "type": "call,email"}).json()["results"])
        == 1
    )
    assert_problem(api.get("/activities", {"type": "fax"}), 422, "type")


def test_timeline_filters_and_keyset_pages(api):
    ada = _person(api)
    made = [
        _log(api, ada["id"], "note", occurred_at=f"2030-01-{d:02d}T10:00:00Z")["id"]
        for d in range(1, 13)
    ]
    rows = all_pages(api, "/activities", {"target": ada["id"], "limit": 5})
    assert ids(rows) == list(reversed(made))
    after = api.get(
        "/activities", {"target": ada["id"], "occurred_after": "2030-01-10T00:00:00Z"}
    ).json()["results"]
    assert len(after) == 3
    assert_problem(
        api.get("/activities", {"target": ada["id"], "cursor": "garbage"}), 422, "cursor"
    )


def test_timeline_query_count_does_not_grow(api):
    ada = _person(api)
    _log(api, ada["id"])
    few, r, _ = count_queries(lambda: api.get("/activities", {"target": ada["id"]}))
    assert len(r.json()["results"]) == 1
    for _ in range(20):
        _log(api, ada["id"])
    many, r, sql = count_queries(lambda: api.get("/activities", {"target": ada["id"]}))
    assert len(r.json()["results"]) == 21
    assert many == few, "\n".join(sql)


def test_another_workspaces_record_is_404_as_a_target(api, other_api):
    theirs = _person(other_api)
    _log(other_api, theirs["id"])
    assert_problem(api.get("/activities", {"target": theirs["id"]}), 404)
    assert_problem(api.get("/tasks", {"target": theirs["id"]}), 404)
    r = api.post(
        "/activities",
        {"type": "note", "body": "x", "targets": [{"type": "person", "id": theirs["id"]}]},
    )
    assert_problem(r, 422, "targets.0.id")


def test_follow_up_creates_a_linked_task(api):
    ada = _person(api)
    call = _log(api, ada["id"], follow_up={"title": "Send the quote", "due_in_days": 3})
    tasks = api.get("/tasks", {"target": ada["id"]}).json()["results"]
    assert [t["title"] for t in tasks] == ["Send the quote"]
    assert tasks[0]["assignee"] == str(api.user.pk)
    assert tasks[0]["targets"] == call["targets"]


def test_my_open_tasks_complete_and_bulk(api, api_as):
    colleague = api_as(Role.MEMBER)
    ada = _person(api)
    target = [{"type": "person", "id": ada["id"]}]
    mine = [
        api.post(
            "/tasks", {"title": f"t{i}", "due_at": f"2030-01-0{i + 1}T09:00:00Z", "targets": target}
        ).json()
        for i in range(3)
    ]
    undated = api.post("/tasks", {"title": "someday", "targets": target}).json()
    api.post("/tasks", {"title": "theirs", "assignee": str(colleague.user.pk), "targets": target})
    listed = all_pages(api, "/tasks", {"assignee": "me", "status": "open", "limit": 2})
    assert ids(listed) == [t["id"] for t in mine] + [undated["id"]]  # undated last
    r = api.post(f"/tasks/{mine[0]['id']}/complete")
    assert r.status_code == 200 and r.json()["status"] == "done" and r.json()["completed_at"]
    r = api.post(
        "/tasks/bulk",
        {"ids": [mine[1]["id"], mine[2]["id"]], "action": "reschedule", "shift_days": 2},
    )
    assert r.json() == {"changed": 2}
    assert api.get(f"/tasks/{mine[1]['id']}").json()["due_at"].startswith("2030-01-04")
    r = api.post("/tasks/bulk", {"ids": [mine[1]["id"], mine[2]["id"]], "action": "complete"})
    assert r.json() == {"changed": 2}
    assert ids(api.get("/tasks", {"assignee": "me", "status": "open"}).json()["results"]) == [
        undated["id"]
    ]
    assert_problem(api.post("/tasks/bulk", {"ids": [], "action": "complete"}), 422)
    reader = api_as(Role.READ_ONLY)
    assert_problem(reader.post("/tasks/bulk", {"ids": [undated["id"]], "action": "complete"}), 403)


def test_a_repeating_task_completed_through_the_api_has_a_next_occurrence(api):
    r = api.post(
        "/tasks",
        {
            "title": "Monthly invoice",
            "due_at": "2030-01-31T09:00:00Z",
            "rrule": "FREQ=MONTHLY;BYMONTHDAY=-1",
        },
    )
    task = r.json()
    api.post(f"/tasks/{task['id']}/complete")
    open_ = api.get("/tasks", {"status": "open"}).json()["results"]
    assert [(t["title"], t["due_at"][:10]) for t in open_] == [("Monthly invoice", "2030-02-28")]
    assert_problem(
        api.post(
            "/tasks", {"title": "x", "rrule": "FREQ=SECONDLY", "due_at": "2030-01-01T00:00:00Z"}
        ),
        422,
        "rrule",
    )


def test_hostile_input_is_refused_or_neutralised(api):
    ada = _person(api)
    note = _log(api, ada["id"], "note", body="<img src=x onerror=alert(1)> **hi**")
    assert "<img" not in note["body_html"] and "&lt;img" in note["body_html"]  # text, not a tag
    assert_problem(
        api.post(
            "/activities",
            {
                "type": "note",
                "body": "x" * 100_001,
                "targets": [{"type": "person", "id": ada["id"]}],
            },
        ),
        422,
        "body",
    )
    assert_problem(
        api.post(
            "/activities",
            {"type": "note", "body": "nul\x00", "targets": [{"type": "person", "id": ada["id"]}]},
        ),
        422,
        "body",
    )
    assert_problem(
        api.post(
            "/activities",
            {
                "type": "note",
                "body": "x",
                "targets": [{"type": "person", "id": ada["id"]}],
                "colour": 1,
            },
        ),
        422,
        "colour",
    )
    r = api.post(
        "/activities",
        {"type": "note", "body": "Grüße 🎉 日本", "targets": [{"type": "person", "id": ada["id"]}]},
    )
    assert r.status_code == 201 and r.json()["body"] == "Grüße 🎉 日本"
