"""Forecasts on a hand-built set of deals in two currencies: exact figures, groups, quotas,
visibility, bad parameters, the API contract and a constant query count."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.core.actors import Role
from rapport.core.errors import ValidationFailed
from rapport.sales import services
from rapport.sales.forecast import forecast
from rapport.sales.models import Quota
from rapport.tenancy import services as tenancy_services
from rapport.testing.clients import make_api_client
from rapport.testing.factories import DealFactory, MembershipFactory, PipelineFactory, actor_for

pytestmark = pytest.mark.django_db

D = Decimal


def stages(pipeline):
    return {s.name: str(s.pk) for s in pipeline.stages.all()}


class World:
    """Q1 2026 (EUR at 1.10) and Q2 2026 (EUR at 1.20) deals of Alice, Bob and the admin."""

    def __init__(self, admin_membership):
        self.admin_m = admin_membership
        self.admin = actor_for(admin_membership)
        ws = self.admin.workspace
        self.alice_m = MembershipFactory(
            workspace=ws, role=Role.MEMBER.value, user__full_name="Alice Archer"
        )
        self.bob_m = MembershipFactory(
            workspace=ws, role=Role.MEMBER.value, user__full_name="Bob Baker"
        )
        self.alice, self.bob = actor_for(self.alice_m), actor_for(self.bob_m)
        admin = self.admin
        self.main = PipelineFactory(actor=admin, name="Main")
        self.inbound = PipelineFactory(actor=admin, name="Inbound")
        m, i = stages(self.main), stages(self.inbound)
        reason = services.lost_reason_create(actor=admin, name="Price")
        services.exchange_rate_set(
            actor=admin, currency="EUR", rate="1.10", valid_from="2026-01-01"
        )
        services.exchange_rate_set(
            actor=admin, currency="EUR", rate="1.20", valid_from="2026-04-01"
        )
        a, b = str(self.alice.user_id), str(self.bob.user_id)

        def deal(owner, stage, amount, currency, close, pipeline=None, **extra):
            return DealFactory(
                actor=admin,
                pipeline=str((pipeline or self.main).pk),
                stage=stage,
                owner=owner,
                amount={"amount": amount, "currency": currency},
                close_date=close,
                **extra,
            )

        deal(a, m["Won"], "1000.00", "USD", "2026-02-10")
        deal(a, m["Won"], "500.00", "EUR", "2026-03-01")
        deal(a, m["Negotiation"], "2000.00", "USD", "2026-03-15")  # commit 80 %
        deal(a, m["Proposal"], "1000.00", "EUR", "2026-01-20")  # best case 50 %
        deal(a, m["Qualification"], "300.00", "USD", "2026-03-31", forecast_category="commit")
        deal(b, i["Needs analysis"], "400.00", "USD", "2026-02-01", pipeline=self.inbound)
        deal(b, m["Lost"], "999.00", "USD", "2026-02-01", lost_reason=str(reason.pk))
        deal(b, m["Negotiation"], "700.00", "USD", "2026-02-01", forecast_category="omitted")
        deal(str(admin.user_id), m["Qualification"], "100.00", "USD", "2026-02-02")
        deal(a, m["Won"], "100.00", "EUR", "2026-05-05")  # Q2, at 1.20
        deal(a, m["Negotiation"], "50.00", "USD", "2025-12-31")  # before the window
        deal(a, m["Negotiation"], "50.00", "USD", None)  # open without a date: no period
        services.quota_set(
            actor=admin,
            user=a,
            period="quarter",
            start="2026-02-15",
            amount={"amount": "2000", "currency": "USD"},
        )
        services.quota_set(
            actor=admin,
            user=b,
            period="quarter",
            start="2026-01-01",
            amount={"amount": "500", "currency": "EUR"},
        )
        tenancy_services.team_create(actor=admin, name="East", members=[a, b])
        tenancy_services.team_create(actor=admin, name="West", members=[a])


@pytest.fixture
def world(owner):
    return World(owner)


def figures(f):
    return {
        "closed_won": f.closed_won.amount,
        "commit": f.commit.amount,
        "best_case": f.best_case.amount,
        "pipeline": f.pipeline.amount,
        "weighted": f.weighted.amount,
        "quota": None if f.quota is None else f.quota.amount,
        "attainment": f.attainment,
    }


def by_group(block):
    return {row.group.name: figures(row.figures) for row in block.rows}


def test_figures_per_owner_in_two_currencies(world):
    result = forecast(
        actor=world.admin, period="quarter", start="2026-01-01", periods=2, group_by="owner"
    )
    assert result.currency == "USD"
    q1, q2 = result.blocks
    assert q1.period.label == "Q1 2026" and q2.period.label == "Q2 2026"
    groups = by_group(q1)
    assert groups["Alice Archer"] == {
        "closed_won": D("1550.00"),  # 1000 USD + 500 EUR × 1.10
        "commit": D("2300.00"),  # 2000 + 300 (a deal's own category wins over its stage's)
        "best_case": D("3400.00"),  # commit + 1000 EUR × 1.10
        "pipeline": D("3400.00"),
        "weighted": D("2180.00"),  # 2000 × .8 + 300 × .1 + 500 EUR × 1.10
        "quota": D("2000.00"),
        "attainment": D("0.7750"),
    }
    assert groups["Bob Baker"] == {  # lost and omitted deals left out
        "closed_won": D("0.00"),
        "commit": D("0.00"),
        "best_case": D("0.00"),
        "pipeline": D("400.00"),
        "weighted": D("100.00"),
        "quota": D("550.00"),  # 500 EUR at the rate of the quarter's last day
        "attainment": D("0.0000"),
    }
    admin_name = world.admin.user.display_name
    assert groups[admin_name]["pipeline"] == D("100.00")
    assert groups[admin_name]["quota"] is None and groups[admin_name]["attainment"] is None
    assert figures(q1.total) == {
        "closed_won": D("1550.00"),
        "commit": D("2300.00"),
        "best_case": D("3400.00"),
        "pipeline": D("3900.00"),
        "weighted": D("2290.00"),
        "quota": D("2550.00"),
        "attainment": D("0.6078"),
    }
    # The conversion is explained.
    alice_q1 = next(r for r in q1.rows if r.group.name == "Alice Archer").figures
    assert "EUR 500.00 × 1.1 (rate of 2026-01-01) = 550.00" in alice_q1.explanations["closed_won"]
    # Q2 converts at Q2's rate.
    assert by_group(q2)["Alice Archer"]["closed_won"] == D("120.00")


def test_figures_per_team_count_a_deal_for_each_team_of_its_owner(world):
    result = forecast(
        actor=world.admin, period="quarter", start="2026-03-03", periods=1, group_by="team"
    )
    (q1,) = result.blocks
    assert q1.period.start.isoformat() == "2026-01-01"
    groups = by_group(q1)
    assert list(groups) == ["East", "West", "No team"]
    assert groups["East"]["pipeline"] == D("3800.00")  # Alice + Bob
    assert groups["East"]["quota"] == D("2550.00")  # the members' quotas summed
    assert groups["West"]["closed_won"] == D("1550.00") and groups["West"]["quota"] == D("2000.00")
    assert groups["No team"]["pipeline"] == D("100.00")
    # Totals never count a deal twice.
    assert q1.total.pipeline.amount == D("3900.00")
    assert q1.total.quota.amount == D("2550.00")


def test_figures_per_pipeline_have_no_quota(world):
    result = forecast(
        actor=world.admin, period="year", start="2026-06-01", periods=1, group_by="pipeline"
    )
    (year,) = result.blocks
    groups = by_group(year)
    assert list(groups) == ["Main", "Inbound"]
    assert groups["Inbound"]["pipeline"] == D("400.00")
    # 1000 USD + (500 + 100) EUR at the rate of the year's last day (1.20)
    assert groups["Main"]["closed_won"] == D("1720.00")
    assert groups["Main"]["quota"] is None and groups["Main"]["attainment"] is None
    only_inbound = forecast(
        actor=world.admin,
        period="year",
        start="2026-01-01",
        group_by="pipeline",
        pipeline=str(world.inbound.pk),
    )
    assert [r.group.name for r in only_inbound.rows] == ["Inbound"]
    assert only_inbound.blocks[0].total.closed_won.amount == D("0.00")


def test_month_periods_and_a_closed_deal_without_close_date(world):
    result = forecast(actor=world.admin, period="month", start="2026-01-10", periods=3)
    assert [b.period.label for b in result.blocks] == ["Jan 2026", "Feb 2026", "Mar 2026"]
    assert [b.total.closed_won.amount for b in result.blocks] == [D("0"), D("1000.00"), D("550.00")]
    # A won deal without a close date counts on the day it closed (today).
    m = stages(world.main)
    DealFactory(
        actor=world.admin,
        stage=m["Won"],
        pipeline=str(world.main.pk),
        amount={"amount": "10.00", "currency": "USD"},
    )
    now = forecast(actor=world.admin, period="month")
    assert now.blocks[0].total.closed_won.amount == D("10.00")


def test_a_member_with_own_access_sees_only_their_figures(world):
    tenancy_services.workspace_update(actor=world.admin, record_access="own")
    world.bob_m.workspace.refresh_from_db()
    bob = actor_for(world.bob_m)
    result = forecast(actor=bob, period="quarter", start="2026-01-01", group_by="owner")
    groups = by_group(result.blocks[0])
    assert list(groups) == ["Bob Baker"]
    assert result.blocks[0].total.pipeline.amount == D("400.00")
    assert result.blocks[0].total.quota.amount == D("550.00")  # not Alice's quota


def test_bad_parameters_name_the_parameter(world):
    cases = [
        ({"period": "week"}, "period"),
        ({"periods": 25}, "periods"),
        ({"periods": "many"}, "periods"),
        ({"start": "2026-13-01"}, "start"),
        ({"start": "9999-01-01", "periods": 24, "period": "year"}, "start"),
        ({"group_by": "region"}, "group_by"),
        ({"pipeline": "nope"}, "pipeline"),
    ]
    for kwargs, name in cases:
        with pytest.raises(ValidationFailed) as exc:
            forecast(actor=world.admin, **kwargs)
        assert [e.field for e in exc.value.errors] == [name]


def test_query_count_does_not_grow_with_the_deals(owner):
    admin = actor_for(owner)
    PipelineFactory(actor=admin)
    services.exchange_rate_set(actor=admin, currency="EUR", rate="1.10", valid_from="2026-01-01")

    def count(group_by):
        with CaptureQueriesContext(connection) as ctx:
            forecast(actor=admin, period="month", start="2026-01-01", periods=12, group_by=group_by)
        return len(ctx.captured_queries)

    for i in range(3):
        DealFactory(actor=admin, close_date=f"2026-0{i + 1}-05")
    few = {g: count(g) for g in ("owner", "team", "pipeline")}
    for i in range(12):
        member = MembershipFactory(workspace=admin.workspace, role=Role.MEMBER.value)
        DealFactory(
            actor=admin,
            owner=str(member.user_id),
            close_date=f"2026-{i % 9 + 1:02d}-07",
            amount={"amount": "5.00", "currency": "EUR" if i % 2 else "USD"},
        )
    many = {g: count(g) for g in ("owner", "team", "pipeline")}
    assert few == many
    # stages, dated deals, undated won deals, rates, quotas or pipelines, users, teams
    assert max(many.values()) <= 7


# --- API -------------------------------------------------------------------------------------


@pytest.fixture
def api_world(api):
    return World(api.membership)


def test_api_contract_shape(api, api_world):
    response = api.get(
        "/forecast",
        {"period": "quarter", "start": "2026-01-01", "periods": "2", "group_by": "owner"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["currency"] == "USD"
    assert set(body) >= {"currency", "rows"}
    row = next(r for r in body["rows"] if r["group"]["name"] == "Alice Archer")
    assert set(row) >= {
        "period",
        "group",
        "closed_won",
        "commit",
        "best_case",
        "pipeline",
        "weighted",
        "quota",
        "attainment",
    }
    assert row == row | {
        "period": "2026-01-01",
        "closed_won": "1550.00",
        "commit": "2300.00",
        "best_case": "3400.00",
        "pipeline": "3400.00",
        "weighted": "2180.00",
        "quota": "2000.00",
        "attainment": "0.7750",
    }
    assert row["group"]["id"] == str(api_world.alice.user_id)
    assert body["totals"][0]["pipeline"] == "3900.00"
    pipe = api.get("/forecast", {"period": "year", "start": "2026-01-01", "group_by": "pipeline"})
    assert all(r["quota"] is None and r["attainment"] is None for r in pipe.json()["rows"])


@pytest.mark.parametrize(
    "params,field",
    [
        ({"period": "fortnight"}, "period"),
        ({"periods": "25"}, "periods"),
        ({"start": "yesterday"}, "start"),
        ({"group_by": "planet"}, "group_by"),
    ],
)
def test_api_bad_parameters_are_422_problems(api, params, field):
    response = api.get("/forecast", params)
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 422 and [e["field"] for e in body["errors"]] == [field]


def test_api_forecast_is_scoped_to_the_workspace(api, api_world, other_api):
    body = other_api.get("/forecast", {"period": "year", "start": "2026-01-01"}).json()
    assert body["rows"] == []
    assert body["totals"][0]["closed_won"] == "0.00"


def test_quotas_api(api, api_as, other_api):
    member_api = api_as(Role.MEMBER)
    manager_api = api_as(Role.MANAGER)
    user = str(member_api.user.pk)
    body = {
        "user": user,
        "period": "quarter",
        "start": "2026-02-10",
        "amount": {"amount": "1200.50", "currency": "USD"},
    }

    refused = member_api.post("/quotas", body)
    assert refused.status_code == 403
    assert not Quota.objects.exists()

    created = manager_api.post("/quotas", body)
    assert created.status_code == 201, created.content
    quota = created.json()
    assert quota["start"] == "2026-01-01" and quota["amount"] == {
        "amount": "1200.50",
        "currency": "USD",
    }
    assert created["Location"] == f"/api/v1/quotas/{quota['id']}"

    put = manager_api.client.put(
        "/api/v1/quotas",
        data={**body, "amount": {"amount": "1500", "currency": "USD"}},
        content_type="application/json",
    )
    assert put.status_code == 200 and put.json()["id"] == quota["id"]
    assert put.json()["amount"]["amount"] == "1500.00"

    listed = api.get("/quotas", {"user": user, "period": "quarter"}).json()
    assert [q["id"] for q in listed["results"]] == [quota["id"]] and listed["next"] is None
    assert member_api.get("/quotas").json()["results"][0]["id"] == quota["id"]

    # Another workspace sees nothing and cannot touch it.
    assert other_api.get("/quotas").json()["results"] == []
    assert other_api.get(f"/quotas/{quota['id']}").status_code == 404
    assert other_api.delete(f"/quotas/{quota['id']}").status_code == 404
    # A user of another workspace cannot be given a quota here.
    foreign = {**body, "user": str(other_api.user.pk)}
    bad = manager_api.post("/quotas", foreign)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "user"

    assert member_api.delete(f"/quotas/{quota['id']}").status_code == 403
    assert manager_api.delete(f"/quotas/{quota['id']}").status_code == 204
    assert not Quota.objects.exists()


def test_quotas_api_unknown_fields_and_bad_period(api):
    member = MembershipFactory(workspace=api.workspace, role=Role.MEMBER.value)
    bad = api.post(
        "/quotas",
        {
            "user": str(member.user_id),
            "period": "week",
            "start": "2026-01-01",
            "amount": {"amount": "1"},
        },
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "period"
    extra = api.post(
        "/quotas",
        {
            "user": str(member.user_id),
            "period": "month",
            "start": "2026-01-01",
            "amount": {"amount": "1"},
            "colour": "red",
        },
    )
    assert extra.status_code == 422


def test_forecast_api_needs_a_token(client):
    assert client.get("/api/v1/forecast").status_code == 401


def test_quota_visible_only_per_record_access(api):
    member_api = make_api_client(Role.MEMBER, workspace=api.workspace)
    other = MembershipFactory(workspace=api.workspace, role=Role.MEMBER.value)
    admin = actor_for(api.membership)
    services.quota_set(
        actor=admin,
        user=str(other.user_id),
        period="year",
        start="2026-01-01",
        amount={"amount": "10", "currency": "USD"},
    )
    assert len(member_api.get("/quotas").json()["results"]) == 1
    tenancy_services.workspace_update(actor=admin, record_access="own")
    assert member_api.get("/quotas").json()["results"] == []
