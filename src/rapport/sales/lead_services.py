"""Writes for leads, their scoring rules, and lead conversion: the only code path that changes
them (DESIGN rule 1).

Every function takes an actor, runs in one transaction, validates everything before writing and
records one audit entry with field-level before/after. A lead's score is recomputed on every
create and update; a new lead without an owner goes through the assignment rules.

``lead_convert`` turns a qualified lead into a person, a company and optionally a deal in ONE
transaction: it matches an existing person by email and an existing company by email domain or
name instead of duplicating them, and moves the lead's interactions and tasks to the person.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from rapport.audit.services import diff, record
from rapport.contacts.models import Company, Person
from rapport.core.actors import Actor
from rapport.core.context import memo
from rapport.core.custom_fields import clean_custom
from rapport.core.errors import (
    ErrorCollector,
    FieldError,
    NotFound,
    ValidationFailed,
    check_version,
)
from rapport.core.policy import require_admin, require_delete, require_write
from rapport.core.purge import PURGE_BATCH
from rapport.core.tags import resolve_tags
from rapport.core.validation import (
    clean_choice,
    clean_country,
    clean_email,
    clean_int,
    clean_member,
    clean_phone,
    clean_tags,
    clean_text,
    clean_uuid,
)
from rapport.search import services as search_index
from rapport.tenancy.models import TeamMember

from . import lead_events as events
from .lead_models import (
    Lead,
    LeadAssignmentRule,
    LeadForm,
    LeadScoringRule,
    LeadStatus,
    RuleKind,
    RuleOperator,
)
from .lead_scoring import SCORABLE_FIELDS, matches, rescore

LEAD_MODEL_LABEL = "sales.lead"
LEAD_TEXT = {
    "first_name": 150,
    "last_name": 150,
    "company_name": 200,
    "title": 150,
    "source": 100,
    "disqualified_reason": 255,
}
LEAD_KEYS = {
    *LEAD_TEXT,
    "email",
    "phone",
    "country",
    "status",
    "owner",
    "consent",
    "consent_text",
    "tags",
    "custom",
}
LEAD_SNAPSHOT = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "company_name",
    "title",
    "country",
    "status",
    "disqualified_reason",
    "source",
    "owner_id",
    "consent",
    "consent_text",
    "custom",
)


def _clean_bool(value, field: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ValidationFailed.one(field, "Must be true or false.")


def _clean_lead(actor: Actor, data: Mapping[str, Any], *, current: Lead | None) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ValidationFailed.one("body", "Send a JSON object.")
    c = ErrorCollector()
    for key in data:
        if key not in LEAD_KEYS:
            c.errors.append(FieldError(str(key)[:100], "Unknown field."))
    ws = actor.workspace
    for key, limit in LEAD_TEXT.items():
        if key in data:
            c.take(key, clean_text, data[key], field=key, max_length=limit)
    if "email" in data:
        c.take("email", lambda v: clean_email(v).lower(), data["email"])
    if "phone" in data:
        c.take("phone", clean_phone, data["phone"], region=ws.default_region)
    if "country" in data:
        c.take("country", clean_country, data["country"], field="country")
    if "status" in data:
        c.take(
            "status",
            clean_choice,
            data["status"],
            field="status",
            choices=LeadStatus.choices,
            default=LeadStatus.NEW,
        )
    if "owner" in data:
        c.take("owner_id", clean_member, ws, data["owner"], "owner")
    if "consent" in data:
        c.take("consent", _clean_bool, data["consent"], "consent")
    if "consent_text" in data:
        c.take(
            "consent_text",
            clean_text,
            data["consent_text"],
            field="consent_text",
            max_length=5000,
            multiline=True,
        )
    if "tags" in data:
        c.take("tags", clean_tags, data["tags"])
    if "custom" in data or current is None:
        c.take(
            "custom",
            clean_custom,
            ws,
            LEAD_MODEL_LABEL,
            data.get("custom"),
            current=current.custom if current else None,
        )
    c.raise_if_any()
    values = c.values
    after = {
        k: values.get(k, getattr(current, k) if current else "")
        for k in ("first_name", "last_name", "email", "company_name")
    }
    if not any(after.values()):
        raise ValidationFailed(
            "A lead needs a name, an email or a company.",
            [FieldError("email", "Give a name, an email or a company.")],
        )
    status = values.get("status", current.status if current else LeadStatus.NEW)
    reason = values.get("disqualified_reason", current.disqualified_reason if current else "")
    if status == LeadStatus.DISQUALIFIED and not reason:
        raise ValidationFailed.one(
            "disqualified_reason", "Say why the lead is disqualified (disqualified_reason)."
        )
    if status != LeadStatus.DISQUALIFIED and "disqualified_reason" not in values:
        values["disqualified_reason"] = ""
    return values


def lead_snapshot(lead: Lead) -> dict[str, Any]:
    return {f: getattr(lead, f) for f in LEAD_SNAPSHOT}


def _apply(lead: Lead, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if key != "tags":
            setattr(lead, key, value)


# --- assignment ---------------------------------------------------------------------------------


def _rule_matches(lead: Lead, rule: LeadAssignmentRule) -> bool:
    if rule.countries and lead.country.upper() not in {c.upper() for c in rule.countries}:
        return False
    return not rule.field or matches(lead, rule.field, rule.operator, rule.value)


def _next_in_team(rule: LeadAssignmentRule):
    """The next member of the rule's team, round robin. The rule row is locked so two leads
    created at once never get the same turn."""
    locked = LeadAssignmentRule.objects.select_for_update().get(pk=rule.pk)
    members = list(
        TeamMember.objects.filter(team_id=locked.team_id)
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )
    if not members:
        return None
    index = (locked.last_index + 1) % len(members)
    LeadAssignmentRule.objects.filter(pk=locked.pk).update(last_index=index)
    return members[index]


def assign_owner(actor: Actor, lead: Lead) -> None:
    """Routes a lead without an owner through the workspace's active rules, first match wins."""
    # Read once per import batch (core.context.batch_scope), per lead otherwise.
    rules = memo(
        ("lead_assignment_rules", actor.workspace.pk),
        lambda: list(
            LeadAssignmentRule.objects.filter(workspace=actor.workspace, active=True).order_by(
                "position", "created_at"
            )
        ),
    )
    for rule in rules:
        if not _rule_matches(lead, rule):
            continue
        if rule.user_id:
            lead.owner_id = rule.user_id
            return
        if rule.team_id:
            owner = _next_in_team(rule)
            if owner is not None:
                lead.owner_id = owner
                return


# The rules a workspace keeps: a settings list, not a table of data (every lead save reads them).
MAX_RULES = 200
ASSIGNMENT_RULE_KEYS = frozenset(
    {"name", "active", "field", "operator", "value", "countries", "team", "user", "position"}
)
ASSIGNMENT_RULE_SNAPSHOT = (
    "name",
    "active",
    "field",
    "operator",
    "value",
    "countries",
    "team_id",
    "user_id",
)


def _unknown_keys(c: ErrorCollector, data: Mapping[str, Any], allowed: frozenset[str]) -> None:
    for key in data:
        if key not in allowed:
            c.errors.append(FieldError(str(key)[:100], "Unknown field."))


def _clean_condition(
    c: ErrorCollector, ws, *, field: Any, operator: Any, value: str, required: bool
) -> tuple[str, str, str]:
    """The lead-field test scoring and assignment rules share: ``field`` is a lead field or
    ``custom.<key>`` of one of the workspace's lead custom fields. Answers (field, operator,
    value), all "" when there is no test."""
    from rapport.customization.selectors import fields_for

    if field is not None and not isinstance(field, str):
        c.errors.append(FieldError("field", "Must be text."))
        return "", "", ""
    field = (field or "").strip()
    if not field:
        if required:
            c.errors.append(FieldError("field", "Choose the lead field to test."))
        return "", "", ""
    custom = [f"custom.{f.key}" for f in fields_for(ws, LEAD_MODEL_LABEL)]
    if field not in SCORABLE_FIELDS and field not in custom:
        known = ", ".join([*SCORABLE_FIELDS, *custom])
        c.errors.append(FieldError("field", f"Unknown lead field; use one of: {known}."))
    if operator not in RuleOperator.values:
        c.errors.append(FieldError("operator", "Choose equals, contains or not_empty."))
        return field, "", value
    if operator == RuleOperator.NOT_EMPTY:
        return field, operator, ""
    if not value:
        c.errors.append(FieldError("value", "Give the value to compare with."))
    return field, operator, value


def _clean_countries(c: ErrorCollector, countries: Any) -> list[str]:
    if countries is None:
        return []
    if not isinstance(countries, list | tuple) or len(countries) > 300:
        c.errors.append(FieldError("countries", "Send a list of country codes."))
        return []
    cleaned: list[str] = []
    for i, code in enumerate(countries):
        try:
            code = clean_country(code, field=f"countries.{i}")
        except ValidationFailed as exc:
            c.errors.extend(exc.errors)
        else:
            if code and code not in cleaned:
                cleaned.append(code)
    return cleaned


def _clean_team(c: ErrorCollector, ws, value: Any):
    from rapport.tenancy.models import Team

    if value in (None, ""):
        return None
    try:
        pk = clean_uuid(value, "team")
    except ValidationFailed as exc:
        c.errors.extend(exc.errors)
        return None
    if not Team.objects.filter(workspace=ws, pk=pk).exists():
        c.errors.append(FieldError("team", "No such team in this workspace."))
        return None
    return pk


def _clean_assignment_rule(
    actor: Actor, data: Mapping[str, Any], *, current: LeadAssignmentRule | None
) -> dict[str, Any]:
    """The whole rule after ``data`` is applied to ``current`` (None: a new rule). Sending
    ``user`` or ``team`` replaces the target: the other one is cleared."""
    if not isinstance(data, Mapping):
        raise ValidationFailed.one("body", "Send a JSON object.")
    ws = actor.workspace
    before = assignment_rule_snapshot(current) if current else {}

    def pick(key: str, default: Any) -> Any:
        return data[key] if key in data else before.get(key, default)

    c = ErrorCollector()
    _unknown_keys(c, data, ASSIGNMENT_RULE_KEYS)
    c.take("name", clean_text, pick("name", ""), field="name", max_length=100)
    c.take("value", clean_text, pick("value", ""), field="value", max_length=255)
    c.take("active", _clean_bool, pick("active", True), "active")
    countries = _clean_countries(c, pick("countries", []))
    field, operator, value = _clean_condition(
        c,
        ws,
        field=pick("field", ""),
        operator=pick("operator", ""),
        value=c.values.get("value", ""),
        required=False,
    )
    if "user" in data or "team" in data:
        user, team = data.get("user"), data.get("team")
    else:
        user, team = before.get("user_id"), before.get("team_id")
    c.take("user_id", clean_member, ws, user, "user")
    team_id = _clean_team(c, ws, team)
    c.raise_if_any()
    user_id = c.values["user_id"]
    if user_id is None and team_id is None:
        raise ValidationFailed.one("user", "Assign to one user or one team.")
    if user_id is not None and team_id is not None:
        raise ValidationFailed.one("team", "Assign to a user or to a team, not both.")
    return {
        "name": c.values["name"],
        "active": c.values["active"],
        "field": field,
        "operator": operator,
        "value": value,
        "countries": countries,
        "team_id": team_id,
        "user_id": user_id,
    }


def assignment_rule_snapshot(rule: LeadAssignmentRule) -> dict[str, Any]:
    return {key: getattr(rule, key) for key in ASSIGNMENT_RULE_SNAPSHOT}


def _assignment_rule(actor: Actor, rule_id) -> LeadAssignmentRule:
    # Found before the role is checked: another workspace's rule is 404 for every role.
    rule = (
        LeadAssignmentRule.objects.select_for_update()
        .filter(workspace=actor.workspace, pk=clean_uuid(rule_id, "id"))
        .first()
    )
    if rule is None:
        raise NotFound("No such assignment rule.")
    return rule


def _renumber(rules: list[LeadAssignmentRule]) -> None:
    """Positions 0..n-1 in list order (the order leads are routed in)."""
    moved = []
    for i, rule in enumerate(rules):
        if rule.position != i:
            rule.position = i
            moved.append(rule)
    LeadAssignmentRule.objects.bulk_update(moved, ["position"])


def _ordered_rules(ws) -> list[LeadAssignmentRule]:
    return list(
        LeadAssignmentRule.objects.select_for_update()
        .filter(workspace=ws)
        .order_by("position", "created_at", "id")
    )


@transaction.atomic
def assignment_rule_create(*, actor: Actor, data: Mapping[str, Any]) -> LeadAssignmentRule:
    """A routing rule (admins), last in the order: a condition (``field``/``operator``/
    ``value`` and/or ``countries``; none: every lead) and a target, a ``user`` or a ``team``
    (round robin). ``position`` (0 = first) puts it elsewhere."""
    require_admin(actor)
    ws = actor.workspace
    values = _clean_assignment_rule(actor, data, current=None)
    position = None
    if data.get("position") is not None:
        position = clean_int(data["position"], field="position", maximum=MAX_RULES)
    rules = _ordered_rules(ws)
    if len(rules) >= MAX_RULES:
        raise ValidationFailed.one("body", f"A workspace keeps at most {MAX_RULES} rules.")
    rule = LeadAssignmentRule(workspace=ws, position=len(rules), **values)
    rule.stamp(actor, created=True)
    rule.save()
    if position is not None and position < len(rules):
        rules.insert(position, rule)
        _renumber(rules)
    record(
        actor=actor,
        action=events.LEAD_ASSIGNMENT_RULE_CREATED,
        obj=rule,
        changes=diff({}, assignment_rule_snapshot(rule) | {"position": rule.position}),
    )
    return rule


@transaction.atomic
def assignment_rule_update(*, actor: Actor, rule_id, data: Mapping[str, Any]) -> LeadAssignmentRule:
    """Changes a rule (admins; send only what changes). ``position`` moves it in the order,
    the others shift."""
    rule = _assignment_rule(actor, rule_id)
    require_admin(actor)
    values = _clean_assignment_rule(actor, data, current=rule)
    before = assignment_rule_snapshot(rule) | {"position": rule.position}
    if values["team_id"] != rule.team_id:
        rule.last_index = -1  # a new team's round robin starts at its first member
    for key, value in values.items():
        setattr(rule, key, value)
    if data.get("position") is not None:
        position = clean_int(data["position"], field="position", maximum=MAX_RULES)
        rules = [r for r in _ordered_rules(actor.workspace) if r.pk != rule.pk]
        rules.insert(min(position, len(rules)), rule)
        _renumber(rules)
    changes = diff(before, assignment_rule_snapshot(rule) | {"position": rule.position})
    if changes:
        rule.stamp(actor)
        rule.save()
        record(actor=actor, action=events.LEAD_ASSIGNMENT_RULE_UPDATED, obj=rule, changes=changes)
    return rule


@transaction.atomic
def assignment_rule_delete(*, actor: Actor, rule_id) -> None:
    """Removes a rule (admins); the rules after it move up. Leads keep their owners."""
    rule = _assignment_rule(actor, rule_id)
    require_admin(actor)
    record(
        actor=actor,
        action=events.LEAD_ASSIGNMENT_RULE_DELETED,
        obj=rule,
        changes=diff(assignment_rule_snapshot(rule), {}),
    )
    rule.delete()
    _renumber(_ordered_rules(actor.workspace))


# --- web forms ----------------------------------------------------------------------------------

MAX_EXTRA_FIELDS = 20


@transaction.atomic
def lead_form_create(*, actor: Actor, data: Mapping[str, Any]) -> LeadForm:
    """A public web form (admins) with an unguessable key."""
    import re
    import secrets

    require_admin(actor)
    c = ErrorCollector()
    c.take("name", clean_text, data.get("name"), field="name", max_length=100, required=True)
    c.take(
        "consent_text",
        clean_text,
        data.get("consent_text"),
        field="consent_text",
        max_length=2000,
        multiline=True,
    )
    redirect_url = str(data.get("redirect_url") or "").strip()
    if redirect_url and not re.match(r"^https?://[^\s]+$", redirect_url):
        c.errors.append(FieldError("redirect_url", "Use an http(s) address."))
    fields = data.get("fields") or []
    if isinstance(fields, str):
        fields = [f for f in re.split(r"[,\s]+", fields) if f]
    if not isinstance(fields, list) or len(fields) > MAX_EXTRA_FIELDS:
        c.errors.append(FieldError("fields", f"At most {MAX_EXTRA_FIELDS} extra fields."))
        fields = []
    for i, name in enumerate(fields):
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,49}", name):
            c.errors.append(
                FieldError(f"fields.{i}", "Use lower-case letters, digits and _ (max 50).")
            )
    c.raise_if_any()
    form = LeadForm(
        workspace=actor.workspace,
        key=secrets.token_urlsafe(12),
        name=c.values["name"],
        consent_text=c.values["consent_text"],
        redirect_url=redirect_url,
        fields=list(dict.fromkeys(fields)),
    )
    form.stamp(actor, created=True)
    form.save()
    record(
        actor=actor,
        action=events.LEAD_FORM_CREATED,
        obj=form,
        changes=diff({}, {"name": form.name, "fields": form.fields}),
    )
    return form


# --- leads --------------------------------------------------------------------------------------


@transaction.atomic
def lead_create(
    *,
    actor: Actor,
    data: Mapping[str, Any],
    source: str = "",
    form: LeadForm | None = None,
    form_data: Mapping[str, str] | None = None,
) -> Lead:
    """A new lead. ``form``/``form_data``: the web form it came through and the answers to
    the form's extra questions (kept as text, never interpreted)."""
    require_write(actor)
    values = _clean_lead(actor, data, current=None)
    lead = Lead(workspace=actor.workspace)
    _apply(lead, values)
    if lead.consent:
        lead.consent_at = timezone.now()
    lead.form = form
    lead.form_data = {str(k)[:100]: str(v) for k, v in (form_data or {}).items()}
    if "owner_id" not in values:
        assign_owner(actor, lead)
        if lead.owner_id is None and actor.user_id is not None:
            lead.owner_id = actor.user_id  # by hand or API: the creator's unless routed
    lead.created_at = timezone.now()
    rescore(lead, interactions={})
    lead.stamp(actor, created=True)
    lead.save()
    tags = resolve_tags(actor.workspace, values.get("tags") or [])
    lead.tags.set(tags)
    after = lead_snapshot(lead) | {"tags": sorted(t.name for t in tags)}
    record(
        actor=actor, action=events.LEAD_CREATED, obj=lead, changes=diff({}, after), source=source
    )
    search_index.index_record(lead)
    return lead


def _locked_lead(actor: Actor, lead_id) -> Lead:
    # Visibility first: a lead the actor may not see is 404 for every role, never 403.
    lead = (
        Lead.objects.visible_to(actor)
        .select_for_update(of=("self",))
        .filter(pk=clean_uuid(lead_id, "id"))
        .first()
    )
    if lead is None:
        raise NotFound("No such lead.")
    return lead


@transaction.atomic
def lead_update(
    *,
    actor: Actor,
    lead_id,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    source: str = "",
) -> Lead:
    lead = _locked_lead(actor, lead_id)
    require_write(actor)
    check_version(lead, expected_version)
    if lead.converted_at is not None:
        raise ValidationFailed.one("status", "This lead is converted; change the person instead.")
    values = _clean_lead(actor, data, current=lead)
    old_tags = sorted(t.name for t in lead.tags.all())
    before = lead_snapshot(lead) | {"tags": old_tags}
    _apply(lead, values)
    if values.get("consent") and not before["consent"]:
        lead.consent_at = timezone.now()
    resolved = resolve_tags(actor.workspace, values["tags"]) if "tags" in values else None
    new_tags = sorted(t.name for t in resolved) if resolved is not None else old_tags
    changes = diff(before, lead_snapshot(lead) | {"tags": new_tags})
    if not changes:
        return lead
    rescore(lead)
    lead.version += 1
    lead.stamp(actor)
    lead.save()
    if resolved is not None and new_tags != old_tags:
        lead.tags.set(resolved)
    record(actor=actor, action=events.LEAD_UPDATED, obj=lead, changes=changes, source=source)
    search_index.index_record(lead)
    return lead


@transaction.atomic
def lead_delete(
    *, actor: Actor, lead_id, expected_version: int | None = None, source: str = ""
) -> None:
    lead = _locked_lead(actor, lead_id)
    require_write(actor)
    require_delete(actor, lead)
    check_version(lead, expected_version)
    lead.deleted_at = timezone.now()
    lead.deleted_by = actor.user
    lead.version += 1
    lead.stamp(actor)
    lead.save()
    record(
        actor=actor,
        action=events.LEAD_DELETED,
        obj=lead,
        changes={"deleted_at": {"before": None, "after": lead.deleted_at.isoformat()}},
        source=source,
    )
    search_index.unindex_record(lead)


@transaction.atomic
def lead_restore(
    *, actor: Actor, lead_id, expected_version: int | None = None, source: str = ""
) -> Lead:
    """Brings a lead back from the trash with its tags, score and history. Whoever may delete
    the lead may bring it back; another workspace's lead, or one the record access setting
    hides, is "not in the trash" (404)."""
    lead = (
        Lead.objects.in_trash_of(actor)
        .select_for_update()
        .filter(pk=clean_uuid(lead_id, "id"))
        .first()
    )
    if lead is None:
        raise NotFound("No such lead in the trash.")
    require_write(actor)
    require_delete(actor, lead)
    check_version(lead, expected_version)
    changes = {
        "deleted_at": {
            "before": lead.deleted_at.isoformat() if lead.deleted_at else None,
            "after": None,
        },
        "deleted_by": {"before": str(lead.deleted_by_id or "") or None, "after": None},
    }
    lead.deleted_at = None
    lead.deleted_by = None
    lead.version += 1
    lead.stamp(actor)
    lead.save()
    record(actor=actor, action=events.LEAD_RESTORED, obj=lead, changes=changes, source=source)
    if lead.converted_at is None:  # a converted lead is found as what it became
        search_index.index_record(lead)
    return lead


def lead_purge(
    *, actor: Actor, now=None, batch_size: int | None = None, source: str = "retention"
) -> int:
    """Deletes for good the leads deleted longer ago than the workspace's trash retention
    (called by the daily trash purge, ``contacts.tasks.purge_trash``), like deleted deals."""
    from rapport.sales import services as sales

    return sales.purge_expired(
        actor=actor,
        model=Lead,
        purged=events.LEAD_PURGED,
        now=now,
        batch_size=batch_size or PURGE_BATCH,
        source=source,
    )


def leads_touch_interaction(lead_ids, occurred_at) -> None:
    """An interaction was linked to these leads: they are active again (scores see it)."""
    Lead.objects.filter(pk__in=list(lead_ids)).filter(
        Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=occurred_at)
    ).update(last_activity_at=occurred_at)


# --- scoring rules ------------------------------------------------------------------------------


SCORING_RULE_KEYS = frozenset({"kind", "field", "operator", "value", "points"})
MAX_DECAY_DAYS = 3650


def scoring_rule_snapshot(rule: LeadScoringRule) -> dict[str, Any]:
    return {key: getattr(rule, key) for key in SCORING_RULE_KEYS}


def _clean_scoring_rule(
    actor: Actor, data: Mapping[str, Any], *, current: LeadScoringRule | None
) -> dict[str, Any]:
    """The whole rule after ``data`` is applied to ``current`` (None: a new rule), checked
    as one: changing ``kind`` asks for what the new kind needs."""
    from rapport.activities.models import ActivityType

    if not isinstance(data, Mapping):
        raise ValidationFailed.one("body", "Send a JSON object.")
    merged = {**(scoring_rule_snapshot(current) if current else {}), **data}
    c = ErrorCollector()
    _unknown_keys(c, data, SCORING_RULE_KEYS)
    c.take(
        "kind",
        clean_choice,
        merged.get("kind"),
        field="kind",
        choices=RuleKind.choices,
        default=RuleKind.FIELD,
    )
    c.take("points", clean_int, merged.get("points"), field="points", minimum=-1000, maximum=1000)
    c.take("value", clean_text, merged.get("value"), field="value", max_length=255)
    kind, points = c.values.get("kind"), c.values.get("points")
    field, operator, value = "", "", c.values.get("value", "")
    if "points" in c.values and points is None:
        c.errors.append(FieldError("points", "Give the points, from -1000 to 1000."))
    if kind == RuleKind.FIELD:
        field, operator, value = _clean_condition(
            c,
            actor.workspace,
            field=merged.get("field"),
            operator=merged.get("operator"),
            value=value,
            required=True,
        )
    elif kind == RuleKind.INTERACTION:
        value = value.lower()
        if value not in ActivityType.values:
            types = ", ".join(ActivityType.values)
            c.errors.append(FieldError("value", f"Choose the interaction type: {types}."))
    elif kind == RuleKind.DECAY:
        try:
            days = clean_int(value, field="value", minimum=1, maximum=MAX_DECAY_DAYS)
        except ValidationFailed as exc:
            c.errors.extend(exc.errors)
        else:
            if days is None:
                c.errors.append(FieldError("value", "Give the days without activity."))
            value = str(days)
        if points is not None and points < 1:
            c.errors.append(FieldError("points", "Give the points lost per period, 1 to 1000."))
    if points == 0 and kind != RuleKind.DECAY:
        c.errors.append(FieldError("points", "A rule worth 0 points changes no score."))
    c.raise_if_any()
    return {"kind": kind, "field": field, "operator": operator, "value": value, "points": points}


def _scoring_rule(actor: Actor, rule_id) -> LeadScoringRule:
    # Found before the role is checked: another workspace's rule is 404 for every role.
    rule = (
        LeadScoringRule.objects.select_for_update()
        .filter(workspace=actor.workspace, pk=clean_uuid(rule_id, "id"))
        .first()
    )
    if rule is None:
        raise NotFound("No such scoring rule.")
    return rule


@transaction.atomic
def scoring_rule_create(*, actor: Actor, data: Mapping[str, Any]) -> LeadScoringRule:
    """A scoring rule (admins). A lead's score follows when it is next saved, in the nightly
    rescore, or at once with ``leads_rescore_queue``."""
    require_admin(actor)
    values = _clean_scoring_rule(actor, data, current=None)
    # Locked like the assignment rules: two creates at once neither pass the cap nor share
    # a position.
    positions = list(
        LeadScoringRule.objects.select_for_update()
        .filter(workspace=actor.workspace)
        .values_list("position", flat=True)
    )
    if len(positions) >= MAX_RULES:
        raise ValidationFailed.one("body", f"A workspace keeps at most {MAX_RULES} rules.")
    last = max(positions, default=None)
    rule = LeadScoringRule(
        workspace=actor.workspace, position=0 if last is None else last + 1, **values
    )
    rule.stamp(actor, created=True)
    rule.save()
    record(
        actor=actor,
        action=events.LEAD_SCORING_RULE_CREATED,
        obj=rule,
        changes=diff({}, scoring_rule_snapshot(rule)),
    )
    return rule


@transaction.atomic
def scoring_rule_update(*, actor: Actor, rule_id, data: Mapping[str, Any]) -> LeadScoringRule:
    """Changes a scoring rule (admins; send only what changes)."""
    rule = _scoring_rule(actor, rule_id)
    require_admin(actor)
    before = scoring_rule_snapshot(rule)
    values = _clean_scoring_rule(actor, data, current=rule)
    changes = diff(before, values)
    if changes:
        for key, value in values.items():
            setattr(rule, key, value)
        rule.stamp(actor)
        rule.save()
        record(actor=actor, action=events.LEAD_SCORING_RULE_UPDATED, obj=rule, changes=changes)
    return rule


@transaction.atomic
def scoring_rule_delete(*, actor: Actor, rule_id) -> None:
    rule = _scoring_rule(actor, rule_id)
    require_admin(actor)
    record(
        actor=actor,
        action=events.LEAD_SCORING_RULE_DELETED,
        obj=rule,
        changes=diff(scoring_rule_snapshot(rule), {}),
    )
    rule.delete()


def leads_rescore_queue(*, actor: Actor) -> None:
    """Admins: rescores every open lead of the workspace in the background now (after the
    rules changed) instead of at the nightly run."""
    from .lead_tasks import rescore_leads

    require_admin(actor)
    workspace_id = str(actor.workspace.pk)
    transaction.on_commit(lambda: rescore_leads.delay(workspace_id))


# --- conversion ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conversion:
    lead: Lead
    person: Person
    company: Company | None
    deal: Any  # sales.Deal | None
    person_created: bool
    company_created: bool


FREE_MAIL = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "proton.me",
        "protonmail.com",
        "mail.com",
        "yandex.ru",
    }
)


def _match_company(actor: Actor, lead: Lead) -> Company | None:
    companies = Company.objects.visible_to(actor)
    domain = lead.email.rpartition("@")[2].lower() if "@" in lead.email else ""
    if domain and domain not in FREE_MAIL:
        found = companies.filter(domain=domain).exclude(domain="").first()
        if found is not None:
            return found
    if lead.company_name:
        return companies.filter(name__iexact=lead.company_name).first()
    return None


def _move_links(actor: Actor, lead: Lead, person: Person) -> None:
    """The lead's interactions and tasks now belong to the person (a link the person already
    has is dropped rather than doubled)."""
    from rapport.activities.models import ActivityTarget, TaskTarget

    for model, owner_field in ((ActivityTarget, "activity_id"), (TaskTarget, "task_id")):
        links = model.objects.filter(  # type: ignore[attr-defined]
            workspace=actor.workspace, target_type="lead", target_id=lead.pk
        )
        already = set(
            model.objects.filter(  # type: ignore[attr-defined]
                workspace=actor.workspace, target_type="person", target_id=person.pk
            ).values_list(owner_field, flat=True)
        )
        links.filter(**{f"{owner_field}__in": already}).delete()
        links.update(target_type="person", target_id=person.pk)


@transaction.atomic
def lead_convert(
    *,
    actor: Actor,
    lead_id,
    deal: Mapping[str, Any] | None = None,
    expected_version: int | None = None,
    source: str = "",
) -> Conversion:
    """A qualified lead becomes a person (matched by email), a company (matched by email domain
    or name) and, when ``deal`` is given, a deal (``deal_create``'s data; company and person
    are filled in). All or nothing: any error leaves nothing created. With
    ``expected_version``, a lead changed since it was read is refused (nothing converted)."""
    from rapport.contacts import services as contacts
    from rapport.sales import services as sales

    lead = _locked_lead(actor, lead_id)
    require_write(actor)
    check_version(lead, expected_version)
    if lead.converted_at is not None:
        raise ValidationFailed.one("status", "This lead is already converted.")
    if lead.status != LeadStatus.QUALIFIED:
        raise ValidationFailed.one(
            "status",
            f"Only qualified leads convert; this one is {lead.get_status_display().lower()}.",
        )
    if deal is not None and not isinstance(deal, Mapping):
        raise ValidationFailed.one("deal", "Send the deal as an object, or null.")
    company = _match_company(actor, lead)
    company_created = False
    if company is None and lead.company_name:
        company = contacts.company_create(
            actor=actor, data={"name": lead.company_name}, source=source or "lead"
        )
        company_created = True
    person = None
    if lead.email:
        person = Person.objects.visible_to(actor).filter(email=lead.email).first()
    person_created = person is None
    if person is None:
        data: dict[str, Any] = {
            "first_name": lead.first_name,
            "last_name": lead.last_name,
            "email": lead.email,
            "phone": lead.phone,
            "title": lead.title,
            "source": lead.source,
        }
        if lead.owner_id:
            data["owner"] = str(lead.owner_id)
        if company is not None:
            data["company"] = str(company.pk)
        person = contacts.person_create(actor=actor, data=data, source=source or "lead")
    made_deal = None
    if deal is not None:
        payload = dict(deal)
        payload.setdefault("name", f"{lead.company_name or lead} deal")
        if company is not None:
            payload.setdefault("company", str(company.pk))
        payload.setdefault("people", [{"id": str(person.pk), "role": ""}])
        if lead.owner_id:
            payload.setdefault("owner", str(lead.owner_id))
        payload.setdefault("source", lead.source)
        try:
            made_deal = sales.deal_create(actor=actor, data=payload, source=source or "lead")
        except ValidationFailed as exc:
            errors = [FieldError(f"deal.{e.field}", e.message) for e in exc.errors]
            raise ValidationFailed(exc.detail, errors)
    _move_links(actor, lead, person)
    before = {"converted_at": None, "status": lead.status}
    lead.converted_at = timezone.now()
    lead.converted_person = person
    lead.converted_company = company
    lead.converted_deal = made_deal
    lead.version += 1
    lead.stamp(actor)
    lead.save()
    record(
        actor=actor,
        action=events.LEAD_CONVERTED,
        obj=lead,
        changes=diff(
            before,
            {
                "converted_at": lead.converted_at,
                "status": lead.status,
                "person": str(person.pk),
                "company": str(company.pk) if company else None,
                "deal": str(made_deal.pk) if made_deal else None,
            },
        ),
        source=source,
    )
    search_index.unindex_record(lead)  # found as the person, company and deal it became
    return Conversion(lead, person, company, made_deal, person_created, company_created)


def register() -> None:
    """Makes leads a target type: interactions, tasks and files can link to them. Called from
    ``SalesConfig.ready()``."""
    from rapport.core import targets

    targets.register(
        "lead",
        "sales.Lead",
        label="Lead",
        url_name="sales:lead_detail",
        on_interaction=leads_touch_interaction,
    )
