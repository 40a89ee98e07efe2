"""Writes for pipelines, deals, lost reasons, exchange rates and quotas: the only code path
that changes them (DESIGN rule 1).

Every function takes an actor, runs in one transaction, validates everything before writing and
records one audit entry with field-level before/after. ``data`` uses the API's shape (money as
``{"amount", "currency"}``, related records as ids, ``people`` as ``[{"id", "role"}]``); partial
updates send only the keys that change.

A deal's stage is changed in one place, ``_enter_stage``: it checks the stage's required fields,
closes the current stage-history row with its duration, opens the next one and keeps the
denormalised ``status``/``closed_at`` in step.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from rapport.audit.events import EventType
from rapport.audit.services import diff, record, record_many
from rapport.contacts.models import Company, Person
from rapport.core import targets
from rapport.core.actors import Actor, Role
from rapport.core.custom_fields import clean_custom
from rapport.core.errors import (
    Duplicate,
    ErrorCollector,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    check_version,
)
from rapport.core.policy import require_admin, require_delete, require_write
from rapport.core.purge import PURGE_BATCH, purge_batches, retention_cutoff
from rapport.core.tags import resolve_tags
from rapport.core.validation import (
    clean_amount,
    clean_choice,
    clean_currency,
    clean_date,
    clean_int,
    clean_member,
    clean_tags,
    clean_text,
    clean_uuid,
)
from rapport.search import services as search_index

from . import events
from .lead_models import Lead
from .models import (
    Deal,
    DealPerson,
    DealRole,
    ExchangeRate,
    ForecastCategory,
    LostReason,
    Pipeline,
    Quota,
    QuotaPeriod,
    Stage,
    StageHistory,
    StageType,
)

MAX_STAGES = 30
MAX_DEAL_PEOPLE = 50
MAX_RATE_ROWS = 10_000
DEAL_MODEL_LABEL = "sales.deal"

# The deal fields a stage can require before a deal enters it (custom fields as custom.<key>).
REQUIRABLE_FIELDS = {
    "amount": "Amount",
    "close_date": "Expected close date",
    "owner": "Owner",
    "company": "Company",
    "people": "People",
    "next_step": "Next step",
    "source": "Source",
    "lost_reason": "Lost reason",
    "lost_note": "Lost note",
}

# The standard pipeline a new workspace starts from.
DEFAULT_STAGES = [
    {"name": "Qualification", "type": "open", "probability": 10, "forecast_category": "pipeline"},
    {"name": "Needs analysis", "type": "open", "probability": 25, "forecast_category": "pipeline"},
    {"name": "Proposal", "type": "open", "probability": 50, "forecast_category": "best_case"},
    {"name": "Negotiation", "type": "open", "probability": 80, "forecast_category": "commit"},
    {"name": "Won", "type": "won", "probability": 100, "forecast_category": "closed"},
    {
        "name": "Lost",
        "type": "lost",
        "probability": 0,
        "forecast_category": "omitted",
        "required_fields": ["lost_reason"],
    },
]
DEFAULT_LOST_REASONS = ["Price", "Chose a competitor", "No budget", "No decision", "Timing"]


# --- pipelines and stages ---------------------------------------------------------------------


def _clean_required_fields(workspace, value, field: str) -> list[str]:
    if value in (None, ""):
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationFailed.one(field, "Send a list of deal field names.")
    from rapport.customization.selectors import field_map

    custom = field_map(workspace, DEAL_MODEL_LABEL)
    errors = []
    for name in value:
        known = name in REQUIRABLE_FIELDS or (
            name.startswith("custom.") and name.removeprefix("custom.") in custom
        )
        if not known:
            errors.append(FieldError(field, f"{name!r} is not a deal field a stage can require."))
    if errors:
        raise ValidationFailed("; ".join(e.message for e in errors), errors)
    return list(dict.fromkeys(value))


def _clean_stage(workspace, item, i: int) -> dict[str, Any]:
    path = f"stages.{i}"
    if not isinstance(item, Mapping):
        raise ValidationFailed.one(path, "Send each stage as an object.")
    allowed = {
        "id",
        "name",
        "type",
        "probability",
        "rotting_days",
        "required_fields",
        "forecast_category",
        "position",
    }
    unknown = set(item) - allowed
    if unknown:
        raise ValidationFailed.one(f"{path}.{sorted(unknown)[0]}", "Unknown stage field.")
    c = ErrorCollector()
    if item.get("id") not in (None, ""):
        c.take("id", clean_uuid, item["id"], f"{path}.id")
    c.take(
        "name", clean_text, item.get("name"), field=f"{path}.name", max_length=100, required=True
    )
    c.take(
        "type",
        clean_choice,
        item.get("type"),
        field=f"{path}.type",
        choices=StageType.choices,
        default=StageType.OPEN,
    )
    stage_type = c.values.get("type", StageType.OPEN)
    default_probability = {"won": 100, "lost": 0}.get(stage_type, 0)
    probability = item.get("probability")
    c.take(
        "probability",
        clean_int,
        default_probability if probability in (None, "") else probability,
        field=f"{path}.probability",
        maximum=100,
    )
    if item.get("rotting_days") not in (None, ""):
        c.take(
            "rotting_days",
            clean_int,
            item["rotting_days"],
            field=f"{path}.rotting_days",
            minimum=1,
            maximum=3650,
        )
    else:
        c.values["rotting_days"] = None
    c.take(
        "required_fields",
        _clean_required_fields,
        workspace,
        item.get("required_fields"),
        f"{path}.required_fields",
    )
    default_category = {"won": "closed", "lost": "omitted"}.get(stage_type, "pipeline")
    c.take(
        "forecast_category",
        clean_choice,
        item.get("forecast_category"),
        field=f"{path}.forecast_category",
        choices=ForecastCategory.choices,
        default=default_category,
    )
    c.raise_if_any()
    return c.values


def _clean_stages(workspace, value) -> list[dict[str, Any]]:
    if not isinstance(value, list | tuple) or not value:
        raise ValidationFailed.one("stages", "A pipeline needs at least one stage.")
    if len(value) > MAX_STAGES:
        raise ValidationFailed.one("stages", f"Use at most {MAX_STAGES} stages.")
    c = ErrorCollector()
    stages = []
    for i, item in enumerate(value):
        try:
            stages.append(_clean_stage(workspace, item, i))
        except ValidationFailed as exc:
            c.errors.extend(exc.errors)
    c.raise_if_any()
    seen: dict[str, int] = {}
    for i, stage in enumerate(stages):
        key = stage["name"].lower()
        if key in seen:
            c.errors.append(FieldError(f"stages.{i}.name", "Two stages have this name."))
        seen[key] = i
    if not any(s["type"] == StageType.OPEN for s in stages):
        c.errors.append(FieldError("stages", "A pipeline needs at least one open stage."))
    c.raise_if_any()
    return stages


def _pipeline_name(actor: Actor, value, current: Pipeline | None = None) -> str:
    name = clean_text(value, field="name", max_length=100, required=True)
    clash = Pipeline.objects.in_workspace(actor.workspace).filter(name__iexact=name)
    if current is not None:
        clash = clash.exclude(pk=current.pk)
    existing = clash.values_list("pk", flat=True).first()
    if existing:
        raise Duplicate("name", existing, f"There is already a pipeline called {name!r}.")
    return name


def _stage_snapshot(stage: Stage) -> dict[str, Any]:
    return {
        "name": stage.name,
        "type": stage.type,
        "probability": stage.probability,
        "rotting_days": stage.rotting_days,
        "required_fields": stage.required_fields,
        "forecast_category": stage.forecast_category,
    }


def _pipeline_snapshot(pipeline: Pipeline) -> dict[str, Any]:
    return {
        "name": pipeline.name,
        "stages": [_stage_snapshot(s) for s in pipeline.stages.order_by("position")],
    }


@transaction.atomic
def pipeline_create(*, actor: Actor, data: Mapping[str, Any], source: str = "") -> Pipeline:
    require_admin(actor)
    name = _pipeline_name(actor, data.get("name"))
    stages = _clean_stages(actor.workspace, data.get("stages"))
    position = (
        Pipeline.objects.in_workspace(actor.workspace).aggregate(m=Max("position"))["m"] or 0
    ) + 1
    pipeline = Pipeline(workspace=actor.workspace, name=name, position=position)
    pipeline.stamp(actor, created=True)
    pipeline.save()
    Stage.objects.bulk_create(
        [
            Stage(
                workspace=actor.workspace,
                pipeline=pipeline,
                position=i,
                **{k: v for k, v in s.items() if k != "id"},
            )
            for i, s in enumerate(stages)
        ]
    )
    record(
        actor=actor,
        action=events.PIPELINE_CREATED,
        obj=pipeline,
        changes=diff({}, _pipeline_snapshot(pipeline)),
        source=source,
    )
    return pipeline


def pipeline_create_default(*, actor: Actor, name: str = "Sales") -> Pipeline:
    """The standard pipeline and lost reasons, for a workspace that has none yet."""
    with transaction.atomic():
        pipeline = pipeline_create(actor=actor, data={"name": name, "stages": DEFAULT_STAGES})
        if not LostReason.objects.in_workspace(actor.workspace).exists():
            for reason in DEFAULT_LOST_REASONS:
                lost_reason_create(actor=actor, name=reason)
    return pipeline


def _clean_moves(actor: Actor, value) -> dict[uuid.UUID, uuid.UUID]:
    if value in (None, ""):
        return {}
    if not isinstance(value, Mapping):
        raise ValidationFailed.one("moves", 'Send {"<removed stage id>": "<stage id>"}.')
    return {clean_uuid(k, "moves"): clean_uuid(v, f"moves.{k}") for k, v in value.items()}


@transaction.atomic
def pipeline_update(
    *,
    actor: Actor,
    pipeline_id,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    source: str = "",
) -> Pipeline:
    """Renames the pipeline and/or replaces its stages (in the order given).

    A stage sent with its ``id`` is updated; one without is created; a stage left out is
    removed. Removing a stage that holds deals needs ``moves`` naming, for it, the stage its
    deals go to (any stage of any pipeline); the error says which stages need one.
    """
    pipeline = (
        Pipeline.objects.in_workspace(actor.workspace)
        .select_for_update()
        .filter(pk=clean_uuid(pipeline_id, "id"))
        .first()
    )
    if pipeline is None:
        raise NotFound("No such pipeline.")
    require_admin(actor)
    check_version(pipeline, expected_version)
    before = _pipeline_snapshot(pipeline)
    if "name" in data:
        pipeline.name = _pipeline_name(actor, data.get("name"), current=pipeline)
    if "stages" in data:
        _replace_stages(actor, pipeline, data["stages"], _clean_moves(actor, data.get("moves")))
    after = _pipeline_snapshot(pipeline)
    changes = diff(before, after)
    if not changes:
        return pipeline
    pipeline.version += 1
    pipeline.stamp(actor)
    pipeline.save()
    record(
        actor=actor, action=events.PIPELINE_UPDATED, obj=pipeline, changes=changes, source=source
    )
    return pipeline


def _replace_stages(actor: Actor, pipeline: Pipeline, value, moves: dict) -> None:
    stages = _clean_stages(actor.workspace, value)
    current = {s.pk: s for s in pipeline.stages.all()}
    for i, s in enumerate(stages):
        if "id" in s and s["id"] not in current:
            raise ValidationFailed.one(f"stages.{i}.id", "No such stage in this pipeline.")
    kept = {s["id"] for s in stages if "id" in s}
    removed = [s for pk, s in current.items() if pk not in kept]
    holding = dict(
        Deal.objects.in_workspace(actor.workspace)
        .filter(stage__in=removed, deleted_at__isnull=True)
        .values_list("stage")
        .annotate(n=Count("id"))
        .values_list("stage", "n")
    )
    errors = [
        FieldError(
            f"moves.{stage.pk}",
            f"The stage {stage.name!r} holds {holding[stage.pk]} deal(s): "
            "say which stage they move to.",
        )
        for stage in removed
        if holding.get(stage.pk) and stage.pk not in moves
    ]
    if errors:
        raise ValidationFailed("; ".join(e.message for e in errors), errors)
    # Update and create first (positions freed by a temporary offset), so move targets exist.
    offset = MAX_STAGES * 10
    for stage in current.values():
        stage.position += offset
    Stage.objects.bulk_update(list(current.values()), ["position"])
    by_name: dict[str, Stage] = {}
    for i, s in enumerate(stages):
        values = {k: v for k, v in s.items() if k != "id"}
        if "id" in s:
            stage = current[s["id"]]
            for key, val in values.items():
                setattr(stage, key, val)
            stage.position = i
        else:
            stage = Stage(workspace=actor.workspace, pipeline=pipeline, position=i, **values)
        by_name[stage.name.lower()] = stage
    # Renames may swap names: clear the removed and renamed names out of the way first.
    for stage in removed:
        stage.name = f"{stage.pk}"
        stage.save(update_fields=["name"])
    for stage in by_name.values():
        if stage.pk in current:
            stage.name, real = f"~{stage.pk}", stage.name
            stage.save(update_fields=["name"])
            stage.name = real
    for stage in by_name.values():
        stage.save()
    for stage in removed:
        if holding.get(stage.pk):
            target = _stage_for_move(actor, moves[stage.pk], field=f"moves.{stage.pk}")
            if target.pk == stage.pk:
                raise ValidationFailed.one(f"moves.{stage.pk}", "Move the deals to another stage.")
            _move_all(actor, stage, target)
        stage.delete()


def _stage_for_move(actor: Actor, stage_id, *, field: str) -> Stage:
    stage = (
        Stage.objects.in_workspace(actor.workspace)
        .select_related("pipeline")
        .filter(pk=clean_uuid(stage_id, field))
        .first()
    )
    if stage is None:
        raise ValidationFailed.one(field, "No such stage in this workspace.")
    return stage


def _move_all(actor: Actor, source_stage: Stage, target: Stage) -> None:
    """Every deal (the trash's too) of a stage being removed goes to ``target``, with history:
    an admin's restructuring, so a target's required fields do not hold the deals back."""
    now = timezone.now()
    for deal in Deal.objects.in_workspace(actor.workspace).filter(stage=source_stage).iterator():
        _enter_stage(actor, deal, target, now=now, check_required=False)
        deal.version += 1
        deal.stamp(actor)
        deal.save()
        _save_history(deal)
        record(
            actor=actor,
            action=events.DEAL_STAGE_CHANGED,
            obj=deal,
            changes={"stage": {"before": source_stage.name, "after": target.name}},
            source="stage removed",
        )


@transaction.atomic
def pipeline_delete(
    *, actor: Actor, pipeline_id, move_to=None, expected_version: int | None = None
) -> None:
    """Deletes a pipeline; its deals move to ``move_to`` (a stage of another pipeline)."""
    pipeline = (
        Pipeline.objects.in_workspace(actor.workspace)
        .select_for_update()
        .filter(pk=clean_uuid(pipeline_id, "id"))
        .first()
    )
    if pipeline is None:
        raise NotFound("No such pipeline.")
    require_admin(actor)
    check_version(pipeline, expected_version)
    if Pipeline.objects.in_workspace(actor.workspace).count() == 1:
        raise ValidationFailed.one("id", "A workspace keeps at least one pipeline.")
    deals = Deal.objects.in_workspace(actor.workspace).filter(pipeline=pipeline)
    if deals.exists():
        if move_to in (None, ""):
            n = deals.filter(deleted_at__isnull=True).count()
            raise ValidationFailed.one(
                "move_to", f"The pipeline holds {n} deal(s): say which stage they move to."
            )
        target = _stage_for_move(actor, move_to, field="move_to")
        if target.pipeline_id == pipeline.pk:
            raise ValidationFailed.one("move_to", "Move the deals to another pipeline.")
        for stage in pipeline.stages.all():
            _move_all(actor, stage, target)
    record(
        actor=actor,
        action=events.PIPELINE_DELETED,
        obj=pipeline,
        changes=diff(_pipeline_snapshot(pipeline), {}),
    )
    pipeline.delete()  # its stage-history rows keep their stage names (pipeline set to null)


# --- lost reasons -----------------------------------------------------------------------------


def _lost_reason_name(actor: Actor, value, current: LostReason | None = None) -> str:
    name = clean_text(value, field="name", max_length=100, required=True)
    clash = LostReason.objects.in_workspace(actor.workspace).filter(name__iexact=name)
    if current is not None:
        clash = clash.exclude(pk=current.pk)
    existing = clash.values_list("pk", flat=True).first()
    if existing:
        raise Duplicate("name", existing, f"There is already a lost reason called {name!r}.")
    return name


@transaction.atomic
def lost_reason_create(*, actor: Actor, name: str) -> LostReason:
    require_admin(actor)
    position = (
        LostReason.objects.in_workspace(actor.workspace).aggregate(m=Max("position"))["m"] or 0
    ) + 1
    reason = LostReason.objects.create(
        workspace=actor.workspace, name=_lost_reason_name(actor, name), position=position
    )
    record(
        actor=actor,
        action=events.LOST_REASON_CREATED,
        obj=reason,
        changes={"name": {"before": None, "after": reason.name}},
    )
    return reason


def _lost_reason(actor: Actor, reason_id) -> LostReason:
    reason = (
        LostReason.objects.in_workspace(actor.workspace)
        .filter(pk=clean_uuid(reason_id, "id"))
        .first()
    )
    if reason is None:
        raise NotFound("No such lost reason.")
    return reason


@transaction.atomic
def lost_reason_update(
    *, actor: Actor, reason_id, name: str | None = None, active: bool | None = None
) -> LostReason:
    reason = _lost_reason(actor, reason_id)
    require_admin(actor)
    before = {"name": reason.name, "active": reason.active}
    if name is not None:
        reason.name = _lost_reason_name(actor, name, current=reason)
    if active is not None:
        reason.active = bool(active)
    changes = diff(before, {"name": reason.name, "active": reason.active})
    if changes:
        reason.save()
        record(actor=actor, action=events.LOST_REASON_UPDATED, obj=reason, changes=changes)
    return reason


@transaction.atomic
def lost_reason_delete(*, actor: Actor, reason_id) -> None:
    """Deals that named the reason keep their note and lose the link (SET NULL)."""
    reason = _lost_reason(actor, reason_id)
    require_admin(actor)
    record(
        actor=actor,
        action=events.LOST_REASON_DELETED,
        obj=reason,
        changes={"name": {"before": reason.name, "after": None}},
    )
    reason.delete()


# --- deals ------------------------------------------------------------------------------------

DEAL_TEXT = {"next_step": 255, "source": 100, "external_id": 255}
DEAL_KEYS = {
    "name",
    "pipeline",
    "stage",
    "amount",
    "close_date",
    "owner",
    "company",
    "people",
    "next_step",
    "source",
    "lost_reason",
    "lost_note",
    "forecast_category",
    "tags",
    "custom",
    "external_id",
}


def _clean_money(actor: Actor, value) -> tuple[Decimal | None, str]:
    if value in (None, ""):
        return None, ""
    if not isinstance(value, Mapping) or set(value) - {"amount", "currency"}:
        raise ValidationFailed.one("amount", 'Send {"amount": "1234.50", "currency": "EUR"}.')
    c = ErrorCollector()
    c.take("amount", clean_amount, value.get("amount"), field="amount.amount")
    c.take(
        "currency",
        clean_currency,
        value.get("currency") or actor.workspace.default_currency,
        field="amount.currency",
    )
    c.raise_if_any()
    if c.values["amount"] is None:
        return None, ""
    if c.values["amount"] < 0:
        raise ValidationFailed.one("amount.amount", "An amount cannot be negative.")
    return c.values["amount"], c.values["currency"]


def _clean_company(actor: Actor, value):
    if value in (None, ""):
        return None
    pk = clean_uuid(value, "company")
    company = Company.objects.visible_to(actor).filter(pk=pk).first()
    if company is None:
        raise ValidationFailed.one("company", "No such company in this workspace.")
    return company


def _clean_people(actor: Actor, value) -> list[tuple[Person, str]]:
    if value in (None, ""):
        return []
    if not isinstance(value, list | tuple):
        raise ValidationFailed.one("people", 'Send a list of {"id": ..., "role": ...}.')
    if len(value) > MAX_DEAL_PEOPLE:
        raise ValidationFailed.one("people", f"Link at most {MAX_DEAL_PEOPLE} people to a deal.")
    errors: list[FieldError] = []
    wanted: dict[uuid.UUID, str] = {}
    for i, item in enumerate(value):
        if isinstance(item, str):
            item = {"id": item}
        if not isinstance(item, Mapping) or set(item) - {"id", "role"}:
            errors.append(FieldError(f"people.{i}", 'Send {"id": ..., "role": ...}.'))
            continue
        try:
            pk = clean_uuid(item.get("id"), f"people.{i}.id")
            role = clean_choice(
                item.get("role"), field=f"people.{i}.role", choices=[("", ""), *DealRole.choices]
            )
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            continue
        wanted[pk] = role or wanted.get(pk, "")
    found = {p.pk: p for p in Person.objects.visible_to(actor).filter(pk__in=list(wanted))}
    for i, pk in enumerate(wanted):
        if pk not in found:
            errors.append(FieldError(f"people.{i}.id", "No such person in this workspace."))
    if errors:
        raise ValidationFailed("; ".join(f"{e.field}: {e.message}" for e in errors), errors)
    return [(found[pk], role) for pk, role in wanted.items()]


def _clean_lost_reason(actor: Actor, value):
    if value in (None, ""):
        return None
    reason = (
        LostReason.objects.in_workspace(actor.workspace)
        .filter(pk=clean_uuid(value, "lost_reason"))
        .first()
    )
    if reason is None:
        raise ValidationFailed.one("lost_reason", "No such lost reason in this workspace.")
    return reason


def _clean_deal(actor: Actor, data: Mapping[str, Any], *, current: Deal | None) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ValidationFailed.one("body", "Send a JSON object.")
    c = ErrorCollector()
    for key in data:
        if key not in DEAL_KEYS:
            c.errors.append(FieldError(str(key)[:100], "Unknown field."))
    ws = actor.workspace
    if "name" in data or current is None:
        c.take("name", clean_text, data.get("name"), field="name", max_length=200, required=True)
    if "stage" in data or "pipeline" in data or current is None:
        c.take("stage", _clean_stage_ref, actor, data, current)
    if "amount" in data:
        try:
            c.values["amount"], c.values["currency"] = _clean_money(actor, data["amount"])
        except ValidationFailed as exc:
            c.errors.extend(exc.errors)
    if "close_date" in data:
        c.take("close_date", clean_date, data["close_date"], field="close_date")
    if "owner" in data:
        c.take("owner_id", clean_member, ws, data["owner"], "owner")
    elif current is None:
        c.values["owner_id"] = actor.user_id  # a new deal is its creator's unless said otherwise
    if "company" in data:
        c.take("company", _clean_company, actor, data["company"])
    if "people" in data:
        c.take("people", _clean_people, actor, data["people"])
    for key, limit in DEAL_TEXT.items():
        if key in data:
            c.take(key, clean_text, data[key], field=key, max_length=limit)
    if "lost_reason" in data:
        c.take("lost_reason", _clean_lost_reason, actor, data["lost_reason"])
    if "lost_note" in data:
        c.take(
            "lost_note",
            clean_text,
            data["lost_note"],
            field="lost_note",
            max_length=5000,
            multiline=True,
        )
    if "forecast_category" in data:
        c.take(
            "forecast_category",
            clean_choice,
            data["forecast_category"],
            field="forecast_category",
            choices=[("", ""), *ForecastCategory.choices],
        )
    if "tags" in data:
        c.take("tags", clean_tags, data["tags"])
    if "custom" in data or current is None:
        c.take(
            "custom",
            clean_custom,
            ws,
            DEAL_MODEL_LABEL,
            data.get("custom"),
            current=current.custom if current else None,
        )
    c.raise_if_any()
    return c.values


def _clean_stage_ref(actor: Actor, data: Mapping[str, Any], current: Deal | None) -> Stage:
    """The stage a deal is in after this write: ``stage`` if sent (its pipeline wins),
    else the first open stage of ``pipeline``, else the first pipeline's first open stage."""
    stages = Stage.objects.in_workspace(actor.workspace).select_related("pipeline")
    if data.get("stage") not in (None, ""):
        stage = stages.filter(pk=clean_uuid(data["stage"], "stage")).first()
        if stage is None:
            raise ValidationFailed.one("stage", "No such stage in this workspace.")
        if data.get("pipeline") not in (None, "") and str(stage.pipeline_id) != str(
            data["pipeline"]
        ):
            raise ValidationFailed.one("stage", "The stage belongs to another pipeline.")
        return stage
    if data.get("pipeline") not in (None, ""):
        pipeline_id = clean_uuid(data["pipeline"], "pipeline")
        if current is not None and current.pipeline_id == pipeline_id:
            return current.stage
        stage = stages.filter(pipeline_id=pipeline_id).order_by("position").first()
        if stage is None:
            raise ValidationFailed.one("pipeline", "No such pipeline in this workspace.")
        return stage
    if current is not None:
        return current.stage
    stage = (
        stages.filter(type=StageType.OPEN)
        .order_by("pipeline__position", "pipeline__name", "position")
        .first()
    )
    if stage is None:
        raise ValidationFailed.one("pipeline", "Create a pipeline first (Settings → Pipelines).")
    return stage


def _missing_required(deal: Deal, stage: Stage, people: list | None) -> list[str]:
    missing = []
    for name in stage.required_fields or []:
        if name.startswith("custom."):
            value = (deal.custom or {}).get(name.removeprefix("custom."))
        elif name == "people":
            value = people if people is not None else deal.deal_people.exists()
        elif name in ("owner", "company", "lost_reason"):
            value = getattr(deal, f"{name}_id")
        else:
            value = getattr(deal, name)
        if value in (None, "", [], {}):
            missing.append(name)
    return missing


def _require_fields(deal: Deal, stage: Stage, people: list | None) -> None:
    missing = _missing_required(deal, stage, people)
    if missing:
        from rapport.customization.selectors import field_map

        custom = (
            field_map(deal.workspace, DEAL_MODEL_LABEL)
            if any(m.startswith("custom.") for m in missing)
            else {}
        )
        labels = [
            REQUIRABLE_FIELDS.get(m) or getattr(custom.get(m.removeprefix("custom.")), "label", m)
            for m in missing
        ]
        errors = [FieldError(m, f"Required to enter the stage {stage.name!r}.") for m in missing]
        raise ValidationFailed(
            f"Fill in {', '.join(labels)} before moving the deal to {stage.name!r}.", errors
        )


def _enter_stage(
    actor: Actor,
    deal: Deal,
    stage: Stage,
    *,
    now: dt.datetime,
    check_required: bool = True,
    people: list | None = None,
) -> None:
    """Puts the (unsaved) deal in ``stage``: required fields, status, close time, history."""
    if check_required:
        _require_fields(deal, stage, people)
    if deal.pk and deal.stage_id:
        open_row = (
            StageHistory.objects.filter(deal_id=deal.pk, left_at__isnull=True)
            .order_by("-entered_at")
            .first()
        )
        if open_row is not None:
            open_row.left_at = now
            open_row.duration_seconds = max(0, int((now - open_row.entered_at).total_seconds()))
            open_row.save(update_fields=["left_at", "duration_seconds"])
    deal.stage = stage
    deal.pipeline_id = stage.pipeline_id
    deal.status = stage.type
    deal.stage_entered_at = now
    deal.closed_at = now if stage.type != StageType.OPEN else None
    deal._pending_history = StageHistory(  # type: ignore[attr-defined]
        workspace_id=deal.workspace_id,
        pipeline_id=stage.pipeline_id,
        stage=stage,
        stage_name=stage.name,
        stage_type=stage.type,
        entered_at=now,
        actor_kind=actor.kind.value,
        actor=actor.user,
    )


def _save_history(deal: Deal) -> None:
    row = getattr(deal, "_pending_history", None)
    if row is not None:
        row.deal = deal
        row.save()
        del deal._pending_history  # type: ignore[attr-defined]


def deal_snapshot(deal: Deal, people: Iterable[tuple[Any, str]] | None = None) -> dict[str, Any]:
    if people is None:
        people = [(dp.person_id, dp.role) for dp in deal.deal_people.all()]
    return {
        "name": deal.name,
        "pipeline": deal.pipeline.name,
        "stage": deal.stage.name,
        "status": deal.status,
        "amount": None if deal.amount is None else f"{deal.amount:.2f}",
        "currency": deal.currency,
        "close_date": deal.close_date,
        "owner_id": deal.owner_id,
        "company_id": deal.company_id,
        "people": sorted(f"{getattr(p, 'pk', p)}:{role}" for p, role in people),
        "next_step": deal.next_step,
        "source": deal.source,
        "lost_reason": deal.lost_reason.name if deal.lost_reason is not None else None,
        "lost_note": deal.lost_note,
        "forecast_category": deal.forecast_category,
        "external_id": deal.external_id,
        "custom": deal.custom,
    }


def _apply(deal: Deal, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if key in ("stage", "people", "tags"):
            continue
        setattr(deal, key, value)


def _set_people(deal: Deal, people: list[tuple[Person, str]]) -> None:
    DealPerson.objects.filter(deal=deal).delete()
    DealPerson.objects.bulk_create(
        [
            DealPerson(workspace_id=deal.workspace_id, deal=deal, person=p, role=role)
            for p, role in people
        ]
    )


def _ensure_unique_external_id(actor: Actor, external_id: str, exclude_id=None) -> None:
    if not external_id:
        return
    clash = (
        Deal.objects.in_workspace(actor.workspace)
        .filter(external_id=external_id, deleted_at__isnull=True)
        .exclude(external_id="")
        .exclude(pk=exclude_id)
        .values_list("pk", flat=True)
        .first()
    )
    if clash:
        raise Duplicate(
            "external_id", clash, f"A deal with the external id {external_id} already exists."
        )


def _save(deal: Deal, actor: Actor) -> None:
    try:
        with transaction.atomic():
            deal.save()
    except IntegrityError:
        _ensure_unique_external_id(actor, deal.external_id, exclude_id=deal.pk)
        raise


@transaction.atomic
def deal_create(*, actor: Actor, data: Mapping[str, Any], source: str = "") -> Deal:
    require_write(actor)
    values = _clean_deal(actor, data, current=None)
    _ensure_unique_external_id(actor, values.get("external_id", ""))
    deal = Deal(workspace=actor.workspace)
    _apply(deal, values)
    people = values.get("people", [])
    _enter_stage(actor, deal, values["stage"], now=timezone.now(), people=people)
    deal.stamp(actor, created=True)
    _save(deal, actor)
    _save_history(deal)
    _set_people(deal, people)
    tags = resolve_tags(actor.workspace, values.get("tags") or [])
    deal.tags.set(tags)
    after = deal_snapshot(deal, people) | {"tags": sorted(t.name for t in tags)}
    record(
        actor=actor, action=events.DEAL_CREATED, obj=deal, changes=diff({}, after), source=source
    )
    search_index.index_record(deal)
    return deal


def _locked_deal(actor: Actor, deal_id) -> Deal:
    # Visibility first: a deal the actor may not see is 404 for every role, never 403.
    deal = (
        Deal.objects.visible_to(actor)
        .select_for_update(of=("self",))
        .select_related("stage", "pipeline", "lost_reason")
        .filter(pk=clean_uuid(deal_id, "id"))
        .first()
    )
    if deal is None:
        raise NotFound("No such deal.")
    return deal


@transaction.atomic
def deal_update(
    *,
    actor: Actor,
    deal_id,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    source: str = "",
) -> Deal:
    """Changes the fields sent; a new ``stage`` (or ``pipeline``) moves the deal, exactly as
    ``deal_move`` does."""
    deal = _locked_deal(actor, deal_id)
    require_write(actor)
    check_version(deal, expected_version)
    values = _clean_deal(actor, data, current=deal)
    if values.get("external_id"):
        _ensure_unique_external_id(actor, values["external_id"], exclude_id=deal.pk)
    old_people = [(dp.person_id, dp.role) for dp in deal.deal_people.all()]
    old_tags = sorted(t.name for t in deal.tags.all())
    before = deal_snapshot(deal, old_people) | {"tags": old_tags}
    _apply(deal, values)
    if "lost_reason" in values:
        deal.lost_reason = values["lost_reason"]
    people = values.get("people")
    stage = values.get("stage")
    moved = False
    if stage is not None and stage.pk != deal.stage_id:
        moved = True
        _enter_stage(actor, deal, stage, now=timezone.now(), people=people)
    resolved = resolve_tags(actor.workspace, values["tags"]) if "tags" in values else None
    new_tags = sorted(t.name for t in resolved) if resolved is not None else old_tags
    new_people = [(p.pk, r) for p, r in people] if people is not None else old_people
    changes = diff(before, deal_snapshot(deal, new_people) | {"tags": new_tags})
    if not changes:
        return deal
    deal.version += 1
    deal.stamp(actor)
    _save(deal, actor)
    _save_history(deal)
    if people is not None:
        _set_people(deal, people)
    if resolved is not None and new_tags != old_tags:
        deal.tags.set(resolved)
    action = events.DEAL_STAGE_CHANGED if moved else events.DEAL_UPDATED
    record(actor=actor, action=action, obj=deal, changes=changes, source=source)
    search_index.index_record(deal)
    return deal


def deal_move(
    *,
    actor: Actor,
    deal_id,
    stage,
    data: Mapping[str, Any] | None = None,
    expected_version: int | None = None,
    source: str = "",
) -> Deal:
    """Moves a deal to ``stage`` (of any pipeline). ``data`` may fill fields the stage requires
    (a lost reason) in the same step."""
    payload = dict(data or {})
    payload["stage"] = stage
    payload.pop("pipeline", None)
    if stage in (None, ""):
        raise ValidationFailed.one("stage", "Say which stage the deal moves to.")
    return deal_update(
        actor=actor,
        deal_id=deal_id,
        data=payload,
        expected_version=expected_version,
        source=source,
    )


@transaction.atomic
def deal_delete(
    *, actor: Actor, deal_id, expected_version: int | None = None, source: str = ""
) -> None:
    deal = _locked_deal(actor, deal_id)
    require_write(actor)
    require_delete(actor, deal)
    check_version(deal, expected_version)
    deal.deleted_at = timezone.now()
    deal.deleted_by = actor.user
    deal.version += 1
    deal.stamp(actor)
    deal.save()
    search_index.unindex_record(deal)
    record(
        actor=actor,
        action=events.DEAL_DELETED,
        obj=deal,
        changes={"deleted_at": {"before": None, "after": deal.deleted_at.isoformat()}},
        source=source,
    )


@transaction.atomic
def deal_restore(*, actor: Actor, deal_id, source: str = "") -> Deal:
    """Brings a deal back from the trash. Whoever may delete the deal may bring it back (the
    rule of people, companies and leads); one the record access setting hides is 404."""
    require_write(actor)
    deal = (
        Deal.objects.in_trash_of(actor)
        .select_for_update()
        .filter(pk=clean_uuid(deal_id, "id"))
        .first()
    )
    if deal is None:
        raise NotFound("No such deal in the trash.")
    require_delete(actor, deal)
    _ensure_unique_external_id(actor, deal.external_id, exclude_id=deal.pk)
    deleted_at = deal.deleted_at
    deal.deleted_at = None
    deal.deleted_by = None
    deal.version += 1
    deal.stamp(actor)
    deal.save()
    search_index.index_record(deal)
    record(
        actor=actor,
        action=events.DEAL_RESTORED,
        obj=deal,
        changes={
            "deleted_at": {"before": deleted_at.isoformat() if deleted_at else None, "after": None}
        },
        source=source,
    )
    return deal


# --- purge: deleted longer ago than the workspace's trash retention ----------------------------


def purge_expired(
    *,
    actor: Actor,
    model: type[Deal] | type[Lead],
    purged: EventType,
    now: dt.datetime | None = None,
    batch_size: int = PURGE_BATCH,
    source: str = "retention",
) -> int:
    """Deletes for good the ``model`` records in the trash longer than the workspace keeps
    them, as the people and companies purge does (``core.purge``): one audit entry per record,
    search entries removed, what other apps hang on them told (``core.targets.on_purge``).
    Linked rows go by their foreign keys: a deal's stage history, people, line items and
    quotes cascade; a lead converted into it keeps living without the link.
    Answers how many records went."""
    cutoff = retention_cutoff(actor, now)

    def purge(batch: list) -> None:
        record_many(
            actor=actor,
            entries=[
                (purged, obj, {"deleted_at": {"before": obj.deleted_at.isoformat(), "after": None}})
                for obj in batch
            ],
            source=source,
        )
        ids = [obj.pk for obj in batch]
        targets.purging(actor, targets.type_of(batch[0]).name, ids, source=source)
        search_index.unindex_ids(model._meta.label_lower, ids)
        model.objects.filter(workspace=actor.workspace, pk__in=ids).delete()

    expired = model.objects.in_trash_of(actor).filter(deleted_at__lt=cutoff)
    return purge_batches(expired, purge, batch_size=batch_size)


def deal_purge(
    *,
    actor: Actor,
    now: dt.datetime | None = None,
    batch_size: int = PURGE_BATCH,
    source: str = "retention",
) -> int:
    """Deletes for good the deals deleted longer ago than the workspace's trash retention
    (called by the daily trash purge, ``contacts.tasks.purge_trash``)."""
    return purge_expired(
        actor=actor,
        model=Deal,
        purged=events.DEAL_PURGED,
        now=now,
        batch_size=batch_size,
        source=source,
    )


def deals_touch_interaction(deal_ids: Iterable, occurred_at: dt.datetime) -> None:
    """Keeps ``last_interaction_at`` (rotting, stalled deals) as interactions are linked."""
    ids = list(deal_ids)
    if ids:
        Deal.objects.filter(pk__in=ids).filter(
            Q(last_interaction_at__isnull=True) | Q(last_interaction_at__lt=occurred_at)
        ).update(last_interaction_at=occurred_at)


# --- exchange rates ---------------------------------------------------------------------------


def _clean_rate(value, field: str) -> Decimal:
    rate = clean_amount(value, field=field, max_digits=24, places=10)
    if rate is None or rate <= 0:
        raise ValidationFailed.one(field, "A rate is a positive decimal number.")
    return rate


@transaction.atomic
def exchange_rate_set(
    *, actor: Actor, currency, rate, valid_from=None, source: str = ""
) -> ExchangeRate:
    """1 ``currency`` = ``rate`` base currency from ``valid_from`` (default today); setting
    the same day again replaces that day's rate."""
    require_admin(actor)
    base = actor.workspace.default_currency
    c = ErrorCollector()
    c.take("currency", clean_currency, currency, field="currency")
    c.take("rate", _clean_rate, rate, "rate")
    c.take("valid_from", clean_date, valid_from, field="valid_from")
    c.raise_if_any()
    if c.values["currency"] == base:
        raise ValidationFailed.one("currency", f"{base} is the base currency: its rate is 1.")
    day = c.values["valid_from"] or timezone.localdate()
    existing = (
        ExchangeRate.objects.in_workspace(actor.workspace)
        .select_for_update()
        .filter(base=base, currency=c.values["currency"], valid_from=day)
        .first()
    )
    before = {"rate": f"{existing.rate.normalize():f}"} if existing else {}
    obj = existing or ExchangeRate(
        workspace=actor.workspace, base=base, currency=c.values["currency"], valid_from=day
    )
    obj.rate = c.values["rate"]
    obj.stamp(actor, created=existing is None)
    obj.save()
    changes = diff(
        before | {"currency": obj.currency, "valid_from": day} if existing else {},
        {"currency": obj.currency, "valid_from": day, "rate": f"{obj.rate.normalize():f}"},
    )
    if changes:
        record(
            actor=actor,
            action=events.EXCHANGE_RATE_SET,
            obj=obj,
            object_repr=str(obj),
            changes=changes,
            source=source,
        )
    return obj


@transaction.atomic
def exchange_rate_delete(*, actor: Actor, rate_id) -> None:
    obj = (
        ExchangeRate.objects.in_workspace(actor.workspace)
        .filter(pk=clean_uuid(rate_id, "id"))
        .first()
    )
    if obj is None:
        raise NotFound("No such exchange rate.")
    require_admin(actor)
    record(
        actor=actor,
        action=events.EXCHANGE_RATE_DELETED,
        obj=obj,
        object_repr=str(obj),
        changes={"rate": {"before": f"{obj.rate.normalize():f}", "after": None}},
    )
    obj.delete()


def exchange_rates_import(*, actor: Actor, text: str) -> dict[str, Any]:
    """Rates from CSV (``currency,rate,valid_from`` with a header row). Good rows are stored
    even when others are rejected; every rejected line comes back with its reason."""
    require_admin(actor)
    if not isinstance(text, str) or not text.strip():
        raise ValidationFailed.one("file", "The file is empty.")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    headers = {h.strip().lower() for h in (reader.fieldnames or []) if h}
    if not {"currency", "rate"} <= headers:
        raise ValidationFailed.one(
            "file", "The first row must name the columns currency, rate and (optionally) date."
        )
    stored, rejected = 0, []
    for line, row in enumerate(reader, start=2):
        if line - 1 > MAX_RATE_ROWS:
            rejected.append({"line": line, "reason": f"More than {MAX_RATE_ROWS} rows."})
            break
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        try:
            with transaction.atomic():
                exchange_rate_set(
                    actor=actor,
                    currency=row.get("currency"),
                    rate=row.get("rate"),
                    valid_from=row.get("valid_from") or row.get("date") or None,
                    source="import",
                )
            stored += 1
        except ValidationFailed as exc:
            rejected.append(
                {"line": line, "reason": "; ".join(f"{e.field}: {e.message}" for e in exc.errors)}
            )
    return {"stored": stored, "rejected": rejected}


# --- quotas -----------------------------------------------------------------------------------


def period_start(period: str, day: dt.date) -> dt.date:
    """The first day of the month, quarter or year ``day`` falls in."""
    if period == QuotaPeriod.MONTH:
        return day.replace(day=1)
    if period == QuotaPeriod.QUARTER:
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return dt.date(day.year, 1, 1)


@transaction.atomic
def quota_set(*, actor: Actor, user, period, start, amount) -> Quota:
    """A member's quota for the period containing ``start``; an empty amount removes it."""
    if not actor.role.at_least(Role.MANAGER):
        raise PermissionDenied("Only managers, admins and owners set quotas.")
    c = ErrorCollector()
    c.take("user", clean_member, actor.workspace, user, "user")
    c.take("period", clean_choice, period, field="period", choices=QuotaPeriod.choices)
    c.take("start", clean_date, start, field="start", required=True)
    c.raise_if_any()
    if c.values["user"] is None:
        raise ValidationFailed.one("user", "Say whose quota this is.")
    value, currency = _clean_money(actor, amount) if amount not in (None, "") else (None, "")
    first = period_start(c.values["period"], c.values["start"])
    existing = (
        Quota.objects.in_workspace(actor.workspace)
        .select_for_update()
        .filter(user_id=c.values["user"], period=c.values["period"], start=first)
        .first()
    )
    before = {"amount": f"{existing.amount:.2f} {existing.currency}"} if existing else {}
    if value is None:
        if existing is None:
            raise ValidationFailed.one("amount", "Give the quota an amount.")
        record(
            actor=actor,
            action=events.QUOTA_DELETED,
            obj=existing,
            object_repr=str(existing),
            changes=diff(before, {}),
        )
        existing.delete()
        return existing
    quota = existing or Quota(
        workspace=actor.workspace, user_id=c.values["user"], period=c.values["period"], start=first
    )
    quota.amount, quota.currency = value, currency
    quota.stamp(actor, created=existing is None)
    quota.save()
    changes = diff(before, {"amount": f"{quota.amount:.2f} {quota.currency}"})
    if changes:
        record(
            actor=actor,
            action=events.QUOTA_SET,
            obj=quota,
            object_repr=str(quota),
            changes=changes | {"period": {"before": None, "after": f"{quota.period} {first}"}},
        )
    return quota
