"""The demo deals: pipelines, rates, deals in every state, people, interactions."""

from __future__ import annotations

import pytest

from rapport.activities.models import ActivityTarget
from rapport.sales import demo
from rapport.sales.models import Deal, DealPerson, ExchangeRate, Pipeline, StageHistory
from rapport.testing.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db


def test_demo_deals(actor):
    companies = [CompanyFactory(actor=actor, name=f"Demo Co {i}") for i in range(6)]
    people = [
        PersonFactory(
            actor=actor,
            first_name=f"P{i}",
            email=f"demo{i}@example.com",
            company=str(companies[i % 6].pk),
        )
        for i in range(18)
    ]
    made = demo.install(
        actor=actor,
        members=[actor.user.pk],
        company_ids=[c.pk for c in companies],
        people=[(p.pk, p.email) for p in people],
    )
    deals = Deal.objects.filter(workspace=actor.workspace)
    assert made == deals.count() == demo.DEAL_COUNT
    assert Pipeline.objects.filter(workspace=actor.workspace).count() == 2
    assert set(deals.values_list("status", flat=True)) == {"open", "won", "lost"}
    assert not deals.filter(status="lost", lost_reason__isnull=True).exists()
    assert set(deals.values_list("currency", flat=True)) == {"USD", "EUR", "GBP"}
    assert ExchangeRate.objects.filter(workspace=actor.workspace).count() == 4
    assert DealPerson.objects.filter(workspace=actor.workspace).exists()
    assert StageHistory.objects.filter(workspace=actor.workspace).count() > demo.DEAL_COUNT
    assert ActivityTarget.objects.filter(target_type="deal").count() >= 10
