"""Lead rows of an import, each written through ``lead_create`` or ``lead_update``.

Leads have no bulk write path: every row goes through the very service a form, the API and the
web-form endpoint use, so validation, assignment rules, scoring, audit and events apply to an
imported lead exactly as to one typed in. What the batch shares is read once: the leads the rows
match (one query per chunk) and the cleaners' reference look-ups (``batch_scope``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError

from rapport.contacts.batch import BatchRow, ImportMode, RowResult
from rapport.core.actors import Actor
from rapport.core.context import batch_scope
from rapport.core.errors import FieldError, NotFound, ValidationFailed
from rapport.core.policy import require_write
from rapport.core.validation import clean_email
from rapport.sales import lead_services
from rapport.sales.lead_models import Lead

MATCH_FIELDS = ("email",)  # leads have no external id (yet)


def write_batch(
    *,
    actor: Actor,
    rows: Sequence[BatchRow],
    mode: str = ImportMode.UPSERT,
    match_on: str = "",
    source: str = "",
) -> list[RowResult]:
    """Creates or updates one batch of leads; answers one result per row, in order."""
    require_write(actor)
    if match_on and match_on not in MATCH_FIELDS:
        raise ValidationFailed.one("match_on", "Leads are matched on their email.")
    results: dict[int, RowResult] = {}
    with batch_scope():
        keys: dict[int, str] = {}
        for i, row in enumerate(rows):
            if not match_on:
                continue
            try:
                keys[i] = clean_email(row.data.get("email")).lower()
            except ValidationFailed as exc:
                results[i] = RowResult(row.line, "rejected", errors=exc.errors)
        existing = _existing(actor, {key for key in keys.values() if key})
        seen: dict[str, int] = {}
        for i, row in enumerate(rows):
            if i in results:
                continue
            key = keys.get(i, "")
            if key and key in seen:
                results[i] = _rejected(row, FieldError("email", f"Same email as line {seen[key]}."))
                continue
            if key:
                seen[key] = row.line
            current = existing.get(key) if key else None
            if current is None and mode == ImportMode.UPDATE:
                results[i] = RowResult(
                    row.line, "skipped", errors=[FieldError("email", "No existing lead matches.")]
                )
            elif current is not None and mode == ImportMode.CREATE:
                results[i] = RowResult(
                    row.line,
                    "skipped",
                    current.pk,
                    [FieldError("email", "A lead with this email already exists.")],
                )
            else:
                results[i] = _write_one(actor, row, current, source)
    return [results[i] for i in range(len(rows))]


def _existing(actor: Actor, emails: set[str]) -> dict[str, Lead]:
    """{email: the lead a row with it updates}. Emails are not unique among leads: the oldest
    lead not yet converted wins (a converted lead only when no other has the email)."""
    if not emails:
        return {}
    found: dict[str, Lead] = {}
    leads = (
        Lead.objects.visible_to(actor)
        .filter(email__in=emails)
        .only("id", "email", "version", "converted_at", "created_at")
        .order_by("created_at", "id")
    )
    for lead in leads:
        first = found.get(lead.email)
        if first is None or (first.converted_at and not lead.converted_at):
            found[lead.email] = lead
    return found


def _write_one(actor: Actor, row: BatchRow, current: Lead | None, source: str) -> RowResult:
    data: dict[str, Any] = row.data
    # Both services are atomic: a refused row leaves nothing behind and the batch goes on.
    try:
        if current is None:
            lead = lead_services.lead_create(actor=actor, data=data, source=source)
            return RowResult(row.line, "created", lead.pk)
        lead = lead_services.lead_update(actor=actor, lead_id=current.pk, data=data, source=source)
    except ValidationFailed as exc:
        return RowResult(row.line, "rejected", errors=exc.errors or [FieldError("", exc.detail)])
    except NotFound as exc:  # deleted (or hidden) since the batch looked it up
        return _rejected(row, FieldError("email", exc.detail))
    except IntegrityError as exc:
        return _rejected(row, FieldError("", f"Refused: {exc}"))
    status = "updated" if lead.version != current.version else "unchanged"
    return RowResult(row.line, status, lead.pk)


def _rejected(row: BatchRow, error: FieldError) -> RowResult:
    return RowResult(row.line, "rejected", errors=[error])


def delete_created(*, actor: Actor, ids, source: str) -> int:
    """Moves the leads an import created to the trash through ``lead_delete``; leads already
    gone are passed over. Answers how many were deleted."""
    deleted = 0
    for lead_id in ids:
        try:
            lead_services.lead_delete(actor=actor, lead_id=lead_id, source=source)
        except NotFound:
            continue
        deleted += 1
    return deleted
