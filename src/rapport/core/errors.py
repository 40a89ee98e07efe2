"""Domain errors raised by services and selectors.

Every channel maps them the same way: the API to problem+json (see core/api.py), the UI to
form errors and messages, imports to a rejected row with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str = "", errors: list[FieldError] | None = None):
        self.detail = detail or self.title
        self.errors = errors or []
        super().__init__(self.detail)


class ValidationFailed(DomainError):
    status = 422
    title = "Invalid input"

    @classmethod
    def one(cls, field: str, message: str) -> ValidationFailed:
        return cls(f"{field}: {message}", [FieldError(field, message)])


class Duplicate(DomainError):
    """A unique value (email, domain) already belongs to another record of the workspace."""

    status = 409
    title = "Duplicate"

    def __init__(self, field: str, existing_id: object, message: str):
        self.existing_id = str(existing_id)
        super().__init__(message, [FieldError(field, message)])


class NotFound(DomainError):
    """Missing and forbidden look the same (DESIGN: 404, never 403 across workspaces)."""

    status = 404
    title = "Not found"


class PermissionDenied(DomainError):
    """The record is visible but the actor's role may not do this to it."""

    status = 403
    title = "Forbidden"


class VersionConflict(DomainError):
    status = 412
    title = "Precondition failed"

    def __init__(self, current_version: int):
        self.current_version = current_version
        super().__init__(
            f"The record was changed by someone else (current version {current_version}). "
            "Reload it and apply your change again."
        )


class ErrorCollector:
    """Gathers every field error of one input so the caller sees them all at once:
    ``take(key, cleaner, ...)`` keeps the cleaned value or the cleaner's errors."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []
        self.values: dict[str, Any] = {}

    def take(self, key: str, fn, *args, **kwargs) -> None:
        try:
            self.values[key] = fn(*args, **kwargs)
        except ValidationFailed as exc:
            self.errors.extend(exc.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            detail = "; ".join(f"{e.field}: {e.message}" for e in self.errors)
            raise ValidationFailed(detail, self.errors)


def check_version(obj, expected_version: int | None) -> None:
    """Optimistic concurrency: the version the writer read must still be the record's."""
    if expected_version is not None and obj.version != expected_version:
        raise VersionConflict(obj.version)
