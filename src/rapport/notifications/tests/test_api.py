"""/api/v1/notifications: the caller's own notifications, read state and preference."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from rapport.contacts import services as contact_services
from rapport.core.actors import Role
from rapport.notifications.models import Notification
from rapport.testing.factories import PersonFactory, actor_for
from rapport.testing.suites import all_pages, assert_problem, count_queries

from .helpers import send

pytestmark = pytest.mark.django_db


@pytest.fixture
def colleague(api, api_as):
    """Another member of ``api``'s workspace: the one who mentions ``api``'s user."""
    return api_as(Role.MEMBER)


def _notify(api, colleague, n: int = 1, **kw):
    return [
        row for _ in range(n) for row in send(actor_for(colleague.membership), [api.user.pk], **kw)
    ]


def test_list_shape_and_order(api, colleague):
    person = PersonFactory(actor=actor_for(api.membership))
    first = _notify(api, colleague, title="First")[0]
    second = _notify(
        api,
        colleague,
        kind="assignment",
        title="Second",
        body="Call back",
        url=f"/people/{person.pk}/",
        target_type="person",
        target_id=person.pk,
    )[0]
    r = api.get("/notifications")
    assert r.status_code == 200
    body = r.json()
    assert body["next"] is None
    assert [row["id"] for row in body["results"]] == [str(second.pk), str(first.pk)]
    row = body["results"][0]
    assert set(row) == {
        "id",
        "kind",
        "title",
        "body",
        "url",
        "target",
        "actor",
        "created_at",
        "read_at",
    }
    assert row["kind"] == "assignment"
    assert row["body"] == "Call back"
    assert row["url"] == f"/people/{person.pk}/"
    assert row["target"] == {"type": "person", "id": str(person.pk)}
    assert row["actor"] == colleague.user.email
    assert row["read_at"] is None
    assert body["results"][1]["target"] is None


def test_only_ones_own_notifications_are_listed(api, colleague):
    send(actor_for(api.membership), [colleague.user.pk], title="For the colleague")
    _notify(api, colleague, title="For me")
    assert [r["title"] for r in api.get("/notifications").json()["results"]] == ["For me"]
    assert [r["title"] for r in colleague.get("/notifications").json()["results"]] == [
        "For the colleague"
    ]


def test_pages_and_the_unread_filter(api, colleague):
    rows = _notify(api, colleague, 7)
    api.post(f"/notifications/{rows[0].pk}/read")
    served = all_pages(api, "/notifications", {"limit": 3})
    assert [r["id"] for r in served] == [str(n.pk) for n in reversed(rows)]
    unread = all_pages(api, "/notifications", {"limit": 2, "unread": "true"})
    assert len(unread) == 6 and str(rows[0].pk) not in {r["id"] for r in unread}


def test_bad_list_input(api):
    assert_problem(api.get("/notifications", {"limit": 0}), 422, "limit")
    assert_problem(api.get("/notifications", {"limit": 501}), 422, "limit")
    assert_problem(api.get("/notifications", {"cursor": "garbage"}), 422, "cursor")
    assert_problem(api.get("/notifications", {"unread": "perhaps"}), 422, "unread")


def test_mark_one_read(api, colleague):
    [n] = _notify(api, colleague)
    r = api.post(f"/notifications/{n.pk}/read")
    assert r.status_code == 200
    assert r.json()["id"] == str(n.pk) and r.json()["read_at"] is not None
    again = api.post(f"/notifications/{n.pk}/read")  # idempotent: still read, same time
    assert again.json()["read_at"] == r.json()["read_at"]


def test_read_all(api, colleague):
    _notify(api, colleague, 3)
    send(actor_for(api.membership), [colleague.user.pk])
    r = api.post("/notifications/read-all")
    assert r.status_code == 200 and r.json() == {"marked": 3}
    assert api.get("/notifications", {"unread": "true"}).json()["results"] == []
    assert len(colleague.get("/notifications", {"unread": "true"}).json()["results"]) == 1
    assert api.post("/notifications/read-all").json() == {"marked": 0}


def test_the_workspace_wall(api, other_api, colleague):
    [mine] = _notify(api, colleague)
    [colleagues] = send(actor_for(api.membership), [colleague.user.pk])
    # Another workspace's notification, and a colleague's one, are "no such notification".
    assert_problem(other_api.post(f"/notifications/{mine.pk}/read"), 404)
    assert_problem(api.post(f"/notifications/{colleagues.pk}/read"), 404)
    assert_problem(api.post(f"/notifications/{uuid.uuid4()}/read"), 404)
    assert other_api.get("/notifications").json()["results"] == []
    assert other_api.post("/notifications/read-all").json() == {"marked": 0}
    mine.refresh_from_db()
    colleagues.refresh_from_db()
    assert mine.read_at is None and colleagues.read_at is None
    assert_problem(api.post("/notifications/not-a-uuid/read"), 422)


def test_a_hidden_record_hides_its_notification(api, colleague):
    person = PersonFactory(actor=actor_for(api.membership))
    [n] = _notify(api, colleague, target_type="person", target_id=person.pk)
    contact_services.person_delete(actor=actor_for(api.membership), person_id=person.pk)
    assert api.get("/notifications").json()["results"] == []
    assert_problem(api.post(f"/notifications/{n.pk}/read"), 404)


def test_authentication_is_required(client, db):
    r = client.get("/api/v1/notifications")
    assert_problem(r, 401)
    assert_problem(client.post("/api/v1/notifications/read-all"), 401)


def test_list_query_count_is_constant(api, colleague):
    api.get("/notifications")  # warm up: the token's last_used_at is written once
    person = PersonFactory(actor=actor_for(api.membership))
    _notify(api, colleague, 2, target_type="person", target_id=person.pk)
    few, r, _ = count_queries(lambda: api.get("/notifications", {"limit": 100}))
    assert len(r.json()["results"]) == 2
    _notify(api, colleague, 30, target_type="person", target_id=person.pk)
    _notify(api, colleague, 10)
    many, r, sql = count_queries(lambda: api.get("/notifications", {"limit": 100}))
    assert len(r.json()["results"]) == 42
    assert many == few, "\n".join(sql)
    # token, membership, the page (+ binding the workspace on PostgreSQL)
    assert many <= 3 + (2 if connection.vendor == "postgresql" else 0), "\n".join(sql)


def test_preferences(api):
    r = api.get("/notifications/preferences")
    assert r.status_code == 200
    assert r.json() == {"email_mode": "immediate", "digest_hour": 8, "time_zone": "UTC"}
    r = api.patch("/notifications/preferences", {"email_mode": "digest", "digest_hour": 17})
    assert r.status_code == 200
    assert r.json() == {"email_mode": "digest", "digest_hour": 17, "time_zone": "UTC"}
    assert api.get("/notifications/preferences").json()["digest_hour"] == 17
    r = api.patch("/notifications/preferences", {"email_mode": "off"})
    assert r.json()["email_mode"] == "off" and r.json()["digest_hour"] == 17


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email_mode": "weekly"}, "email_mode"),
        ({"email_mode": "<script>"}, "email_mode"),
        ({"digest_hour": 24}, "digest_hour"),
        ({"digest_hour": -1}, "digest_hour"),
        ({"digest_hour": "noon"}, "digest_hour"),
        ({"sms": True}, "sms"),
    ],
)
def test_bad_preferences_are_refused(api, payload, field):
    assert_problem(api.patch("/notifications/preferences", payload), 422, field)
    assert api.get("/notifications/preferences").json()["email_mode"] == "immediate"


def test_preferences_are_the_callers_own(api, colleague):
    api.patch("/notifications/preferences", {"email_mode": "off"})
    assert colleague.get("/notifications/preferences").json()["email_mode"] == "immediate"


def test_a_read_only_member_can_read_and_mark(api, api_as):
    reader = api_as(Role.READ_ONLY)
    [n] = send(actor_for(api.membership), [reader.user.pk])
    assert reader.post(f"/notifications/{n.pk}/read").status_code == 200
    assert reader.patch("/notifications/preferences", {"email_mode": "off"}).status_code == 200
    assert Notification.objects.get(pk=n.pk).read_at is not None


def test_the_endpoints_are_in_the_openapi_document(api):
    paths = api.get("/openapi.json").json()["paths"]
    assert {
        "/api/v1/notifications",
        "/api/v1/notifications/read-all",
        "/api/v1/notifications/preferences",
        "/api/v1/notifications/{notification_id}/read",
    } <= set(paths)
    assert {"get", "patch"} <= set(paths["/api/v1/notifications/preferences"])
