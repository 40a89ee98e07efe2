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
from rapport.core.custom_fields import clean_custom
from rapport.core.errors import (
    ErrorCollector,
    FieldError,
    NotFound,
    ValidationFailed,
    check_version,
)
from rapport.core.policy import require_admin, require_delete, require_write
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
    rules = LeadAssignmentRule.objects.filter(workspace=actor.workspace, active=True)
    for rule in rules.order_by("position", "created_at"):
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


@transaction.atomic
def assignment_rule_create(*, actor: Actor, data: Mapping[str, Any]) -> LeadAssignmentRule:
    """A routing rule (admins): a condition (``field``/``operator``/``value`` and/or
    ``countries``) and a target, a ``user`` or a ``team`` (round robin)."""
    from rapport.tenancy.models import Team

    require_admin(actor)
    ws = actor.workspace
    c = ErrorCollector()
    c.take("name", clean_text, data.get("name"), field="name", max_length=100)
    c.take("value", clean_text, data.get("value"), field="value", max_length=255)
    countries = data.get("countries") or []
    if not isinstance(countries, list) or len(countries) > 300:
        c.errors.append(FieldError("countries", "Send a list of country codes."))
        countries = []
    cleaned = []
    for i, code in enumerate(countries):
        try:
            cleaned.append(clean_country(code, field=f"countries.{i}"))
        except ValidationFailed as exc:
            c.errors.extend(exc.errors)
    field = str(data.get("field") or "")
    operator = str(data.get("operator") or "")
    if field:
        if field not in SCORABLE_FIELDS and not field.startswith("custom."):
            c.errors.append(FieldError("field", f"Use one of: {', '.join(SCORABLE_FIELDS)}."))
        if operator not in RuleOperator.values:
            c.errors.append(FieldError("operator", "Choose equals, contains or not_empty."))
    c.take("user_id", clean_member, ws, data.get("user"), "user")
    team = None
    if data.get("team"):
        try:
            team = Team.objects.filter(workspace=ws, pk=clean_uuid(data["team"], "team")).first()
        except ValidationFailed as exc:
            c.errors.extend(exc.errors)
        else:
            if team is None:
                c.errors.append(FieldError("team", "No such team in this workspace."))
    c.raise_if_any()
    if (team is None) == (c.values.get("user_id") is None):
        raise ValidationFailed.one("user", "Assign to one user or one team.")
    rule = LeadAssignmentRule(
        workspace=ws,
        name=c.values["name"],
        position=LeadAssignmentRule.objects.filter(workspace=ws).count(),
        field=field,
        operator=operator if field else "",
        value=c.values["value"],
        countries=cleaned,
        team=team,
        user_id=c.values.get("user_id"),
    )
    rule.stamp(actor, created=True)
    rule.save()
    record(
        actor=actor,
        action=events.LEAD_ASSIGNMENT_RULE_CREATED,
        obj=rule,
        changes=diff({}, {"name": rule.name, "field": field, "countries": cleaned}),
    )
    return rule


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


def leads_touch_interaction(lead_ids, occurred_at) -> None:
    """An interaction was linked to these leads: they are active again (scores see it)."""
    Lead.objects.filter(pk__in=list(lead_ids)).filter(
        Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=occurred_at)
    ).update(last_activity_at=occurred_at)


# --- scoring rules ------------------------------------------------------------------------------


@transaction.atomic
def scoring_rule_create(*, actor: Actor, data: Mapping[str, Any]) -> LeadScoringRule:
    require_admin(actor)
    c = ErrorCollector()
    c.take(
        "kind",
        clean_choice,
        data.get("kind"),
        field="kind",
        choices=RuleKind.choices,
        default=RuleKind.FIELD,
    )
    c.take("points", clean_int, data.get("points"), field="points", minimum=-1000, maximum=1000)
    c.take("value", clean_text, data.get("value"), field="value", max_length=255)
    c.raise_if_any()
    kind, value = c.values["kind"], c.values["value"]
    field, operator = "", ""
    if kind == RuleKind.FIELD:
        field = str(data.get("field") or "")
        if field not in SCORABLE_FIELDS and not field.startswith("custom."):
            raise ValidationFailed.one("field", f"Score one of: {', '.join(SCORABLE_FIELDS)}.")
        operator = clean_choice(
            data.get("operator"), field="operator", choices=RuleOperator.choices
        )
        if not operator:
            raise ValidationFailed.one("operator", "Choose equals, contains or not_empty.")
        if operator != RuleOperator.NOT_EMPTY and not value:
            raise ValidationFailed.one("value", "Give the value to compare with.")
    elif kind == RuleKind.DECAY:
        clean_int(value, field="value", minimum=1, maximum=3650)
    elif not value:
        raise ValidationFailed.one("value", "Give the interaction type (call, email, meeting...).")
    rule = LeadScoringRule(
        workspace=actor.workspace,
        kind=kind,
        field=field,
        operator=operator,
        value=value,
        points=c.values["points"],
        position=LeadScoringRule.objects.filter(workspace=actor.workspace).count(),
    )
    rule.stamp(actor, created=True)
    rule.save()
    record(
        actor=actor,
        action=events.LEAD_SCORING_RULE_CREATED,
        obj=rule,
        changes=diff({}, {"kind": kind, "field": field, "operator": operator, "value": value}),
    )
    return rule


@transaction.atomic
def scoring_rule_delete(*, actor: Actor, rule_id) -> None:
    require_admin(actor)
    rule = LeadScoringRule.objects.filter(
        workspace=actor.workspace, pk=clean_uuid(rule_id, "id")
    ).first()
    if rule is None:
        raise NotFound("No such scoring rule.")
    record(actor=actor, action=events.LEAD_SCORING_RULE_DELETED, obj=rule, changes={})
    rule.delete()


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
    *, actor: Actor, lead_id, deal: Mapping[str, Any] | None = None, source: str = ""
) -> Conversion:
    """A qualified lead becomes a person (matched by email), a company (matched by email domain
    or name) and, when ``deal`` is given, a deal (``deal_create``'s data; company and person
    are filled in). All or nothing: any error leaves nothing created."""
    from rapport.contacts import services as contacts
    from rapport.sales import services as sales

    lead = _locked_lead(actor, lead_id)
    require_write(actor)
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
