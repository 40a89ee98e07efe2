"""The sales dashboard on a hand-built set of deals: win rates, deal size, cycle, velocity,
stalled deals, reasons; filters; visibility; a constant query count; the page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.core.actors import Role
from rapport.core.errors import ValidationFailed
from rapport.sales import services
from rapport.sales.dashboard import dashboard
from rapport.sales.models import Deal, LostReason, StageHistory
from rapport.tenancy import services as tenancy_services
from rapport.testing.factories import DealFactory, MembershipFactory, PipelineFactory, actor_for

pytestmark = pytest.mark.django_db

D = Decimal


class Set:
    def __init__(self, membership, pipeline_name="Main"):
        self.admin = actor_for(membership)
        admin = self.admin
        self.now = timezone.now()
        self.pipeline = PipelineFactory(actor=admin, name=pipeline_name)
        s = {st.name: str(st.pk) for st in self.pipeline.stages.all()}
        self.stages = s
        services.exchange_rate_set(
            actor=admin, currency="EUR", rate="1.10", valid_from="2020-01-01"
        )
        known = {r.name: r for r in LostReason.objects.in_workspace(admin.workspace)}
        price = known.get("Price") or services.lost_reason_create(actor=admin, name="Price")
        timing = known.get("Timing") or services.lost_reason_create(actor=admin, name="Timing")
        self.member_m = MembershipFactory(
            workspace=admin.workspace, role=Role.MEMBER.value, user__full_name="Mia Member"
        )
        self.member = actor_for(self.member_m)

        def make(stage, amount, currency="USD", path=(), owner=None, **extra):
            deal = DealFactory(
                actor=admin,
                pipeline=str(self.pipeline.pk),
                stage=s[stage],
                amount={"amount": amount, "currency": currency},
                owner=owner or str(admin.user_id),
                **extra,
            )
            for step, data in path:
                services.deal_move(actor=admin, deal_id=deal.pk, stage=s[step], data=data)
            return deal

        def days_ago(n):
            return self.now - dt.timedelta(days=n)

        def set_times(deal, **times):
            Deal.objects.filter(pk=deal.pk).update(**times)

        w1 = make("Qualification", "1000.00", path=[("Proposal", None), ("Won", None)])
        set_times(w1, created_at=days_ago(10), closed_at=days_ago(2))
        w2 = make("Proposal", "500.00", "EUR", path=[("Won", None)])
        set_times(w2, created_at=days_ago(30), closed_at=days_ago(1))
        l1 = make("Qualification", "300.00", path=[("Lost", {"lost_reason": str(price.pk)})])
        set_times(l1, created_at=days_ago(20), closed_at=days_ago(5))
        l2 = make(
            "Qualification",
            "200.00",
            "EUR",
            path=[("Proposal", None), ("Lost", {"lost_reason": str(timing.pk)})],
        )
        set_times(l2, created_at=days_ago(20), closed_at=days_ago(6))
        old = make("Qualification", "9999.00", path=[("Won", None)])
        set_times(old, created_at=days_ago(300), closed_at=days_ago(200))
        self.o1 = make("Negotiation", "1000.00", owner=str(self.member.user_id))
        set_times(self.o1, last_interaction_at=days_ago(20), stage_entered_at=days_ago(25))
        o2 = make("Qualification", "10.00")
        set_times(o2, stage_entered_at=days_ago(10))
        o3 = make("Proposal", "10.00")
        set_times(o3, stage_entered_at=days_ago(40), last_interaction_at=days_ago(1))
        self.o4 = make("Qualification", "10.00")
        set_times(self.o4, stage_entered_at=days_ago(30))


@pytest.fixture
def data(owner):
    return Set(owner)


def test_dashboard_figures(data):
    d = dashboard(actor=data.admin, now=data.now)
    assert (d.won, d.lost, d.win_rate) == (2, 2, D("50.0"))
    rates = {r.stage: (r.entered, r.won, r.rate) for r in d.stage_rates}
    assert rates == {
        "Qualification": (3, 1, D("33.3")),  # W1, L1, L2 went through it; W1 won
        "Proposal": (3, 2, D("66.7")),  # W1, W2, L2
    }
    assert [r.stage for r in d.stage_rates] == ["Qualification", "Proposal"]
    assert d.won_total.amount == D("1550.00")  # 1000 USD + 500 EUR × 1.10
    assert d.avg_size == D("775.00")
    assert (d.cycle_avg_days, d.cycle_median_days) == (D("18.5"), D("18.5"))  # 8 and 29 days
    assert dict(d.cycle_histogram)["8–30 d"] == 2 and sum(n for _, n in d.cycle_histogram) == 2
    assert d.open_deals == 4
    assert d.velocity == D("83.78")  # 4 × 0.5 × 775 / 18.5
    assert [(p.name, p.velocity) for p in d.pipelines] == [("Main", D("83.78"))]
    assert d.stalled_count == 2
    assert [s.id for s in d.stalled] == [data.o4.pk, data.o1.pk]  # longest silent first
    assert d.stalled[1].days == 20 and d.stalled[1].owner == "Mia Member"
    reasons = {r.name: (r.count, r.amount.amount) for r in d.lost_reasons}
    assert reasons == {"Price": (1, D("300.00")), "Timing": (1, D("220.00"))}
    assert sum(m[2] for m in d.monthly_sizes) == 2
    charts = d.charts()
    assert set(charts) == {"win_rate", "deal_size", "cycle", "velocity", "stalled", "reasons"}
    assert charts["reasons"]["labels"] == ["Won", "Price", "Timing"]


def test_stage_rates_count_each_deal_once_and_keep_removed_stages(data):
    # W2 goes back to Proposal twice before winning: it still counts once there.
    s = data.stages
    w3 = DealFactory(actor=data.admin, pipeline=str(data.pipeline.pk), stage=s["Proposal"])
    for step in ("Qualification", "Proposal", "Qualification", "Proposal", "Won"):
        services.deal_move(actor=data.admin, deal_id=w3.pk, stage=s[step])
    rates = {r.stage: (r.entered, r.won) for r in dashboard(actor=data.admin).stage_rates}
    assert rates == {"Qualification": (4, 2), "Proposal": (4, 3)}
    # A stage removed since: the history keeps its name, the dashboard reports it last.
    StageHistory.objects.filter(deal=w3, stage_name="Qualification").update(
        stage=None, stage_name="Discovery (removed)"
    )
    d = dashboard(actor=data.admin)
    assert [(r.stage, r.entered, r.won) for r in d.stage_rates] == [
        ("Qualification", 3, 1),
        ("Proposal", 4, 3),
        ("Discovery (removed)", 1, 1),
    ]


def test_dashboard_filters(data):
    longer = dashboard(actor=data.admin, days=365, now=data.now)
    assert longer.won == 3
    assert dashboard(actor=data.admin, stalled_days=7, now=data.now).stalled_count == 3
    mine = dashboard(actor=data.admin, owner=str(data.member.user_id), now=data.now)
    assert (mine.won, mine.open_deals, mine.stalled_count) == (0, 1, 1)
    other = PipelineFactory(actor=data.admin, name="Other")
    empty = dashboard(actor=data.admin, pipeline=str(other.pk), now=data.now)
    assert (empty.won, empty.open_deals, empty.avg_size, empty.velocity) == (0, 0, None, None)
    for kwargs, name in [
        ({"days": 12}, "days"),
        ({"owner": "x"}, "owner"),
        ({"stalled_days": "soon"}, "stalled_days"),
    ]:
        with pytest.raises(ValidationFailed) as exc:
            dashboard(actor=data.admin, **kwargs)
        assert exc.value.errors[0].field == name


def test_dashboard_respects_record_access(data):
    tenancy_services.workspace_update(actor=data.admin, record_access="own")
    data.member_m.workspace.refresh_from_db()
    d = dashboard(actor=actor_for(data.member_m), now=data.now)
    assert (d.won, d.lost, d.open_deals) == (0, 0, 1)
    assert [s.id for s in d.stalled] == [data.o1.pk]


def test_dashboard_query_count_is_constant(owner):
    admin = actor_for(owner)
    PipelineFactory(actor=admin)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            dashboard(actor=admin)
        return len(ctx.captured_queries)

    pipeline = PipelineFactory(actor=admin, name="Two")
    s = {st.name: str(st.pk) for st in pipeline.stages.all()}
    DealFactory(actor=admin, pipeline=str(pipeline.pk), stage=s["Won"])
    few = count()
    for i in range(10):
        DealFactory(
            actor=admin,
            pipeline=str(pipeline.pk),
            stage=s["Won" if i % 2 else "Proposal"],
            amount={"amount": "5.00", "currency": "EUR"},
        )
    assert count() == few
    assert few <= 12


# --- pages -----------------------------------------------------------------------------------


def test_dashboard_page(browser, db):
    data = Set(browser.membership)
    response = browser.get("/sales/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-chart="chart-win-rate"' in html and 'id="chart-win-rate"' in html
    assert "775.00" in html and "<script>" not in html.replace('type="application/json"', "")
    assert data.o4.name in html
    bad = browser.get("/sales/dashboard/?days=3")
    assert bad.status_code == 200 and "days: Use one of" in bad.content.decode()


def test_dashboard_page_needs_sign_in(client):
    response = client.get("/sales/dashboard/")
    assert response.status_code == 302
