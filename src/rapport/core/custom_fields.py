"""Validation of the ``custom`` JSON column (DESIGN rule 8).

Field definitions arrive with the customization app; until a workspace defines a field, the only
valid ``custom`` value is an empty object, and every key is reported as unknown.
"""

from __future__ import annotations

from typing import Any

from .errors import FieldError, ValidationFailed


def clean_custom(workspace, model_label: str, values: Any, *, current: dict | None = None) -> dict:
    if values is None:
        return dict(current or {})
    if not isinstance(values, dict):
        raise ValidationFailed.one("custom", "Must be an object of custom field values.")
    unknown = [FieldError(f"custom.{key}", "Unknown custom field.") for key in values]
    if unknown:
        raise ValidationFailed("Unknown custom fields.", unknown)
    return dict(current or {})
