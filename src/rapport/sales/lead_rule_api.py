"""/api/v1/lead-scoring-rules and /lead-assignment-rules: parse, call a selector or a service,
shape the answer. Every member reads the rules; only admins write (the services say so).

The rules carry no version (no ETag/If-Match), like lost reasons."""

from __future__ import annotations

import uuid

from django.http import HttpResponse
from ninja import Query, Router

from rapport.core.api import (
    COMMON_ERRORS,
    WRITE_ERRORS,
    actor_of,
    dump,
    idempotent,
    json_response,
    list_response,
)

from . import lead_rule_selectors as selectors
from . import lead_services as services
from .lead_rule_schemas import (
    AssignmentRuleIn,
    AssignmentRuleList,
    AssignmentRuleOut,
    RuleKindValue,
    ScoringRuleIn,
    ScoringRuleList,
    ScoringRuleOut,
)

scoring_rules_router = Router(tags=["lead rules"])
assignment_rules_router = Router(tags=["lead rules"])

Limit = Query(50, ge=1, le=500, description="Page size (max 500)")
Cursor = Query(None, max_length=1000, description="The `next` value of the previous page")
KindFilter = Query(None, description="field, interaction or decay")
ActiveFilter = Query(None, description="true: only the rules that route leads")


def _answer(schema, rule, *, status: int = 200, location: str = "") -> HttpResponse:
    headers = {"Location": location} if location else None
    return json_response(dump(schema, rule), status=status, headers=headers)


# --- scoring rules ------------------------------------------------------------------------------


@scoring_rules_router.get(
    "", response={200: ScoringRuleList, **COMMON_ERRORS}, summary="List lead scoring rules"
)
def list_scoring_rules(
    request,
    limit: int = Limit,
    cursor: str | None = Cursor,
    kind: RuleKindValue | None = KindFilter,
) -> HttpResponse:
    page = selectors.scoring_rule_page(
        actor=actor_of(request), cursor=cursor, limit=limit, kind=kind
    )
    return list_response(ScoringRuleOut, page)


@scoring_rules_router.post(
    "",
    response={201: ScoringRuleOut, **WRITE_ERRORS},
    summary="Create a lead scoring rule (admins)",
)
def create_scoring_rule(request, payload: ScoringRuleIn) -> HttpResponse:
    actor = actor_of(request)

    def create() -> HttpResponse:
        rule = services.scoring_rule_create(
            actor=actor, data=payload.model_dump(exclude_unset=True)
        )
        location = f"/api/v1/lead-scoring-rules/{rule.pk}"
        return _answer(ScoringRuleOut, rule, status=201, location=location)

    return idempotent(request, create)


@scoring_rules_router.post(
    "/rescore",
    response={202: None, **WRITE_ERRORS},
    summary="Rescore every open lead of the workspace now, in the background (admins)",
)
def rescore_leads(request) -> HttpResponse:
    services.leads_rescore_queue(actor=actor_of(request))
    return HttpResponse(status=202)


@scoring_rules_router.get(
    "/{rule_id}", response={200: ScoringRuleOut, **COMMON_ERRORS}, summary="Get a scoring rule"
)
def get_scoring_rule(request, rule_id: uuid.UUID) -> HttpResponse:
    return _answer(
        ScoringRuleOut, selectors.scoring_rule_get(actor=actor_of(request), rule_id=rule_id)
    )


@scoring_rules_router.patch(
    "/{rule_id}",
    response={200: ScoringRuleOut, **WRITE_ERRORS},
    summary="Change a scoring rule (admins; send only what changes)",
)
def update_scoring_rule(request, rule_id: uuid.UUID, payload: ScoringRuleIn) -> HttpResponse:
    rule = services.scoring_rule_update(
        actor=actor_of(request), rule_id=rule_id, data=payload.model_dump(exclude_unset=True)
    )
    return _answer(ScoringRuleOut, rule)


@scoring_rules_router.delete(
    "/{rule_id}", response={204: None, **WRITE_ERRORS}, summary="Delete a scoring rule (admins)"
)
def delete_scoring_rule(request, rule_id: uuid.UUID) -> HttpResponse:
    services.scoring_rule_delete(actor=actor_of(request), rule_id=rule_id)
    return HttpResponse(status=204)


# --- assignment rules ---------------------------------------------------------------------------


@assignment_rules_router.get(
    "",
    response={200: AssignmentRuleList, **COMMON_ERRORS},
    summary="List lead assignment rules in the order they are tried",
)
def list_assignment_rules(
    request,
    limit: int = Limit,
    cursor: str | None = Cursor,
    active: bool | None = ActiveFilter,
) -> HttpResponse:
    page = selectors.assignment_rule_page(
        actor=actor_of(request), cursor=cursor, limit=limit, active=active
    )
    return list_response(AssignmentRuleOut, page)


@assignment_rules_router.post(
    "",
    response={201: AssignmentRuleOut, **WRITE_ERRORS},
    summary="Create a lead assignment rule (admins; last in the order unless `position`)",
)
def create_assignment_rule(request, payload: AssignmentRuleIn) -> HttpResponse:
    actor = actor_of(request)

    def create() -> HttpResponse:
        rule = services.assignment_rule_create(
            actor=actor, data=payload.model_dump(exclude_unset=True)
        )
        location = f"/api/v1/lead-assignment-rules/{rule.pk}"
        return _answer(AssignmentRuleOut, rule, status=201, location=location)

    return idempotent(request, create)


@assignment_rules_router.get(
    "/{rule_id}",
    response={200: AssignmentRuleOut, **COMMON_ERRORS},
    summary="Get an assignment rule",
)
def get_assignment_rule(request, rule_id: uuid.UUID) -> HttpResponse:
    return _answer(
        AssignmentRuleOut, selectors.assignment_rule_get(actor=actor_of(request), rule_id=rule_id)
    )


@assignment_rules_router.patch(
    "/{rule_id}",
    response={200: AssignmentRuleOut, **WRITE_ERRORS},
    summary="Change or move an assignment rule (admins; send only what changes)",
)
def update_assignment_rule(request, rule_id: uuid.UUID, payload: AssignmentRuleIn) -> HttpResponse:
    rule = services.assignment_rule_update(
        actor=actor_of(request), rule_id=rule_id, data=payload.model_dump(exclude_unset=True)
    )
    return _answer(AssignmentRuleOut, rule)


@assignment_rules_router.delete(
    "/{rule_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Delete an assignment rule (admins; the rules after it move up)",
)
def delete_assignment_rule(request, rule_id: uuid.UUID) -> HttpResponse:
    services.assignment_rule_delete(actor=actor_of(request), rule_id=rule_id)
    return HttpResponse(status=204)
