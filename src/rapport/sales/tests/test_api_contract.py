"""The shared CRUD / auth / role / isolation / query-count contract for the sales API.

Deals and pipelines run the whole ``ApiContractSuite``; pipelines are admin-only, so the
suite's member tests are replaced by the admin rule. Lost reasons and exchange rates carry no
version (no ETag/If-Match), so they get the same checks written out here.
"""

from __future__ import annotations

import pytest

from rapport.core.actors import Actor, Role
from rapport.sales import services
from rapport.sales.models import Pipeline
from rapport.testing.clients import make_api_client
from rapport.testing.suites import (
    ApiContractSuite,
    Resource,
    all_pages,
    assert_problem,
    count_queries,
    ids,
    unique,
)


def ensure_pipeline(workspace) -> Pipeline:
    """The workspace's standard pipeline (made by the system, so any client's payload works)."""
    existing = Pipeline.objects.filter(workspace=workspace).order_by("position").first()
    if existing is not None:
        return existing
    return services.pipeline_create_default(actor=Actor.system(workspace, "tests"))


def _deal_payload(client, n: int) -> dict:
    ensure_pipeline(client.workspace)
    return {
        "name": f"Deal {n}",
        "amount": {"amount": f"{1000 + n}.50", "currency": "EUR"},
        "close_date": "2030-06-30",
        "tags": ["api"],
    }


DEALS = Resource(
    path="/deals",
    object_type="sales.deal",
    payload=_deal_payload,
    update={"name": "Renamed deal", "next_step": "Call back"},
    search_text=lambda body: body["name"],
)

STAGES = [
    {"name": "Lead", "type": "open", "probability": 10},
    {"name": "Offer", "type": "open", "probability": 60, "rotting_days": 14},
    {"name": "Won", "type": "won"},
    {"name": "Lost", "type": "lost", "required_fields": ["lost_reason"]},
]

PIPELINES = Resource(
    path="/pipelines",
    object_type="sales.pipeline",
    payload=lambda client, n: {"name": f"Pipeline {n}", "stages": STAGES},
    update={"name": "Renamed pipeline"},
    history=False,
)


class TestDealsContract(ApiContractSuite):
    resource = DEALS


class TestPipelinesContract(ApiContractSuite):
    resource = PIPELINES

    # A workspace keeps one pipeline: the delete tests need a second one to delete.
    def test_delete_answers_204_then_404(self, api):
        ensure_pipeline(api.workspace)
        super().test_delete_answers_204_then_404(api)

    def test_delete_with_stale_if_match_is_412(self, api):
        ensure_pipeline(api.workspace)
        super().test_delete_with_stale_if_match_is_412(api)

    # Pipelines are admin-only: members and managers read them and change nothing.
    def test_member_deletes_own_records_but_not_others(self, api, api_as):
        created = self.create(api)
        for role in (Role.MEMBER, Role.MANAGER):
            client = api_as(role)
            assert self.fetch(client, created["id"]) == created
            assert_problem(client.post(self.url(), self.resource.payload(client, unique())), 403)
            assert_problem(client.patch(self.url(created["id"]), self.resource.update), 403)
            assert_problem(client.delete(self.url(created["id"])), 403)
        assert self.fetch(api, created["id"]) == created

    def test_member_deletes_any_record_when_the_workspace_allows_it(self, api, api_as):
        created = self.create(api)
        api.workspace.members_can_delete_any = True
        api.workspace.save(update_fields=["members_can_delete_any"])
        assert_problem(api_as(Role.MEMBER).delete(self.url(created["id"])), 403)

    def test_managers_delete_anyones_records(self, api, api_as):
        ensure_pipeline(api.workspace)
        created = self.create(api)
        assert_problem(api_as(Role.MANAGER).delete(self.url(created["id"])), 403)
        assert api_as(Role.ADMIN).delete(self.url(created["id"])).status_code == 204


# --- lost reasons and exchange rates (no version) ----------------------------------------------


class _SimpleContract:
    """CRUD, admin rule, read-only, isolation and query counts of an unversioned resource."""

    path: str
    object_type: str

    def payload(self, n: int) -> dict:
        raise NotImplementedError

    def create(self, client) -> dict:
        r = client.post(self.path, self.payload(unique()))
        assert r.status_code == 201, r.content[:500]
        assert r["Location"] == f"/api/v1{self.path}/{r.json()['id']}"
        return r.json()

    def audit_count(self, workspace) -> int:
        from rapport.audit.models import AuditEntry

        return AuditEntry.objects.filter(workspace=workspace, object_type=self.object_type).count()

    def test_create_get_list_delete(self, api):
        created = self.create(api)
        again = api.get(f"{self.path}/{created['id']}")
        assert again.status_code == 200
        assert again.json() == created
        listed = all_pages(api, self.path, {"limit": 500})
        assert created in listed
        assert api.delete(f"{self.path}/{created['id']}").status_code == 204
        assert_problem(api.get(f"{self.path}/{created['id']}"), 404)
        assert_problem(api.delete(f"{self.path}/{created['id']}"), 404)
        assert created["id"] not in ids(all_pages(api, self.path, {"limit": 500}))

    def test_idempotency_key_returns_the_first_answer(self, api):
        body = self.payload(unique())
        first = api.post(self.path, body, headers={"Idempotency-Key": "k-1"})
        again = api.post(self.path, body, headers={"Idempotency-Key": "k-1"})
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again["Idempotent-Replayed"] == "true"

    def test_without_a_token_is_401(self, api):
        from django.test import Client

        created = self.create(api)
        anonymous = Client()
        for r in (
            anonymous.get(f"/api/v1{self.path}"),
            anonymous.get(f"/api/v1{self.path}/{created['id']}"),
            anonymous.post(
                f"/api/v1{self.path}", data=self.payload(1), content_type="application/json"
            ),
            anonymous.delete(f"/api/v1{self.path}/{created['id']}"),
        ):
            assert_problem(r, 401)

    @pytest.mark.parametrize("role", [Role.READ_ONLY, Role.MEMBER, Role.MANAGER])
    def test_below_admin_reads_but_writes_are_403(self, api, api_as, role):
        created = self.create(api)
        client = api_as(role)
        audit_before = self.audit_count(api.workspace)
        assert client.get(f"{self.path}/{created['id']}").json() == created
        assert created["id"] in ids(all_pages(client, self.path, {"limit": 500}))
        assert_problem(client.post(self.path, self.payload(unique())), 403)
        assert_problem(client.delete(f"{self.path}/{created['id']}"), 403)
        assert api.get(f"{self.path}/{created['id']}").json() == created
        assert self.audit_count(api.workspace) == audit_before

    def test_another_workspace_gets_404_and_never_lists(self, api, other_api):
        created = self.create(api)
        other_reader = make_api_client(Role.READ_ONLY, workspace=other_api.workspace)
        for client in (other_api, other_reader):
            assert_problem(client.get(f"{self.path}/{created['id']}"), 404)
            assert_problem(client.delete(f"{self.path}/{created['id']}"), 404)
            assert created["id"] not in ids(all_pages(client, self.path, {"limit": 500}))
        assert api.get(f"{self.path}/{created['id']}").status_code == 200
        assert self.audit_count(other_api.workspace) == 0

    def test_list_query_count_does_not_grow_with_rows(self, api):
        api.get(self.path)
        for _ in range(3):
            self.create(api)
        few, r, _ = count_queries(lambda: api.get(self.path, {"limit": 100}))
        n = len(r.json()["results"])
        for _ in range(12):
            self.create(api)
        many, r, sql = count_queries(lambda: api.get(self.path, {"limit": 100}))
        assert len(r.json()["results"]) == n + 12
        assert many == few, "\n".join(sql)


class TestLostReasonsContract(_SimpleContract):
    path = "/lost-reasons"
    object_type = "sales.lostreason"

    def payload(self, n: int) -> dict:
        return {"name": f"Reason {n}"}

    def test_patch_renames_and_deactivates(self, api, api_as):
        created = self.create(api)
        r = api.patch(f"{self.path}/{created['id']}", {"name": "Too expensive", "active": False})
        assert r.status_code == 200, r.content
        assert r.json() | {} == created | {"name": "Too expensive", "active": False}
        assert_problem(
            api_as(Role.MEMBER).patch(f"{self.path}/{created['id']}", {"name": "x"}), 403
        )
        assert ids(all_pages(api, self.path, {"active": "true"})).count(created["id"]) == 0

    def test_duplicate_name_is_409_with_the_existing_id(self, api):
        created = self.create(api)
        body = assert_problem(api.post(self.path, {"name": created["name"].upper()}), 409, "name")
        assert body["existing_id"] == created["id"]


class TestExchangeRatesContract(_SimpleContract):
    path = "/exchange-rates"
    object_type = "sales.exchangerate"

    def payload(self, n: int) -> dict:
        # Workspaces default to USD; one day per n keeps every row distinct.
        import datetime as dt

        day = dt.date(2000, 1, 1) + dt.timedelta(days=n)
        return {"currency": "EUR", "rate": f"1.{n:04d}", "valid_from": day.isoformat()}
