"""Channels push interactions in: ``POST /api/v1/activities/ingest``.

A phone system, chat widget or social tool sends a batch of up to 500 interactions. Each item
is what ``POST /activities`` accepts, plus an optional ``from`` (``{"email", "phone", "name"}``)
naming the counterpart instead of (or besides) ``targets``. Every item is written through
``services.activity_create``, the one write path, in its own savepoint: a bad item is reported
with its index and field errors and never undoes the good ones.

Matching the counterpart (``from``):

- by email, case-insensitively: a person's own email, else an email a person kept from a
  merge (``OtherIdentifier``). Emails are unique in a workspace, so at most one person matches.
- by phone, normalised to E.164 with the workspace's default region: a person's own phone
  first, else a phone kept from a merge. When several people share the number (an office
  switchboard, a family line) the interaction is linked to ONE of them, the most recently
  updated (the one being worked on); linking all of them would put a private conversation on
  unrelated timelines. Ties go to the smallest id, so the choice is stable.
- with both an email and a phone, the email decides; the phone is tried when the email
  matches nobody.
- nobody matches: with ``create_unknown`` the sender becomes a new person through
  ``contacts.services.person_create`` (the same write path as everywhere; name split into
  first and last name at the first space, ``source`` = the channel); without it, the item is
  an error naming ``from``.

Idempotency: an item whose (``channel``, ``external_id``) is already logged answers
``duplicate`` with the existing id, also when the same message id comes twice in one batch.
Items without ``external_id`` are not idempotent: re-sending them logs them again.

Speed: the batch's senders (all emails and phones) and already-logged message ids are looked
up in a few queries before the loop, never one per item; items are committed in chunks of
``CHUNK`` (one transaction each, a savepoint per item) so a 500-item batch neither pays a
commit per item nor holds the database's write lock for the whole batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db import transaction
from django.db.models import Q
from ninja import Field, Schema
from pydantic import ValidationError

from rapport.core import targets
from rapport.core.actors import Actor
from rapport.core.api import ProblemField, StrictSchema, field_from_loc
from rapport.core.context import batch_scope, remember
from rapport.core.errors import DomainError, Duplicate, ErrorCollector, FieldError, ValidationFailed
from rapport.core.policy import require_write
from rapport.core.validation import clean_email, clean_phone, clean_text

from . import services
from .models import Activity, Direction
from .schemas import ActivityIn

MAX_ITEMS = 500
CHUNK = 100  # items per transaction: bounded lock time, one commit per chunk

# --- schemas ------------------------------------------------------------------------------


class SenderIn(StrictSchema):
    email: str | None = Field(None, description="Matched case-insensitively")
    phone: str | None = Field(
        None, description="Any format; read with the workspace's default region, matched as E.164"
    )
    name: str | None = Field(None, description="Used only to create an unknown sender")


class IngestItem(ActivityIn):
    """One interaction of a batch: the fields of ``POST /activities`` plus ``from``."""

    sender: SenderIn | None = Field(
        None,
        alias="from",
        description=(
            "The counterpart, instead of or besides `targets`: a person matched by email or "
            "phone (see create_unknown). Direction defaults to inbound when given."
        ),
    )


def _inline_refs(schema: Any, defs: Mapping[str, Any]) -> Any:
    """A JSON schema with its local ``$defs`` references replaced by the definitions: the
    item schema is documented inside the envelope, where ``#/$defs`` would not resolve."""
    if isinstance(schema, list):
        return [_inline_refs(s, defs) for s in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref", "")
    if ref.startswith("#/$defs/"):
        return _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
    return {k: _inline_refs(v, defs) for k, v in schema.items() if k != "$defs"}


def _item_schema() -> dict[str, Any]:
    schema = IngestItem.model_json_schema(by_alias=True)
    return _inline_refs(schema, schema.get("$defs", {}))


class IngestIn(StrictSchema):
    # Items are checked one by one by the service (not here), so one bad item is reported
    # with its index instead of refusing the whole batch; the documented schema is the item's.
    items: list[Any] = Field(
        ...,
        min_length=1,
        max_length=MAX_ITEMS,
        description=f"1 to {MAX_ITEMS} interactions",
        json_schema_extra={"items": _item_schema()},
    )
    create_unknown: bool = Field(
        False, description="Create a person for a `from` that matches nobody (default: error)"
    )


class IngestResultOut(Schema):
    index: int = Field(..., description="The item's position in `items`, from 0")
    status: Literal["created", "duplicate", "error"]
    id: uuid.UUID | None = Field(
        None, description="The interaction created, or the one already logged (duplicate)"
    )
    person: uuid.UUID | None = Field(
        None, description="The person `from` matched or created (created items only)"
    )
    person_created: bool = Field(False, description="True when `from` created a new person")
    errors: list[ProblemField]


class IngestOut(Schema):
    results: list[IngestResultOut]


# --- the service --------------------------------------------------------------------------


@dataclass
class ItemResult:
    index: int
    status: str  # created | duplicate | error
    id: uuid.UUID | None = None
    person: uuid.UUID | None = None
    person_created: bool = False
    errors: list[FieldError] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "status": self.status,
            "id": str(self.id) if self.id else None,
            "person": str(self.person) if self.person else None,
            "person_created": self.person_created,
            "errors": [{"field": e.field, "message": e.message} for e in self.errors],
        }


@dataclass(frozen=True)
class Sender:
    email: str
    phone: str
    name: str


@dataclass
class _Parsed:
    index: int
    data: dict[str, Any] = field(default_factory=dict)
    sender: Sender | None = None
    channel: str = ""
    key: tuple[str, str] | None = None  # (channel, external_id) when idempotent
    errors: list[FieldError] = field(default_factory=list)


def _pydantic_errors(exc: ValidationError) -> list[FieldError]:
    out = []
    for err in exc.errors():
        field_name = field_from_loc(err.get("loc", ())) if err.get("loc") else "item"
        message = "Unknown field." if err.get("type") == "extra_forbidden" else err.get("msg", "")
        out.append(FieldError(field_name, message or "Invalid value."))
    return out


def _clean_sender(value: SenderIn, region: str) -> Sender:
    c = ErrorCollector()
    c.take("email", clean_email, value.email, field="from.email")
    c.take("phone", clean_phone, value.phone, field="from.phone", region=region)
    c.take("name", clean_text, value.name, field="from.name", max_length=300)
    c.raise_if_any()
    if not (c.values["email"] or c.values["phone"]):
        raise ValidationFailed.one("from", "Give an email or a phone number.")
    return Sender(**c.values)


def _parse(actor: Actor, index: int, raw: Any) -> _Parsed:
    """The item in the shape ``activity_create`` takes, or its errors; nothing is looked up."""
    item = _Parsed(index)
    if not isinstance(raw, Mapping):
        item.errors.append(FieldError("item", "Send an object."))
        return item
    try:
        parsed = IngestItem.model_validate(raw)
    except ValidationError as exc:
        item.errors = _pydantic_errors(exc)
        return item
    data = parsed.model_dump(exclude_unset=True, exclude={"sender"})
    if parsed.sender is not None:
        try:
            item.sender = _clean_sender(parsed.sender, actor.workspace.default_region)
        except ValidationFailed as exc:
            item.errors = exc.errors
            return item
        data.setdefault("direction", Direction.INBOUND.value)
    # The idempotency key as the service will store it (same cleaner); a malformed one is left
    # for the service to report.
    try:
        channel = clean_text(data.get("channel"), field="channel", max_length=50)
        external_id = clean_text(data.get("external_id"), field="external_id", max_length=255)
    except ValidationFailed:
        channel = external_id = ""
    item.channel = channel
    if external_id:
        item.key = (channel, external_id)
    item.data = data
    return item


class _SenderIndex:
    """The people of the batch's senders, found in three queries for the whole batch."""

    def __init__(self, actor: Actor, senders: Sequence[Sender]):
        from rapport.contacts.models import IdentifierKind, OtherIdentifier, Person

        emails = {s.email for s in senders if s.email}
        phones = {s.phone for s in senders if s.phone}
        self.by_email: dict[str, uuid.UUID] = {}
        self.by_phone: dict[str, uuid.UUID] = {}
        people = Person.objects.visible_to(actor)
        if emails:
            # (`exclude(email="")` states the unique index's condition so SQLite uses it)
            rows = people.filter(email__in=emails).exclude(email="")
            self.by_email.update(rows.values_list("email", "pk"))
        best: dict[str, tuple] = {}
        if phones:
            for pk, phone, updated in people.filter(phone__in=phones).values_list(
                "pk", "phone", "updated_at"
            ):
                self._prefer(best, phone, (updated, pk))
        self.by_phone.update({phone: rank[1] for phone, rank in best.items()})
        kept_emails = emails - set(self.by_email)
        kept_phones = phones - set(self.by_phone)
        if kept_emails or kept_phones:
            kept = OtherIdentifier.objects.filter(
                Q(kind=IdentifierKind.EMAIL, value__in=kept_emails)
                | Q(kind=IdentifierKind.PHONE, value__in=kept_phones),
                workspace=actor.workspace,
                person__in=people,
            ).values_list("kind", "value", "person_id", "person__updated_at")
            kept_best: dict[str, tuple] = {}
            for kind, value, person_id, updated in kept:
                if kind == IdentifierKind.EMAIL:
                    self.by_email.setdefault(value, person_id)
                else:
                    self._prefer(kept_best, value, (updated, person_id))
            for phone, rank in kept_best.items():
                self.by_phone.setdefault(phone, rank[1])

    @staticmethod
    def _prefer(best: dict[str, tuple], key: str, rank: tuple) -> None:
        """Most recently updated wins; on a tie the smallest id (a stable choice)."""
        current = best.get(key)
        if current is None or (rank[0], -rank[1].int) > (current[0], -current[1].int):
            best[key] = rank

    def find(self, sender: Sender) -> uuid.UUID | None:
        return (sender.email and self.by_email.get(sender.email)) or (
            (sender.phone and self.by_phone.get(sender.phone)) or None
        )

    def learn(self, sender: Sender, person_id: uuid.UUID) -> None:
        """A person created for a sender answers that sender's later items of the batch."""
        if sender.email:
            self.by_email.setdefault(sender.email, person_id)
        if sender.phone:
            self.by_phone.setdefault(sender.phone, person_id)


def _logged_messages(actor: Actor, keys: set[tuple[str, str]]) -> dict[tuple[str, str], uuid.UUID]:
    """The already logged interactions of the batch's (channel, external_id) pairs: one query."""
    if not keys:
        return {}
    by_channel: dict[str, set[str]] = {}
    for channel, external_id in keys:
        by_channel.setdefault(channel, set()).add(external_id)
    # One range of the (workspace, channel, external_id) unique index per channel.
    wanted = Q(pk__in=[])
    for channel, ids in by_channel.items():
        wanted |= Q(channel=channel, external_id__in=ids)
    rows = Activity.objects.filter(wanted, workspace=actor.workspace).exclude(external_id="")
    found = rows.values_list("channel", "external_id", "pk")
    return {(ch, ext): pk for ch, ext, pk in found if (ch, ext) in keys}


def _create_sender(actor: Actor, sender: Sender, channel: str, source: str) -> tuple[Any, bool]:
    """A new person for an unknown sender; when a concurrent push created them first, that
    person (the email is taken: the duplicate names them)."""
    from rapport.contacts.services import person_create

    first, _, last = sender.name.partition(" ")
    data: dict[str, Any] = {"first_name": first, "last_name": last.strip(), "source": channel}
    if sender.email:
        data["email"] = sender.email
    if sender.phone:
        data["phone"] = sender.phone
    try:
        return person_create(actor=actor, data=data, source=source).pk, True
    except Duplicate as exc:
        return uuid.UUID(exc.existing_id), False


def _unknown(sender: Sender) -> ValidationFailed:
    what = "email" if sender.email else "phone number"
    return ValidationFailed.one(
        "from", f"No person with this {what}; send create_unknown=true to create one."
    )


def _with_person(data: dict[str, Any], person_id: uuid.UUID) -> dict[str, Any]:
    return {**data, "targets": [*(data.get("targets") or []), {"type": "person", "id": person_id}]}


def _write(
    actor: Actor, item: _Parsed, senders: _SenderIndex, create_unknown: bool, source: str
) -> ItemResult:
    """Writes one item. ``activity_create`` is atomic itself (a savepoint inside the chunk's
    transaction); only an item that also creates its sender needs a savepoint of its own,
    so that a refused interaction takes the new person back with it."""
    data, person_id = item.data, None
    if item.sender is not None:
        person_id = senders.find(item.sender)
        if person_id is None and not create_unknown:
            raise _unknown(item.sender)
    if item.sender is None or person_id is not None:
        data = _with_person(data, person_id) if person_id else data
        obj = services.activity_create(actor=actor, data=data, source=source)
        return ItemResult(item.index, "created", obj.pk, person_id)
    assert item.sender is not None
    with transaction.atomic():
        person_id, created = _create_sender(actor, item.sender, item.channel or "ingest", source)
        obj = services.activity_create(
            actor=actor, data=_with_person(data, person_id), source=source
        )
    return ItemResult(item.index, "created", obj.pk, person_id, created)


def _ingest_one(
    actor: Actor,
    item: _Parsed,
    senders: _SenderIndex,
    logged: dict[tuple[str, str], uuid.UUID],
    create_unknown: bool,
    source: str,
) -> ItemResult:
    if item.errors:
        return ItemResult(item.index, "error", errors=item.errors)
    if item.key is not None and item.key in logged:
        return ItemResult(item.index, "duplicate", logged[item.key])
    try:
        result = _write(actor, item, senders, create_unknown, source)
    except Duplicate as exc:
        if exc.errors and exc.errors[0].field == "external_id":  # a concurrent push won
            return ItemResult(item.index, "duplicate", uuid.UUID(exc.existing_id))
        return ItemResult(item.index, "error", errors=exc.errors)
    except DomainError as exc:
        return ItemResult(
            item.index, "error", errors=exc.errors or [FieldError("item", exc.detail)]
        )
    if item.key is not None and result.id is not None:
        logged[item.key] = result.id
    if item.sender is not None and result.person is not None:
        senders.learn(item.sender, result.person)
    return result


def _preload(
    actor: Actor,
    parsed: list[_Parsed],
    senders: _SenderIndex,
    logged: dict[tuple[str, str], uuid.UUID],
) -> None:
    """Tells ``activity_create`` what the batch already knows, so an item asks the database
    only to write: the records it links to (loaded once for the batch) and that its message
    id is not logged yet (the unique index still catches a concurrent push)."""
    pairs: list[tuple[str, Any]] = []
    for item in parsed:
        if item.errors:
            continue
        if item.sender is not None:
            person_id = senders.find(item.sender)
            if person_id is not None:
                pairs.append(("person", person_id))
        for ref in item.data.get("targets") or []:
            if isinstance(ref, dict) and ref.get("id"):
                try:
                    pairs.append((str(ref.get("type")), uuid.UUID(str(ref["id"]))))
                except ValueError:
                    continue
        if item.key is not None and item.key not in logged:
            remember(services.unlogged_message_key(actor, *item.key), True)
    targets.preload(actor, pairs)


def ingest_batch(
    *, actor: Actor, items: Sequence[Any], create_unknown: bool = False, source: str = ""
) -> list[ItemResult]:
    """Logs a channel's batch of interactions; answers one result per item, in order.

    The whole batch is refused (nothing stored) only when the actor may not write (403) or
    the batch is empty or larger than ``MAX_ITEMS`` (422); otherwise every item gets its own
    ``created``/``duplicate``/``error`` result."""
    require_write(actor)
    if not items:
        raise ValidationFailed.one("items", "Send at least one item.")
    if len(items) > MAX_ITEMS:
        raise ValidationFailed.one("items", f"Send at most {MAX_ITEMS} items per batch.")
    with batch_scope():
        parsed = [_parse(actor, i, raw) for i, raw in enumerate(items)]
        senders = _SenderIndex(actor, [p.sender for p in parsed if p.sender and not p.errors])
        logged = _logged_messages(actor, {p.key for p in parsed if p.key and not p.errors})
        _preload(actor, parsed, senders, logged)
        results: list[ItemResult] = []
        for start in range(0, len(parsed), CHUNK):
            with transaction.atomic():
                for item in parsed[start : start + CHUNK]:
                    results.append(
                        _ingest_one(actor, item, senders, logged, create_unknown, source)
                    )
    return results
