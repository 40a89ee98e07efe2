"""Records other records can link to: interactions, tasks and attachments name their targets
as ``{"type": "person", "id": ...}`` and this registry turns the pair into a visible record.

An app registers its linkable models in its ``AppConfig.ready()``::

    targets.register("person", "contacts.Person", label="Person",
                     url_name="contacts:person_detail",
                     parents=lambda p: [("company", p.company_id)])

so deals and tickets become targets later without touching the apps that link to them.
``parents`` names the records a target rolls up into (a person's company): an interaction with
a person shows on their company's timeline too.

Visibility goes through each model's ``visible_to(actor)``, the one scoping path (DESIGN rule
5): a target the actor cannot see is "no such record", exactly like one that does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse

from .actors import Actor
from .context import recall, remember
from .errors import FieldError, NotFound, ValidationFailed

MAX_TARGETS = 50  # one interaction with more records than this is a mailing, not a conversation


@dataclass(frozen=True)
class TargetType:
    name: str  # "person": the name the API and the link tables use
    model_label: str  # "contacts.Person"
    label: str  # "Person"
    url_name: str  # "contacts:person_detail", reversed with the record's id
    parents: Callable[[Any], list[tuple[str, Any]]] | None = None
    # False for records that carry files but are not linked to by interactions and tasks
    # (an interaction itself).
    linkable: bool = True
    # Called with (ids, occurred_at) when an interaction is linked to records of this type
    # (a deal keeps its last-interaction time).
    on_interaction: Callable[[list, Any], None] | None = None

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)

    def url(self, pk) -> str:
        return reverse(self.url_name, args=[pk])

    def visible(self, actor: Actor):
        return self.model.objects.visible_to(actor)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Ref:
    """One target, checked: its type, id and (when loaded) the record itself."""

    type: str
    id: uuid.UUID
    obj: Any = None

    @property
    def key(self) -> tuple[str, uuid.UUID]:
        return (self.type, self.id)


_types: dict[str, TargetType] = {}


def register(
    name: str,
    model_label: str,
    *,
    label: str,
    url_name: str,
    parents: Callable[[Any], list[tuple[str, Any]]] | None = None,
    linkable: bool = True,
    on_interaction: Callable[[list, Any], None] | None = None,
) -> TargetType:
    _types[name] = TargetType(name, model_label, label, url_name, parents, linkable, on_interaction)
    return _types[name]


def types() -> list[TargetType]:
    return list(_types.values())


def get_type(name: str) -> TargetType:
    try:
        return _types[name]
    except KeyError:
        raise ValidationFailed.one("type", f"Link to one of: {', '.join(sorted(_types))}.")


def type_of(obj: models.Model) -> TargetType:
    label = obj._meta.label
    for target in _types.values():
        if target.model_label == label:
            return target
    raise LookupError(f"{label} is not a registered target type")


def ref_of(obj: models.Model) -> Ref:
    return Ref(type_of(obj).name, obj.pk, obj)


def get(actor: Actor, type_name: str, pk) -> Any:
    """The visible record ``type_name``/``pk``, or NotFound (missing and forbidden alike)."""
    target = _types.get(type_name)
    if target is None:
        raise NotFound("No such record.")
    try:
        pk = pk if isinstance(pk, uuid.UUID) else uuid.UUID(str(pk))
    except ValueError:
        raise NotFound("No such record.")
    obj = target.visible(actor).filter(pk=pk).first()
    if obj is None:
        raise NotFound("No such record.")
    return obj


def clean_refs(
    actor: Actor,
    value: Any,
    *,
    field: str = "targets",
    required: bool = False,
    allowed: set[str] | None = None,
) -> list[Ref]:
    """``[{"type", "id"}, ...]`` checked: known types, valid ids, records the actor can see.
    ``allowed`` limits the types (default: every linkable type).

    Every problem is reported by its path (``targets.1.id``); duplicates collapse to one link.
    One query per target type, whatever the number of targets."""
    if value in (None, ""):
        value = []
    if not isinstance(value, list | tuple):
        raise ValidationFailed.one(field, 'Send a list of {"type": ..., "id": ...}.')
    if required and not value:
        raise ValidationFailed.one(field, "Link at least one record.")
    if len(value) > MAX_TARGETS:
        raise ValidationFailed.one(field, f"Link at most {MAX_TARGETS} records.")
    if allowed is None:
        allowed = {t.name for t in _types.values() if t.linkable}
    errors: list[FieldError] = []
    wanted: dict[tuple[str, uuid.UUID], int] = {}
    for i, item in enumerate(value):
        if not isinstance(item, Mapping) or set(item) - {"type", "id"}:
            errors.append(FieldError(f"{field}.{i}", 'Send {"type": ..., "id": ...}.'))
            continue
        type_name = item.get("type")
        if type_name not in allowed:
            known = ", ".join(sorted(allowed))
            errors.append(FieldError(f"{field}.{i}.type", f"Link to one of: {known}."))
            continue
        try:
            pk = uuid.UUID(str(item.get("id")))
        except ValueError:
            errors.append(FieldError(f"{field}.{i}.id", "Not a valid id."))
            continue
        wanted.setdefault((type_name, pk), i)
    found: dict[tuple[str, uuid.UUID], Any] = {}
    by_type: dict[str, list[uuid.UUID]] = {}
    for type_name, pk in wanted:
        known = recall(_memo_key(actor, type_name, pk))  # loaded for the batch (``preload``)
        if known is not None:
            found[(type_name, pk)] = known
        else:
            by_type.setdefault(type_name, []).append(pk)
    for type_name, pks in by_type.items():
        for obj in _types[type_name].visible(actor).filter(pk__in=pks):
            found[(type_name, obj.pk)] = obj
    for key, i in wanted.items():
        if key not in found:
            errors.append(FieldError(f"{field}.{i}.id", "No such record in this workspace."))
    if errors:
        raise ValidationFailed("; ".join(f"{e.field}: {e.message}" for e in errors), errors)
    return [Ref(t, pk, found[(t, pk)]) for (t, pk) in sorted(wanted, key=wanted.__getitem__)]


def _memo_key(actor: Actor, type_name: str, pk) -> tuple:
    return ("target", actor.workspace.pk, actor.user_id, type_name, pk)


def preload(actor: Actor, pairs: Iterable[tuple[str, Any]]) -> None:
    """Loads the visible ones of many targets in one query per type and remembers them for the
    current batch (``core.context.batch_scope``), so ``clean_refs`` of each item of a batch
    (a channel's ingest) asks the database nothing. Outside a batch it does nothing."""
    by_type: dict[str, set[uuid.UUID]] = {}
    for type_name, pk in pairs:
        if type_name in _types and pk is not None:
            by_type.setdefault(type_name, set()).add(pk)
    for type_name, pks in by_type.items():
        for obj in _types[type_name].visible(actor).filter(pk__in=pks):
            remember(_memo_key(actor, type_name, obj.pk), obj)


def interaction_linked(refs: Iterable[Ref], occurred_at) -> None:
    """Tells each target type with an ``on_interaction`` hook which of its records an
    interaction was just linked to."""
    by_type: dict[str, list[uuid.UUID]] = {}
    for ref in refs:
        by_type.setdefault(ref.type, []).append(ref.id)
    for type_name, ids in by_type.items():
        hook = _types[type_name].on_interaction if type_name in _types else None
        if hook is not None:
            hook(ids, occurred_at)


def rollups(refs: Iterable[Ref]) -> list[Ref]:
    """The parents of ``refs`` that are not themselves among them (a person's company)."""
    direct = {r.key for r in refs}
    extra: dict[tuple[str, uuid.UUID], Ref] = {}
    for ref in refs:
        target = _types[ref.type]
        if target.parents is None or ref.obj is None:
            continue
        for parent_type, parent_id in target.parents(ref.obj):
            if parent_id is None:
                continue
            key = (parent_type, parent_id)
            if key not in direct:
                extra.setdefault(key, Ref(parent_type, parent_id))
    return list(extra.values())


def visible_target(actor: Actor, *, linkable_only: bool = False) -> Q:
    """``Q`` on rows with ``target_type`` and ``target_id`` (a link, a file, a notification):
    the record named is one the actor can see, out of the trash. One correlated EXISTS per
    registered type, resolved by primary key, so it costs the same whatever the size of the
    tables: a page of 50 rows checks 50 records, never builds the set of every visible person.
    Built per call (apps register their types after this module is imported); a row of a
    type nobody registers matches no branch and is hidden."""
    visible = Q(pk__in=[])
    for target in _types.values():
        if linkable_only and not target.linkable:
            continue
        record = target.visible(actor).filter(pk=OuterRef("target_id"))
        visible |= Q(target_type=target.name) & Q(Exists(record))
    return visible


def visible_link(actor: Actor, link_model: type[models.Model], link_field: str) -> Exists:
    """``EXISTS`` one visible target among the link rows (``link_model``, with ``target_type``
    and ``target_id``) pointing at the outer row through ``link_field``."""
    # Link tables never point at the types that are not linkable: their branches are left out.
    visible = visible_target(actor, linkable_only=True)
    links = link_model.objects.filter(**{link_field: OuterRef("pk")}).filter(visible)  # type: ignore[attr-defined]
    return Exists(links)


def labels(actor: Actor, refs: Iterable[tuple[str, Any]]) -> dict[tuple[str, str], str]:
    """Display names of the visible ones of many targets, one query per type:
    ``{(type, str(id)): "Ada Lovelace"}``; a target the actor cannot see has no entry."""
    by_type: dict[str, set] = {}
    for type_name, pk in refs:
        if type_name in _types:
            by_type.setdefault(type_name, set()).add(pk)
    out: dict[tuple[str, str], str] = {}
    for type_name, pks in by_type.items():
        for obj in _types[type_name].visible(actor).filter(pk__in=pks):
            out[(type_name, str(obj.pk))] = str(obj)
    return out


# --- records deleted for good -------------------------------------------------------------------

# (actor, type name, ids, source) -> None: called inside the purge's transaction, before the
# records go; ``source`` is the purge's own ("retention", "ui", ...) for the hooks' audit entries.
PurgeHook = Callable[[Actor, str, list, str], None]
_purge_hooks: list[PurgeHook] = []


def on_purge(hook: PurgeHook) -> PurgeHook:
    """Registers ``hook`` to be told which records of a type are being deleted for good (the
    trash's retention purge, "Delete forever"), so an app removes what points at them: link
    rows, files, notifications. Merges move links instead (``contacts.merging``)."""
    _purge_hooks.append(hook)
    return hook


def purging(actor: Actor, type_name: str, ids: list, *, source: str = "") -> None:
    """Tells every purge hook that ``ids`` of ``type_name`` are about to be deleted for good."""
    if ids:
        for hook in _purge_hooks:
            hook(actor, type_name, list(ids), source)
