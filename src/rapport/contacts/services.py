"""Writes for people and companies: the only code path that changes them (DESIGN rule 1).

Every function takes an actor, runs in one transaction, validates everything before writing,
records one audit entry with field-level before/after, and keeps the search index in step.
``data`` uses the API's shape (``address`` nested, ``company``/``owner`` as ids); partial
updates send only the keys that change.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, UniqueConstraint
from django.utils import timezone

from rapport.audit.events import EventType
from rapport.audit.services import diff, record, record_many
from rapport.core import targets
from rapport.core.actors import Actor
from rapport.core.context import memo
from rapport.core.custom_fields import clean_custom
from rapport.core.errors import (
    DomainError,
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
    clean_country,
    clean_currency,
    clean_domain,
    clean_email,
    clean_int,
    clean_phone,
    clean_tags,
    clean_text,
    clean_uuid,
)
from rapport.search import services as search_index
from rapport.tenancy.models import Membership

from . import dedupe, events
from .models import Address, Company, LifecycleStage, Person

PERSON_TEXT = {"first_name": 150, "last_name": 150, "title": 150, "source": 100}
COMPANY_TEXT = {"industry": 100}
ADDRESS_TEXT = {"street": 255, "city": 120, "region": 120, "postal_code": 32}


_Collector = ErrorCollector  # (the shared collector of core.errors)


def _clean_common(
    actor: Actor, data: Mapping[str, Any], c: _Collector, model_label: str, current=None
) -> None:
    """Owner, phone, address, tags and custom: the fields people and companies share."""
    ws = actor.workspace
    if "phone" in data:
        c.take("phone", clean_phone, data["phone"], region=ws.default_region)
    if "owner" in data:
        c.take("owner_id", _clean_owner, ws, data["owner"])
    if "external_id" in data:
        c.take("external_id", clean_text, data["external_id"], field="external_id", max_length=255)
    if "tags" in data:
        c.take("tags", clean_tags, data["tags"])
    if "custom" in data or current is None:  # a create applies defaults and required fields
        c.take(
            "custom",
            clean_custom,
            ws,
            model_label,
            data.get("custom"),
            current=current.custom if current else None,
        )
    address = data.get("address")
    if address is not None:
        if not isinstance(address, Mapping):
            c.errors.append(FieldError("address", "Must be an object."))
            return
        for key in address:
            if key not in Address.ADDRESS_FIELDS:
                c.errors.append(FieldError(f"address.{key}", "Unknown address field."))
        for key, limit in ADDRESS_TEXT.items():
            if key in address:
                c.take(key, clean_text, address[key], field=f"address.{key}", max_length=limit)
        if "country" in address:
            c.take("country", clean_country, address["country"])


def _clean_owner(workspace, value):
    if value in (None, ""):
        return None
    user_id = clean_uuid(value, "owner")
    is_member = memo(
        ("member", workspace.pk, user_id),
        lambda: Membership.objects.filter(workspace=workspace, user_id=user_id).exists(),
    )
    if not is_member:
        raise ValidationFailed.one("owner", "The owner must be a member of this workspace.")
    return user_id


def _apply(obj, values: dict[str, Any]) -> list[str] | None:
    """Sets plain attributes; returns the tag names to set (None: leave tags alone)."""
    tags = values.pop("tags", None)
    for key, value in values.items():
        setattr(obj, key, value)
    return tags


def _tag_names(tags) -> list[str]:
    return sorted({t.name for t in tags})


def _snapshot(obj, fields: tuple[str, ...]) -> dict[str, Any]:
    snap = {f: getattr(obj, f) for f in fields}
    snap["address"] = obj.address
    return snap


# --- people -------------------------------------------------------------------------------

PERSON_SNAPSHOT = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "title",
    "company_id",
    "owner_id",
    "lifecycle_stage",
    "source",
    "external_id",
    "custom",
)


def _clean_person(actor: Actor, data: Mapping[str, Any], *, current: Person | None) -> dict:
    c = _Collector()
    for key, limit in PERSON_TEXT.items():
        if key in data:
            c.take(key, clean_text, data[key], field=key, max_length=limit)
    if "email" in data:
        c.take("email", clean_email, data["email"])
    if "lifecycle_stage" in data:
        c.take(
            "lifecycle_stage",
            clean_choice,
            data["lifecycle_stage"],
            field="lifecycle_stage",
            choices=LifecycleStage.choices,
            default=LifecycleStage.LEAD,
        )
    if "company" in data:
        c.take("company_id", _clean_company_ref, actor, data["company"])
    _clean_common(actor, data, c, "contacts.person", current)
    c.raise_if_any()
    values = c.values
    names_after = (
        values.get("first_name", current.first_name if current else ""),
        values.get("last_name", current.last_name if current else ""),
        values.get("email", current.email if current else ""),
    )
    if not any(names_after):
        raise ValidationFailed(
            "A person needs a first name, a last name or an email.",
            [FieldError("first_name", "Give a first name, a last name or an email.")],
        )
    return values


def _clean_company_ref(actor: Actor, value):
    if value in (None, ""):
        return None
    company_id = clean_uuid(value, "company")
    visible = memo(
        ("company", actor.workspace.pk, company_id),
        lambda: Company.objects.visible_to(actor).filter(pk=company_id).exists(),
    )
    if not visible:
        raise ValidationFailed.one("company", "No such company in this workspace.")
    return company_id


def _ensure_unique_email(actor: Actor, email: str, exclude_id=None) -> None:
    if not email:
        return
    # (the `exclude(email="")` repeats the unique index's condition: SQLite uses a partial
    # index only when the query states its condition; without it this scans the workspace)
    clash = Person.objects.visible_to(actor).filter(email=email).exclude(email="")
    clash = clash.exclude(pk=exclude_id)
    existing = clash.values_list("pk", flat=True).first() or dedupe.kept_by(
        actor, "email", email, exclude_id
    )
    if existing:
        raise Duplicate("email", existing, f"A person with the email {email} already exists.")


# --- companies ----------------------------------------------------------------------------

COMPANY_SNAPSHOT = (
    "name",
    "domain",
    "industry",
    "employees",
    "annual_revenue",
    "annual_revenue_currency",
    "phone",
    "owner_id",
    "external_id",
    "custom",
)


def _clean_company(actor: Actor, data: Mapping[str, Any], *, current: Company | None) -> dict:
    c = _Collector()
    if "name" in data or current is None:
        c.take("name", clean_text, data.get("name"), field="name", max_length=200, required=True)
    if "domain" in data:
        c.take("domain", clean_domain, data["domain"])
    for key, limit in COMPANY_TEXT.items():
        if key in data:
            c.take(key, clean_text, data[key], field=key, max_length=limit)
    if "employees" in data:
        c.take("employees", clean_int, data["employees"], field="employees")
    if "annual_revenue" in data:
        money = data["annual_revenue"]
        if money is None:
            c.values["annual_revenue"] = None
            c.values["annual_revenue_currency"] = ""
        elif not isinstance(money, Mapping) or set(money) - {"amount", "currency"}:
            c.errors.append(
                FieldError("annual_revenue", 'Send {"amount": "1234.50", "currency": "EUR"}.')
            )
        else:
            c.take(
                "annual_revenue", clean_amount, money.get("amount"), field="annual_revenue.amount"
            )
            c.take(
                "annual_revenue_currency",
                clean_currency,
                money.get("currency") or actor.workspace.default_currency,
                field="annual_revenue.currency",
            )
    _clean_common(actor, data, c, "contacts.company", current)
    c.raise_if_any()
    return c.values


def _ensure_unique_domain(actor: Actor, domain: str, exclude_id=None) -> None:
    if not domain:
        return
    clash = Company.objects.visible_to(actor).filter(domain=domain).exclude(domain="")
    clash = clash.exclude(pk=exclude_id)
    existing = clash.values_list("pk", flat=True).first() or dedupe.kept_by(
        actor, "domain", domain, exclude_id
    )
    if existing:
        raise Duplicate("domain", existing, f"A company with the domain {domain} already exists.")


# --- the write steps people and companies share --------------------------------------------


def _ensure_unique_external_id(kind: _Kind, actor: Actor, external_id: str, exclude_id=None):
    if not external_id:
        return
    clash = kind.model.objects.visible_to(actor).filter(external_id=external_id)
    clash = clash.exclude(external_id="")  # states the partial unique index's condition
    existing = clash.exclude(pk=exclude_id).values_list("pk", flat=True).first()
    if existing:
        raise Duplicate(
            "external_id", existing, f"A record with the external id {external_id} already exists."
        )


def _save_unique(obj, check) -> None:
    """Saves; a unique-constraint race lost to a concurrent writer becomes the same 409."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        check()
        raise


def _locked(qs, pk):
    obj = qs.select_for_update().filter(pk=pk).first()
    if obj is None:
        raise NotFound("No such record.")
    return obj


def _soft_delete(obj, actor: Actor) -> None:
    obj.deleted_at = timezone.now()
    obj.deleted_by = actor.user
    obj.version += 1
    obj.stamp(actor)
    obj.save()
    search_index.unindex_record(obj)


@dataclass(frozen=True)
class _Kind:
    """What differs between people and companies; the write steps below are shared."""

    model: type[Person] | type[Company]
    clean: Callable[..., dict]
    ensure_unique: Callable[..., None]  # (actor, value, exclude_id=None)
    unique_field: str
    snapshot: tuple[str, ...]
    created: EventType
    updated: EventType
    deleted: EventType


def _create(kind: _Kind, actor: Actor, data: Mapping[str, Any], source: str):
    require_write(actor)
    values = kind.clean(actor, data, current=None)
    kind.ensure_unique(actor, values.get(kind.unique_field, ""))
    _ensure_unique_external_id(kind, actor, values.get("external_id", ""))
    obj = kind.model(workspace=actor.workspace)
    tags = _apply(obj, values)
    obj.stamp(actor, created=True)
    _save_unique(obj, lambda: kind.ensure_unique(actor, getattr(obj, kind.unique_field)))
    resolved = resolve_tags(actor.workspace, tags or [])
    obj.tags.set(resolved)
    after = _snapshot(obj, kind.snapshot) | {"tags": _tag_names(resolved)}
    record(actor=actor, action=kind.created, obj=obj, changes=diff({}, after), source=source)
    dedupe.flag_record(obj=obj, created=True)  # flags possible duplicates (contacts/dedupe.py)
    search_index.index_record(obj)
    return obj


def _update(
    kind: _Kind,
    actor: Actor,
    pk,
    data: Mapping[str, Any],
    expected_version: int | None,
    source: str,
):
    # Visibility first: another workspace's record is 404 for every role, never 403.
    obj = _locked(kind.model.objects.visible_to(actor), pk)
    require_write(actor)
    check_version(obj, expected_version)
    values = kind.clean(actor, data, current=obj)
    if kind.unique_field in values:
        kind.ensure_unique(actor, values[kind.unique_field], exclude_id=obj.pk)
    if values.get("external_id"):
        _ensure_unique_external_id(kind, actor, values["external_id"], exclude_id=obj.pk)
    old_tags = sorted(t.name for t in obj.tags.all())
    before = _snapshot(obj, kind.snapshot) | {"tags": old_tags}
    tags = _apply(obj, values)
    # Compare the tags the names resolve to: "VIP" names the existing tag "vip", no change.
    resolved = resolve_tags(actor.workspace, tags) if tags is not None else None
    new_tags = _tag_names(resolved) if resolved is not None else old_tags
    changes = diff(before, _snapshot(obj, kind.snapshot) | {"tags": new_tags})
    if not changes:
        return obj
    obj.version += 1
    obj.stamp(actor)
    _save_unique(obj, lambda: kind.ensure_unique(actor, getattr(obj, kind.unique_field), obj.pk))
    if resolved is not None and new_tags != old_tags:
        obj.tags.set(resolved)
    record(actor=actor, action=kind.updated, obj=obj, changes=changes, source=source)
    dedupe.flag_record(obj=obj, changed=changes)
    search_index.index_record(obj)
    return obj


def _delete(kind: _Kind, actor: Actor, pk, expected_version: int | None, source: str) -> None:
    obj = _locked(kind.model.objects.visible_to(actor), pk)
    require_write(actor)
    require_delete(actor, obj)
    check_version(obj, expected_version)
    _soft_delete(obj, actor)
    record(
        actor=actor,
        action=kind.deleted,
        obj=obj,
        changes={"deleted_at": {"before": None, "after": obj.deleted_at.isoformat()}},
        source=source,
    )


# --- the public write path ------------------------------------------------------------------

PERSON = _Kind(
    model=Person,
    clean=_clean_person,
    ensure_unique=_ensure_unique_email,
    unique_field="email",
    snapshot=PERSON_SNAPSHOT,
    created=events.CONTACT_CREATED,
    updated=events.CONTACT_UPDATED,
    deleted=events.CONTACT_DELETED,
)
COMPANY = _Kind(
    model=Company,
    clean=_clean_company,
    ensure_unique=_ensure_unique_domain,
    unique_field="domain",
    snapshot=COMPANY_SNAPSHOT,
    created=events.COMPANY_CREATED,
    updated=events.COMPANY_UPDATED,
    deleted=events.COMPANY_DELETED,
)


@transaction.atomic
def person_create(*, actor: Actor, data: Mapping[str, Any], source: str = "") -> Person:
    return _create(PERSON, actor, data, source)


@transaction.atomic
def person_update(
    *,
    actor: Actor,
    person_id,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    source: str = "",
) -> Person:
    return _update(PERSON, actor, person_id, data, expected_version, source)


@transaction.atomic
def person_delete(
    *, actor: Actor, person_id, expected_version: int | None = None, source: str = ""
) -> None:
    _delete(PERSON, actor, person_id, expected_version, source)


@transaction.atomic
def company_create(*, actor: Actor, data: Mapping[str, Any], source: str = "") -> Company:
    return _create(COMPANY, actor, data, source)


@transaction.atomic
def company_update(
    *,
    actor: Actor,
    company_id,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    source: str = "",
) -> Company:
    return _update(COMPANY, actor, company_id, data, expected_version, source)


@transaction.atomic
def company_delete(
    *, actor: Actor, company_id, expected_version: int | None = None, source: str = ""
) -> None:
    """Soft-deletes the company; its people stay and keep the link (restorable from the trash)."""
    _delete(COMPANY, actor, company_id, expected_version, source)


# --- the trash: restore, and purge after the workspace's retention -------------------------
#
# A deleted record stays in the trash (``in_trash_of``) with its tags, its people's link (a
# company) and its history. Restoring brings it back as it was; purging deletes it for good.


@dataclass(frozen=True)
class _TrashKind:
    """The trash's view of a kind of record: its API type name and its events."""

    type: str  # "person" | "company", as the trash API names it
    kind: _Kind
    restored: EventType
    purged: EventType


TRASH_KINDS = {
    "person": _TrashKind("person", PERSON, events.CONTACT_RESTORED, events.CONTACT_PURGED),
    "company": _TrashKind("company", COMPANY, events.COMPANY_RESTORED, events.COMPANY_PURGED),
}
# "Restore all matching" and "delete forever" run in the request: this many records at most.
TRASH_BULK_LIMIT = 2000


def _trash_kind(type_: str) -> _TrashKind:
    try:
        return TRASH_KINDS[type_]
    except KeyError:
        raise ValidationFailed.one("type", "Use person or company.")


def _ensure_restorable(tk: _TrashKind, actor: Actor, obj) -> None:
    """A restored record must not take a unique value (email, domain, ...) a live one has."""
    kind = tk.kind
    kind.ensure_unique(actor, getattr(obj, kind.unique_field), exclude_id=obj.pk)
    for constraint in kind.model._meta.constraints:
        if not isinstance(constraint, UniqueConstraint) or not constraint.fields:
            continue
        fields = [f for f in constraint.fields if f != "workspace"]
        if fields == [kind.unique_field]:
            continue
        values = {f: getattr(obj, f) for f in fields}
        if any(v in (None, "") for v in values.values()):
            continue  # the live-row constraints exempt blanks
        clash = kind.model.objects.visible_to(actor).filter(**values).exclude(pk=obj.pk)
        existing = clash.values_list("pk", flat=True).first()
        if existing:
            shown = ", ".join(f"{f.replace('_', ' ')} {v}" for f, v in values.items())
            noun = kind.model._meta.verbose_name
            raise Duplicate(fields[0], existing, f"Another {noun} already has the {shown}.")


def _restore(tk: _TrashKind, actor: Actor, pk, expected_version: int | None, source: str):
    # Another workspace's record, a live one or a purged one: all "not in the trash", 404.
    obj = _locked(tk.kind.model.objects.in_trash_of(actor), pk)
    require_write(actor)
    require_delete(actor, obj)  # who may delete a record may bring it back
    check_version(obj, expected_version)
    _ensure_restorable(tk, actor, obj)
    changes = {
        "deleted_at": {"before": obj.deleted_at.isoformat(), "after": None},
        "deleted_by": {"before": str(obj.deleted_by_id or "") or None, "after": None},
    }
    obj.deleted_at = None
    obj.deleted_by = None
    obj.version += 1
    obj.stamp(actor)
    _save_unique(obj, lambda: _ensure_restorable(tk, actor, obj))
    record(actor=actor, action=tk.restored, obj=obj, changes=changes, source=source)
    # Back among the live records it is flagged like a new one: pairs with records created
    # while it was in the trash appear; dismissed pairs stay dismissed (contacts/dedupe.py).
    dedupe.flag_record(obj=obj)
    search_index.index_record(obj)
    return obj


@transaction.atomic
def person_restore(
    *, actor: Actor, person_id, expected_version: int | None = None, source: str = ""
) -> Person:
    """Brings a person back from the trash: tags, company link and history as they were."""
    return _restore(TRASH_KINDS["person"], actor, person_id, expected_version, source)


@transaction.atomic
def company_restore(
    *, actor: Actor, company_id, expected_version: int | None = None, source: str = ""
) -> Company:
    """Brings a company back; its people kept their link while it was in the trash."""
    return _restore(TRASH_KINDS["company"], actor, company_id, expected_version, source)


@dataclass(frozen=True)
class RestoreOutcome:
    type: str
    id: Any
    obj: Person | Company | None = None
    error: DomainError | None = None


def trash_restore_many(
    *, actor: Actor, refs: Iterable[tuple[str, Any]], source: str = ""
) -> list[RestoreOutcome]:
    """Restores each ``(type, id)`` through the same path as one restore, each in its own
    transaction: a clash or a record the actor may not restore is reported, not fatal."""
    require_write(actor)
    refs = list(refs)
    if len(refs) > TRASH_BULK_LIMIT:
        raise ValidationFailed.one(
            "items", f"Restore at most {TRASH_BULK_LIMIT} records at once; narrow the filters."
        )
    outcomes = []
    for type_, pk in refs:
        tk = _trash_kind(type_)
        try:
            with transaction.atomic():
                obj = _restore(tk, actor, pk, None, source)
        except (Duplicate, NotFound, PermissionDenied) as exc:
            outcomes.append(RestoreOutcome(type_, pk, error=exc))
        else:
            outcomes.append(RestoreOutcome(type_, pk, obj=obj))
    return outcomes


def _purge(tk: _TrashKind, actor: Actor, objs: list, *, source: str) -> None:
    """Deletes trashed records for good: one audit entry each, their tag links, search
    entries, (for companies) their people's link, and what other apps hang on them (links of
    interactions and tasks, files, notifications: ``core.targets.on_purge``)."""
    model = tk.kind.model
    ids = [obj.pk for obj in objs]
    record_many(
        actor=actor,
        entries=[
            (tk.purged, obj, {"deleted_at": {"before": obj.deleted_at.isoformat(), "after": None}})
            for obj in objs
        ],
        source=source,
    )
    if model is Company:
        # Live or trashed, the people stay; the link goes (and the version moves on).
        Person.objects.filter(workspace=actor.workspace, company_id__in=ids).update(
            company=None, version=F("version") + 1
        )
    # Interactions, tasks, files and notifications about them.
    targets.purging(actor, targets.type_of(objs[0]).name, ids, source=source)
    links = model.tags.through
    links.objects.filter(**{f"{model._meta.model_name}_id__in": ids}).delete()
    search_index.unindex_ids(model._meta.label_lower, ids)
    model.objects.filter(workspace=actor.workspace, pk__in=ids).delete()


def trash_purge(
    *,
    actor: Actor,
    now: dt.datetime | None = None,
    batch_size: int = PURGE_BATCH,
    source: str = "retention",
) -> int:
    """Deletes for good what has been in the trash longer than the workspace keeps it, in
    batches each its own transaction (``core.purge``). Answers how many records went."""
    cutoff = retention_cutoff(actor, now)
    total = 0
    for tk in TRASH_KINDS.values():
        expired = tk.kind.model.objects.in_trash_of(actor).filter(deleted_at__lt=cutoff)
        total += purge_batches(
            expired,
            functools.partial(_purge, tk, actor, source=source),
            batch_size=batch_size,
        )
    return total


@transaction.atomic
def trash_delete_forever(*, actor: Actor, refs: Iterable[tuple[str, Any]], source: str = "") -> int:
    """Deletes trashed records for good before the retention ends: owners and admins only.

    Records no longer in the trash (restored or purged meanwhile) are skipped; answers how
    many were deleted.
    """
    require_admin(actor)
    refs = list(refs)
    if len(refs) > TRASH_BULK_LIMIT:
        raise ValidationFailed.one(
            "items", f"Delete at most {TRASH_BULK_LIMIT} records at once; narrow the filters."
        )
    wanted: dict[str, list] = {}
    for type_, pk in refs:
        wanted.setdefault(_trash_kind(type_).type, []).append(pk)
    total = 0
    for type_, ids in wanted.items():
        tk = TRASH_KINDS[type_]
        objs = list(tk.kind.model.objects.in_trash_of(actor).filter(pk__in=ids).select_for_update())
        if objs:
            _purge(tk, actor, objs, source=source)
        total += len(objs)
    return total
