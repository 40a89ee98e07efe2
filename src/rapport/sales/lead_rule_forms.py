"""Forms of Settings → Lead scoring and Lead assignment.

They only render and carry the posted text: ``lead_services`` validates (one set of rules and
messages for the pages and the API), and the views put its field errors back on these forms.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Count

from rapport.activities.models import ActivityType
from rapport.core.actors import Actor
from rapport.customization.selectors import fields_for
from rapport.tenancy.models import Team
from rapport.tenancy.selectors import member_choices
from rapport.users.forms import NoColon

from .lead_models import LeadAssignmentRule, LeadScoringRule, RuleKind, RuleOperator
from .lead_scoring import SCORABLE_FIELDS
from .lead_services import LEAD_MODEL_LABEL

OPERATOR_CHOICES = [("", "— choose —"), *RuleOperator.choices]


def lead_field_choices(actor: Actor) -> list[tuple[str, str]]:
    """The lead fields a rule may test, custom fields included."""
    custom = [(f"custom.{f.key}", f.label) for f in fields_for(actor.workspace, LEAD_MODEL_LABEL)]
    return [*SCORABLE_FIELDS.items(), *custom]


def _select(label: str, choices: list[tuple[str, str]], **kwargs: Any) -> forms.CharField:
    # A CharField drawn as a select: an unknown value reaches the service, which names it.
    return forms.CharField(
        label=label, required=False, widget=forms.Select(choices=choices), **kwargs
    )


class ScoringRuleForm(NoColon, forms.Form):
    kind = _select("Kind of rule", RuleKind.choices)
    field = _select("Lead field", [])
    operator = _select("Test", OPERATOR_CHOICES)
    value = forms.CharField(
        label="Value",
        required=False,
        max_length=255,
        help_text="Field rules: the text compared with (not case-sensitive). Inactivity "
        "decay: the number of days.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "e.g. VP"}),
    )
    interaction = _select("Interaction type", ActivityType.choices)
    points = forms.CharField(
        label="Points",
        required=False,
        help_text="From -1000 to 1000. Inactivity decay: the points lost per period.",
        widget=forms.NumberInput(attrs={"min": -1000, "max": 1000, "step": 1}),
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any):
        super().__init__(*args, **kwargs)
        choices = [("", "— choose —"), *lead_field_choices(actor)]
        self.fields["field"].widget.choices = choices  # type: ignore[attr-defined]

    @classmethod
    def for_rule(cls, rule: LeadScoringRule, *, actor: Actor) -> ScoringRuleForm:
        interaction = rule.value if rule.kind == RuleKind.INTERACTION else ""
        value = "" if rule.kind == RuleKind.INTERACTION else rule.value
        initial = {
            "kind": rule.kind,
            "field": rule.field,
            "operator": rule.operator,
            "value": value,
            "interaction": interaction,
            "points": rule.points,
        }
        return cls(initial=initial, actor=actor)

    def to_data(self) -> dict[str, Any]:
        """What the service takes: an interaction rule's value is its type."""
        data = {k: self.data.get(k, "") for k in ("kind", "field", "operator", "value", "points")}
        if data["kind"] == RuleKind.INTERACTION:
            data["value"] = self.data.get("interaction", "")
        if data["kind"] != RuleKind.FIELD:
            data["field"] = data["operator"] = ""
        return data


class AssignmentRuleForm(NoColon, forms.Form):
    TARGETS = [("user", "A fixed user"), ("team", "Round robin in a team")]

    name = forms.CharField(
        label="Name",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "e.g. DACH inbound"}),
    )
    countries = forms.CharField(
        label="Countries",
        required=False,
        help_text="ISO codes separated by commas, e.g. DE, AT, CH. Empty: any country.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "DE, AT, CH"}),
    )
    field = _select("Lead field", [])
    operator = _select("Test", OPERATOR_CHOICES)
    value = forms.CharField(
        label="Value",
        required=False,
        max_length=255,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "e.g. Partner"}),
    )
    target = forms.CharField(
        label="Assign to", required=False, widget=forms.RadioSelect(choices=TARGETS)
    )
    user = _select("User", [])
    team = _select("Team", [])
    active = forms.BooleanField(
        label="Active: route new leads with this rule", required=False, initial=True
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any):
        super().__init__(*args, **kwargs)
        ws = actor.workspace
        fields = [("", "— any lead (no field test) —"), *lead_field_choices(actor)]
        self.fields["field"].widget.choices = fields  # type: ignore[attr-defined]
        users = [("", "— choose —"), *member_choices(workspace=ws)]
        self.fields["user"].widget.choices = users  # type: ignore[attr-defined]
        teams = Team.objects.filter(workspace=ws).annotate(n=Count("memberships")).order_by("name")
        team_choices = [(str(t.pk), f"{t.name} ({t.n} members)") for t in teams]
        self.fields["team"].widget.choices = [("", "— choose —"), *team_choices]  # type: ignore[attr-defined]

    @classmethod
    def for_rule(cls, rule: LeadAssignmentRule, *, actor: Actor) -> AssignmentRuleForm:
        initial = {
            "name": rule.name,
            "countries": ", ".join(rule.countries or []),
            "field": rule.field,
            "operator": rule.operator,
            "value": rule.value,
            "target": "team" if rule.team_id else "user",
            "user": str(rule.user_id or ""),
            "team": str(rule.team_id or ""),
            "active": rule.active,
        }
        return cls(initial=initial, actor=actor)

    def to_data(self) -> dict[str, Any]:
        raw = self.data.get("countries", "")
        countries = [c for c in raw.replace(";", ",").replace(" ", ",").split(",") if c]
        target = self.data.get("target", "user")
        return {
            "name": self.data.get("name", ""),
            "countries": countries,
            "field": self.data.get("field", ""),
            "operator": self.data.get("operator", ""),
            "value": self.data.get("value", ""),
            "user": self.data.get("user", "") if target != "team" else None,
            "team": self.data.get("team", "") if target == "team" else None,
            "active": self.data.get("active") in ("on", "true", "1"),
        }
