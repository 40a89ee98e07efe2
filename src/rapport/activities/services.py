"""Writes for interactions and tasks: the only code path that changes them (DESIGN rule 1).

The UI's quick-add box, the API, the channel ingest endpoint, imports and automations all
call these. Each one takes an actor, validates everything first, writes in one transaction,
records one audit entry and notifies the people it concerns (mentions, assignments).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import (  # type: ignore[import-untyped]
    DAILY,
    MONTHLY,
    WEEKLY,
    YEARLY,
    rrulestr,
)
from django.db import IntegrityError, transaction
from django.utils import timezone

from rapport.audit.services import diff, record
from rapport.core import targets
from rapport.core.actors import Actor
from rapport.core.context import recall
from rapport.core.errors import (
    Duplicate,
    ErrorCollector,
    FieldError,
    NotFound,
    ValidationFailed,
    check_version,
)
from rapport.core.policy import can_delete, require_delete, require_write
from rapport.core.validation import (
    clean_choice,
    clean_datetime,
    clean_int,
    clean_member,
    clean_text,
)
from rapport.tenancy.models import Membership

from . import content, events, kinds
from .models import (
    Activity,
    ActivityTarget,
    ActivityType,
    Direction,
    Priority,
    Task,
    TaskStatus,
    TaskTarget,
    TrashedActivityTarget,
)

MAX_BODY = 100_000

# --- shared ---------------------------------------------------------------------------------


def _members(workspace, user_ids: Iterable) -> dict[uuid.UUID, Any]:
    ids = {u for u in user_ids if u}
    if not ids:
        return {}
    rows = Membership.objects.filter(workspace=workspace, user_id__in=ids).select_related("user")
    return {m.user_id: m.user for m in rows}


def _locked(qs, pk):
    obj = qs.select_for_update().filter(pk=pk).first()
    if obj is None:
        raise NotFound("No such record.")
    return obj


def _notify(actor: Actor, recipients, *, kind: str, title: str, body: str, url: str, target, key):
    """Notifications are a separate app; an interaction or task is written even if it fails
    to load (it never does in a complete install)."""
    from rapport.notifications import services as notifications

    notifications.notify(
        actor=actor,
        recipients=recipients,
        kind=kind,
        title=title,
        body=body,
        url=url,
        target_type=target[0],
        target_id=target[1],
        key=key,
    )


# --- interactions ---------------------------------------------------------------------------

ACTIVITY_SNAPSHOT = (
    "type",
    "occurred_at",
    "subject",
    "body",
    "direction",
    "channel",
    "external_id",
    "author_id",
    "data",
    "pinned",
)


def _clean_activity(actor: Actor, data: Mapping[str, Any], *, current: Activity | None) -> dict:
    ws = actor.workspace
    c = ErrorCollector()
    kind = current.type if current else None
    if "type" in data or current is None:
        c.take("type", clean_choice, data.get("type"), field="type", choices=ActivityType.choices)
        kind = c.values.get("type", kind)
    if "occurred_at" in data:
        c.take("occurred_at", clean_datetime, data["occurred_at"], field="occurred_at")
    if "subject" in data:
        c.take("subject", clean_text, data["subject"], field="subject", max_length=300)
    if "body" in data:
        c.take("body", clean_text, data["body"], field="body", max_length=MAX_BODY, multiline=True)
    if "direction" in data:
        value = data["direction"] or ""
        c.take(
            "direction",
            clean_choice,
            value,
            field="direction",
            choices=[("", ""), *Direction.choices],
        )
    if "channel" in data:
        c.take("channel", clean_text, data["channel"], field="channel", max_length=50)
    if "external_id" in data:
        c.take("external_id", clean_text, data["external_id"], field="external_id", max_length=255)
    if "author" in data:
        c.take("author_id", clean_member, ws, data["author"], "author")
    if "pinned" in data:
        if not isinstance(data["pinned"], bool):
            c.errors.append(FieldError("pinned", "Must be true or false."))
        else:
            c.values["pinned"] = data["pinned"]
    if "targets" in data or current is None:
        c.take("targets", targets.clean_refs, actor, data.get("targets"), required=True)
    if kind and ("data" in data or "type" in data or current is None):
        raw = data.get("data", current.data if current else None)
        c.take("data", kinds.clean_data, kind, raw, region=ws.default_region)
    if data.get("follow_up") not in (None, {}):
        c.take("follow_up", _clean_follow_up, actor, data["follow_up"])
    c.raise_if_any()
    values = c.values
    if current is None:
        values.setdefault("author_id", actor.user_id)
        values.setdefault("occurred_at", _default_time(values))
        values.setdefault("channel", "")
    if values.get("type") == ActivityType.NOTE or (current and current.type == ActivityType.NOTE):
        body = values.get("body", current.body if current else "")
        if not body.strip() and not values.get("subject", current.subject if current else ""):
            raise ValidationFailed.one("body", "Write something in the note.")
    return values


def _default_time(values: dict) -> dt.datetime:
    """A meeting or visit happens when it starts; anything else when it is logged."""
    starts = (values.get("data") or {}).get("starts_at")
    return dt.datetime.fromisoformat(starts) if starts else timezone.now()


def _clean_follow_up(actor: Actor, value) -> dict:
    """``{"title", "due_in_days" | "due_at", "assignee"}``: a task to follow an interaction up."""
    if not isinstance(value, Mapping) or set(value) - {
        "title",
        "due_in_days",
        "due_at",
        "assignee",
    }:
        raise ValidationFailed.one(
            "follow_up", 'Send {"title", "due_in_days" or "due_at", "assignee"}.'
        )
    c = ErrorCollector()
    c.take("title", clean_text, value.get("title"), field="follow_up.title", max_length=300)
    if value.get("due_at"):
        c.take("due_at", clean_datetime, value["due_at"], field="follow_up.due_at")
    else:
        c.take(
            "days",
            clean_int,
            value.get("due_in_days", 3),
            field="follow_up.due_in_days",
            maximum=3650,
        )
    c.take(
        "assignee",
        clean_member,
        actor.workspace,
        value.get("assignee") or actor.user_id,
        "follow_up.assignee",
    )
    c.raise_if_any()
    out = c.values
    if "days" in out:
        out["due_at"] = timezone.now() + dt.timedelta(days=out.pop("days"))
    return out


def _resolve_mentions(actor: Actor, text: str) -> dict[uuid.UUID, Any]:
    """The members a text mentions, by id token or by sign-in email."""
    found = content.find_mentions(text)
    if not found:
        return {}
    ids = {m.user_id for m in found if m.user_id}
    emails = {m.email for m in found if m.email}
    rows = Membership.objects.filter(workspace=actor.workspace).select_related("user")
    if emails:
        rows = rows.filter(user_id__in=ids) | rows.filter(user__email__in=emails)
    else:
        rows = rows.filter(user_id__in=ids)
    return {m.user_id: m.user for m in rows}


def _render(actor: Actor, obj: Activity, html_in: str | None) -> None:
    """Fills ``body_html`` and ``data.mentions`` from what was written."""
    mentioned = _resolve_mentions(actor, f"{obj.subject}\n{obj.body}")
    if mentioned:
        obj.data["mentions"] = sorted(str(u) for u in mentioned)
    else:
        obj.data.pop("mentions", None)
    if html_in is not None:  # received HTML (an email): already sanitised by kinds
        obj.body_html = html_in
    elif obj.type == ActivityType.NOTE or mentioned:
        names = {u: (user.display_name or user.email) for u, user in mentioned.items()}
        obj.body_html = content.render_note(obj.body, names)
    else:
        obj.body_html = ""


def _link_attendees(actor: Actor, refs: list[targets.Ref], data: dict) -> list[targets.Ref]:
    """A meeting shows on the timeline of every attendee who is a person of the workspace."""
    emails = [a["email"] for a in data.get("attendees", []) if a.get("email")]
    emails += [e for key in ("from", "to", "cc") for e in _as_list(data.get(key))]
    if not emails:
        return refs
    from rapport.contacts.models import Person

    known = {r.key for r in refs}
    people = Person.objects.visible_to(actor).filter(email__in=set(emails)).exclude(email="")
    extra = [targets.Ref("person", p.pk, p) for p in people if ("person", p.pk) not in known]
    return [*refs, *extra[: targets.MAX_TARGETS - len(refs)]]


def _as_list(value) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)


def _write_targets(obj: Activity, refs: list[targets.Ref]) -> None:
    rows = [
        ActivityTarget(
            workspace_id=obj.workspace_id,
            activity=obj,
            target_type=ref.type,
            target_id=ref.id,
            rollup=rollup,
            occurred_at=obj.occurred_at,
            activity_type=obj.type,
        )
        for refs_, rollup in ((refs, False), (targets.rollups(refs), True))
        for ref in refs_
    ]
    ActivityTarget.objects.bulk_create(rows)
    targets.interaction_linked(refs, obj.occurred_at)


def _as_dicts(refs: list[targets.Ref]) -> list[dict[str, str]]:
    """Links as the API and the audit log write them."""
    return [{"type": r.type, "id": str(r.id)} for r in refs]


def _target_list(obj: Activity) -> list[dict[str, str]]:
    return [
        {"type": t.target_type, "id": str(t.target_id)} for t in obj.targets.all() if not t.rollup
    ]


def _activity_snapshot(obj: Activity) -> dict[str, Any]:
    # (a copy of `data`: rendering changes it in place, and the diff must see the change)
    return {f: getattr(obj, f) for f in ACTIVITY_SNAPSHOT} | {"data": dict(obj.data)}


def activity_url(obj: Activity) -> str:
    from django.urls import reverse

    return reverse("activities:activity_detail", args=[obj.pk])


def _notify_mentions(actor: Actor, obj: Activity, before: Iterable[str] = ()) -> None:
    new = set(obj.data.get("mentions", [])) - set(before) - {str(actor.user_id)}
    if not new:
        return
    kind_label = obj.get_type_display().lower()
    _notify(
        actor,
        [uuid.UUID(u) for u in new],
        kind="mention",
        title=f"{actor.label} mentioned you in a {kind_label}",
        body=content.plain_preview(obj.subject or obj.body),
        url=activity_url(obj),
        target=("activity", obj.pk),
        key=f"mention:{obj.pk}",
    )


def _ensure_unique_message(
    actor: Actor, channel: str, external_id: str, exclude_id=None, *, trust_batch: bool = True
):
    if not external_id:
        return
    # A batch that checked all its message ids at once (the channel ingest) remembers the new
    # ones; the unique index still catches a concurrent push of the same message.
    if trust_batch and recall(unlogged_message_key(actor, channel, external_id)):
        return
    # (`exclude(external_id="")` states the unique index's condition: SQLite uses a partial
    # index only then)
    clash = (
        Activity.objects.filter(workspace=actor.workspace, channel=channel, external_id=external_id)
        .exclude(external_id="")
        .exclude(pk=exclude_id)
    )
    existing = clash.values_list("pk", flat=True).first()
    if existing:
        raise Duplicate(
            "external_id",
            existing,
            f"The {channel or 'channel'} message {external_id} is already logged.",
        )


def unlogged_message_key(actor: Actor, channel: str, external_id: str) -> tuple:
    """The batch memo key under which a batch records that a message id is not logged yet."""
    return ("unlogged_message", actor.workspace.pk, channel, external_id)


@transaction.atomic
def activity_create(*, actor: Actor, data: Mapping[str, Any], source: str = "") -> Activity:
    require_write(actor)
    values = _clean_activity(actor, data, current=None)
    _ensure_unique_message(actor, values["channel"], values.get("external_id", ""))
    refs = _link_attendees(actor, values.pop("targets"), values.get("data", {}))
    follow_up = values.pop("follow_up", None)
    html_in = values.get("data", {}).pop("html", None)
    obj = Activity(workspace=actor.workspace, **values)
    obj.stamp(actor, created=True)
    _render(actor, obj, html_in)
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:  # a concurrent push of the same message won the race
        _ensure_unique_message(actor, obj.channel, obj.external_id, trust_batch=False)
        raise
    _write_targets(obj, refs)
    after = _activity_snapshot(obj) | {"targets": _as_dicts(refs)}
    record(
        actor=actor, action=events.ACTIVITY_CREATED, obj=obj, changes=diff({}, after), source=source
    )
    _notify_mentions(actor, obj)
    if follow_up:
        task_create(
            actor=actor,
            data={
                "title": follow_up.get("title") or f"Follow up: {obj}",
                "due_at": follow_up["due_at"],
                "assignee": follow_up["assignee"],
                "targets": _as_dicts(refs),
            },
            activity=obj,
            source=source,
        )
    return obj


@transaction.atomic
def activity_update(
    *,
    actor: Actor,
    activity_id,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    source: str = "",
) -> Activity:
    obj = _locked(Activity.objects.visible_to(actor), activity_id)
    require_write(actor)
    check_version(obj, expected_version)
    if "follow_up" in data:
        raise ValidationFailed.one(
            "follow_up", "Create a task instead; follow_up is for new interactions."
        )
    values = _clean_activity(actor, data, current=obj)
    if "external_id" in values or "channel" in values:
        _ensure_unique_message(
            actor,
            values.get("channel", obj.channel),
            values.get("external_id", obj.external_id),
            obj.pk,
        )
    before = _activity_snapshot(obj) | {"targets": _target_list(obj)}
    mentions_before = list(obj.data.get("mentions", []))
    refs = values.pop("targets", None)
    html_in = values.get("data", {}).pop("html", None) if "data" in values else None
    for key, value in values.items():
        setattr(obj, key, value)
    starts = obj.data.get("starts_at")
    if "occurred_at" not in values and starts and starts != before["data"].get("starts_at"):
        obj.occurred_at = dt.datetime.fromisoformat(starts)  # a rescheduled meeting moves
    if "data" in values and html_in is None and obj.type == ActivityType.EMAIL:
        html_in = obj.body_html  # an edit that does not resend the HTML keeps it
    _render(actor, obj, html_in)
    after = _activity_snapshot(obj) | {
        "targets": _as_dicts(refs) if refs is not None else before["targets"]
    }
    changes = diff(before, after)
    if not changes:
        return obj
    obj.version += 1
    obj.stamp(actor)
    obj.save()
    if refs is not None:
        obj.targets.all().delete()
        _write_targets(obj, refs)
    elif "occurred_at" in changes or "type" in changes:
        # The links' copies of the time and type follow the interaction.
        obj.targets.update(occurred_at=obj.occurred_at, activity_type=obj.type)
    record(actor=actor, action=events.ACTIVITY_UPDATED, obj=obj, changes=changes, source=source)
    _notify_mentions(actor, obj, mentions_before)
    return obj


@transaction.atomic
def activity_delete(
    *, actor: Actor, activity_id, expected_version: int | None = None, source: str = ""
) -> None:
    obj = _locked(Activity.objects.visible_to(actor), activity_id)
    require_write(actor)
    require_delete(actor, _owned(obj))
    check_version(obj, expected_version)
    _soft_delete(actor, obj, events.ACTIVITY_DELETED, source)
    # Off every timeline; the links wait aside until it is restored or purged.
    links = list(obj.targets.values_list("target_type", "target_id", "rollup"))
    TrashedActivityTarget.objects.bulk_create(
        TrashedActivityTarget(
            workspace_id=obj.workspace_id,
            activity=obj,
            target_type=target_type,
            target_id=target_id,
            rollup=rollup,
        )
        for target_type, target_id, rollup in links
    )
    obj.targets.all().delete()


@transaction.atomic
def activity_restore(*, actor: Actor, activity_id, source: str = "") -> Activity:
    """Brings an interaction back from the trash onto the timelines it was on (the links of
    records purged meanwhile are gone). Restoring follows the delete rule."""
    obj = _locked(Activity.objects.in_trash_of(actor), activity_id)
    require_write(actor)
    require_delete(actor, _owned(obj))
    kept = list(obj.trashed_targets.all())
    ActivityTarget.objects.bulk_create(
        ActivityTarget(
            workspace_id=obj.workspace_id,
            activity=obj,
            target_type=link.target_type,
            target_id=link.target_id,
            rollup=link.rollup,
            occurred_at=obj.occurred_at,
            activity_type=obj.type,
        )
        for link in kept
    )
    obj.trashed_targets.all().delete()
    _undelete(actor, obj, events.ACTIVITY_RESTORED, source)
    return obj


def _soft_delete(actor: Actor, obj: Activity | Task, event, source: str) -> None:
    """Deleted, not erased: the row keeps its history and leaves every list and timeline."""
    obj.deleted_at = timezone.now()
    obj.deleted_by = actor.user
    obj.version += 1
    obj.stamp(actor)
    obj.save()
    record(
        actor=actor,
        action=event,
        obj=obj,
        changes={"deleted_at": {"before": None, "after": obj.deleted_at.isoformat()}},
        source=source,
    )


def _undelete(actor: Actor, obj: Activity | Task, event, source: str) -> None:
    deleted_at = obj.deleted_at
    assert deleted_at is not None  # (found in the trash)
    obj.deleted_at = None
    obj.deleted_by = None
    obj.version += 1
    obj.stamp(actor)
    obj.save()
    record(
        actor=actor,
        action=event,
        obj=obj,
        changes={"deleted_at": {"before": deleted_at.isoformat(), "after": None}},
        source=source,
    )


def may_restore(actor: Actor, obj: Activity | Task) -> bool:
    """Whether the actor may bring ``obj`` back from the trash: as for deleting it."""
    return can_delete(actor, _owned(obj))


def _owned(obj: Activity | Task) -> _Owned:
    """An interaction is its author's, a task its assignee's (and each its creator's)."""
    owner_id = obj.author_id if isinstance(obj, Activity) else obj.assignee_id
    return _Owned(owner_id, obj.created_by_id)


class _Owned:
    """What the delete rule asks of a record: who owns it (an interaction's author)."""

    def __init__(self, owner_id, created_by_id):
        self.owner_id = owner_id
        self.created_by_id = created_by_id


# --- tasks ------------------------------------------------------------------------------------

TASK_SNAPSHOT = (
    "title",
    "description",
    "due_at",
    "remind_at",
    "priority",
    "status",
    "assignee_id",
    "rrule",
    "completed_at",
)
_FREQUENCIES = {DAILY: "daily", WEEKLY: "weekly", MONTHLY: "monthly", YEARLY: "yearly"}


def clean_rrule(value: Any, *, field: str = "rrule") -> str:
    """An RFC 5545 recurrence rule (``FREQ=WEEKLY;BYDAY=MO,WE``), daily to yearly."""
    text = clean_text(value, field=field, max_length=500).upper().removeprefix("RRULE:")
    if not text:
        return ""
    try:
        rule = rrulestr(text, dtstart=dt.datetime(2000, 1, 1))
    except (ValueError, TypeError):
        raise ValidationFailed.one(field, "Not a recurrence rule (e.g. FREQ=WEEKLY;BYDAY=MO,WE).")
    if rule._freq not in _FREQUENCIES:  # type: ignore[attr-defined]
        raise ValidationFailed.one(field, "Repeat daily, weekly, monthly or yearly.")
    return text


def _clean_task(actor: Actor, data: Mapping[str, Any], *, current: Task | None) -> dict:
    ws = actor.workspace
    c = ErrorCollector()
    if "title" in data or current is None:
        c.take("title", clean_text, data.get("title"), field="title", max_length=300, required=True)
    if "description" in data:
        c.take(
            "description", clean_text, data["description"], field="description",
            max_length=MAX_BODY, multiline=True,
        )  # fmt: skip
    for key in ("due_at", "remind_at"):
        if key in data:
            c.take(key, clean_datetime, data[key], field=key)
    if "priority" in data:
        c.take("priority", clean_choice, data["priority"], field="priority",
               choices=Priority.choices, default=Priority.NORMAL)  # fmt: skip
    if "status" in data:
        c.take("status", clean_choice, data["status"], field="status",
               choices=TaskStatus.choices, default=TaskStatus.OPEN)  # fmt: skip
    if "assignee" in data:
        c.take("assignee_id", clean_member, ws, data["assignee"], "assignee")
    elif current is None:
        c.values["assignee_id"] = actor.user_id
    if "rrule" in data:
        c.take("rrule", clean_rrule, data["rrule"])
    if "targets" in data:
        c.take("targets", targets.clean_refs, actor, data["targets"])
    c.raise_if_any()
    values = c.values
    due = values.get("due_at", current.due_at if current else None)
    remind = values.get("remind_at", current.remind_at if current else None)
    rule = values.get("rrule", current.rrule if current else "")
    if remind and due and remind > due:
        raise ValidationFailed.one("remind_at", "The reminder comes after the due time.")
    if rule and not due:
        raise ValidationFailed.one("rrule", "A repeating task needs a due date.")
    if "remind_at" in values and current is not None and values["remind_at"] != current.remind_at:
        values["reminded_at"] = None  # a new reminder time is a new reminder
    return values


def _task_snapshot(obj: Task) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in TASK_SNAPSHOT}


def _task_targets(obj: Task) -> list[dict[str, str]]:
    return [{"type": t.target_type, "id": str(t.target_id)} for t in obj.targets.all()]


def _write_task_targets(obj: Task, refs: list[targets.Ref]) -> None:
    TaskTarget.objects.bulk_create(
        TaskTarget(
            workspace_id=obj.workspace_id,
            task=obj,
            target_type=ref.type,
            target_id=ref.id,
            created_at=obj.created_at,
        )
        for ref in refs
    )


def task_url(obj: Task) -> str:
    from django.urls import reverse

    return reverse("activities:task_detail", args=[obj.pk])


def _notify_assignee(actor: Actor, obj: Task) -> None:
    if obj.assignee_id is None or obj.assignee_id == actor.user_id:
        return  # (nobody is told of what they did themselves)
    due = f" (due {obj.due_at:%Y-%m-%d %H:%M} UTC)" if obj.due_at else ""
    _notify(
        actor,
        [obj.assignee_id],
        kind="assignment",
        title=f"{actor.label} assigned you a task: {obj.title}",
        body=f"{obj.title}{due}",
        url=task_url(obj),
        target=("task", obj.pk),
        key=f"assignment:{obj.pk}:{obj.assignee_id}:{obj.version}",
    )


@transaction.atomic
def task_create(
    *,
    actor: Actor,
    data: Mapping[str, Any],
    source: str = "",
    activity: Activity | None = None,
    previous: Task | None = None,
) -> Task:
    require_write(actor)
    values = _clean_task(actor, data, current=None)
    refs = values.pop("targets", [])
    obj = Task(workspace=actor.workspace, activity=activity, previous=previous, **values)
    obj.linked = bool(refs)
    if obj.status == TaskStatus.DONE:
        obj.completed_at = timezone.now()
    obj.stamp(actor, created=True)
    obj.save()
    _write_task_targets(obj, refs)
    after = _task_snapshot(obj) | {"targets": _as_dicts(refs)}
    record(actor=actor, action=events.TASK_CREATED, obj=obj, changes=diff({}, after), source=source)
    _notify_assignee(actor, obj)
    return obj


@transaction.atomic
def task_update(
    *,
    actor: Actor,
    task_id,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    source: str = "",
) -> Task:
    obj = _locked(Task.objects.visible_to(actor), task_id)
    require_write(actor)
    check_version(obj, expected_version)
    values = _clean_task(actor, data, current=obj)
    before = _task_snapshot(obj) | {"targets": _task_targets(obj)}
    refs = values.pop("targets", None)
    status_before = obj.status
    for key, value in values.items():
        setattr(obj, key, value)
    if obj.status != status_before:
        obj.completed_at = timezone.now() if obj.status == TaskStatus.DONE else None
    after = _task_snapshot(obj) | {
        "targets": _as_dicts(refs) if refs is not None else before["targets"]
    }
    changes = diff(before, after)
    if not changes:
        return obj
    obj.version += 1
    obj.stamp(actor)
    if refs is not None:
        obj.linked = bool(refs)
    obj.save()
    if refs is not None:
        obj.targets.all().delete()
        _write_task_targets(obj, refs)
    done = obj.status == TaskStatus.DONE and status_before != TaskStatus.DONE
    action = events.TASK_COMPLETED if done else events.TASK_UPDATED
    record(actor=actor, action=action, obj=obj, changes=changes, source=source)
    if "assignee_id" in changes:
        _notify_assignee(actor, obj)
    if done:
        _next_occurrence(actor, obj, source)
    return obj


def task_complete(*, actor: Actor, task_id, source: str = "") -> Task:
    return task_update(actor=actor, task_id=task_id, data={"status": "done"}, source=source)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _next_occurrence(actor: Actor, obj: Task, source: str) -> Task | None:
    """Completing a repeating task creates its next occurrence (once, however often the task
    is reopened and completed again); ``COUNT`` counts down, ``UNTIL`` ends the series."""
    if not obj.rrule or obj.due_at is None or Task.objects.filter(previous=obj).exists():
        return None
    rule_text = obj.rrule
    parts = dict(p.split("=", 1) for p in rule_text.split(";") if "=" in p)
    if "COUNT" in parts:
        remaining = int(parts["COUNT"]) - 1
        if remaining < 1:
            return None
        parts["COUNT"] = str(remaining)
        rule_text = ";".join(f"{k}={v}" for k, v in parts.items())
    # The rule is read in the assignee's time zone: "weekly on Monday at 9:00" in Auckland is
    # a Sunday in UTC, and daylight saving must keep the local clock time.
    person = obj.assignee or obj.created_by
    zone = _zone(person.time_zone if person else "UTC")
    start = obj.due_at.astimezone(zone)
    following = rrulestr(obj.rrule, dtstart=start).after(start)
    if following is None:
        return None
    next_due = following.replace(tzinfo=zone).astimezone(dt.UTC)
    remind = next_due - (obj.due_at - obj.remind_at) if obj.remind_at else None
    return task_create(
        actor=actor,
        data={
            "title": obj.title,
            "description": obj.description,
            "due_at": next_due,
            "remind_at": remind,
            "priority": obj.priority,
            "assignee": obj.assignee_id,
            "rrule": rule_text,
            "targets": _task_targets(obj),
        },
        activity=obj.activity,
        previous=obj,
        source=source,
    )


@transaction.atomic
def task_delete(
    *, actor: Actor, task_id, expected_version: int | None = None, source: str = ""
) -> None:
    obj = _locked(Task.objects.visible_to(actor), task_id)
    require_write(actor)
    require_delete(actor, _owned(obj))
    check_version(obj, expected_version)
    _soft_delete(actor, obj, events.TASK_DELETED, source)


@transaction.atomic
def task_restore(*, actor: Actor, task_id, source: str = "") -> Task:
    """Brings a task back from the trash (its links stayed). Restoring follows the delete rule."""
    obj = _locked(Task.objects.in_trash_of(actor), task_id)
    require_write(actor)
    require_delete(actor, _owned(obj))
    _undelete(actor, obj, events.TASK_RESTORED, source)
    return obj


MAX_BULK_TASKS = 500


def _bulk_ids(task_ids) -> list:
    ids = list(dict.fromkeys(task_ids))
    if not ids:
        raise ValidationFailed.one("ids", "Select at least one task.")
    if len(ids) > MAX_BULK_TASKS:
        raise ValidationFailed.one("ids", f"Select at most {MAX_BULK_TASKS} tasks at once.")
    return ids


@transaction.atomic
def tasks_complete(*, actor: Actor, task_ids, source: str = "") -> int:
    """Completes the selected open tasks (each audited, each repeating one rolled forward);
    answers how many changed. All or nothing."""
    changed = 0
    for task_id in _bulk_ids(task_ids):
        obj = (
            Task.objects.visible_to(actor)
            .filter(pk=task_id)
            .values_list("status", flat=True)
            .first()
        )
        if obj is None:
            raise NotFound("No such task.")
        if obj == TaskStatus.OPEN:
            task_complete(actor=actor, task_id=task_id, source=source)
            changed += 1
    return changed


@transaction.atomic
def tasks_reschedule(
    *,
    actor: Actor,
    task_ids,
    due_at: dt.datetime | None = None,
    shift_days: int | None = None,
    source: str = "",
) -> int:
    """Moves the selected tasks to ``due_at`` or by ``shift_days`` (keeping each reminder the
    same time before its due time)."""
    if (due_at is None) == (shift_days is None):
        raise ValidationFailed.one("due_at", "Give a new due date or a number of days to shift.")
    if shift_days is not None and not -3650 <= shift_days <= 3650:
        raise ValidationFailed.one("shift_days", "Shift by at most 3650 days.")
    changed = 0
    for task_id in _bulk_ids(task_ids):
        obj = Task.objects.visible_to(actor).filter(pk=task_id).first()
        if obj is None:
            raise NotFound("No such task.")
        if shift_days is not None:
            new_due = (obj.due_at or timezone.now()) + dt.timedelta(days=shift_days)
        else:
            new_due = due_at
        data: dict[str, Any] = {"due_at": new_due}
        if obj.remind_at and obj.due_at:
            data["remind_at"] = new_due - (obj.due_at - obj.remind_at)
        elif obj.remind_at:
            data["remind_at"] = None
        task_update(actor=actor, task_id=task_id, data=data, source=source)
        changed += 1
    return changed


# --- reminders ------------------------------------------------------------------------------
# A reminder is sent *at most once*, even with two workers, a beat that fires twice or a worker
# killed mid-batch: the sweep claims each due task with ``SELECT ... FOR UPDATE SKIP LOCKED``,
# stamps ``reminded_at`` and writes the in-app notification in the same transaction. Another
# worker skips the locked rows, and after the commit the rows no longer match the sweep. A
# worker that dies before committing rolls everything back: the next sweep sends it (once).
# The notification's ``key`` (task id + reminder time) is a second guard inside ``notify``.

# Rows claimed per transaction: small enough to keep locks short, large enough that a busy
# minute (everyone's 9:00 reminders) drains in a few round trips.
REMINDER_BATCH = 200
# One sweep stops after this many batches; the next minute's sweep takes the rest, so a
# backlog never makes one task run for long.
REMINDER_MAX_BATCHES = 50


def _reminders_due(now: dt.datetime):
    """Open, live tasks whose reminder time has come and that were not reminded yet (the
    partial index ``task_reminder_due`` holds exactly these rows)."""
    return Task.objects.filter(
        status=TaskStatus.OPEN,
        deleted_at__isnull=True,
        reminded_at__isnull=True,
        remind_at__lte=now,
    )


def _remind(task: Task) -> None:
    if task.assignee_id is None:
        return  # nobody to remind; the claim still stops the sweep from finding it again
    due = ""
    if task.due_at:
        # Each recipient sees times in their own zone in the app; the text is plain UTC.
        due = f"Due {task.due_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
    _notify(
        # The system reminds: a user acting would not be notified of their own reminder.
        Actor.system(task.workspace, "reminders"),
        recipients=[task.assignee_id],
        kind="reminder",
        title=f"Reminder: {task.title}",
        body=due,
        url=task_url(task),
        target=("task", task.pk),
        key=f"reminder:{task.pk}:{task.remind_at.isoformat() if task.remind_at else ''}",
    )


def task_reminders_send(*, now: dt.datetime | None = None, batch_size: int = REMINDER_BATCH) -> int:
    """Sends every reminder due at ``now``; answers how many tasks were claimed."""
    now = now or timezone.now()
    sent = 0
    for _ in range(REMINDER_MAX_BATCHES):
        with transaction.atomic():
            claimed = list(
                _reminders_due(now)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("workspace")
                .order_by("remind_at", "id")[:batch_size]
            )
            if not claimed:
                break
            Task.objects.filter(pk__in=[t.pk for t in claimed]).update(reminded_at=now)
            for task in claimed:
                _remind(task)
        sent += len(claimed)
        if len(claimed) < batch_size:
            break
    return sent
