"""Reads of the workspace's lead scoring and assignment rules (Settings pages and the API).

Every member reads the rules (they explain a lead's score and owner); only admins change them
(``lead_services``). Another workspace's rule is "not found".
"""

from __future__ import annotations

from rapport.core.actors import Actor
from rapport.core.errors import NotFound, ValidationFailed
from rapport.core.pagination import Page, Sort, keyset_page
from rapport.core.validation import clean_uuid

from .lead_models import LeadAssignmentRule, LeadScoringRule

# Positions are the order rules were made in (scoring) or are routed in (assignment).
RULE_SORT = Sort(field="position", descending=False)


def _pk(rule_id):
    try:
        return clean_uuid(rule_id)
    except ValidationFailed:
        return None


def scoring_rule_list(*, actor: Actor) -> list[LeadScoringRule]:
    return list(LeadScoringRule.objects.visible_to(actor).order_by("position", "created_at", "id"))


def scoring_rule_page(
    *, actor: Actor, cursor: str | None = None, limit: int = 50, kind: str | None = None
) -> Page:
    qs = LeadScoringRule.objects.visible_to(actor)
    if kind:
        qs = qs.filter(kind=kind)
    return keyset_page(qs, sort=RULE_SORT, cursor=cursor, limit=limit)


def scoring_rule_get(*, actor: Actor, rule_id) -> LeadScoringRule:
    pk = _pk(rule_id)
    rule = LeadScoringRule.objects.visible_to(actor).filter(pk=pk).first() if pk else None
    if rule is None:
        raise NotFound("No such scoring rule.")
    return rule


def _assignment_rules(actor: Actor):
    return LeadAssignmentRule.objects.visible_to(actor).select_related("team", "user")


def assignment_rule_list(*, actor: Actor) -> list[LeadAssignmentRule]:
    return list(_assignment_rules(actor).order_by("position", "created_at", "id"))


def assignment_rule_page(
    *, actor: Actor, cursor: str | None = None, limit: int = 50, active: bool | None = None
) -> Page:
    qs = _assignment_rules(actor)
    if active is not None:
        qs = qs.filter(active=active)
    return keyset_page(qs, sort=RULE_SORT, cursor=cursor, limit=limit)


def assignment_rule_get(*, actor: Actor, rule_id) -> LeadAssignmentRule:
    pk = _pk(rule_id)
    rule = _assignment_rules(actor).filter(pk=pk).first() if pk else None
    if rule is None:
        raise NotFound("No such assignment rule.")
    return rule
