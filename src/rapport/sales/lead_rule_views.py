"""Settings → Lead scoring and Lead assignment.

Every member sees the rules (they explain a lead's score and owner); only owners and admins
change them, which the services enforce (a member's POST answers the 403 page, as the other
settings pages do). Another workspace's rule is a 404. Views parse input and call
``lead_services``; reads go through ``lead_rule_selectors``.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods, require_POST

from rapport.core.actors import Actor
from rapport.core.errors import ValidationFailed
from rapport.core.policy import is_admin
from rapport.tenancy.models import Team
from rapport.ui.views import workspace_required

from . import lead_rule_selectors as selectors
from . import lead_services as services
from .lead_models import LeadAssignmentRule, LeadScoringRule, RuleKind, RuleOperator
from .lead_rule_forms import AssignmentRuleForm, ScoringRuleForm, lead_field_choices


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _ctx(actor: Actor, tab: str, **extra: Any) -> dict[str, Any]:
    return {"nav": "settings", "tab": tab, "is_admin": is_admin(actor), **extra}


def _put_errors(form, exc: ValidationFailed, rename: dict[str, str] | None = None) -> None:
    """The service's field errors on the form's fields (``countries.2`` on ``countries``);
    the rest above the form."""
    form.is_valid()  # (add_error needs cleaned_data)
    for err in exc.errors:
        name = (rename or {}).get(err.field, err.field.split(".")[0])
        form.add_error(name if name in form.fields else None, err.message)
    if not exc.errors:
        form.add_error(None, exc.detail)


def _signed(points: int) -> str:
    return f"+{points}" if points >= 0 else f"−{abs(points)}"


def _condition(labels: dict[str, str], field: str, operator: str, value: str) -> str:
    label = labels.get(field, field)
    if operator == RuleOperator.NOT_EMPTY:
        return f"{label} is not empty"
    return f"{label} {dict(RuleOperator.choices).get(operator, operator)} “{value}”"


# --- scoring ------------------------------------------------------------------------------------


def _describe_scoring(rules: list[LeadScoringRule], labels: dict[str, str]) -> None:
    """Each rule in words, for the list: what earns (or costs) how many points."""
    for rule in rules:
        if rule.kind == RuleKind.FIELD:
            text = _condition(labels, rule.field, rule.operator, rule.value)
            points = _signed(rule.points)
        elif rule.kind == RuleKind.INTERACTION:
            text = f"Each {rule.value} logged with the lead"
            points = _signed(rule.points)
        else:
            text = f"Every {rule.value} days without activity"
            points = f"−{abs(rule.points)}"
        rule.text, rule.points_text = text, points  # type: ignore[attr-defined]


def _scoring_page(
    request: HttpRequest, *, form: ScoringRuleForm | None = None, status: int = 200
) -> HttpResponse:
    actor = _actor(request)
    rules = selectors.scoring_rule_list(actor=actor)
    _describe_scoring(rules, dict(lead_field_choices(actor)))
    groups = [
        (kind, label, [r for r in rules if r.kind == kind]) for kind, label in RuleKind.choices
    ]
    context = _ctx(
        actor,
        "lead_scoring",
        rules=rules,
        groups=groups,
        form=form or ScoringRuleForm(actor=actor, initial={"kind": RuleKind.FIELD}),
    )
    return render(request, "sales/settings/lead_rule_scoring.html", context, status=status)


@require_http_methods(["GET", "POST"])
@workspace_required
def scoring_rules(request: HttpRequest) -> HttpResponse:
    """GET: the rules and a form to add one; POST: add it."""
    if request.method == "GET":
        return _scoring_page(request)
    actor = _actor(request)
    form = ScoringRuleForm(request.POST, actor=actor)
    try:
        services.scoring_rule_create(actor=actor, data=form.to_data())
    except ValidationFailed as exc:
        _put_errors(form, exc, _scoring_renames(form))
        return _scoring_page(request, form=form, status=422)
    messages.success(
        request,
        "Rule added. New and changed leads use it now; use “Rescore all leads now” to apply "
        "it to the others.",
    )
    return redirect("sales:settings_lead_scoring")


def _scoring_renames(form: ScoringRuleForm) -> dict[str, str]:
    # An interaction rule's value is chosen in the "Interaction type" select.
    return {"value": "interaction"} if form.data.get("kind") == RuleKind.INTERACTION else {}


@require_http_methods(["GET", "POST"])
@workspace_required
def scoring_rule_edit(request: HttpRequest, rule_id: uuid.UUID) -> HttpResponse:
    actor = _actor(request)
    rule = selectors.scoring_rule_get(actor=actor, rule_id=rule_id)
    status = 200
    if request.method == "GET":
        form = ScoringRuleForm.for_rule(rule, actor=actor)
    else:
        form = ScoringRuleForm(request.POST, actor=actor)
        try:
            services.scoring_rule_update(actor=actor, rule_id=rule.pk, data=form.to_data())
        except ValidationFailed as exc:
            _put_errors(form, exc, _scoring_renames(form))
            status = 422
        else:
            messages.success(request, "Rule saved.")
            return redirect("sales:settings_lead_scoring")
    context = _ctx(actor, "lead_scoring", rule=rule, form=form)
    return render(request, "sales/settings/lead_rule_scoring_edit.html", context, status=status)


@require_POST
@workspace_required
def scoring_rule_delete(request: HttpRequest, rule_id: uuid.UUID) -> HttpResponse:
    services.scoring_rule_delete(actor=_actor(request), rule_id=rule_id)
    messages.success(request, "Rule deleted. Scores change when leads are next rescored.")
    return redirect("sales:settings_lead_scoring")


@require_POST
@workspace_required
def rescore(request: HttpRequest) -> HttpResponse:
    services.leads_rescore_queue(actor=_actor(request))
    messages.success(
        request,
        "Rescoring every open lead in the background: scores update within a few minutes.",
    )
    return redirect("sales:settings_lead_scoring")


# --- assignment ---------------------------------------------------------------------------------


def _describe_assignment(
    rules: list[LeadAssignmentRule], labels: dict[str, str], team_sizes: dict
) -> None:
    """Each rule in words: which leads it takes, and to whom they go."""
    for rule in rules:
        when = []
        if rule.countries:
            when.append(f"Country is {', '.join(rule.countries)}")
        if rule.field:
            when.append(_condition(labels, rule.field, rule.operator, rule.value))
        rule.when = " and ".join(when) or "Every new lead"  # type: ignore[attr-defined]
        if rule.team_id:
            size = team_sizes.get(rule.team_id, 0)
            rule.to = f"Round robin in {rule.team.name}"  # type: ignore[attr-defined,union-attr]
            rule.empty_team = size == 0  # type: ignore[attr-defined]
        else:
            rule.to = rule.user.display_name if rule.user else "—"  # type: ignore[attr-defined]
            rule.empty_team = False  # type: ignore[attr-defined]


def _assignment_page(
    request: HttpRequest, *, form: AssignmentRuleForm | None = None, status: int = 200
) -> HttpResponse:
    actor = _actor(request)
    rules = selectors.assignment_rule_list(actor=actor)
    sizes = dict(
        Team.objects.filter(workspace=actor.workspace)
        .annotate(n=Count("memberships"))
        .values_list("pk", "n")
    )
    _describe_assignment(rules, dict(lead_field_choices(actor)), sizes)
    context = _ctx(
        actor,
        "lead_assignment",
        rules=rules,
        form=form or AssignmentRuleForm(actor=actor, initial={"active": True, "target": "user"}),
    )
    return render(request, "sales/settings/lead_rule_assignment.html", context, status=status)


@require_http_methods(["GET", "POST"])
@workspace_required
def assignment_rules(request: HttpRequest) -> HttpResponse:
    """GET: the rules in the order they are tried and a form to add one; POST: add it."""
    if request.method == "GET":
        return _assignment_page(request)
    actor = _actor(request)
    form = AssignmentRuleForm(request.POST, actor=actor)
    try:
        services.assignment_rule_create(actor=actor, data=form.to_data())
    except ValidationFailed as exc:
        _put_errors(form, exc)
        return _assignment_page(request, form=form, status=422)
    messages.success(request, "Rule added at the end of the list.")
    return redirect("sales:settings_lead_assignment")


@require_http_methods(["GET", "POST"])
@workspace_required
def assignment_rule_edit(request: HttpRequest, rule_id: uuid.UUID) -> HttpResponse:
    actor = _actor(request)
    rule = selectors.assignment_rule_get(actor=actor, rule_id=rule_id)
    status = 200
    if request.method == "GET":
        form = AssignmentRuleForm.for_rule(rule, actor=actor)
    else:
        form = AssignmentRuleForm(request.POST, actor=actor)
        try:
            services.assignment_rule_update(actor=actor, rule_id=rule.pk, data=form.to_data())
        except ValidationFailed as exc:
            _put_errors(form, exc)
            status = 422
        else:
            messages.success(request, "Rule saved.")
            return redirect("sales:settings_lead_assignment")
    context = _ctx(actor, "lead_assignment", rule=rule, form=form)
    return render(request, "sales/settings/lead_rule_assignment_edit.html", context, status=status)


@require_POST
@workspace_required
def assignment_rule_move(request: HttpRequest, rule_id: uuid.UUID) -> HttpResponse:
    """``direction`` up or down: one place earlier or later in the order."""
    actor = _actor(request)
    rule = selectors.assignment_rule_get(actor=actor, rule_id=rule_id)
    step = -1 if request.POST.get("direction") == "up" else 1
    services.assignment_rule_update(
        actor=actor, rule_id=rule.pk, data={"position": max(0, rule.position + step)}
    )
    return redirect("sales:settings_lead_assignment")


@require_POST
@workspace_required
def assignment_rule_delete(request: HttpRequest, rule_id: uuid.UUID) -> HttpResponse:
    services.assignment_rule_delete(actor=_actor(request), rule_id=rule_id)
    messages.success(request, "Rule deleted. Leads it assigned keep their owners.")
    return redirect("sales:settings_lead_assignment")


urlpatterns = [
    path("settings/sales/lead-scoring/", scoring_rules, name="settings_lead_scoring"),
    path("settings/sales/lead-scoring/rescore/", rescore, name="settings_lead_rescore"),
    path(
        "settings/sales/lead-scoring/<uuid:rule_id>/",
        scoring_rule_edit,
        name="settings_lead_scoring_rule",
    ),
    path(
        "settings/sales/lead-scoring/<uuid:rule_id>/delete/",
        scoring_rule_delete,
        name="settings_lead_scoring_rule_delete",
    ),
    path("settings/sales/lead-assignment/", assignment_rules, name="settings_lead_assignment"),
    path(
        "settings/sales/lead-assignment/<uuid:rule_id>/",
        assignment_rule_edit,
        name="settings_lead_assignment_rule",
    ),
    path(
        "settings/sales/lead-assignment/<uuid:rule_id>/move/",
        assignment_rule_move,
        name="settings_lead_assignment_rule_move",
    ),
    path(
        "settings/sales/lead-assignment/<uuid:rule_id>/delete/",
        assignment_rule_delete,
        name="settings_lead_assignment_rule_delete",
    ),
]
