"""A lead's score from the workspace's rules, with the reasons that explain it.

Three kinds of rule (``LeadScoringRule``): a field matching a value (``+10 title contains
'VP'``), points per interaction of a type linked to the lead (``+6 2 × call``), and decay,
points lost per N days without activity (``-5 inactive 30 days``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count
from django.utils import timezone

from rapport.core.context import memo

from .lead_models import Lead, LeadScoringRule, RuleKind, RuleOperator

# The lead fields a field rule may test.
SCORABLE_FIELDS = {
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "phone": "Phone",
    "company_name": "Company",
    "title": "Title",
    "country": "Country",
    "source": "Source",
    "status": "Status",
}


@dataclass(frozen=True)
class Score:
    score: int
    reasons: list[str]


def field_value(lead: Lead, field: str) -> str:
    if field.startswith("custom."):
        value = (lead.custom or {}).get(field.removeprefix("custom."))
    else:
        value = getattr(lead, field, "") if field in SCORABLE_FIELDS else ""
    return "" if value is None else str(value)


def matches(lead: Lead, field: str, operator: str, value: str) -> bool:
    actual = field_value(lead, field).strip().lower()
    wanted = (value or "").strip().lower()
    if operator == RuleOperator.EQUALS:
        return actual == wanted
    if operator == RuleOperator.CONTAINS:
        return bool(wanted) and wanted in actual
    if operator == RuleOperator.NOT_EMPTY:
        return bool(actual)
    return False


def _signed(points: int) -> str:
    return f"+{points}" if points >= 0 else str(points)


def interaction_counts(leads: Iterable[Lead]) -> dict:
    """``{lead_id: {interaction type: count}}`` for many leads in one query."""
    from rapport.activities.models import ActivityTarget

    ids = [lead.pk for lead in leads]
    out: dict = {}
    rows = (
        ActivityTarget.objects.filter(target_type="lead", target_id__in=ids)
        .values("target_id", "activity_type")
        .annotate(n=Count("id"))
    )
    for row in rows:
        out.setdefault(row["target_id"], {})[row["activity_type"]] = row["n"]
    return out


def lead_score(
    lead: Lead,
    *,
    rules: list[LeadScoringRule] | None = None,
    interactions: dict[str, int] | None = None,
    now: dt.datetime | None = None,
) -> Score:
    """The score of ``lead`` and why. ``rules``/``interactions`` may be given (a batch loads
    them once); otherwise they are read."""
    if rules is None:
        # Read once per import batch (core.context.batch_scope), per lead otherwise.
        rules = memo(
            ("lead_scoring_rules", lead.workspace_id),
            lambda: list(LeadScoringRule.objects.filter(workspace_id=lead.workspace_id)),
        )
    if interactions is None:
        interactions = interaction_counts([lead]).get(lead.pk, {}) if lead.pk else {}
    now = now or timezone.now()
    total = 0
    reasons: list[str] = []
    for rule in rules:
        if rule.kind == RuleKind.FIELD:
            if matches(lead, rule.field, rule.operator, rule.value):
                total += rule.points
                label = rule.field
                if rule.operator == RuleOperator.NOT_EMPTY:
                    reasons.append(f"{_signed(rule.points)} {label} is not empty")
                else:
                    reasons.append(f"{_signed(rule.points)} {label} {rule.operator} '{rule.value}'")
        elif rule.kind == RuleKind.INTERACTION:
            n = interactions.get(rule.value, 0)
            if n:
                points = rule.points * n
                total += points
                reasons.append(f"{_signed(points)} {n} × {rule.value}")
        elif rule.kind == RuleKind.DECAY:
            try:
                days = int(rule.value)
            except ValueError:
                continue
            if days <= 0:
                continue
            since = lead.last_activity_at or lead.created_at or now
            idle = max(0, (now - since).days)
            periods = idle // days
            if periods:
                lost = abs(rule.points) * periods
                total -= lost
                reasons.append(f"-{lost} inactive {periods * days} days")
    return Score(total, reasons)


def rescore(lead: Lead, **kwargs) -> bool:
    """Sets the lead's score and reasons; True when they changed (the caller saves)."""
    result = lead_score(lead, **kwargs)
    changed = (lead.score, lead.score_reasons) != (result.score, result.reasons)
    lead.score, lead.score_reasons = result.score, result.reasons
    return changed


def rescore_workspace(workspace_id, *, batch: int = 500) -> int:
    """Recomputes every open lead of a workspace (daily: decay moves with time); answers how
    many changed. A constant number of queries per batch."""
    rules = list(LeadScoringRule.objects.filter(workspace_id=workspace_id))
    qs = Lead.objects.filter(
        workspace_id=workspace_id, deleted_at__isnull=True, converted_at__isnull=True
    ).order_by("pk")
    changed = 0
    last = None
    now = timezone.now()
    while True:
        page = qs.filter(pk__gt=last) if last else qs
        leads = list(page[:batch])
        if not leads:
            return changed
        counts = interaction_counts(leads)
        dirty = [
            lead
            for lead in leads
            if rescore(lead, rules=rules, interactions=counts.get(lead.pk, {}), now=now)
        ]
        Lead.objects.bulk_update(dirty, ["score", "score_reasons"])
        changed += len(dirty)
        last = leads[-1].pk
