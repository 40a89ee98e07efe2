"""Writes of many people or companies at once (imports, bulk edits), through the same cleaners.

Every row is cleaned by the very functions ``person_create``/``company_update`` use, with the
same errors; what differs is only how the valid rows reach the database: one bulk INSERT or
UPDATE per batch, one query per look-up for the whole batch, one statement for the audit
entries and one for the search index. A batch either writes all its valid rows or, when the
database refuses the bulk statement (a concurrent writer took an email meanwhile), falls back
to the single-record services row by row, so a rejected row never stops the others.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import signals
from django.db.models.base import ModelState
from django.db.models.functions import Lower
from django.utils import timezone

from rapport.audit.services import diff, record_many
from rapport.core.actors import Actor
from rapport.core.bulk import insert_many, insert_values, update_many
from rapport.core.context import batch_scope, remember
from rapport.core.errors import FieldError, ValidationFailed
from rapport.core.policy import require_write
from rapport.core.tags import resolve_tags
from rapport.core.validation import clean_domain, clean_email, clean_text
from rapport.search import services as search_index

from . import services
from .models import Company, OtherIdentifier


class ImportMode(models.TextChoices):
    UPSERT = "upsert", "Create and update"
    CREATE = "create", "Create only (skip existing)"
    UPDATE = "update", "Update only (skip new)"


MATCH_FIELDS = {
    "person": ("email", "external_id"),
    "company": ("domain", "external_id", "name"),
}


@dataclass
class BatchRow:
    line: int  # the line (or record number) in the source file, for the report
    data: dict[str, Any]  # the API's shape; people may carry company_name / company_domain


@dataclass
class RowResult:
    line: int
    status: str  # created | updated | unchanged | skipped | rejected
    id: uuid.UUID | None = None
    errors: list[FieldError] = field(default_factory=list)

    @property
    def message(self) -> str:
        return "; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in self.errors)


def _kind(object_type: str) -> services._Kind:
    return {"person": services.PERSON, "company": services.COMPANY}[object_type]


def _clean_key(object_type: str, match_on: str, value: Any) -> str:
    if match_on == "id":
        try:
            return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
        except ValueError:
            raise ValidationFailed.one("id", "Not a valid id.")
    if match_on == "email":
        return clean_email(value)
    if match_on == "domain":
        return clean_domain(value)
    return clean_text(value, field=match_on, max_length=255)


def _existing_by(kind: services._Kind, actor: Actor, match_on: str, keys: set[str]) -> dict:
    """{match key: record} for the records a batch updates, with their tag names and kept
    identifiers read alongside (see ``_attach_related``)."""
    if not keys:
        return {}
    qs = kind.model.objects.visible_to(actor)
    if match_on == "id":  # bulk edits name their records
        found = {str(o.pk): o for o in qs.filter(pk__in=keys)}
    elif match_on == "name":
        # Names match case-insensitively; candidates by exact name use the index, the rest
        # are asked once with lower().
        found = {o.name.lower(): o for o in qs.filter(name__in=keys)}
        rest = {k.lower() for k in keys} - set(found)
        if rest:
            rows = qs.annotate(lname=Lower("name")).filter(lname__in=rest)
            found |= {o.name.lower(): o for o in rows}
    else:
        # exclude(...="") states the partial unique index's condition, or SQLite will not use it
        rows = qs.filter(**{f"{match_on}__in": keys}).exclude(**{match_on: ""})
        found = {getattr(o, match_on): o for o in rows}
    _attach_related(kind, list(found.values()))
    return found


_TAG_NAMES = "_batch_tag_names"


def _attach_related(kind: services._Kind, objs: list) -> None:
    """Reads the tag names and kept identifiers of many records with one query each.

    The update compares tags (``_old_tags``) and re-indexes the record, whose search text
    includes what it kept from merged records (``kept_text`` reads the prefetch cache). A
    Django prefetch would build a queryset per record; here only the few records that kept
    identifiers are prefetched, the others get an empty cache.
    """
    if not objs:
        return
    model = kind.model
    column = f"{model._meta.model_name}_id"
    pks = [o.pk for o in objs]
    through: Any = model._meta.get_field("tags").remote_field.through
    names: dict[Any, list[str]] = {}
    for pk, name in through.objects.filter(**{f"{column}__in": pks}).values_list(
        column, "tag__name"
    ):
        names.setdefault(pk, []).append(name)
    kept = set(
        OtherIdentifier.objects.filter(**{f"{column}__in": pks}).values_list(column, flat=True)
    )
    empty = OtherIdentifier.objects.none()
    for obj in objs:
        setattr(obj, _TAG_NAMES, sorted(names.get(obj.pk, ())))
        if obj.pk not in kept:
            obj._prefetched_objects_cache = {"other_identifiers": empty}
    if kept:
        models.prefetch_related_objects([o for o in objs if o.pk in kept], "other_identifiers")


def _old_tags(obj) -> list[str]:
    names = getattr(obj, _TAG_NAMES, None)
    return names if names is not None else sorted(t.name for t in obj.tags.all())


def _unique_clashes(kind, actor, field_name: str, values: dict[str, uuid.UUID | None]) -> dict:
    """{value: id of another live record holding it} for the values rows want to set."""
    wanted = {v for v in values if v}
    if not wanted:
        return {}
    rows = (
        kind.model.objects.visible_to(actor)
        .filter(**{f"{field_name}__in": wanted})
        .exclude(**{field_name: ""})
        .values_list(field_name, "pk")
    )
    return {value: pk for value, pk in rows if pk != values.get(value)}


def write_batch(
    *,
    actor: Actor,
    object_type: str,
    rows: Sequence[BatchRow],
    mode: str = ImportMode.UPSERT,
    match_on: str = "",
    source: str = "",
    create_companies: bool = True,
) -> list[RowResult]:
    """Creates or updates one batch of people or companies; answers one result per row."""
    require_write(actor)
    with batch_scope(), transaction.atomic():
        if object_type == "person":
            rows = _resolve_companies(actor, rows, create_companies, source)
        try:
            with transaction.atomic():
                return _write(actor, object_type, rows, mode, match_on, source)
        except IntegrityError:
            pass  # lost a race on a unique value: redo this batch one row at a time
        return [_write_one(actor, object_type, row, mode, match_on, source) for row in rows]


def _write_one(actor, object_type, row: BatchRow, mode, match_on, source) -> RowResult:
    try:
        with transaction.atomic():
            return _write(actor, object_type, [row], mode, match_on, source)[0]
    except IntegrityError as exc:
        return RowResult(row.line, "rejected", errors=[FieldError("", f"Refused: {exc}")])


def _write(actor, object_type, rows, mode, match_on, source) -> list[RowResult]:
    kind = _kind(object_type)
    results: dict[int, RowResult] = {}
    keys: dict[int, str] = {}

    # 1. The match key of every row, cleaned the way the field itself is.
    for i, row in enumerate(rows):
        if not match_on:
            continue
        raw = row.data.get(match_on)
        try:
            keys[i] = _clean_key(object_type, match_on, raw)
        except ValidationFailed as exc:
            results[i] = RowResult(row.line, "rejected", errors=exc.errors)
    lookup = {k.lower() if match_on == "name" else k for k in keys.values() if k}
    existing = _existing_by(kind, actor, match_on, lookup) if match_on else {}

    # 2. Clean each row against the record it updates (or none), exactly as a single write.
    plans: list[tuple[int, Any, dict, Any]] = []  # (row index, current or None, values, key)
    seen_keys: dict[str, int] = {}
    for i, row in enumerate(rows):
        if i in results:
            continue
        key = keys.get(i, "")
        norm = key.lower() if match_on == "name" else key
        current = existing.get(norm) if norm else None
        if norm and norm in seen_keys:
            results[i] = RowResult(
                row.line,
                "rejected",
                errors=[FieldError(match_on, f"Same {match_on} as line {seen_keys[norm]}.")],
            )
            continue
        if norm:
            seen_keys[norm] = row.line
        if current is None and mode == ImportMode.UPDATE:
            results[i] = RowResult(
                row.line, "skipped", errors=[FieldError(match_on, "No existing record matches.")]
            )
            continue
        if current is not None and mode == ImportMode.CREATE:
            results[i] = RowResult(
                row.line,
                "skipped",
                current.pk,
                [FieldError(match_on, "A record with this value already exists.")],
            )
            continue
        data = row.data
        errors: list[FieldError] = []
        if isinstance(data.get("company"), _Invalid):
            errors.append(data["company"].error)
            data = {k: v for k, v in data.items() if k != "company"}
        try:
            values = kind.clean(actor, data, current=current)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
        if errors:
            results[i] = RowResult(row.line, "rejected", errors=errors)
            continue
        plans.append((i, current, values, key))

    # 3. Unique values (email or domain, external id) against other records and other rows.
    for unique_field in (kind.unique_field, "external_id"):
        wanted: dict[str, uuid.UUID | None] = {}
        taken_in_batch: dict[str, int] = {}
        for i, current, values, _ in list(plans):
            value = values.get(unique_field)
            if not value or (current is not None and getattr(current, unique_field) == value):
                continue
            if value in taken_in_batch:
                results[i] = RowResult(
                    rows[i].line,
                    "rejected",
                    errors=[
                        FieldError(
                            unique_field, f"Same {unique_field} as line {taken_in_batch[value]}."
                        )
                    ],
                )
                continue
            taken_in_batch[value] = rows[i].line
            wanted[value] = current.pk if current is not None else None
        clashes = _unique_clashes(kind, actor, unique_field, wanted)
        for i, _current, values, _ in plans:
            value = values.get(unique_field)
            if i not in results and value in clashes:
                message = f"{value} already belongs to another record ({clashes[value]})."
                results[i] = RowResult(
                    rows[i].line, "rejected", errors=[FieldError(unique_field, message)]
                )
        plans = [p for p in plans if p[0] not in results]

    # 4. Build the rows to insert and update; tag names resolve once for the whole batch.
    names = {n for _, _, values, _ in plans for n in values.get("tags") or []}
    tag_rows = {t.name.lower(): t for t in resolve_tags(actor.workspace, sorted(names))}
    to_create: list[Any] = []
    # Updated records grouped by the columns that changed: an UPDATE sets only those (each
    # column set rewrites the index entries holding it; people have sixteen indexes).
    to_update: dict[frozenset[str], list[Any]] = {}
    to_reindex: list[Any] = []  # updated records whose search document changed
    new_links: dict[Any, list[Any]] = {}  # record -> its tags, for records whose tags change
    audit: list[tuple[Any, Any, dict]] = []
    blank = _Blank(kind.model, actor.workspace)
    for i, current, values, _ in plans:
        values = dict(values)
        asked = values.pop("tags", None)
        tags = None if asked is None else sorted({tag_rows[n.lower()].name for n in asked})
        if current is None:
            obj = blank()
            services._apply(obj, values)
            obj.stamp(actor, created=True)
            to_create.append(obj)
            if tags:
                new_links[obj] = [tag_rows[n.lower()] for n in tags]
            after = services._snapshot(obj, kind.snapshot) | {"tags": tags or []}
            audit.append((kind.created, obj, diff({}, after)))
            results[i] = RowResult(rows[i].line, "created", obj.pk)
            continue
        old_tags = _old_tags(current)
        before = services._snapshot(current, kind.snapshot) | {"tags": old_tags}
        document = current.search_document()
        old_values = {name: getattr(current, name) for name in values}
        services._apply(current, values)
        new_tags = old_tags if tags is None else tags
        changes = diff(before, services._snapshot(current, kind.snapshot) | {"tags": new_tags})
        if not changes:
            results[i] = RowResult(rows[i].line, "unchanged", current.pk)
            continue
        if new_tags != old_tags:
            new_links[current] = [tag_rows[n.lower()] for n in new_tags]
        current.version += 1
        current.stamp(actor)
        current.updated_at = timezone.now()  # bulk_update does not apply auto_now
        changed = frozenset(n for n, v in values.items() if old_values[n] != v)
        to_update.setdefault(changed, []).append(current)
        if current.search_document() != document:
            to_reindex.append(current)
        audit.append((kind.updated, current, changes))
        results[i] = RowResult(rows[i].line, "updated", current.pk)

    # 5. Write: one statement per kind of write.
    insert_many(kind.model, to_create)
    for changed, objs in to_update.items():
        fields = sorted(changed | {"version", "updated_at", "updated_by", "updated_by_kind"})
        update_many(kind.model, objs, fields)
    _set_tags(kind, new_links, created={o.pk for o in to_create})
    record_many(actor=actor, entries=audit, source=source)
    search_index.index_records(to_create, created=True)
    search_index.index_records(to_reindex)
    return [results[i] for i in range(len(rows))]


class _Blank:
    """New instances of ``model(workspace=workspace)``, copied from one built that way: the
    same attribute values, with each callable default (the id, ``custom``) called afresh.
    A model's ``__init__`` walks every field and cost more than the rest of preparing a
    created row; with ``pre_init``/``post_init`` receivers, the constructor is used as is."""

    def __init__(self, model, workspace):
        self.model, self.workspace = model, workspace
        template = model(workspace=workspace)
        self.fast = not (
            signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model)
        )
        self.values = {k: v for k, v in template.__dict__.items() if k != "_state"}
        self.cached = dict(template._state.fields_cache)
        self.fresh = [
            (f.attname, f)
            for f in model._meta.concrete_fields
            if f.has_default() and callable(f.default)
        ]

    def __call__(self):
        if not self.fast:
            return self.model(workspace=self.workspace)
        obj = self.model.__new__(self.model)
        state = ModelState()
        state.fields_cache = dict(self.cached)
        attrs = obj.__dict__
        attrs.update(self.values)
        attrs["_state"] = state
        for name, f in self.fresh:
            attrs[name] = f.get_default()
        return obj


def _set_tags(kind, new_links: dict[Any, list[Any]], created: set) -> None:
    if not new_links:
        return
    through = kind.model._meta.get_field("tags").remote_field.through
    column = f"{kind.model._meta.model_name}_id"
    replaced = [o.pk for o in new_links if o.pk not in created]
    if replaced:
        through.objects.filter(**{f"{column}__in": replaced}).delete()
    insert_values(
        through,
        (column, "tag_id"),
        [(o.pk, t.pk) for o, tags in new_links.items() for t in tags],
    )


# --- people name their company ------------------------------------------------------------------


def _resolve_companies(
    actor: Actor, rows: Sequence[BatchRow], create: bool, source: str
) -> list[BatchRow]:
    """Turns ``company_domain`` / ``company_name`` into a company id: matched by domain, then
    by name, else created (through the same batch write) when ``create`` is set."""
    wanted_domains: set[str] = set()
    wanted_names: set[str] = set()
    parsed: list[tuple[str, str, FieldError | None]] = []
    for row in rows:
        domain, name, error = "", "", None
        try:
            domain = clean_domain(row.data.get("company_domain"), field="company_domain")
            name = clean_text(row.data.get("company_name"), field="company_name", max_length=200)
        except ValidationFailed as exc:
            error = exc.errors[0]
        parsed.append((domain, name, error))
        if domain:
            wanted_domains.add(domain)
        elif name:
            wanted_names.add(name)
    if not wanted_domains and not wanted_names:
        return [_without_company_refs(row) for row in rows]
    by_domain = _company_ids(actor, "domain", wanted_domains)
    by_name = _company_ids(actor, "name", wanted_names)
    missing: dict[str, BatchRow] = {}
    for row, (domain, name, error) in zip(rows, parsed, strict=True):
        if error or (domain and domain in by_domain) or (not domain and name.lower() in by_name):
            continue
        if domain or name:
            key = domain or name.lower()
            missing.setdefault(key, BatchRow(row.line, {"name": name or domain, "domain": domain}))
    created_errors: dict[str, str] = {}
    if missing and create:
        results = _write(actor, "company", list(missing.values()), ImportMode.CREATE, "", source)
        new = Company.objects.filter(pk__in=[r.id for r in results if r.id])
        for pk, company_domain, company_name in new.values_list("pk", "domain", "name"):
            if company_domain:
                by_domain[company_domain] = pk
            by_name.setdefault(company_name.lower(), pk)
        for key, result in zip(missing, results, strict=True):
            if result.status == "rejected":
                created_errors[key] = result.message
    out = []
    for row, (domain, name, error) in zip(rows, parsed, strict=True):
        data = dict(row.data)
        data.pop("company_domain", None)
        data.pop("company_name", None)
        if error is not None:
            data["company"] = _Invalid(error)
        elif domain or name:
            company_id = by_domain.get(domain) if domain else by_name.get(name.lower())
            if company_id is None:
                reason = created_errors.get(domain or name.lower(), "No such company.")
                data["company"] = _Invalid(FieldError("company", reason))
            else:
                data["company"] = company_id
                # Found through visible_to just now: the cleaner need not ask again.
                remember(("company", actor.workspace.pk, company_id), True)
        out.append(BatchRow(row.line, data))
    return out


def _company_ids(actor: Actor, match_on: str, keys: set[str]) -> dict[str, Any]:
    """{domain, or lower-case name: company id} for the companies rows name (ids only: the
    rows only link to them)."""
    if not keys:
        return {}
    qs = Company.objects.visible_to(actor)
    if match_on == "domain":
        rows = qs.filter(domain__in=keys).exclude(domain="").values_list("domain", "pk")
        return dict(rows)
    found = {name.lower(): pk for name, pk in qs.filter(name__in=keys).values_list("name", "pk")}
    rest = {k.lower() for k in keys} - set(found)
    if rest:
        rows = qs.annotate(lname=Lower("name")).filter(lname__in=rest).values_list("name", "pk")
        for name, pk in rows:
            found.setdefault(name.lower(), pk)
    return found


def _without_company_refs(row: BatchRow) -> BatchRow:
    if "company_domain" not in row.data and "company_name" not in row.data:
        return row
    data = {k: v for k, v in row.data.items() if k not in ("company_domain", "company_name")}
    return BatchRow(row.line, data)


@dataclass(frozen=True)
class _Invalid:
    """A company reference that could not be resolved: the row is rejected with its error."""

    error: FieldError


def rows_for(datas: Sequence[Mapping[str, Any]]) -> list[BatchRow]:
    """Numbers plain dicts 1, 2, 3... (API batches and tests)."""
    return [BatchRow(i + 1, dict(d)) for i, d in enumerate(datas)]


_DELETE_FIELDS = [
    "deleted_at",
    "deleted_by",
    "version",
    "updated_at",
    "updated_by",
    "updated_by_kind",
]


def delete_batch(
    *, actor: Actor, object_type: str, ids, source: str = "", skip_denied: bool = False
) -> int:
    """Moves many records to the trash at once, each checked and audited as a single delete
    would be; answers how many were deleted. Records already gone are passed over; a record
    the actor may not delete stops the batch, or with ``skip_denied`` is left alone."""
    return len(
        delete_batch_ids(
            actor=actor, object_type=object_type, ids=ids, source=source, skip_denied=skip_denied
        )
    )


def delete_batch_ids(
    *, actor: Actor, object_type: str, ids, source: str = "", skip_denied: bool = False
) -> list:
    """``delete_batch``, answering the ids of the records it moved to the trash."""
    from rapport.core.policy import can_delete, require_delete
    from rapport.search.models import SearchEntry

    require_write(actor)
    kind = _kind(object_type)
    ids = list(ids)
    deleted: list = []
    for start in range(0, len(ids), 1000):
        objs = list(
            kind.model.objects.visible_to(actor)
            .select_for_update()
            .filter(pk__in=ids[start : start + 1000])
        )
        if not objs:
            continue
        now = timezone.now()
        if skip_denied:
            objs = [o for o in objs if can_delete(actor, o)]
        for obj in objs:
            require_delete(actor, obj)
            obj.deleted_at = now
            obj.deleted_by = actor.user
            obj.version += 1
            obj.stamp(actor)
            obj.updated_at = now  # bulk_update does not apply auto_now
        kind.model.objects.bulk_update(
            objs,
            ["deleted_at", "deleted_by", "version", "updated_at", "updated_by", "updated_by_kind"],
        )
        SearchEntry.objects.filter(
            object_type=kind.model._meta.label_lower, object_id__in=[o.pk for o in objs]
        ).delete()
        changes = {"deleted_at": {"before": None, "after": now.isoformat()}}
        record_many(actor=actor, entries=[(kind.deleted, o, changes) for o in objs], source=source)
        deleted.extend(o.pk for o in objs)
    return deleted
