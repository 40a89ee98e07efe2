"""Writes of custom field definitions: the only code path that changes them (DESIGN rule 1).

Admins and owners define fields; every write is atomic and audited. A field's ``key``,
``type`` and object type never change after creation (values are keyed and typed by them), so
a rename is a label change and touches no record. Deleting a field removes the definition
(soft: the audit log keeps naming it) and every record's value for it, in one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Func, JSONField, Max, TextField, Value
from django.db.models.functions import Cast
from django.utils import timezone

from rapport.audit.services import diff, record
from rapport.core.actors import Actor
from rapport.core.errors import (
    ErrorCollector,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    check_version,
)
from rapport.core.policy import can_write, is_admin, require_admin, require_write
from rapport.core.validation import clean_text
from rapport.search import services as search_index

from . import events
from .models import VIEW_TYPES, CustomField, ObjectType, SavedView
from .selectors import records_with_value, value_count
from .types import check_pattern, clean_options, get_type, type_names

KEY = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
KEY_MAX = 50
FIELDS_MAX = 200  # per object type and workspace
RESERVED_KEYS = frozenset({"id", "pk", "custom", "in", "isnull", "contains"})
EDITABLE = (
    "label",
    "help_text",
    "required",
    "default",
    "options",
    "minimum",
    "maximum",
    "regex",
    "position",
    "show_in_list",
)
IMMUTABLE = ("object_type", "key", "type")
SNAPSHOT = (*IMMUTABLE, *EDITABLE)


_Collector = ErrorCollector  # (the shared collector of core.errors)


def _clean_key(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed.one("key", "Give the field a key, e.g. contract_end.")
    key = value.strip()
    if len(key) > KEY_MAX or not KEY.match(key):
        raise ValidationFailed.one(
            "key",
            f"Use lower-case letters, digits and single underscores, starting with a letter "
            f"(at most {KEY_MAX} characters), e.g. contract_end.",
        )
    if key in RESERVED_KEYS:
        raise ValidationFailed.one("key", f"“{key}” is reserved; choose another key.")
    return key


def _clean_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed.one(name, "Must be true or false.")
    return value


def _clean_position(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100_000:
        raise ValidationFailed.one("position", "Use a whole number from 0 to 100000.")
    return value


def _clean_regex(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationFailed.one("regex", "Must be a regular expression (a string).")
    if not value:
        return ""
    problem = check_pattern(value)
    if problem:
        raise ValidationFailed.one("regex", problem)
    return value


def _key_from_label(label: str) -> str:
    from django.utils.text import slugify

    key = re.sub(r"_+", "_", slugify(label).replace("-", "_")).strip("_")[:KEY_MAX].strip("_")
    if not key or not key[0].isalpha():
        key = f"field_{key}".strip("_")
    return key


def _clean_definition(
    actor: Actor, data: Mapping[str, Any], *, current: CustomField | None
) -> dict[str, Any]:
    c = _Collector()
    creating = current is None
    if creating:
        object_type = data.get("object_type")
        if object_type not in ObjectType.values:
            c.errors.append(
                FieldError("object_type", f"Use one of: {', '.join(ObjectType.values)}.")
            )
        else:
            c.values["object_type"] = object_type
        kind_name = data.get("type")
        if kind_name not in type_names():
            c.errors.append(FieldError("type", f"Use one of: {', '.join(type_names())}."))
        else:
            c.values["type"] = kind_name
    else:
        for name in IMMUTABLE:
            if name in data and data[name] != getattr(current, name):
                c.errors.append(
                    FieldError(name, f"The {name.replace('_', ' ')} cannot change after creation.")
                )
    if creating or "label" in data:
        c.take("label", clean_text, data.get("label"), field="label", max_length=100, required=True)
    if creating:
        raw_key = data.get("key")
        if raw_key in (None, "") and c.values.get("label"):
            raw_key = _key_from_label(c.values["label"])
        c.take("key", _clean_key, raw_key)
    if "help_text" in data:
        c.take("help_text", clean_text, data["help_text"], field="help_text", max_length=300)
    for name in ("required", "show_in_list"):
        if name in data:
            c.take(name, _clean_bool, data[name], name)
    if "position" in data:
        c.take("position", _clean_position, data["position"])
    if "regex" in data:
        c.take("regex", _clean_regex, data["regex"])
    if "options" in data:
        c.take("options", clean_options, data["options"])
    c.raise_if_any()

    # What depends on the type: options, bounds, pattern, default.
    kind = get_type(c.values.get("type") or current.type)  # type: ignore[union-attr]
    field = CustomField()  # the definition as it will be, to check what depends on the type
    for name in SNAPSHOT if current is not None else ():
        setattr(field, name, getattr(current, name))
    for name, value in c.values.items():
        setattr(field, name, value)
    if kind.has_options:
        if (creating or "options" in data) and not field.options:
            c.errors.append(FieldError("options", "Give at least one option."))
    elif field.options:
        c.errors.append(FieldError("options", f"A {kind.label.lower()} field has no options."))
    if field.regex and not kind.has_regex:
        c.errors.append(FieldError("regex", f"A {kind.label.lower()} field has no pattern."))
    for name in ("minimum", "maximum"):
        if name in data:
            try:
                value = kind.clean_bound(data[name], name)
            except ValidationFailed as exc:
                c.errors.extend(exc.errors)
            else:
                c.values[name] = value
                setattr(field, name, value)
    if (
        field.minimum not in (None, "")
        and field.maximum not in (None, "")
        and _comparable(kind, field.minimum) > _comparable(kind, field.maximum)
    ):
        c.errors.append(FieldError("minimum", "The minimum is above the maximum."))
    c.raise_if_any()
    rechecked = {"options", "minimum", "maximum", "regex"} & set(data)
    if "default" in data or (current is not None and rechecked):
        default = data.get("default", field.default)
        if default is None or default == "" or default == []:
            c.values["default"] = None
        else:
            try:
                cleaned = kind.clean(default, field, workspace=actor.workspace)
            except ValidationFailed as exc:
                # The type reports custom.<key>; the definition's own field is "default".
                c.errors.extend(FieldError("default", e.message) for e in exc.errors)
            else:
                c.values["default"] = cleaned
    c.raise_if_any()
    return c.values


def _comparable(kind, value):
    import decimal

    if kind.bounds == "decimal":
        return decimal.Decimal(str(value))
    return value


def _key_taken(actor: Actor, object_type: str, key: str, exclude_id=None) -> bool:
    return (
        CustomField.objects.visible_to(actor)
        .filter(object_type=object_type, key=key)
        .exclude(pk=exclude_id)
        .exists()
    )


def _key_error(key: str) -> ValidationFailed:
    return ValidationFailed.one("key", f"A field with the key “{key}” already exists here.")


def _options_in_use(field: CustomField, new_options: list[dict]) -> None:
    """Refuses to drop an option records still hold (their values would mean nothing)."""
    kept = {o["value"] for o in new_options}
    errors = []
    for option in field.options or []:
        if option["value"] in kept:
            continue
        qs = records_with_value(field.workspace_id, field.object_type, field.key)
        in_use = qs.filter(field.kind.eq_q(field, option["value"], "custom")).count()
        if in_use:
            errors.append(
                FieldError(
                    "options",
                    f"“{option['label']}” is the value of {in_use} record(s): "
                    "change them before removing the option.",
                )
            )
    if errors:
        raise ValidationFailed("; ".join(e.message for e in errors), errors)


@transaction.atomic
def field_create(*, actor: Actor, data: Mapping[str, Any], source: str = "") -> CustomField:
    require_admin(actor)
    values = _clean_definition(actor, data, current=None)
    if _key_taken(actor, values["object_type"], values["key"]):
        raise _key_error(values["key"])
    live = CustomField.objects.visible_to(actor).filter(object_type=values["object_type"])
    if live.count() >= FIELDS_MAX:
        raise ValidationFailed.one(
            "object_type", f"A record type has at most {FIELDS_MAX} custom fields."
        )
    if "position" not in values:
        top = live.aggregate(top=Max("position"))["top"]
        values["position"] = 0 if top is None else top + 1
    field = CustomField(workspace=actor.workspace, **values)
    field.stamp(actor, created=True)
    try:
        with transaction.atomic():
            field.save()
    except IntegrityError:
        if _key_taken(actor, field.object_type, field.key):
            raise _key_error(field.key)
        raise
    after = {name: getattr(field, name) for name in SNAPSHOT}
    record(
        actor=actor,
        action=events.FIELD_CREATED,
        obj=field,
        changes=diff({}, after),
        source=source,
    )
    return field


def _locked(actor: Actor, field_id) -> CustomField:
    field = CustomField.objects.visible_to(actor).select_for_update().filter(pk=field_id).first()
    if field is None:
        raise NotFound("No such custom field.")
    return field


@transaction.atomic
def field_update(
    *,
    actor: Actor,
    field_id,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    source: str = "",
) -> CustomField:
    """Changes a definition. The label, help text, options' labels and the rest change freely;
    the records' values stay as they are (a rename touches no data)."""
    field = _locked(actor, field_id)  # another workspace's field: 404 for every role
    require_admin(actor)
    check_version(field, expected_version)
    values = _clean_definition(actor, data, current=field)
    if "options" in values:
        _options_in_use(field, values["options"])
    before = {name: getattr(field, name) for name in SNAPSHOT}
    for name, value in values.items():
        setattr(field, name, value)
    changes = diff(before, {name: getattr(field, name) for name in SNAPSHOT})
    if not changes:
        return field
    field.version += 1
    field.stamp(actor)
    field.save()
    record(actor=actor, action=events.FIELD_UPDATED, obj=field, changes=changes, source=source)
    return field


@transaction.atomic
def field_move(*, actor: Actor, field_id, direction: int, source: str = "") -> CustomField:
    """Moves a field one place up (-1) or down (+1) among its object type's fields."""
    field = _locked(actor, field_id)
    require_admin(actor)
    siblings = list(
        CustomField.objects.visible_to(actor)
        .select_for_update()
        .filter(object_type=field.object_type)
        .order_by("position", "created_at", "id")
    )
    index = next(i for i, f in enumerate(siblings) if f.pk == field.pk)
    target = index + (1 if direction > 0 else -1)
    if not 0 <= target < len(siblings):
        return field
    siblings[index], siblings[target] = siblings[target], siblings[index]
    for position, sibling in enumerate(siblings):
        if sibling.position != position:
            before = sibling.position
            sibling.position = position
            sibling.version += 1
            sibling.stamp(actor)
            sibling.save(
                update_fields=["position", "version", "updated_at", "updated_by", "updated_by_kind"]
            )
            record(
                actor=actor,
                action=events.FIELD_UPDATED,
                obj=sibling,
                changes={"position": {"before": before, "after": position}},
                source=source,
            )
    field.refresh_from_db()
    return field


def _remove_key_sql(key: str):
    """``custom`` without ``key``, as SQL (PostgreSQL ``jsonb - text``, SQLite json_remove)."""
    if connection.vendor == "postgresql":
        return Func(
            F("custom"),
            Cast(Value(key), TextField()),
            template="(%(expressions)s)",
            arg_joiner=" - ",
            output_field=JSONField(),
        )
    return Func(F("custom"), Value(f'$."{key}"'), function="JSON_REMOVE", output_field=JSONField())


@transaction.atomic
def field_delete(
    *, actor: Actor, field_id, expected_version: int | None = None, source: str = ""
) -> int:
    """Deletes the field and every record's value for it; answers how many records held one.

    The definition is soft-deleted (the audit log and record histories keep its label) and its
    key is free again; the values are removed from live and trashed records alike, and the
    search index forgets the text they contributed.
    """
    field = _locked(actor, field_id)
    require_admin(actor)
    check_version(field, expected_version)
    held = value_count(field)
    holders = records_with_value(field.workspace_id, field.object_type, field.key, live_only=False)
    reindex = list(holders.values_list("pk", flat=True)) if field.kind.textual else []
    holders.update(custom=_remove_key_sql(field.key))
    field.deleted_at = timezone.now()
    field.deleted_by = actor.user
    field.version += 1
    field.stamp(actor)
    field.save()
    record(
        actor=actor,
        action=events.FIELD_DELETED,
        obj=field,
        changes={
            "deleted_at": {"before": None, "after": field.deleted_at.isoformat()},
            "values_removed": {"before": held, "after": 0},
        },
        source=source,
    )
    if reindex:
        model = apps.get_model(field.object_type)
        for start in range(0, len(reindex), 500):
            for obj in model.objects.filter(pk__in=reindex[start : start + 500]):
                if getattr(obj, "deleted_at", None) is None:
                    search_index.index_record(obj)
    return held


# --- saved views ------------------------------------------------------------------------------

VIEW_SNAPSHOT = (
    "object_type",
    "name",
    "shared",
    "pinned",
    "conditions",
    "sort",
    "columns",
    "page_size",
)
PAGE_SIZE_MIN, PAGE_SIZE_MAX = 10, 200


def can_change_view(actor: Actor, view: SavedView) -> bool:
    """Its owner changes a view; admins change shared ones too (private ones they never see)."""
    if not can_write(actor):
        return False
    if actor.user_id is not None and view.owner_id == actor.user_id:
        return True
    return view.shared and is_admin(actor)


def _clean_view(actor: Actor, data: Mapping[str, Any], *, current: SavedView | None) -> dict:
    from .catalogue import MAX_COLUMNS, catalogue, columns, sorts
    from .conditions import Context, compile_conditions
    from .filters import parse_record_sort

    c = _Collector()
    if current is None:
        object_type = data.get("object_type")
        if object_type not in VIEW_TYPES:
            raise ValidationFailed.one("object_type", f"Use one of: {', '.join(VIEW_TYPES)}.")
        c.values["object_type"] = object_type
    else:
        object_type = current.object_type
        if "object_type" in data and data["object_type"] not in (None, object_type):
            c.errors.append(FieldError("object_type", "The object type cannot change."))
    if current is None or "name" in data:
        c.take("name", clean_text, data.get("name"), field="name", max_length=100, required=True)
    for name in ("shared", "pinned"):
        if name in data:
            c.take(name, _clean_bool, data[name], name)
    if "conditions" in data:
        try:
            cleaned, _ = compile_conditions(
                data["conditions"],
                catalogue(actor.workspace, object_type),
                Context(workspace=actor.workspace, user_id=actor.user_id),
            )
        except ValidationFailed as exc:
            c.errors.extend(exc.errors)
        else:
            c.values["conditions"] = cleaned
    if "sort" in data:
        value = data["sort"] or ""
        if not isinstance(value, str):
            c.errors.append(FieldError("sort", "Must be a sort such as -updated_at."))
        elif value.strip():
            try:
                sort = parse_record_sort(
                    value,
                    sorts(object_type),
                    "-updated_at",
                    workspace=actor.workspace,
                    object_type=object_type,
                )
            except ValidationFailed as exc:
                c.errors.extend(exc.errors)
            else:
                c.values["sort"] = sort.token
        else:
            c.values["sort"] = ""
    if "columns" in data:
        value = data["columns"] or []
        known = columns(actor.workspace, object_type)
        if not isinstance(value, list) or len(value) > MAX_COLUMNS:
            c.errors.append(FieldError("columns", f"Send a list of at most {MAX_COLUMNS} columns."))
        else:
            chosen: list[str] = []
            for index, key in enumerate(value):
                if not isinstance(key, str) or key not in known:
                    c.errors.append(FieldError(f"columns.{index}", "Unknown column."))
                elif key in chosen:
                    c.errors.append(FieldError(f"columns.{index}", "This column is listed twice."))
                else:
                    chosen.append(key)
            c.values["columns"] = chosen
    if "page_size" in data:
        value = data["page_size"]
        if isinstance(value, bool) or not isinstance(value, int):
            c.errors.append(FieldError("page_size", "Must be a whole number."))
        elif not PAGE_SIZE_MIN <= value <= PAGE_SIZE_MAX:
            c.errors.append(
                FieldError("page_size", f"Use {PAGE_SIZE_MIN} to {PAGE_SIZE_MAX} rows.")
            )
        else:
            c.values["page_size"] = value
    c.raise_if_any()
    return c.values


def _view_snapshot(view: SavedView) -> dict:
    return {name: getattr(view, name) for name in VIEW_SNAPSHOT}


@transaction.atomic
def view_create(*, actor: Actor, data: Mapping[str, Any], source: str = "") -> SavedView:
    """Saves a list as a view owned by ``actor`` (private unless ``shared``)."""
    require_write(actor)
    values = _clean_view(actor, data, current=None)
    view = SavedView(workspace=actor.workspace, owner=actor.user, **values)
    view.stamp(actor, created=True)
    view.save()
    record(
        actor=actor,
        action=events.VIEW_CREATED,
        obj=view,
        changes=diff({}, _view_snapshot(view)),
        source=source,
    )
    return view


def _locked_view(actor: Actor, view_id) -> SavedView:
    from .selectors import saved_views

    view = saved_views(actor).select_for_update().filter(pk=view_id).first()
    if view is None:
        raise NotFound("No such saved view.")  # another's private view: missing, not forbidden
    return view


def _require_change(actor: Actor, view: SavedView) -> None:
    require_write(actor)
    if not can_change_view(actor, view):
        raise PermissionDenied("Only the view's owner or an admin can change a shared view.")


@transaction.atomic
def view_update(
    *,
    actor: Actor,
    view_id,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    source: str = "",
) -> SavedView:
    view = _locked_view(actor, view_id)
    _require_change(actor, view)
    check_version(view, expected_version)
    values = _clean_view(actor, data, current=view)
    before = _view_snapshot(view)
    for name, value in values.items():
        setattr(view, name, value)
    changes = diff(before, _view_snapshot(view))
    if not changes:
        return view
    view.version += 1
    view.stamp(actor)
    view.save()
    record(actor=actor, action=events.VIEW_UPDATED, obj=view, changes=changes, source=source)
    return view


@transaction.atomic
def view_delete(
    *, actor: Actor, view_id, expected_version: int | None = None, source: str = ""
) -> None:
    view = _locked_view(actor, view_id)
    _require_change(actor, view)
    check_version(view, expected_version)
    record(
        actor=actor,
        action=events.VIEW_DELETED,
        obj=view,
        changes=diff(_view_snapshot(view), {}),
        source=source,
    )
    view.delete()
