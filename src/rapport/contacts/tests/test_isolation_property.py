"""The workspace wall as a property: random sequences of API calls by two workspaces A and B.

Whatever B (in any role) does, it never reads, lists, searches, changes or deletes a record of
A: A's ids are always 404 for B (never 403, which would tell B they exist), B's lists and
searches never contain them, a unique value of A (email, domain) never clashes with B's, B
cannot link to A's company or make A's user an owner, and A's data stays exactly as A left it.

Both workspaces draw names, emails and domains from the same small pools, so any leak in a
filter, a search or a uniqueness check would show. Each example creates two fresh workspaces
inside its own savepoint, rolled back in teardown, so examples never see each other's rows and
the test runs unchanged on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    rule,
    run_state_machine_as_test,
)

from rapport.core.actors import Role
from rapport.testing.clients import make_api_client

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

PATHS = {"person": "/contacts", "company": "/companies"}
FIRST = ["Ada", "Grace", "Alan"]
LAST = ["Lovelace", "Hopper", "Turing"]
ORGS = ["Acme", "Globex", "Initech"]

people = st.fixed_dictionaries(
    {
        "first_name": st.sampled_from(FIRST),
        "last_name": st.sampled_from(LAST),
        "email": st.sampled_from(["ada@x.example", "grace@x.example", "alan@y.example", None]),
    },
    optional={
        "tags": st.lists(st.sampled_from(["vip", "lead", "old"]), max_size=2),
        "address": st.fixed_dictionaries({"city": st.sampled_from(["London", "Paris"])}),
        "phone": st.sampled_from(["+44 20 7946 0958", "+1 202 555 0143", ""]),
    },
)
companies = st.fixed_dictionaries(
    {
        "name": st.sampled_from(ORGS),
        "domain": st.sampled_from(["acme.example", "globex.example", "", None]),
    },
    optional={
        "tags": st.lists(st.sampled_from(["vip", "partner"]), max_size=2),
        "industry": st.sampled_from(["Software", "Energy"]),
    },
)
person_updates = st.fixed_dictionaries(
    {},
    optional={
        "title": st.sampled_from(["CEO", "CTO", ""]),
        "last_name": st.sampled_from(LAST),
        "tags": st.lists(st.sampled_from(["vip", "churned"]), max_size=2),
        "lifecycle_stage": st.sampled_from(["lead", "customer"]),
    },
)
company_updates = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(ORGS),
        "industry": st.sampled_from(["Software", "Retail"]),
        "tags": st.lists(st.sampled_from(["vip", "partner"]), max_size=2),
    },
)
queries = st.sampled_from(
    [*FIRST, *LAST, *ORGS, "ada@x.example", "acme.example", "+44 20 7946 0958", "lovlace", "x"]
)


roles = st.sampled_from(list(Role))


class WorkspaceWall(RuleBasedStateMachine):
    a_records = Bundle("a_records")
    b_records = Bundle("b_records")

    def __init__(self):
        super().__init__()
        # Each example runs in its own savepoint, rolled back in teardown: examples do not
        # see each other's rows, so a failure replays (and shrinks) exactly.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.a = make_api_client(Role.OWNER)
        owner_b = make_api_client(Role.OWNER)
        # B acts in every role, one drawn per call.
        self.b_as = {Role.OWNER: owner_b} | {
            role: make_api_client(role, workspace=owner_b.workspace)
            for role in Role
            if role != Role.OWNER
        }
        # What each record looks like to its own workspace (None: deleted).
        self.state: dict[str, dict | None] = {}
        self.kind: dict[str, str] = {}
        self.owner: dict[str, str] = {}

    # -- helpers --------------------------------------------------------------------------

    def live(self, workspace: str, kind: str | None = None) -> dict[str, dict]:
        return {
            rid: body
            for rid, body in self.state.items()
            if body is not None
            and self.owner[rid] == workspace
            and (kind is None or self.kind[rid] == kind)
        }

    def a_ids(self) -> set[str]:
        return {rid for rid in self.state if self.owner[rid] == "a"}

    def create(self, client, workspace: str, kind: str, body: dict) -> str | None:
        r = client.post(PATHS[kind], body)
        unique_field = "email" if kind == "person" else "domain"
        value = (body.get(unique_field) or "").lower()
        clash = next(
            (
                rid
                for rid, row in self.live(workspace, kind).items()
                if value and (row.get(unique_field) or "") == value
            ),
            None,
        )
        if client.membership.role == Role.READ_ONLY.value:
            assert r.status_code == 403, r.content
            return None
        if clash:
            # A duplicate names an existing record of the *same* workspace.
            assert r.status_code == 409, r.content
            assert r.json()["existing_id"] == clash
            return None
        assert r.status_code == 201, r.content  # never a 409 from the other workspace
        created = r.json()
        self.state[created["id"]] = created
        self.kind[created["id"]] = kind
        self.owner[created["id"]] = workspace
        return created["id"]

    def assert_a_unchanged(self, rid: str) -> None:
        r = self.a.get(f"{PATHS[self.kind[rid]]}/{rid}")
        if self.state[rid] is None:
            assert r.status_code == 404
        else:
            assert r.status_code == 200
            assert r.json() == self.state[rid]

    def assert_hidden_from_b(self, r) -> None:
        assert r.status_code == 404, (r.status_code, r.content)
        assert r["Content-Type"] == "application/problem+json"

    # -- A's own work ---------------------------------------------------------------------------

    @rule(target=a_records, body=people)
    def a_creates_person(self, body):
        return self.create(self.a, "a", "person", body) or "missing"

    @rule(target=a_records, body=companies)
    def a_creates_company(self, body):
        return self.create(self.a, "a", "company", body) or "missing"

    @rule(rid=a_records, data=st.data())
    def a_updates(self, rid, data):
        if rid == "missing":
            return
        kind = self.kind[rid]
        body = data.draw(person_updates if kind == "person" else company_updates)
        r = self.a.patch(f"{PATHS[kind]}/{rid}", body)
        if self.state[rid] is None:
            assert r.status_code == 404
            return
        assert r.status_code == 200, r.content
        self.state[rid] = r.json()

    @rule(rid=a_records)
    def a_deletes(self, rid):
        if rid == "missing" or self.state[rid] is None:
            return
        r = self.a.delete(f"{PATHS[self.kind[rid]]}/{rid}")
        assert r.status_code == 204
        self.state[rid] = None

    # -- B's own work, often with A's values --------------------------------------------------

    @rule(target=b_records, body=people, role=roles)
    def b_creates_person(self, body, role):
        return self.create(self.b_as[role], "b", "person", body) or "missing"

    @rule(target=b_records, body=companies, role=roles)
    def b_creates_company(self, body, role):
        return self.create(self.b_as[role], "b", "company", body) or "missing"

    @rule(rid=b_records, target_rid=a_records, role=roles)
    def b_links_to_as_company_or_user(self, rid, target_rid, role):
        if rid == "missing" or self.state[rid] is None:
            return
        kind = self.kind[rid]
        if kind == "person" and target_rid != "missing" and self.kind[target_rid] == "company":
            body = {"company": target_rid}
        else:
            body = {"owner": str(self.a.user.pk)}
        r = self.b_as[role].patch(f"{PATHS[kind]}/{rid}", body)
        if role == Role.READ_ONLY:
            assert r.status_code == 403
        else:
            assert r.status_code == 422, r.content
            assert r.json()["errors"][0]["field"] in ("company", "owner")
        if target_rid != "missing":
            self.assert_a_unchanged(target_rid)

    # -- B reaching for A's records --------------------------------------------------------

    @rule(rid=a_records, role=roles)
    def b_reads(self, rid, role):
        if rid == "missing":
            return
        path = f"{PATHS[self.kind[rid]]}/{rid}"
        self.assert_hidden_from_b(self.b_as[role].get(path))
        self.assert_hidden_from_b(self.b_as[role].get(f"{path}/history"))

    @rule(rid=a_records, data=st.data(), if_match=st.booleans(), role=roles)
    def b_updates(self, rid, data, if_match, role):
        if rid == "missing":
            return
        kind = self.kind[rid]
        body = data.draw(person_updates if kind == "person" else company_updates)
        headers = {"If-Match": '"1"'} if if_match else {}
        r = self.b_as[role].patch(f"{PATHS[kind]}/{rid}", body, headers=headers)
        self.assert_hidden_from_b(r)
        self.assert_a_unchanged(rid)

    @rule(rid=a_records, role=roles)
    def b_deletes(self, rid, role):
        if rid == "missing":
            return
        self.assert_hidden_from_b(self.b_as[role].delete(f"{PATHS[self.kind[rid]]}/{rid}"))
        self.assert_a_unchanged(rid)

    @rule(
        kind=st.sampled_from(["person", "company"]),
        q=st.none() | queries,
        tag=st.none() | st.sampled_from(["vip", "partner"]),
        sort=st.sampled_from(["-created_at", "updated_at", "-updated_at"]),
        role=roles,
    )
    def b_lists(self, kind, q, tag, sort, role):
        params = {"limit": 500, "sort": sort}
        if q:
            params["q"] = q
        if tag:
            params["tag"] = tag
        r = self.b_as[role].get(PATHS[kind], params)
        assert r.status_code == 200, r.content
        listed = {row["id"] for row in r.json()["results"]}
        assert listed.isdisjoint(self.a_ids())
        if not q and not tag:
            assert listed == set(self.live("b", kind))

    @rule(rid=a_records, role=roles)
    def b_filters_by_as_values(self, rid, role):
        if rid == "missing":
            return
        kind = self.kind[rid]
        row = self.state[rid] or {}
        params = [{"owner": str(self.a.user.pk)}]
        if kind == "company":
            params += [{"domain": row.get("domain") or "acme.example"}]
            people_of = self.b_as[role].get("/contacts", {"company": rid})
            assert people_of.status_code == 200
            assert people_of.json()["results"] == []
        else:
            params += [{"email": row.get("email") or "ada@x.example"}]
        for p in params:
            r = self.b_as[role].get(PATHS[kind], p)
            assert r.status_code == 200
            assert {x["id"] for x in r.json()["results"]}.isdisjoint(self.a_ids())

    @rule(q=queries, type_=st.sampled_from([None, "person", "company"]), role=roles)
    def b_searches(self, q, type_, role):
        params = {"q": q} | ({"type": type_} if type_ else {})
        r = self.b_as[role].get("/search", params)
        assert r.status_code == 200, r.content
        assert {hit["id"] for hit in r.json()["results"]}.isdisjoint(self.a_ids())

    @rule(role=roles)
    def b_reads_the_audit_log(self, role):
        r = self.b_as[role].get("/audit", {"limit": 500})
        if role in (Role.OWNER, Role.ADMIN):
            assert r.status_code == 200
            seen = {e["object_id"] for e in r.json()["results"]}
            assert seen.isdisjoint(self.a_ids())
        else:
            assert r.status_code == 403

    def teardown(self):
        try:
            for rid in self.a_ids():
                self.assert_a_unchanged(rid)
        finally:
            transaction.set_rollback(True)
            self._atomic.__exit__(None, None, None)


def test_workspace_b_never_touches_workspace_a(db):
    run_state_machine_as_test(
        WorkspaceWall,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
