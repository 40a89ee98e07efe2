"""Shared API test suites (DESIGN rule 9): every CRUD resource proves the same contract.

An app describes its resource once with :class:`Resource` and mixes :class:`ApiContractSuite`
into a test class::

    from rapport.testing.suites import ApiContractSuite, Resource

    DEALS = Resource(
        path="/deals",
        object_type="sales.deal",
        payload=lambda client, n: {"name": f"Deal {n}", ...},
        update={"name": "Renamed deal"},
        search_text=lambda body: body["name"],
    )

    class TestDealsContract(ApiContractSuite):
        resource = DEALS

The suite then checks, through the HTTP API only: create/read/list/update/delete with Location,
ETag and If-Match; 401 without or with a bad token (problem+json, WWW-Authenticate); 403 for the
read-only role with nothing changed; the members' delete rule; the workspace wall (404, never
403, never listed or found); and a list query count that does not grow with the rows shown.

The helpers (:func:`assert_problem`, :func:`count_queries`, :func:`all_pages`) serve the apps'
own contract tests too.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from rapport.core.actors import Role

from .clients import ApiClient, make_api_client

PROBLEM_JSON = "application/problem+json"
_serial = itertools.count(1)


def unique() -> int:
    """A number no other call in this test process returns (for unique emails, domains...)."""
    return next(_serial)


# --- helpers ----------------------------------------------------------------------------------


def assert_problem(response, status: int, *fields: str) -> dict:
    """``response`` is an RFC 9457 problem of ``status`` naming every field of ``fields``."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith(PROBLEM_JSON), response["Content-Type"]
    body = json.loads(response.content)
    assert {"type", "title", "status", "detail", "errors"} <= set(body), body
    assert body["status"] == status
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], list)
    for err in body["errors"]:
        assert set(err) == {"field", "message"}, err
        assert isinstance(err["field"], str) and isinstance(err["message"], str)
    named = {e["field"] for e in body["errors"]}
    for name in fields:
        assert name in named, f"{name!r} not among the fields of {body}"
    return body


def count_queries(fn: Callable[[], Any]) -> tuple[int, Any, list[str]]:
    """Runs ``fn`` and answers (number of SQL queries, its result, the SQL)."""
    with CaptureQueriesContext(connection) as ctx:
        result = fn()
    return len(ctx.captured_queries), result, [q["sql"] for q in ctx.captured_queries]


def all_pages(client: ApiClient, path: str, params: dict | None = None, max_pages: int = 200):
    """Walks a keyset-paginated list and answers every row in the order served."""
    params = dict(params or {})
    rows: list[dict] = []
    for _ in range(max_pages):
        r = client.get(path, params)
        assert r.status_code == 200, r.content[:500]
        body = r.json()
        assert set(body) == {"results", "next"}, body.keys()
        rows.extend(body["results"])
        if body["next"] is None:
            return rows
        params["cursor"] = body["next"]
    raise AssertionError(f"{path} did not end after {max_pages} pages")


def ids(rows: Iterable[dict]) -> list[str]:
    return [row["id"] for row in rows]


def anonymous() -> Client:
    return Client()


# --- the resource description -------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    path: str
    """Collection path under /api/v1, e.g. ``/contacts``."""
    object_type: str
    """The audit/search object type, e.g. ``contacts.person``."""
    payload: Callable[[ApiClient, int], dict]
    """A valid create body, unique for ``n`` (may link to records the client can see)."""
    update: dict
    """A valid partial update that changes at least one field."""
    search_text: Callable[[dict], str] | None = None
    """Text that /search finds the created record by (None: not searchable)."""
    history: bool = True
    """Whether ``{path}/{id}/history`` exists."""


class ApiContractSuite:
    """The CRUD, auth, role, isolation and query-count contract of one API resource."""

    resource: ClassVar[Resource]

    # -- helpers for subclasses ----------------------------------------------------------

    def url(self, record_id: str | None = None, suffix: str = "") -> str:
        base = self.resource.path
        return f"{base}/{record_id}{suffix}" if record_id else base

    def create(self, client: ApiClient, **overrides) -> dict:
        body = self.resource.payload(client, unique()) | overrides
        r = client.post(self.url(), body)
        assert r.status_code == 201, r.content[:500]
        return r.json()

    def fetch(self, client: ApiClient, record_id: str) -> dict:
        r = client.get(self.url(record_id))
        assert r.status_code == 200, r.content[:500]
        return r.json()

    def list_ids(self, client: ApiClient, params: dict | None = None) -> list[str]:
        return ids(all_pages(client, self.url(), {"limit": 500, **(params or {})}))

    def audit_count(self, workspace, record_id: str | None = None) -> int:
        from rapport.audit.models import AuditEntry

        qs = AuditEntry.objects.filter(workspace=workspace, object_type=self.resource.object_type)
        if record_id:
            qs = qs.filter(object_id=record_id)
        return qs.count()

    # -- create / read / list / update / delete --------------------------------------------

    def test_create_answers_201_with_location_and_etag(self, api):
        payload = self.resource.payload(api, unique())
        r = api.post(self.url(), payload)
        assert r.status_code == 201, r.content[:500]
        assert r["Content-Type"] == "application/json"
        body = r.json()
        assert body["version"] == 1
        assert r["Location"] == f"/api/v1{self.resource.path}/{body['id']}"
        assert r["ETag"] == '"1"'
        # The Location names the record just made.
        again = api.get(r["Location"])
        assert again.status_code == 200
        assert again.json() == body

    def test_get_answers_200_with_etag(self, api):
        created = self.create(api)
        r = api.get(self.url(created["id"]))
        assert r.status_code == 200
        assert r["ETag"] == f'"{created["version"]}"'
        assert r.json() == created

    def test_list_contains_the_record(self, api):
        created = self.create(api)
        r = api.get(self.url())
        assert r.status_code == 200
        body = r.json()
        assert set(body) == {"results", "next"}
        listed = {row["id"]: row for row in body["results"]}
        assert listed[created["id"]] == created

    def test_patch_bumps_version_and_etag(self, api):
        created = self.create(api)
        r = api.patch(self.url(created["id"]), self.resource.update, headers={"If-Match": '"1"'})
        assert r.status_code == 200, r.content[:500]
        body = r.json()
        assert body["version"] == 2
        assert r["ETag"] == '"2"'
        for key, value in self.resource.update.items():
            if not isinstance(value, dict):
                assert body[key] == value, (key, body[key], value)
        assert body["updated_at"] >= created["updated_at"]
        assert self.fetch(api, created["id"]) == body

    def test_patch_with_stale_if_match_is_412_and_changes_nothing(self, api):
        created = self.create(api)
        first = api.patch(self.url(created["id"]), self.resource.update)
        assert first.status_code == 200
        before = first.json()
        r = api.patch(self.url(created["id"]), self.resource.update, headers={"If-Match": '"1"'})
        body = assert_problem(r, 412)
        assert body["current_version"] == 2
        assert self.fetch(api, created["id"]) == before

    def test_delete_with_stale_if_match_is_412(self, api):
        created = self.create(api)
        api.patch(self.url(created["id"]), self.resource.update)
        assert_problem(api.delete(self.url(created["id"]), headers={"If-Match": '"1"'}), 412)
        assert api.get(self.url(created["id"])).status_code == 200
        r = api.delete(self.url(created["id"]), headers={"If-Match": '"2"'})
        assert r.status_code == 204

    def test_delete_answers_204_then_404(self, api):
        created = self.create(api)
        r = api.delete(self.url(created["id"]))
        assert r.status_code == 204
        assert r.content == b""
        assert_problem(api.get(self.url(created["id"])), 404)
        assert_problem(api.patch(self.url(created["id"]), self.resource.update), 404)
        assert_problem(api.delete(self.url(created["id"])), 404)
        assert created["id"] not in self.list_ids(api)

    def test_unknown_id_is_404(self, api):
        missing = "00000000-0000-4000-8000-000000000000"
        assert_problem(api.get(self.url(missing)), 404)
        assert_problem(api.patch(self.url(missing), self.resource.update), 404)
        assert_problem(api.delete(self.url(missing)), 404)
        if self.resource.history:
            assert_problem(api.get(self.url(missing, "/history")), 404)

    # -- authentication ------------------------------------------------------------------------

    def _every_operation(self, client, record_id: str) -> list[tuple[str, str, dict | None]]:
        ops = [
            ("get", self.url(), None),
            ("post", self.url(), self.resource.payload(client, unique())),
            ("get", self.url(record_id), None),
            ("patch", self.url(record_id), self.resource.update),
            ("delete", self.url(record_id), None),
        ]
        if self.resource.history:
            ops.append(("get", self.url(record_id, "/history"), None))
        return ops

    def _send(self, client: Client, method: str, path: str, body, **headers):
        url = f"/api/v1{path}"
        if method in ("post", "patch"):
            return getattr(client, method)(
                url, data=json.dumps(body), content_type="application/json", headers=headers
            )
        return getattr(client, method)(url, headers=headers)

    def _assert_unauthenticated(self, response) -> None:
        assert_problem(response, 401)
        assert response["WWW-Authenticate"].startswith("Bearer")

    def test_without_a_token_every_operation_is_401(self, api):
        created = self.create(api)
        for method, path, body in self._every_operation(api, created["id"]):
            self._assert_unauthenticated(self._send(anonymous(), method, path, body))
        assert self.fetch(api, created["id"]) == created

    def test_with_an_invalid_token_every_operation_is_401(self, api):
        created = self.create(api)
        bad_tokens = [
            "Bearer rpt_not-a-real-token",
            "Bearer " + api.token + "x",
            "Bearer ",
            "Basic " + api.token,
            api.token,
        ]
        for auth in bad_tokens:
            for method, path, body in self._every_operation(api, created["id"]):
                r = self._send(anonymous(), method, path, body, Authorization=auth)
                self._assert_unauthenticated(r)
        assert self.fetch(api, created["id"]) == created

    def test_a_revoked_token_is_401(self, api):
        from django.utils import timezone

        from rapport.users.models import ApiToken

        created = self.create(api)
        ApiToken.objects.filter(user=api.user).update(revoked_at=timezone.now())
        self._assert_unauthenticated(api.get(self.url(created["id"])))

    # -- roles -----------------------------------------------------------------------------------

    def test_read_only_reads_but_every_write_is_403_and_changes_nothing(self, api, api_as):
        created = self.create(api)
        reader = api_as(Role.READ_ONLY)
        assert self.fetch(reader, created["id"]) == created
        assert created["id"] in self.list_ids(reader)
        audit_before = self.audit_count(api.workspace)
        count_before = len(self.list_ids(api))

        assert_problem(reader.post(self.url(), self.resource.payload(reader, unique())), 403)
        assert_problem(reader.patch(self.url(created["id"]), self.resource.update), 403)
        assert_problem(
            reader.patch(
                self.url(created["id"]), self.resource.update, headers={"If-Match": '"1"'}
            ),
            403,
        )
        assert_problem(reader.delete(self.url(created["id"])), 403)

        assert self.fetch(api, created["id"]) == created
        assert len(self.list_ids(api)) == count_before
        assert self.audit_count(api.workspace) == audit_before

    def test_member_deletes_own_records_but_not_others(self, api, api_as):
        member = api_as(Role.MEMBER)
        colleague = api_as(Role.MEMBER)
        theirs = self.create(colleague)
        mine = self.create(member)

        assert_problem(member.delete(self.url(theirs["id"])), 403)
        assert self.fetch(api, theirs["id"]) == theirs
        assert member.delete(self.url(mine["id"])).status_code == 204
        assert api.get(self.url(mine["id"])).status_code == 404
        # A member may still edit a colleague's record; only deleting is reserved.
        assert member.patch(self.url(theirs["id"]), self.resource.update).status_code == 200

    def test_member_deletes_any_record_when_the_workspace_allows_it(self, api, api_as):
        member = api_as(Role.MEMBER)
        theirs = self.create(api)
        assert_problem(member.delete(self.url(theirs["id"])), 403)
        api.workspace.members_can_delete_any = True
        api.workspace.save(update_fields=["members_can_delete_any"])
        assert member.delete(self.url(theirs["id"])).status_code == 204
        assert api.get(self.url(theirs["id"])).status_code == 404

    def test_managers_delete_anyones_records(self, api, api_as):
        manager = api_as(Role.MANAGER)
        theirs = self.create(api_as(Role.MEMBER))
        assert manager.delete(self.url(theirs["id"])).status_code == 204

    # -- the workspace wall --------------------------------------------------------------------

    def test_another_workspace_gets_404_and_changes_nothing(self, api, other_api):
        created = self.create(api)
        other_reader = make_api_client(Role.READ_ONLY, workspace=other_api.workspace)
        for client in (other_api, other_reader):
            assert_problem(client.get(self.url(created["id"])), 404)
            assert_problem(client.patch(self.url(created["id"]), self.resource.update), 404)
            assert_problem(
                client.patch(
                    self.url(created["id"]), self.resource.update, headers={"If-Match": '"1"'}
                ),
                404,
            )
            assert_problem(client.delete(self.url(created["id"])), 404)
            if self.resource.history:
                assert_problem(client.get(self.url(created["id"], "/history")), 404)
        assert self.fetch(api, created["id"]) == created
        assert self.audit_count(other_api.workspace) == 0

    def test_another_workspace_never_lists_or_finds_the_record(self, api, other_api):
        created = self.create(api)
        self.create(other_api)
        assert created["id"] not in self.list_ids(other_api)
        assert created["id"] in self.list_ids(api)
        if self.resource.search_text:
            text = self.resource.search_text(created)
            mine = api.get("/search", {"q": text}).json()["results"]
            assert created["id"] in ids(mine)
            theirs = other_api.get("/search", {"q": text})
            assert theirs.status_code == 200
            assert created["id"] not in ids(theirs.json()["results"])
            listed = other_api.get(self.url(), {"q": text}).json()["results"]
            assert created["id"] not in ids(listed)

    # -- query counts ------------------------------------------------------------------------------

    def test_list_query_count_does_not_grow_with_rows(self, api):
        api.get(self.url())  # warm up: the token's last_used_at is written once
        for _ in range(3):
            self.create(api)
        few, r, _ = count_queries(lambda: api.get(self.url(), {"limit": 100}))
        assert len(r.json()["results"]) == 3
        for _ in range(27):
            self.create(api)
        many, r, sql = count_queries(lambda: api.get(self.url(), {"limit": 100}))
        assert len(r.json()["results"]) == 30
        assert many == few, "\n".join(sql)

    def test_get_query_count_is_small(self, api):
        created = self.create(api)
        api.get(self.url(created["id"]))
        n, r, sql = count_queries(lambda: api.get(self.url(created["id"])))
        assert r.status_code == 200
        # token, membership, the record, its tags (+ binding and unbinding the workspace for
        # PostgreSQL's row-level security): a read must not fan out
        assert n <= 5 + (2 if connection.vendor == "postgresql" else 0), "\n".join(sql)
