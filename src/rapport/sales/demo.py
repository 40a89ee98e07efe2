"""Deals of the demo workspace: deterministic, through the services.

``install`` creates the standard pipeline and a "Renewals" pipeline, exchange rates for the
foreign currencies the deals use, and about forty deals spread over the stages (moved stage by
stage, so each keeps a stage history), with their people and roles, some won and some lost with
a reason, and a few interactions logged on them. Called by ``contacts.demo.demo_install`` once
the companies and people exist.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.utils import timezone

from rapport.contacts.models import Company, Person
from rapport.core.actors import Actor

from . import services
from .models import DealRole, LostReason, Pipeline, Stage, StageType

SEED = 5151
SOURCE = "demo"
DEAL_COUNT = 40
RENEWAL_SHARE = 0.25

RENEWAL_STAGES = [
    {"name": "Upcoming", "type": "open", "probability": 40, "forecast_category": "pipeline"},
    {
        "name": "Quote sent",
        "type": "open",
        "probability": 70,
        "forecast_category": "commit",
        "required_fields": ["amount", "close_date"],
    },
    {"name": "Renewed", "type": "won", "probability": 100, "forecast_category": "closed"},
    {
        "name": "Churned",
        "type": "lost",
        "probability": 0,
        "forecast_category": "omitted",
        "required_fields": ["lost_reason"],
    },
]
# 1 unit of the currency in US dollars, from 120 and from 30 days ago.
RATES = {"EUR": ("1.0700", "1.0850"), "GBP": ("1.2500", "1.2700"), "USD": ("1", "1")}
PRODUCTS = ["Team plan", "Enterprise plan", "Onboarding package", "Support upgrade", "Pilot"]
NEXT_STEPS = [
    "Send the proposal",
    "Book the demo with their IT team",
    "Follow up on the security questionnaire",
    "Agree on the pilot scope",
    "Get the contract signed",
]
SOURCES = ["website", "referral", "event", "outbound", "partner"]
ROLES = [r for r, _ in DealRole.choices]
LOST_NOTES = [
    "They went with the cheaper option.",
    "Budget frozen until next year.",
    "No reply after the proposal.",
]


def _set_rates(actor: Actor, today: dt.date) -> None:
    base = actor.workspace.default_currency
    for currency, (older, newer) in RATES.items():
        if currency == base:
            continue
        if base != "USD":  # rates are given in USD: convert through it
            into_base = Decimal(RATES.get(base, ("1", "1"))[1])
            older = str((Decimal(older) / into_base).quantize(Decimal("0.000001")))
            newer = str((Decimal(newer) / into_base).quantize(Decimal("0.000001")))
        services.exchange_rate_set(
            actor=actor,
            currency=currency,
            rate=older,
            valid_from=today - dt.timedelta(days=120),
            source=SOURCE,
        )
        services.exchange_rate_set(
            actor=actor,
            currency=currency,
            rate=newer,
            valid_from=today - dt.timedelta(days=30),
            source=SOURCE,
        )


def _pipelines(actor: Actor) -> list[Pipeline]:
    pipelines = list(Pipeline.objects.in_workspace(actor.workspace).order_by("position"))
    if not pipelines:
        pipelines = [services.pipeline_create_default(actor=actor)]
    if len(pipelines) < 2:
        pipelines.append(
            services.pipeline_create(
                actor=actor, data={"name": "Renewals", "stages": RENEWAL_STAGES}, source=SOURCE
            )
        )
    return pipelines


def install(
    *,
    actor: Actor,
    members: Sequence[Any],
    company_ids: Sequence[Any],
    people: Sequence[tuple[Any, str]] = (),
    seed: int = SEED,
) -> int:
    """Creates the pipelines, rates and deals; answers how many deals were made."""
    rng = random.Random(seed)
    today = timezone.localdate()
    pipelines = _pipelines(actor)
    _set_rates(actor, today)
    reasons = list(LostReason.objects.in_workspace(actor.workspace).filter(active=True))
    stages = {
        p.pk: list(Stage.objects.filter(pipeline=p).order_by("position")) for p in pipelines[:2]
    }
    # People by company, to link a deal to people who work there.
    staff: dict[str, list[str]] = {}
    person_ids = [str(pk) for pk, _ in people]
    rows = Person.objects.filter(pk__in=person_ids, company_id__isnull=False).values_list(
        "pk", "company_id"
    )
    for pk, company_id in rows:
        staff.setdefault(str(company_id), []).append(str(pk))
    companies = [str(c) for c in company_ids if str(c) in staff] or [str(c) for c in company_ids]
    if not companies:
        return 0
    names = {
        str(pk): name
        for pk, name in Company.objects.filter(pk__in=companies).values_list("pk", "name")
    }
    made = 0
    for index in range(DEAL_COUNT):
        renewal = index >= DEAL_COUNT * (1 - RENEWAL_SHARE)
        pipeline = pipelines[1] if renewal else pipelines[0]
        steps = stages[pipeline.pk]
        open_steps = [s for s in steps if s.type == StageType.OPEN]
        won = next(s for s in steps if s.type == StageType.WON)
        lost = next(s for s in steps if s.type == StageType.LOST)
        roll = rng.random()
        target = won if roll < 0.2 else lost if roll < 0.35 else rng.choice(open_steps)
        company = companies[index % len(companies)]
        company_people = staff.get(company, [])
        chosen = rng.sample(company_people, k=min(len(company_people), rng.choice((1, 1, 2, 3))))
        currency = rng.choices(["USD", "EUR", "GBP"], (5, 3, 2))[0]
        amount = Decimal(
            rng.choice((2, 5, 8, 12, 20, 35, 60, 90)) * 1000 + rng.randrange(0, 10) * 250
        )
        close = today + dt.timedelta(days=rng.randrange(-60, 120))
        if target.type != StageType.OPEN:
            close = today - dt.timedelta(days=rng.randrange(1, 90))
        name = f"{names.get(company, 'New business')} — {rng.choice(PRODUCTS)}"
        data: dict[str, Any] = {
            "name": name,
            "stage": str(open_steps[0].pk),
            "amount": {"amount": f"{amount:.2f}", "currency": currency},
            "close_date": close.isoformat(),
            "owner": str(members[index % len(members)]),
            "company": company,
            "people": [
                {"id": pid, "role": ROLES[(index + i) % len(ROLES)]} for i, pid in enumerate(chosen)
            ],
            "next_step": rng.choice(NEXT_STEPS),
            "source": rng.choice(SOURCES),
            "tags": ["renewal"] if renewal else rng.choice(([], [], ["enterprise"], ["q-focus"])),
        }
        deal = services.deal_create(actor=actor, data=data, source=SOURCE)
        # Walk the deal along its pipeline so that it has a stage history.
        path = [s for s in open_steps[1:] if s.position <= target.position]
        if target.type != StageType.OPEN:
            path = [*open_steps[1 : rng.randrange(1, len(open_steps) + 1)], target]
        for stage in path:
            extra: dict[str, Any] = {}
            if stage.type == StageType.LOST and reasons:
                extra = {
                    "lost_reason": str(rng.choice(reasons).pk),
                    "lost_note": rng.choice(LOST_NOTES),
                }
            deal = services.deal_move(
                actor=actor, deal_id=deal.pk, stage=str(stage.pk), data=extra, source=SOURCE
            )
        made += 1
        if index % 4 == 0 and chosen:
            _log_interactions(actor, rng, deal, chosen)
    return made


def _log_interactions(actor: Actor, rng: random.Random, deal, people: list[str]) -> None:
    from rapport.activities import services as activity_services

    now = timezone.now().replace(second=0, microsecond=0)
    targets = [{"type": "deal", "id": str(deal.pk)}] + [
        {"type": "person", "id": pid} for pid in people[:1]
    ]
    activity_services.activity_create(
        actor=actor,
        data={
            "type": "call",
            "subject": f"{deal.name}: pricing",
            "direction": "outbound",
            "body": "Walked through the proposal; they want a volume discount.",
            "occurred_at": now - dt.timedelta(days=rng.randrange(1, 20)),
            "data": {"duration_s": rng.randrange(300, 2400), "outcome": "connected"},
            "targets": targets,
        },
        source=SOURCE,
    )
    activity_services.activity_create(
        actor=actor,
        data={
            "type": "note",
            "body": f"**{deal.name}**: {deal.next_step or 'next step to agree'}.",
            "occurred_at": now - dt.timedelta(days=rng.randrange(0, 5)),
            "targets": targets,
        },
        source=SOURCE,
    )
