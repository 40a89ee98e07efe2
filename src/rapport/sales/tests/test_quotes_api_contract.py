"""The shared API contract for /products, /quotes and /deals/{id}/line-items.

Products and quotes run the whole ``ApiContractSuite``. The catalogue is written by managers
and up, so the suite's member tests are replaced by that rule. A quote is made from a deal's
line items: the payload makes such a deal as the system (so a read-only client's payload is
valid too and only its role is refused). Line items are one document per deal (GET and PUT),
so they get the same checks written out: auth, roles, the workspace wall, bad input and a query
count that does not grow with the lines.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from rapport.core.actors import Actor, Role
from rapport.sales import quote_services
from rapport.sales.quote_models import DealLineItem, Quote
from rapport.testing.clients import make_api_client
from rapport.testing.factories import DealFactory
from rapport.testing.suites import (
    ApiContractSuite,
    Resource,
    all_pages,
    anonymous,
    assert_problem,
    count_queries,
    ids,
    unique,
)

pytestmark = pytest.mark.django_db


def _system(workspace) -> Actor:
    return Actor.system(workspace, "tests")


def deal_with_lines(workspace, lines: int = 2):
    """A EUR deal with ``lines`` hand-typed line items, made by the system."""
    system = _system(workspace)
    deal = DealFactory(actor=system, amount={"amount": "1.00", "currency": "EUR"})
    quote_services.deal_line_items_set(
        actor=system,
        deal_id=deal.pk,
        items=[
            {"name": f"Line {i}", "quantity": "2", "unit_price": "1234.50", "tax_rate": "20"}
            for i in range(lines)
        ],
    )
    return deal


# --- products -----------------------------------------------------------------------------------


PRODUCTS = Resource(
    path="/products",
    object_type="sales.product",
    payload=lambda client, n: {
        "sku": f"SKU-{n}",
        "name": f"Product {n}",
        "tax_rate": "20.00",
        "prices": [{"amount": "1299.00", "currency": "EUR"}],
    },
    update={"name": "Renamed product", "description": "Now with a description"},
)


class TestProductsContract(ApiContractSuite):
    resource = PRODUCTS

    # The catalogue is the managers': members read it and change nothing, whoever made a row.
    def test_member_deletes_own_records_but_not_others(self, api, api_as):
        created = self.create(api)
        member = api_as(Role.MEMBER)
        assert self.fetch(member, created["id"]) == created
        assert_problem(member.post(self.url(), self.resource.payload(member, unique())), 403)
        assert_problem(member.patch(self.url(created["id"]), self.resource.update), 403)
        assert_problem(member.delete(self.url(created["id"])), 403)
        assert self.fetch(api, created["id"]) == created

    def test_member_deletes_any_record_when_the_workspace_allows_it(self, api, api_as):
        created = self.create(api)
        api.workspace.members_can_delete_any = True
        api.workspace.save(update_fields=["members_can_delete_any"])
        assert_problem(api_as(Role.MEMBER).delete(self.url(created["id"])), 403)
        assert self.fetch(api, created["id"]) == created

    def test_managers_delete_anyones_records(self, api, api_as):
        created = self.create(api)
        manager = api_as(Role.MANAGER)
        assert manager.patch(self.url(created["id"]), {"name": "By a manager"}).status_code == 200
        assert manager.delete(self.url(created["id"])).status_code == 204

    def test_history_lists_the_changes(self, api):
        created = self.create(api)
        api.patch(self.url(created["id"]), self.resource.update)
        actions = [
            e["action"] for e in api.get(self.url(created["id"], "/history")).json()["results"]
        ]
        assert actions == ["product.updated", "product.created"]


# --- quotes -----------------------------------------------------------------------------------


def _quote_payload(client, n: int) -> dict:
    deal = deal_with_lines(client.workspace)
    return {"deal": str(deal.pk), "terms": f"Net 30 — quote {n}", "valid_until": "2030-01-31"}


QUOTES = Resource(
    path="/quotes",
    object_type="sales.quote",
    payload=_quote_payload,
    update={"terms": "Net 45, delivery in <script>2</script> weeks"},
)


class TestQuotesContract(ApiContractSuite):
    resource = QUOTES

    def test_money_and_lines_in_the_answer(self, api):
        created = self.create(api)
        # 2 × 1234.50 = 2469.00 per line, two lines; 20 % tax.
        assert created["subtotal"] == {"amount": "4938.00", "currency": "EUR"}
        assert created["tax"] == {"amount": "987.60", "currency": "EUR"}
        assert created["total"] == {"amount": "5925.60", "currency": "EUR"}
        assert [line["name"] for line in created["lines"]] == ["Line 0", "Line 1"]
        assert created["status"] == "draft" and created["number"].startswith("Q-")

    def test_a_sent_quote_cannot_be_deleted(self, api):
        created = self.create(api)
        Quote.objects.filter(pk=created["id"]).update(status="sent")
        body = assert_problem(api.delete(self.url(created["id"])), 422, "status")
        assert "Only drafts" in body["errors"][0]["message"]
        assert api.get(self.url(created["id"])).status_code == 200

    def test_deleting_a_draft_revision_restores_the_sent_one(self, api):
        created = self.create(api)
        Quote.objects.filter(pk=created["id"]).update(status="sent")
        revision = api.patch(self.url(created["id"]), {"terms": "Revised"}).json()
        assert revision["revision"] == 2 and revision["id"] != created["id"]
        assert self.fetch(api, created["id"])["status"] == "superseded"
        assert api.delete(self.url(revision["id"])).status_code == 204
        assert self.fetch(api, created["id"])["status"] == "sent"

    def test_a_quote_for_another_workspaces_deal_is_404(self, api, other_api):
        theirs = deal_with_lines(other_api.workspace)
        r = api.post(self.url(), {"deal": str(theirs.pk)})
        assert_problem(r, 404)
        assert not Quote.objects.filter(deal=theirs).exists()

    def test_bad_input_is_422_with_field_paths(self, api):
        deal = deal_with_lines(api.workspace)
        assert_problem(api.post(self.url(), {"deal": "not-a-uuid"}), 422, "deal")
        assert_problem(
            api.post(self.url(), {"deal": str(deal.pk), "valid_until": "31/01/2030"}),
            422,
            "valid_until",
        )
        assert_problem(api.post(self.url(), {"deal": str(deal.pk), "colour": "red"}), 422)
        assert_problem(api.post(self.url(), {"deal": str(deal.pk), "terms": "x" * 20_001}), 422)
        empty = DealFactory(actor=_system(api.workspace))
        assert_problem(api.post(self.url(), {"deal": str(empty.pk)}), 422, "deal")
        created = self.create(api)
        assert_problem(api.get(self.url(), {"status": "lapsed"}), 422)
        assert_problem(api.patch(self.url(created["id"]), {"refresh_lines": "maybe"}), 422)


class TestQuoteStatusFilter:
    """The list's ``status`` filter agrees with the status each row shows."""

    def test_expired_is_computed_the_same_in_rows_and_filters(self, api):
        payload = _quote_payload(api, unique())
        current = api.post("/quotes", payload).json()
        lapsed = api.post("/quotes", _quote_payload(api, unique())).json()
        sent_lapsed = api.post("/quotes", _quote_payload(api, unique())).json()
        yesterday = timezone.localdate() - dt.timedelta(days=1)
        Quote.objects.filter(pk=lapsed["id"]).update(valid_until=yesterday)
        Quote.objects.filter(pk=sent_lapsed["id"]).update(valid_until=yesterday, status="sent")
        # A quote valid until today is still valid today.
        Quote.objects.filter(pk=current["id"]).update(valid_until=timezone.localdate())

        def listed(status):
            rows = all_pages(api, "/quotes", {"status": status})
            assert {row["status"] for row in rows} <= {status}
            return set(ids(rows))

        assert listed("expired") == {lapsed["id"], sent_lapsed["id"]}
        assert listed("draft") == {current["id"]}
        assert listed("sent") == set()
        assert self_status(api, lapsed["id"]) == "expired"
        assert self_status(api, current["id"]) == "draft"


def self_status(api, quote_id: str) -> str:
    return api.get(f"/quotes/{quote_id}").json()["status"]


# --- deal line items ----------------------------------------------------------------------------


class TestLineItemsContract:
    def url(self, deal) -> str:
        return f"/deals/{deal.pk}/line-items"

    def put(self, client, deal, body):
        return client._call("put", self.url(deal), body)

    def test_get_and_put_replace_the_lines_and_audit(self, api):
        from rapport.audit.models import AuditEntry

        deal = deal_with_lines(api.workspace)
        got = api.get(self.url(deal))
        assert got.status_code == 200
        assert got.json()["total"] == "5925.60" and len(got.json()["items"]) == 2
        r = self.put(
            api,
            deal,
            {
                "items": [{"name": "Ünïcode <b>seat</b>", "quantity": "3", "unit_price": "10"}],
                "update_amount": True,
            },
        )
        assert r.status_code == 200, r.content
        body = r.json()
        assert [i["name"] for i in body["items"]] == ["Ünïcode <b>seat</b>"]
        assert (body["subtotal"], body["amount_updated"]) == ("30.00", True)
        assert api.get(self.url(deal)).json() == body | {"amount_updated": False}
        assert AuditEntry.objects.filter(
            workspace=api.workspace, action="deal.line_items_set", object_id=str(deal.pk)
        ).exists()

    def test_without_a_valid_token_is_401(self, api):
        deal = deal_with_lines(api.workspace)
        client = anonymous()
        for r in (
            client.get(f"/api/v1{self.url(deal)}"),
            client.put(
                f"/api/v1{self.url(deal)}", data={"items": []}, content_type="application/json"
            ),
            client.get(f"/api/v1{self.url(deal)}", headers={"Authorization": "Bearer rpt_nope"}),
        ):
            assert_problem(r, 401)
        assert DealLineItem.objects.filter(deal=deal).count() == 2

    def test_read_only_reads_but_cannot_write(self, api, api_as):
        deal = deal_with_lines(api.workspace)
        reader = api_as(Role.READ_ONLY)
        assert reader.get(self.url(deal)).status_code == 200
        assert_problem(self.put(reader, deal, {"items": []}), 403)
        assert DealLineItem.objects.filter(deal=deal).count() == 2
        # Members write line items of the deals they see.
        member = api_as(Role.MEMBER)
        assert self.put(member, deal, {"items": []}).status_code == 200
        assert DealLineItem.objects.filter(deal=deal).count() == 0

    def test_another_workspace_gets_404_and_changes_nothing(self, api, other_api):
        deal = deal_with_lines(api.workspace)
        other_reader = make_api_client(Role.READ_ONLY, workspace=other_api.workspace)
        for client in (other_api, other_reader):
            assert_problem(client.get(self.url(deal)), 404)
            assert_problem(self.put(client, deal, {"items": []}), 404)
        assert DealLineItem.objects.filter(deal=deal).count() == 2
        # Nor may a line name another workspace's product.
        theirs = other_api.post(
            "/products",
            {"sku": "X", "name": "Theirs", "prices": [{"amount": "1", "currency": "EUR"}]},
        ).json()
        r = self.put(api, deal, {"items": [{"product": theirs["id"]}]})
        assert_problem(r, 422, "items.0.product")

    def test_bad_input_is_422_with_field_paths_and_changes_nothing(self, api):
        deal = deal_with_lines(api.workspace)
        cases = [
            ({"items": [{"name": "", "unit_price": "1"}]}, "items.0.name"),
            ({"items": [{"name": "A", "unit_price": "1", "quantity": "0"}]}, "items.0.quantity"),
            ({"items": [{"name": "A", "unit_price": "abc"}]}, "items.0.unit_price"),
            ({"items": [{"name": "A", "unit_price": "1", "discount": "101"}]}, "items.0.discount"),
            ({"items": [{"name": "A"}]}, "items.0.unit_price"),
            ({"items": [{"name": "x" * 201, "unit_price": "1"}]}, "items.0.name"),
        ]
        for body, field in cases:
            assert_problem(self.put(api, deal, body), 422, field)
        too_many = {"items": [{"name": "A", "unit_price": "1"}] * 201}
        assert_problem(self.put(api, deal, too_many), 422)
        assert_problem(self.put(api, deal, {"lines": []}), 422)
        assert DealLineItem.objects.filter(deal=deal).count() == 2

    def test_unknown_deal_is_404(self, api):
        missing = "00000000-0000-4000-8000-000000000000"
        assert_problem(api.get(f"/deals/{missing}/line-items"), 404)
        assert_problem(api._call("put", f"/deals/{missing}/line-items", {"items": []}), 404)

    def test_query_count_does_not_grow_with_lines(self, api):
        few_deal = deal_with_lines(api.workspace, lines=2)
        many_deal = deal_with_lines(api.workspace, lines=40)
        api.get(self.url(few_deal))
        few, r, _ = count_queries(lambda: api.get(self.url(few_deal)))
        assert len(r.json()["items"]) == 2
        many, r, sql = count_queries(lambda: api.get(self.url(many_deal)))
        assert len(r.json()["items"]) == 40
        assert many == few, "\n".join(sql)
