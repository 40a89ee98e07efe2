"""Pipelines and deals through their services: stages, required fields, history, access."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.core.actors import Role
from rapport.core.errors import NotFound, PermissionDenied, ValidationFailed
from rapport.sales import services
from rapport.sales.models import Deal, DealStatus, StageHistory
from rapport.tenancy import services as tenancy_services
from rapport.testing.factories import (
    CompanyFactory,
    DealFactory,
    MembershipFactory,
    PersonFactory,
    PipelineFactory,
    actor_for,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return actor_for(MembershipFactory(role=Role.ADMIN.value))


def member_of(actor, role=Role.MEMBER):
    return actor_for(MembershipFactory(workspace=actor.workspace, role=role.value))


def stages(pipeline):
    return {s.name: s for s in pipeline.stages.all()}


def test_a_deal_starts_in_the_first_open_stage_and_keeps_its_history(admin):
    pipeline = PipelineFactory(actor=admin, name="Sales")
    deal = DealFactory(actor=admin, name="Big one", pipeline=str(pipeline.pk))
    assert deal.stage.name == "Qualification"
    assert deal.status == DealStatus.OPEN
    assert deal.owner_id == admin.user_id

    s = stages(pipeline)
    moved = services.deal_move(actor=admin, deal_id=deal.pk, stage=str(s["Proposal"].pk))
    moved = services.deal_move(actor=admin, deal_id=deal.pk, stage=str(s["Won"].pk))
    assert moved.status == DealStatus.WON and moved.closed_at is not None
    history = list(StageHistory.objects.filter(deal=deal).order_by("entered_at"))
    assert [h.stage_name for h in history] == ["Qualification", "Proposal", "Won"]
    assert history[0].duration_seconds is not None and history[-1].left_at is None
    actions = list(
        AuditEntry.objects.filter(object_id=str(deal.pk)).values_list("action", flat=True)
    )
    assert actions.count("deal.stage_changed") == 2


def test_a_stage_refuses_a_deal_missing_its_required_fields(admin):
    pipeline = PipelineFactory(actor=admin)
    deal = DealFactory(actor=admin, pipeline=str(pipeline.pk))
    lost = stages(pipeline)["Lost"]
    with pytest.raises(ValidationFailed) as exc:
        services.deal_move(actor=admin, deal_id=deal.pk, stage=str(lost.pk))
    assert "Lost reason" in str(exc.value.detail)
    assert [e.field for e in exc.value.errors] == ["lost_reason"]
    deal.refresh_from_db()
    assert deal.stage.name == "Qualification"  # nothing changed

    reason = services.lost_reason_create(actor=admin, name="Price")
    moved = services.deal_move(
        actor=admin, deal_id=deal.pk, stage=str(lost.pk), data={"lost_reason": str(reason.pk)}
    )
    assert moved.status == DealStatus.LOST and moved.lost_reason == reason


def test_money_is_validated(admin):
    PipelineFactory(actor=admin)
    with pytest.raises(ValidationFailed) as exc:
        DealFactory(actor=admin, amount={"amount": 12.5, "currency": "EUR"})
    assert exc.value.errors[0].field == "amount.amount"
    with pytest.raises(ValidationFailed) as exc:
        DealFactory(actor=admin, amount={"amount": "10", "currency": "XXQ"})
    assert exc.value.errors[0].field == "amount.currency"
    deal = DealFactory(actor=admin, amount={"amount": "10.5", "currency": "eur"})
    assert (deal.amount, deal.currency) == (Decimal("10.50"), "EUR")


def test_removing_a_stage_that_holds_deals_asks_where_they_go(admin):
    pipeline = PipelineFactory(actor=admin)
    deal = DealFactory(actor=admin, pipeline=str(pipeline.pk))
    s = stages(pipeline)
    kept = [
        {"id": str(st.pk), "name": st.name, "type": st.type}
        for st in pipeline.stages.order_by("position")
        if st.name != "Qualification"
    ]
    with pytest.raises(ValidationFailed) as exc:
        services.pipeline_update(actor=admin, pipeline_id=pipeline.pk, data={"stages": kept})
    assert exc.value.errors[0].field == f"moves.{s['Qualification'].pk}"
    services.pipeline_update(
        actor=admin,
        pipeline_id=pipeline.pk,
        data={"stages": kept, "moves": {str(s["Qualification"].pk): str(s["Proposal"].pk)}},
    )
    deal.refresh_from_db()
    assert deal.stage.name == "Proposal"
    assert not pipeline.stages.filter(name="Qualification").exists()
    assert StageHistory.objects.filter(deal=deal, stage_name="Qualification").exists()


def test_members_see_deals_per_the_record_access_setting(admin):
    PipelineFactory(actor=admin)
    alice, bob, carol = (member_of(admin) for _ in range(3))
    deal_a = DealFactory(actor=alice)
    deal_b = DealFactory(actor=bob)
    manager = member_of(admin, Role.MANAGER)

    def visible(actor):
        return set(Deal.objects.visible_to(actor).values_list("pk", flat=True))

    assert visible(carol) == {deal_a.pk, deal_b.pk}
    tenancy_services.workspace_update(actor=admin, record_access="own")
    alice.workspace.refresh_from_db()
    assert visible(alice) == {deal_a.pk}
    assert visible(manager) == {deal_a.pk, deal_b.pk}
    with pytest.raises(NotFound):
        services.deal_move(
            actor=alice, deal_id=deal_b.pk, stage=str(deal_b.pipeline.stages.last().pk)
        )
    tenancy_services.team_create(actor=admin, name="East", members=[alice.user_id, bob.user_id])
    tenancy_services.workspace_update(actor=admin, record_access="team")
    alice.workspace.refresh_from_db()
    assert visible(alice) == {deal_a.pk, deal_b.pk}
    assert visible(carol) == set()


def test_read_only_members_cannot_change_deals(admin):
    deal = DealFactory(actor=admin)
    reader = member_of(admin, Role.READ_ONLY)
    with pytest.raises(PermissionDenied):
        services.deal_update(actor=reader, deal_id=deal.pk, data={"name": "Mine now"})


def test_people_and_company_are_checked_and_kept_with_roles(admin):
    company = CompanyFactory(actor=admin)
    person = PersonFactory(actor=admin)
    deal = DealFactory(
        actor=admin,
        company=str(company.pk),
        people=[{"id": str(person.pk), "role": "champion"}],
    )
    assert list(deal.deal_people.values_list("person_id", "role")) == [(person.pk, "champion")]
    other = actor_for(MembershipFactory(role=Role.ADMIN.value))
    foreign = PersonFactory(actor=other)
    with pytest.raises(ValidationFailed) as exc:
        services.deal_update(
            actor=admin, deal_id=deal.pk, data={"people": [{"id": str(foreign.pk)}]}
        )
    assert exc.value.errors[0].field == "people.0.id"


def test_an_interaction_keeps_the_deals_last_interaction_time(admin):
    from rapport.activities import services as activity_services

    deal = DealFactory(actor=admin)
    at = timezone.now() - dt.timedelta(days=2)
    activity_services.activity_create(
        actor=admin,
        data={
            "type": "call",
            "occurred_at": at.isoformat(),
            "targets": [{"type": "deal", "id": str(deal.pk)}],
        },
    )
    deal.refresh_from_db()
    assert deal.last_interaction_at == at


def test_exchange_rates_convert_totals_and_explain_them(admin):
    from rapport.sales.money import Rates

    services.exchange_rate_set(actor=admin, currency="EUR", rate="1.10", valid_from="2026-01-01")
    services.exchange_rate_set(actor=admin, currency="EUR", rate="1.20", valid_from="2026-06-01")
    rates = Rates(admin.workspace)
    total = rates.total({"USD": Decimal("100"), "EUR": Decimal("10")}, dt.date(2026, 3, 1))
    assert total.amount == Decimal("111.00")
    assert "EUR 10.00 × 1.1 (rate of 2026-01-01) = 11.00" in total.explanation
    later = rates.total({"EUR": Decimal("10"), "GBP": Decimal("5")}, dt.date(2026, 7, 1))
    assert later.amount == Decimal("12.00") and later.missing == ["GBP"]

    result = services.exchange_rates_import(
        actor=admin, text="currency,rate,date\nGBP,1.27,2026-01-01\nXXQ,1,2026-01-01\n"
    )
    assert result["stored"] == 1 and result["rejected"][0]["line"] == 3
