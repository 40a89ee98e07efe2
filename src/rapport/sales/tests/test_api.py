"""Behaviour of the sales API beyond the shared contract: moves and required fields, record
access, money, filters and sorts, pipelines' stage edits, stage history, rate imports."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from rapport.core.actors import Role
from rapport.sales.models import Deal, StageHistory
from rapport.tenancy import services as tenancy_services
from rapport.testing.factories import CompanyFactory, PersonFactory, actor_for
from rapport.testing.suites import all_pages, assert_problem, count_queries, ids

from .test_api_contract import ensure_pipeline

pytestmark = pytest.mark.django_db

EVIL = '<script>alert("x")</script>'


def stage_ids(client, pipeline_id) -> dict[str, str]:
    body = client.get(f"/pipelines/{pipeline_id}").json()
    return {s["name"]: s["id"] for s in body["stages"]}


def new_deal(client, **fields) -> dict:
    ensure_pipeline(client.workspace)
    r = client.post("/deals", {"name": "Big deal", **fields})
    assert r.status_code == 201, r.content
    return r.json()


@pytest.fixture
def pipeline(api):
    return ensure_pipeline(api.workspace)


@pytest.fixture
def stages(api, pipeline):
    return stage_ids(api, pipeline.pk)


# --- deal shape --------------------------------------------------------------------------------


def test_a_deal_answers_every_contract_field(api, pipeline, stages):
    company = CompanyFactory(workspace=api.workspace, name="Acme")
    person = PersonFactory(workspace=api.workspace, last_name="Buyer")
    deal = new_deal(
        api,
        stage=stages["Proposal"],
        amount={"amount": "1000.00", "currency": "EUR"},
        close_date="2030-01-31",
        company=str(company.pk),
        people=[{"id": str(person.pk), "role": "champion"}],
        next_step="Send the offer",
        source="web",
        tags=["hot", "q1"],
    )
    assert set(deal) == {
        "id",
        "name",
        "pipeline",
        "stage",
        "status",
        "amount",
        "close_date",
        "owner",
        "company",
        "people",
        "lost_reason",
        "lost_note",
        "next_step",
        "source",
        "forecast_category",
        "forecast_category_override",
        "probability",
        "weighted_amount",
        "stage_entered_at",
        "closed_at",
        "last_interaction_at",
        "external_id",
        "tags",
        "custom",
        "created_at",
        "updated_at",
        "version",
    }
    assert deal["pipeline"] == str(pipeline.pk)
    assert deal["stage"] == stages["Proposal"]
    assert deal["status"] == "open"
    assert deal["amount"] == {"amount": "1000.00", "currency": "EUR"}
    assert deal["probability"] == 50
    assert deal["weighted_amount"] == {"amount": "500.00", "currency": "EUR"}
    assert deal["forecast_category"] == "best_case"
    assert deal["forecast_category_override"] == ""
    assert deal["owner"] == str(api.user.pk)  # a new deal is its creator's
    assert deal["company"] == str(company.pk)
    assert deal["people"] == [{"id": str(person.pk), "role": "champion"}]
    assert deal["tags"] == ["hot", "q1"]
    assert deal["closed_at"] is None

    r = api.patch(f"/deals/{deal['id']}", {"forecast_category": "commit", "amount": None})
    assert r.status_code == 200, r.content
    assert r.json()["forecast_category"] == "commit"
    assert r.json()["forecast_category_override"] == "commit"
    assert r.json()["amount"] is None and r.json()["weighted_amount"] is None


def test_script_tag_in_the_name_is_stored_and_answered_as_text(api):
    deal = new_deal(api, name=EVIL, next_step=EVIL)
    got = api.get(f"/deals/{deal['id']}").json()
    assert got["name"] == EVIL
    assert got["next_step"] == EVIL
    assert api.get(f"/deals/{deal['id']}")["Content-Type"] == "application/json"


def test_create_with_an_idempotency_key_creates_once(api):
    ensure_pipeline(api.workspace)
    body = {"name": "Once"}
    first = api.post("/deals", body, headers={"Idempotency-Key": "deal-1"})
    again = api.post("/deals", body, headers={"Idempotency-Key": "deal-1"})
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert Deal.objects.filter(workspace=api.workspace, name="Once").count() == 1


def test_unknown_fields_and_missing_name_are_422(api):
    ensure_pipeline(api.workspace)
    assert_problem(api.post("/deals", {"name": "x", "colour": "red"}), 422, "colour")
    assert_problem(api.post("/deals", {"amount": {"amount": "1.00"}}), 422, "name")


# --- money -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "field"),
    [
        ({"amount": 10.5, "currency": "EUR"}, "amount.amount"),
        ({"amount": 10, "currency": "EUR"}, "amount.amount"),
        ({"amount": "ten", "currency": "EUR"}, "amount.amount"),
        ({"amount": "10.555", "currency": "EUR"}, "amount.amount"),
        ({"amount": "-5.00", "currency": "EUR"}, "amount.amount"),
        ({"amount": "1e30", "currency": "EUR"}, "amount.amount"),
        ({"amount": "10.00", "currency": "EURO"}, "amount.currency"),
        ({"amount": "10.00", "currency": "XYZ"}, "amount.currency"),
        ({"amount": "10.00", "currency": "EUR", "rate": "1"}, "amount.rate"),
        ("10.00", "amount"),
    ],
)
def test_money_is_a_decimal_string_with_a_real_currency(api, amount, field):
    ensure_pipeline(api.workspace)
    assert_problem(api.post("/deals", {"name": "Money", "amount": amount}), 422, field)
    assert not Deal.objects.filter(workspace=api.workspace).exists()


def test_an_amount_without_currency_takes_the_base_currency(api):
    deal = new_deal(api, amount={"amount": "12.30"})
    assert deal["amount"] == {"amount": "12.30", "currency": api.workspace.default_currency}


# --- moves, required fields, If-Match ----------------------------------------------------------


def test_moving_into_a_stage_with_empty_required_fields_is_422_naming_them(api, pipeline, stages):
    deal = new_deal(api)
    r = api.post(f"/deals/{deal['id']}/move", {"stage": stages["Lost"]})
    body = assert_problem(r, 422, "lost_reason")
    assert "Lost reason" in body["detail"]
    assert api.get(f"/deals/{deal['id']}").json() == deal  # nothing changed

    # A stage requiring several fields names each of them.
    r = api.patch(
        f"/pipelines/{pipeline.pk}",
        {
            "stages": [
                {"id": sid, "name": name, "required_fields": ["amount", "close_date"]}
                if name == "Negotiation"
                else {"id": sid, "name": name, "type": t}
                for name, sid, t in _stage_rows(api, pipeline.pk)
            ]
        },
    )
    assert r.status_code == 200, r.content
    deal2 = new_deal(api, name="No amount")
    body = assert_problem(
        api.post(f"/deals/{deal2['id']}/move", {"stage": stages["Negotiation"]}),
        422,
        "amount",
        "close_date",
    )
    assert "Amount" in body["detail"] and "Expected close date" in body["detail"]


def _stage_rows(client, pipeline_id):
    body = client.get(f"/pipelines/{pipeline_id}").json()
    return [(s["name"], s["id"], s["type"]) for s in body["stages"]]


def test_a_move_can_fill_the_required_fields_in_the_same_step(api, stages):
    deal = new_deal(api)
    reason = api.get("/lost-reasons").json()["results"][0]
    r = api.post(
        f"/deals/{deal['id']}/move",
        {"stage": stages["Lost"], "lost_reason": reason["id"], "lost_note": "Too pricey"},
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["status"] == "lost"
    assert body["lost_reason"] == reason["id"]
    assert body["lost_note"] == "Too pricey"
    assert body["closed_at"] is not None
    assert body["version"] == deal["version"] + 1
    assert r["ETag"] == f'"{body["version"]}"'


def test_move_across_pipelines(api, pipeline, stages):
    other = api.post(
        "/pipelines",
        {"name": "Renewals", "stages": [{"name": "Due"}, {"name": "Renewed", "type": "won"}]},
    ).json()
    deal = new_deal(api, stage=stages["Proposal"])
    r = api.post(f"/deals/{deal['id']}/move", {"stage": other["stages"][1]["id"]})
    assert r.status_code == 200, r.content
    assert r.json()["pipeline"] == other["id"]
    assert r.json()["status"] == "won"
    assert r.json()["probability"] == 100
    history = api.get(f"/deals/{deal['id']}/stage-history").json()["results"]
    assert [(h["stage_name"], h["pipeline"]) for h in history] == [
        ("Proposal", str(pipeline.pk)),
        ("Renewed", other["id"]),
    ]
    # A stage of another workspace is not a target.
    from rapport.testing.clients import make_api_client

    stranger = make_api_client(Role.OWNER)
    foreign = ensure_pipeline(stranger.workspace).stages.first()
    assert_problem(api.post(f"/deals/{deal['id']}/move", {"stage": str(foreign.pk)}), 422, "stage")


def test_move_and_patch_honour_if_match(api, stages):
    deal = new_deal(api)
    assert api.patch(f"/deals/{deal['id']}", {"name": "v2"}).status_code == 200
    body = assert_problem(
        api.post(
            f"/deals/{deal['id']}/move", {"stage": stages["Proposal"]}, headers={"If-Match": '"1"'}
        ),
        412,
    )
    assert body["current_version"] == 2
    assert api.get(f"/deals/{deal['id']}").json()["stage"] == deal["stage"]
    assert_problem(
        api.patch(f"/deals/{deal['id']}", {"name": "v3"}, headers={"If-Match": '"1"'}), 412
    )
    r = api.post(
        f"/deals/{deal['id']}/move", {"stage": stages["Proposal"]}, headers={"If-Match": '"2"'}
    )
    assert r.status_code == 200
    assert_problem(
        api.patch(f"/deals/{deal['id']}", {"name": "x"}, headers={"If-Match": "nonsense"}),
        422,
        "If-Match",
    )


def test_move_needs_a_stage(api):
    deal = new_deal(api)
    assert_problem(api.post(f"/deals/{deal['id']}/move", {}), 422, "stage")
    assert_problem(api.post(f"/deals/{deal['id']}/move", {"stage": "nope"}), 422, "stage")


def test_read_only_cannot_move(api, api_as, stages):
    deal = new_deal(api)
    assert_problem(
        api_as(Role.READ_ONLY).post(f"/deals/{deal['id']}/move", {"stage": stages["Won"]}), 403
    )
    assert api.get(f"/deals/{deal['id']}").json() == deal


# --- record access -----------------------------------------------------------------------------


def test_record_access_own_hides_another_members_deals(api, api_as, stages):
    alice, bob = api_as(Role.MEMBER), api_as(Role.MEMBER)
    manager = api_as(Role.MANAGER)
    deal_a, deal_b = new_deal(alice, name="Alice's"), new_deal(bob, name="Bob's")
    unowned = new_deal(api, name="Pool", owner=None)
    tenancy_services.workspace_update(actor=actor_for(api.membership), record_access="own")

    assert set(ids(all_pages(alice, "/deals"))) == {deal_a["id"], unowned["id"]}
    assert set(ids(all_pages(manager, "/deals"))) >= {deal_a["id"], deal_b["id"], unowned["id"]}
    for response in (
        alice.get(f"/deals/{deal_b['id']}"),
        alice.patch(f"/deals/{deal_b['id']}", {"name": "Mine now"}),
        alice.post(f"/deals/{deal_b['id']}/move", {"stage": stages["Won"]}),
        alice.get(f"/deals/{deal_b['id']}/stage-history"),
        alice.get(f"/deals/{deal_b['id']}/history"),
        alice.delete(f"/deals/{deal_b['id']}"),
    ):
        assert_problem(response, 404)
    assert ids(all_pages(alice, "/deals", {"q": "Bob"})) == []
    assert bob.get(f"/deals/{deal_b['id']}").json()["name"] == "Bob's"
    assert alice.post(f"/deals/{deal_a['id']}/move", {"stage": stages["Won"]}).status_code == 200

    tenancy_services.team_create(
        actor=actor_for(api.membership), name="East", members=[alice.user.pk, bob.user.pk]
    )
    tenancy_services.workspace_update(actor=actor_for(api.membership), record_access="team")
    assert alice.get(f"/deals/{deal_b['id']}").status_code == 200


# --- lists: filters, sorts, pagination ---------------------------------------------------------


def test_list_filters(api, api_as, pipeline, stages):
    colleague = api_as(Role.MEMBER)
    company = CompanyFactory(workspace=api.workspace, name="Filter Co")
    person = PersonFactory(workspace=api.workspace, last_name="Filterperson")
    a = new_deal(
        api,
        name="Alpha",
        stage=stages["Proposal"],
        amount={"amount": "500.00", "currency": "EUR"},
        close_date="2030-03-01",
        company=str(company.pk),
        tags=["vip"],
        source="Referral",
    )
    b = new_deal(
        colleague,
        name="Bravo",
        amount={"amount": "5000.00", "currency": "USD"},
        close_date="2030-05-01",
        people=[{"id": str(person.pk)}],
    )
    c = new_deal(api, name="Charlie", owner=None)
    reason = api.get("/lost-reasons").json()["results"][0]["id"]
    api.post(f"/deals/{c['id']}/move", {"stage": stages["Lost"], "lost_reason": reason})

    def listed(**params) -> set[str]:
        return set(ids(all_pages(api, "/deals", params)))

    assert listed() == {a["id"], b["id"], c["id"]}
    assert listed(owner="me") == {a["id"]}
    assert listed(owner=str(colleague.user.pk)) == {b["id"]}
    assert listed(owner="none") == {c["id"]}
    assert listed(status="lost") == {c["id"]}
    assert listed(status="open") == {a["id"], b["id"]}
    assert listed(stage=stages["Proposal"]) == {a["id"]}
    assert listed(pipeline=str(pipeline.pk)) == {a["id"], b["id"], c["id"]}
    assert listed(company=str(company.pk)) == {a["id"]}
    assert listed(person=str(person.pk)) == {b["id"]}
    assert listed(tag="VIP") == {a["id"]}
    assert listed(tag="unknown") == set()
    assert listed(source="referral") == {a["id"]}
    assert listed(currency="usd") == {b["id"]}
    assert listed(amount_min="1000") == {b["id"]}
    assert listed(amount_max="1000") == {a["id"]}
    assert listed(close_after="2030-03-01") == {a["id"], b["id"]}
    assert listed(close_before="2030-03-01") == {a["id"]}
    assert listed(close_after="2030-03-02", close_before="2030-12-31") == {b["id"]}
    assert listed(q="Bravo") == {b["id"]}
    assert listed(updated_after="2000-01-01T00:00:00Z") == {a["id"], b["id"], c["id"]}

    assert_problem(api.get("/deals", {"status": "pending"}), 422, "status")
    assert_problem(api.get("/deals", {"owner": "someone"}), 422, "owner")
    assert_problem(api.get("/deals", {"amount_min": "-1"}), 422, "amount_min")
    assert_problem(api.get("/deals", {"close_after": "soon"}), 422, "close_after")
    assert_problem(api.get("/deals", {"stage": "nope"}), 422, "stage")


def test_sorts_put_deals_without_a_value_last_and_paginate(api, stages):
    made = {}
    for name, close, amount in [
        ("d1", "2030-01-05", "10.00"),
        ("d2", None, None),
        ("d3", "2030-01-01", "30.00"),
        ("d4", "2030-01-05", "20.00"),
        ("d5", None, "5.00"),
    ]:
        fields: dict = {"name": name}
        if close:
            fields["close_date"] = close
        if amount:
            fields["amount"] = {"amount": amount, "currency": "EUR"}
        made[name] = new_deal(api, **fields)["id"]

    def order(sort: str, limit: int = 2) -> list[str]:
        rows = all_pages(api, "/deals", {"sort": sort, "limit": limit})
        return [row["name"] for row in rows]

    by_close = order("close_date")
    assert by_close[:3] == ["d3", *sorted(["d1", "d4"], key=lambda n: made[n])]
    assert set(by_close[3:]) == {"d2", "d5"}
    desc = order("-close_date")
    assert desc[:2] == sorted(["d1", "d4"], key=lambda n: made[n], reverse=True)
    assert desc[2] == "d3" and set(desc[3:]) == {"d2", "d5"}
    assert order("amount") == ["d5", "d1", "d4", "d3", "d2"]
    assert order("-amount") == ["d3", "d4", "d1", "d5", "d2"]
    assert order("name", limit=1) == ["d1", "d2", "d3", "d4", "d5"]
    assert order("-created_at", limit=3) == ["d5", "d4", "d3", "d2", "d1"]
    assert len(order("updated_at")) == 5

    assert_problem(api.get("/deals", {"sort": "colour"}), 422, "sort")
    assert_problem(api.get("/deals", {"cursor": "garbage"}), 422, "cursor")
    first = api.get("/deals", {"sort": "amount", "limit": 1}).json()
    assert_problem(api.get("/deals", {"sort": "name", "cursor": first["next"]}), 422, "cursor")
    assert_problem(api.get("/deals", {"limit": 501}), 422, "limit")


def test_list_query_count_is_constant_with_people_tags_and_companies(api):
    def make(n):
        for i in range(n):
            company = CompanyFactory(workspace=api.workspace)
            person = PersonFactory(workspace=api.workspace)
            new_deal(
                api,
                name=f"Rich {i}",
                company=str(company.pk),
                people=[{"id": str(person.pk), "role": "user"}],
                tags=[f"t{i}", "all"],
                amount={"amount": "1.00", "currency": "EUR"},
            )

    api.get("/deals")
    make(2)
    few, _, _ = count_queries(lambda: api.get("/deals", {"limit": 100, "tag": "all"}))
    make(8)
    many, r, sql = count_queries(lambda: api.get("/deals", {"limit": 100, "tag": "all"}))
    assert len(r.json()["results"]) == 10
    assert many == few, "\n".join(sql)


# --- stage history -----------------------------------------------------------------------------


def test_history_lists_each_stage_with_its_duration(api, stages):
    deal = new_deal(api, stage=stages["Qualification"])
    api.post(f"/deals/{deal['id']}/move", {"stage": stages["Proposal"]})
    api.post(f"/deals/{deal['id']}/move", {"stage": stages["Negotiation"]})
    # Back-date the stays: 3 days in Qualification, 2 hours in Proposal, current since 1 min.
    now = timezone.now()
    rows = list(StageHistory.objects.filter(deal_id=deal["id"]).order_by("entered_at"))
    times = [
        now - dt.timedelta(days=3, hours=2, minutes=1),
        now - dt.timedelta(hours=2, minutes=1),
        now - dt.timedelta(minutes=1),
    ]
    for i, row in enumerate(rows):
        row.entered_at = times[i]
        if i + 1 < len(rows):
            row.left_at = times[i + 1]
            row.duration_seconds = int((times[i + 1] - times[i]).total_seconds())
        row.save()

    r = api.get(f"/deals/{deal['id']}/stage-history")
    assert r.status_code == 200
    body = r.json()
    assert body["next"] is None
    history = body["results"]
    assert [h["stage_name"] for h in history] == ["Qualification", "Proposal", "Negotiation"]
    assert history[0]["duration_seconds"] == 3 * 86400
    assert history[1]["duration_seconds"] == 2 * 3600
    assert history[2]["left_at"] is None
    assert 60 <= history[2]["duration_seconds"] < 120  # up to now
    assert history[0]["stage"] == stages["Qualification"]
    assert history[0]["actor"] == str(api.user.pk)
    assert [h["stage_type"] for h in history] == ["open", "open", "open"]

    page = api.get(f"/deals/{deal['id']}/stage-history", {"limit": 2}).json()
    assert len(page["results"]) == 2 and page["next"]
    rest = api.get(
        f"/deals/{deal['id']}/stage-history", {"limit": 2, "cursor": page["next"]}
    ).json()
    assert [h["stage_name"] for h in rest["results"]] == ["Negotiation"]


def test_changes_answers_the_audit_trail(api):
    deal = new_deal(api)
    api.patch(f"/deals/{deal['id']}", {"name": "Renamed"})
    r = api.get(f"/deals/{deal['id']}/history")
    assert r.status_code == 200
    assert len(r.json()["results"]) == 2


# --- pipelines ---------------------------------------------------------------------------------


def test_pipeline_shape_and_defaults(api):
    r = api.post(
        "/pipelines",
        {"name": "New biz", "stages": [{"name": "Open"}, {"name": "Won", "type": "won"}]},
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) == {"id", "name", "position", "stages", "created_at", "updated_at", "version"}
    assert body["stages"] == [
        {
            "id": body["stages"][0]["id"],
            "name": "Open",
            "type": "open",
            "probability": 0,
            "position": 0,
            "rotting_days": None,
            "required_fields": [],
            "forecast_category": "pipeline",
        },
        {
            "id": body["stages"][1]["id"],
            "name": "Won",
            "type": "won",
            "probability": 100,
            "position": 1,
            "rotting_days": None,
            "required_fields": [],
            "forecast_category": "closed",
        },
    ]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "P", "stages": []}, "stages"),
        ({"name": "P", "stages": [{"name": "Won", "type": "won"}]}, "stages"),
        ({"name": "P", "stages": [{"name": "A"}, {"name": "a"}]}, "stages.1.name"),
        ({"name": "P", "stages": [{"name": "A", "probability": 101}]}, "stages.0.probability"),
        ({"name": "P", "stages": [{"name": "A", "type": "maybe"}]}, "stages.0.type"),
        (
            {"name": "P", "stages": [{"name": "A", "required_fields": ["shoe_size"]}]},
            "stages.0.required_fields",
        ),
        ({"stages": [{"name": "A"}]}, "name"),
    ],
)
def test_pipeline_validation_names_the_field(api, payload, field):
    assert_problem(api.post("/pipelines", payload), 422, field)


def test_removing_a_stage_that_holds_deals_needs_a_move(api, pipeline, stages):
    deal = new_deal(api, stage=stages["Needs analysis"])
    kept = [
        {"id": sid, "name": name, "type": t}
        for name, sid, t in _stage_rows(api, pipeline.pk)
        if name != "Needs analysis"
    ]
    r = api.patch(f"/pipelines/{pipeline.pk}", {"stages": kept})
    assert_problem(r, 422, f"moves.{stages['Needs analysis']}")
    assert api.get(f"/deals/{deal['id']}").json()["stage"] == stages["Needs analysis"]

    r = api.patch(
        f"/pipelines/{pipeline.pk}",
        {"stages": kept, "moves": {stages["Needs analysis"]: stages["Proposal"]}},
    )
    assert r.status_code == 200, r.content
    assert "Needs analysis" not in [s["name"] for s in r.json()["stages"]]
    assert api.get(f"/deals/{deal['id']}").json()["stage"] == stages["Proposal"]
    history = api.get(f"/deals/{deal['id']}/stage-history").json()["results"]
    assert history[0]["stage_name"] == "Needs analysis"
    assert history[0]["stage"] is None  # the removed stage; its name is kept
    assert history[0]["left_at"] is not None


def test_a_move_by_stage_removal_opens_a_history_row(api, pipeline, stages):
    deal = new_deal(api, stage=stages["Needs analysis"])
    kept = [
        {"id": sid, "name": name, "type": t}
        for name, sid, t in _stage_rows(api, pipeline.pk)
        if name != "Needs analysis"
    ]
    moves = {stages["Needs analysis"]: stages["Proposal"]}
    assert (
        api.patch(f"/pipelines/{pipeline.pk}", {"stages": kept, "moves": moves}).status_code == 200
    )
    history = api.get(f"/deals/{deal['id']}/stage-history").json()["results"]
    assert [h["stage_name"] for h in history] == ["Needs analysis", "Proposal"]


def test_deleting_a_pipeline_with_deals_needs_move_to(api, pipeline, stages):
    other = api.post("/pipelines", {"name": "Other", "stages": [{"name": "Start"}]}).json()
    deal = new_deal(api)
    assert_problem(api.delete(f"/pipelines/{pipeline.pk}"), 422, "move_to")
    assert_problem(
        api.delete(f"/pipelines/{pipeline.pk}?move_to={stages['Won']}"),
        422,
        "move_to",
    )
    r = api.delete(f"/pipelines/{pipeline.pk}?move_to={other['stages'][0]['id']}")
    assert r.status_code == 204
    assert api.get(f"/deals/{deal['id']}").json()["pipeline"] == other["id"]
    # The last pipeline stays.
    assert_problem(api.delete(f"/pipelines/{other['id']}"), 422)


def test_pipeline_duplicate_name_is_409(api, pipeline):
    body = assert_problem(
        api.post("/pipelines", {"name": pipeline.name.upper(), "stages": [{"name": "A"}]}),
        409,
        "name",
    )
    assert body["existing_id"] == str(pipeline.pk)


# --- exchange rates ----------------------------------------------------------------------------

CSV = (
    "currency,rate,valid_from\n"
    "EUR,1.10,2024-01-01\n"
    "GBP,abc,2024-01-01\n"
    "XXX1,1.2,2024-01-01\n"
    "GBP,1.27,\n"
)


def test_exchange_rate_import_reports_bad_lines_and_keeps_good_ones(api):
    from django.core.files.uploadedfile import SimpleUploadedFile

    r = api.client.post(
        "/api/v1/exchange-rates/import",
        {"file": SimpleUploadedFile("rates.csv", CSV.encode(), content_type="text/csv")},
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["stored"] == 2
    assert [row["line"] for row in body["rejected"]] == [3, 4]
    assert "rate" in body["rejected"][0]["reason"]
    assert "currency" in body["rejected"][1]["reason"]
    rates = all_pages(api, "/exchange-rates")
    assert {(x["currency"], x["rate"]) for x in rates} == {("EUR", "1.1"), ("GBP", "1.27")}
    assert {x["currency"] for x in all_pages(api, "/exchange-rates", {"currency": "gbp"})} == {
        "GBP"
    }


def test_exchange_rate_import_takes_a_text_csv_body(api, api_as):
    r = api.client.post(
        "/api/v1/exchange-rates/import", data="\ufeff" + CSV, content_type="text/csv"
    )
    assert r.status_code == 200, r.content
    assert r.json()["stored"] == 2
    reader = api_as(Role.MEMBER)
    r = reader.client.post("/api/v1/exchange-rates/import", data=CSV, content_type="text/csv")
    assert_problem(r, 403)
    assert_problem(
        api.client.post("/api/v1/exchange-rates/import", data="", content_type="text/csv"),
        422,
        "file",
    )
    assert_problem(
        api.client.post(
            "/api/v1/exchange-rates/import", data="a,b\n1,2\n", content_type="text/csv"
        ),
        422,
        "file",
    )
    assert_problem(
        api.client.post(
            "/api/v1/exchange-rates/import", data=b"\xff\xfe\x00", content_type="text/csv"
        ),
        422,
        "file",
    )
    assert_problem(api.post("/exchange-rates/import", {"currency": "EUR"}), 422, "file")
    assert_problem(
        Client().post("/api/v1/exchange-rates/import", data=CSV, content_type="text/csv"), 401
    )


def test_exchange_rate_validation(api):
    base = api.workspace.default_currency
    assert_problem(api.post("/exchange-rates", {"currency": base, "rate": "1"}), 422, "currency")
    assert_problem(api.post("/exchange-rates", {"currency": "EUR", "rate": "-1"}), 422, "rate")
    assert_problem(api.post("/exchange-rates", {"currency": "EUR", "rate": 1.1}), 422, "rate")
    assert_problem(
        api.post("/exchange-rates", {"currency": "EURO", "rate": "1.1"}), 422, "currency"
    )
    first = api.post(
        "/exchange-rates", {"currency": "EUR", "rate": "1.1", "valid_from": "2024-02-01"}
    )
    again = api.post(
        "/exchange-rates", {"currency": "eur", "rate": "1.2", "valid_from": "2024-02-01"}
    )
    assert first.json()["id"] == again.json()["id"]  # the same day replaces the rate
    assert again.json()["rate"] == "1.2"


# --- custom fields and the OpenAPI document ----------------------------------------------------


def test_custom_fields_are_validated_filtered_sorted_and_requirable(api, pipeline, stages):
    from rapport.customization import services as custom_services

    custom_services.field_create(
        actor=actor_for(api.membership),
        data={"object_type": "sales.deal", "key": "seats", "label": "Seats", "type": "number"},
    )
    assert_problem(
        api.post("/deals", {"name": "Bad", "custom": {"seats": "many"}}), 422, "custom.seats"
    )
    assert_problem(
        api.post("/deals", {"name": "Bad", "custom": {"colour": "red"}}), 422, "custom.colour"
    )
    small = new_deal(api, name="Small", custom={"seats": 5})
    big = new_deal(api, name="Big", custom={"seats": 50})
    bare = new_deal(api, name="Bare")
    assert small["custom"] == {"seats": 5}
    assert ids(all_pages(api, "/deals", {"custom.seats__gt": "10"})) == [big["id"]]
    assert ids(all_pages(api, "/deals", {"sort": "-custom.seats", "limit": 1})) == [
        big["id"],
        small["id"],
        bare["id"],
    ]
    rows = [
        {"id": sid, "name": name, "type": t, "required_fields": ["custom.seats"]}
        if name == "Proposal"
        else {"id": sid, "name": name, "type": t}
        for name, sid, t in _stage_rows(api, pipeline.pk)
    ]
    assert api.patch(f"/pipelines/{pipeline.pk}", {"stages": rows}).status_code == 200
    body = assert_problem(
        api.post(f"/deals/{bare['id']}/move", {"stage": stages["Proposal"]}), 422, "custom.seats"
    )
    assert "Seats" in body["detail"]
    r = api.post(f"/deals/{bare['id']}/move", {"stage": stages["Proposal"], "custom": {"seats": 3}})
    assert r.status_code == 200, r.content


def test_the_openapi_document_describes_the_sales_api(api):
    r = Client().get("/api/v1/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in (
        "/api/v1/pipelines",
        "/api/v1/pipelines/{pipeline_id}",
        "/api/v1/deals",
        "/api/v1/deals/{deal_id}",
        "/api/v1/deals/{deal_id}/move",
        "/api/v1/deals/{deal_id}/stage-history",
        "/api/v1/lost-reasons",
        "/api/v1/exchange-rates",
        "/api/v1/exchange-rates/import",
    ):
        assert path in paths, path
    body = paths["/api/v1/exchange-rates/import"]["post"]["requestBody"]["content"]
    assert {"text/csv", "multipart/form-data"} <= set(body)


def test_a_deleted_deal_is_restored_from_the_trash_by_those_who_may_see_it(
    api, api_as, other_api, stages
):
    alice, bob = api_as(Role.MEMBER), api_as(Role.MEMBER)
    deal = new_deal(bob, name="Bob's")
    assert bob.delete(f"/deals/{deal['id']}").status_code == 204
    assert_problem(bob.get(f"/deals/{deal['id']}"), 404)

    # Another workspace, and a member who may not see Bob's deals, find nothing to restore;
    # one who sees them may not restore what they could not delete.
    assert_problem(other_api.post(f"/deals/{deal['id']}/restore", {}), 404)
    assert_problem(alice.post(f"/deals/{deal['id']}/restore", {}), 403)
    tenancy_services.workspace_update(actor=actor_for(api.membership), record_access="own")
    assert_problem(alice.post(f"/deals/{deal['id']}/restore", {}), 404)

    r = bob.post(f"/deals/{deal['id']}/restore", {})
    assert r.status_code == 200, r.content
    assert r.json()["name"] == "Bob's" and r.json()["version"] == deal["version"] + 2
    assert bob.get(f"/deals/{deal['id']}").status_code == 200
    assert_problem(bob.post(f"/deals/{deal['id']}/restore", {}), 404)  # not in the trash now
