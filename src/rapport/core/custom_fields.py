"""Validation of the ``custom`` JSON column (DESIGN rule 8) against the workspace's definitions.

The definitions and the field-type registry live in the customization app; core imports them
lazily (inside the functions) so the base layer has no import cycle with the apps built on it.
Values are keyed by a field's ``key``, which never changes: renaming a label touches no data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import FieldError, ValidationFailed

MAX_CUSTOM_BYTES = 64 * 1024  # the whole ``custom`` object of one record, as JSON


def clean_custom(workspace, model_label: str, values: Any, *, current: dict | None = None) -> dict:
    """The ``custom`` object to store.

    ``current`` is None when the record is being created: required fields must then have a
    value and defaults fill the ones left out. On an update ``values`` is merged into
    ``current`` (send only the keys that change); ``null`` removes a value. Every error names
    ``custom.<key>``; an unknown key is one.
    """
    from rapport.customization.selectors import field_map

    creating = current is None
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        raise ValidationFailed.one("custom", "Must be an object of custom field values.")
    definitions = field_map(workspace, model_label)
    result = dict(current or {})
    errors: list[FieldError] = []
    for key, value in values.items():
        field = definitions.get(key) if isinstance(key, str) else None
        if field is None:
            errors.append(FieldError(f"custom.{key}", "Unknown custom field."))
            continue
        if value is None:
            result.pop(key, None)
            continue
        try:
            cleaned = field.kind.clean(value, field, workspace=workspace)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            continue
        if cleaned is None:  # blank text, an empty list: no value
            result.pop(key, None)
        else:
            result[key] = cleaned
    for key, field in definitions.items():
        if creating and key not in result and field.default is not None:
            result[key] = field.default
        if field.required and key not in result and (creating or key in values):
            errors.append(FieldError(field.param, "This field is required."))
    if errors:
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        raise ValidationFailed(detail, errors)
    import orjson

    if len(orjson.dumps(result)) > MAX_CUSTOM_BYTES:
        raise ValidationFailed.one("custom", "The custom field values are too large.")
    return result


def search_text(obj) -> str:
    """The text of ``obj``'s textual custom values, for its search document.

    A record without custom values costs no query.
    """
    custom = getattr(obj, "custom", None)
    if not custom:
        return ""
    from rapport.customization.selectors import field_map

    definitions = field_map(obj.workspace_id, obj._meta.label_lower)
    parts = []
    for key, value in custom.items():
        field = definitions.get(key)
        if field is not None and field.kind.textual:
            parts.append(field.kind.search_text(value, field))
    return " ".join(p for p in parts if p)
