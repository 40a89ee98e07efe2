"""Reading attachments. A file is visible exactly when its row is live and the record it is
attached to is visible to the actor: a person in the trash takes their files with them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from rapport.core import targets
from rapport.core.actors import Actor
from rapport.core.errors import NotFound, ValidationFailed
from rapport.core.pagination import Page, Sort, keyset_page
from rapport.core.validation import uuid_or_none

from .models import Attachment

NEWEST_FIRST = Sort(field="created_at", descending=True)
TRASH_SORT = Sort(field="deleted_at", descending=True)


def _attachments(actor: Actor) -> QuerySet[Attachment]:
    return Attachment.objects.visible_to(actor).select_related("created_by")  # type: ignore[attr-defined]


def attachment_get(*, actor: Actor, attachment_id: Any) -> Attachment:
    pk = uuid_or_none(attachment_id)
    attachment = None if pk is None else _attachments(actor).filter(pk=pk).first()
    if attachment is None:
        raise NotFound("No such file.")
    try:
        targets.get(actor, attachment.target_type, attachment.target_id)
    except NotFound:
        raise NotFound("No such file.")  # the record went to the trash, or was never visible
    return attachment


def attachment_list(
    *, actor: Actor, target_type: str, target_id: Any, cursor: str | None = None, limit: int = 50
) -> Page:
    """The files of one visible record, newest first (404 for a record the actor cannot see)."""
    target = targets.get(actor, target_type, target_id)
    qs = _attachments(actor).filter(target_type=target_type, target_id=target.pk)
    return keyset_page(qs, sort=NEWEST_FIRST, cursor=cursor, limit=limit)


def attachments_for(
    *, actor: Actor, target_type: str, ids: Iterable[Any]
) -> dict[uuid.UUID, list[Attachment]]:
    """The files of many records of one type at once (the interactions of a timeline page):
    ``{record id: [attachments, oldest first]}`` in one query whatever the number of records.
    Records the actor cannot see get no entry, checked in the same query."""
    wanted = {i if isinstance(i, uuid.UUID) else uuid.UUID(str(i)) for i in ids}
    if not wanted:
        return {}
    try:
        target = targets.get_type(target_type)
    except ValidationFailed:
        return {}
    visible = target.visible(actor).filter(pk=OuterRef("target_id"))
    rows = (
        _attachments(actor)
        .filter(target_type=target_type, target_id__in=wanted)
        .filter(Exists(visible))
        .order_by("created_at", "id")
    )
    out: dict[uuid.UUID, list[Attachment]] = {}
    for attachment in rows:
        out.setdefault(attachment.target_id, []).append(attachment)
    return out


# --- the trash ----------------------------------------------------------------------------------


def _deleted(actor: Actor) -> QuerySet[Attachment]:
    """Deleted files on records the actor can see (and that are not in the trash themselves)."""
    return (
        Attachment.objects.in_workspace(actor.workspace)  # type: ignore[attr-defined]
        .filter(deleted_at__isnull=False)
        .filter(targets.visible_target(actor))
    )


def deleted_attachments(*, actor: Actor, cursor: str | None, limit: int) -> Page:
    """One keyset page of the deleted files on records the actor can see, newest deletion
    first. A file whose record is in the trash too comes back with that record."""
    qs = _deleted(actor).select_related("deleted_by", "created_by")
    return keyset_page(qs, sort=TRASH_SORT, cursor=cursor, limit=limit)


def record_links(actor: Actor, files: Iterable[Attachment]) -> dict[Any, tuple[str, str]]:
    """{file id: (record name, record URL)} for a page of files, one query per record type (a
    record the actor cannot see has no entry)."""
    files = list(files)
    names = targets.labels(actor, [(f.target_type, f.target_id) for f in files])
    out = {}
    for f in files:
        name = names.get((f.target_type, str(f.target_id)))
        if name is not None:
            out[f.pk] = (name, targets.get_type(f.target_type).url(f.target_id))
    return out


def deleted_attachment_get(*, actor: Actor, attachment_id: Any) -> Attachment:
    pk = uuid_or_none(attachment_id)
    attachment = None if pk is None else _deleted(actor).select_for_update().filter(pk=pk).first()
    if attachment is None:
        raise NotFound("No such file in the trash.")
    return attachment
