"""Attaching files to records and interactions, and deleting them.

A file is checked before anything is stored: the actor may write, the target is a record they
can see, the size is within ``RAPPORT_ATTACHMENT_MAX_BYTES`` (measured without reading the
file into memory) and the type sniffed from its bytes is on the allow-list (``sniffing``).
Only then is it written to the default storage (local disk, or an S3-compatible bucket when
``STORAGES["default"]`` names one), together with its row and audit entry; a failure after
the write removes the stored file again, so a refused or failed upload leaves nothing behind.

Deleting is soft: the row leaves every list and the file stops being served at once, but the
stored bytes stay (like the records in the trash) until the row is purged.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import os
import re
import tempfile
import unicodedata
import uuid
from collections.abc import Iterator
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename

from rapport.audit.services import record, record_many
from rapport.core import targets
from rapport.core.actors import Actor
from rapport.core.errors import DomainError, FieldError, ValidationFailed
from rapport.core.policy import can_delete, require_delete, require_write
from rapport.core.purge import PURGE_BATCH, purge_batches, retention_cutoff

from . import events, selectors, sniffing
from .models import Attachment

_CHUNK = 64 * 1024
_MAX_NAME = 200  # characters kept of a file's name (its extension survives truncation)
_MAX_STORAGE_NAME_BYTES = 120  # file systems allow 255 bytes per name; keep well below
_UNSAFE_CHARS = re.compile(r'[<>:"/\\|?*]')
# Control, format (bidi overrides such as U+202E that disguise "exe.pdf"), surrogate,
# private-use and unassigned characters never belong in a name.
_DROPPED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}


class FileTooLarge(DomainError):
    status = 413
    title = "File too large"


def max_bytes() -> int:
    return settings.RAPPORT_ATTACHMENT_MAX_BYTES


def limit_text() -> str:
    """The size limit as people say it: "25 MB"."""
    mb = max_bytes() / 2**20
    return f"{mb:.0f} MB" if mb >= 1 and mb == int(mb) else f"{mb:.1f} MB"


def too_large() -> FileTooLarge:
    message = f"The file is larger than {limit_text()}, the largest file that can be attached."
    return FileTooLarge(message, [FieldError("file", message)])


def clean_filename(raw: Any) -> str:
    """A display name that is only a name: no folders (``../../etc/passwd`` is ``passwd``), no
    control or direction-changing characters, none of ``<>:"/\\|?*``, no leading dots."""
    name = unicodedata.normalize("NFC", str(raw or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _DROPPED_CATEGORIES)
    name = _UNSAFE_CHARS.sub("_", name)
    name = " ".join(name.split()).strip(" .")
    if len(name) > _MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = f"{stem[: _MAX_NAME - len(ext) - 1].rstrip(' .')}.{ext}"
        else:
            name = name[:_MAX_NAME].rstrip(" .")
    return name or "file"


def storage_name(filename: str) -> str:
    """The name the bytes are stored under (inside the attachment's own folder)."""
    try:
        name = get_valid_filename(filename)
    except Exception:  # SuspiciousFileOperation for names that clean to nothing
        name = "file"
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext.encode()) > 16:
        stem, dot, ext = name, "", ""
    budget = _MAX_STORAGE_NAME_BYTES - len(ext.encode()) - len(dot)
    stem = stem.encode()[:budget].decode("utf-8", "ignore") or "file"
    return f"{stem}{dot}{ext}"


def _clean_target(actor: Actor, target_type: Any, target_id: Any) -> Any:
    """The visible record a file is attached to: 422 for a malformed reference, 404 (missing
    and forbidden alike) for a record the actor cannot see."""
    known = sorted(t.name for t in targets.types())
    if target_type not in known:
        raise ValidationFailed.one("target_type", f"Attach files to one of: {', '.join(known)}.")
    try:
        uuid.UUID(str(target_id))
    except ValueError:
        raise ValidationFailed.one("target_id", "Not a valid id.")
    return targets.get(actor, target_type, target_id)


@contextlib.contextmanager
def _measured(upload: Any) -> Iterator[tuple[IO[bytes], int]]:
    """The upload as a seekable file and its size, refusing it as soon as it is known to be
    over the limit: a stored upload is measured by seeking to its end; a stream is copied
    to a spool file and abandoned at the first byte past the limit."""
    limit = max_bytes()
    declared = getattr(upload, "size", None)
    if isinstance(declared, int) and declared > limit:
        raise too_large()
    if callable(getattr(upload, "seekable", None)) and upload.seekable():
        upload.seek(0, os.SEEK_END)
        size = upload.tell()
        upload.seek(0)
        if size > limit:
            raise too_large()
        yield upload, size
        return
    with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as spool:
        size = 0
        while chunk := upload.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise too_large()
            spool.write(chunk)
        spool.seek(0)
        yield spool, size  # type: ignore[misc]


def _sha256(fileobj: IO[bytes]) -> str:
    digest = hashlib.sha256()
    fileobj.seek(0)
    while chunk := fileobj.read(_CHUNK):
        digest.update(chunk)
    fileobj.seek(0)
    return digest.hexdigest()


def content_digest(upload: Any) -> str:
    """The SHA-256 of an upload's bytes (what an idempotent retry is recognised by)."""
    with _measured(upload) as (fileobj, _size):
        return _sha256(fileobj)


def attachment_upload(
    *,
    actor: Actor,
    target_type: str,
    target_id: Any,
    upload: Any,
    filename: str | None = None,
) -> Attachment:
    """Attaches ``upload`` (an UploadedFile or any binary file-like) to a visible record.

    Not wrapped in one outer transaction on purpose: the file is written to storage inside
    the row's transaction and removed again if that transaction fails."""
    require_write(actor)
    _clean_target(actor, target_type, target_id)
    name = clean_filename(getattr(upload, "name", "") if filename is None else filename)
    sniffing.check_name(name)
    with _measured(upload) as (fileobj, size):
        if size == 0:
            raise ValidationFailed.one("file", "The file is empty.")
        content_type = sniffing.sniff(fileobj, name)
        attachment = Attachment(
            workspace=actor.workspace,
            target_type=target_type,
            target_id=uuid.UUID(str(target_id)),
            filename=name,
            content_type=content_type,
            size=size,
            sha256=_sha256(fileobj),
        )
        attachment.stamp(actor, created=True)
        stored = ""
        try:
            with transaction.atomic():
                content = fileobj if isinstance(fileobj, File) else File(fileobj)
                attachment.file.save(storage_name(name), content, save=False)
                stored = attachment.file.name or ""
                attachment.save()
                record(
                    actor=actor,
                    action=events.ATTACHMENT_UPLOADED,
                    obj=attachment,
                    changes={
                        "filename": {"before": None, "after": name},
                        "content_type": {"before": None, "after": content_type},
                        "size": {"before": None, "after": size},
                        "target": {
                            "before": None,
                            "after": {"type": target_type, "id": str(attachment.target_id)},
                        },
                    },
                )
        except BaseException:
            if stored:
                attachment.file.storage.delete(stored)
            raise
    return attachment


def attachment_upload_bytes(
    *, actor: Actor, target_type: str, target_id: Any, data: bytes, filename: str
) -> Attachment:
    """For callers holding the bytes already (an email's attachment from a mailbox sync)."""
    return attachment_upload(
        actor=actor,
        target_type=target_type,
        target_id=target_id,
        upload=io.BytesIO(data),
        filename=filename,
    )


@transaction.atomic
def attachment_delete(*, actor: Actor, attachment_id: Any) -> None:
    """Soft-deletes a file: members their own, managers and up anyone's."""
    attachment = selectors.attachment_get(actor=actor, attachment_id=attachment_id)
    require_delete(actor, attachment)
    attachment.deleted_at = timezone.now()
    attachment.deleted_by = actor.user
    attachment.stamp(actor)
    attachment.save(
        update_fields=["deleted_at", "deleted_by", "updated_at", "updated_by", "updated_by_kind"]
    )
    record(
        actor=actor,
        action=events.ATTACHMENT_DELETED,
        obj=attachment,
        changes={"deleted_at": {"before": None, "after": attachment.deleted_at.isoformat()}},
    )


@transaction.atomic
def attachment_restore(*, actor: Actor, attachment_id: Any, source: str = "") -> Attachment:
    """Brings a deleted file back onto its record. Restoring follows the delete rule (members
    their own files, managers and up anyone's); a file whose record is out of sight or in the
    trash is not found (it comes back with its record)."""
    attachment = selectors.deleted_attachment_get(actor=actor, attachment_id=attachment_id)
    require_write(actor)
    require_delete(actor, attachment)
    deleted_at = attachment.deleted_at
    attachment.deleted_at = None
    attachment.deleted_by = None
    attachment.stamp(actor)
    attachment.save(
        update_fields=["deleted_at", "deleted_by", "updated_at", "updated_by", "updated_by_kind"]
    )
    record(
        actor=actor,
        action=events.ATTACHMENT_RESTORED,
        obj=attachment,
        changes={
            "deleted_at": {"before": deleted_at.isoformat() if deleted_at else None, "after": None}
        },
        source=source,
    )
    return attachment


def may_restore(actor: Actor, attachment: Attachment) -> bool:
    """Whether the actor may bring ``attachment`` back from the trash: as for deleting it."""
    return can_delete(actor, attachment)


# --- merging people and companies ---------------------------------------------------------


def move_attachments(*, actor: Actor, loser: Any, survivor: Any) -> int:
    """A merged record's files move to the survivor (deleted ones too, so nothing points at a
    record that no longer exists)."""
    target_type = targets.type_of(loser).name
    return (
        Attachment.objects.in_workspace(loser.workspace_id)
        .filter(target_type=target_type, target_id=loser.pk)
        .update(target_id=survivor.pk, updated_at=timezone.now())
    )


def count_attachments(loser: Any) -> int:
    return (
        Attachment.objects.in_workspace(loser.workspace_id)
        .filter(
            target_type=targets.type_of(loser).name,
            target_id=loser.pk,
            deleted_at__isnull=True,
        )
        .count()
    )


# --- records deleted for good -------------------------------------------------------------


def purge_for_targets(actor: Actor, type_name: str, ids: list, source: str) -> None:
    """The files of records being deleted for good go with them (``core.targets.on_purge``)."""
    files = Attachment.objects.in_workspace(actor.workspace.pk).filter(
        target_type=type_name, target_id__in=ids
    )
    _purge(actor, list(files), source=source)


def purge_expired(
    *,
    actor: Actor,
    now: dt.datetime | None = None,
    batch_size: int = PURGE_BATCH,
    source: str = "retention",
) -> int:
    """Deletes for good the files deleted longer ago than the workspace's trash retention (the
    daily purge, ``contacts.tasks.purge_trash``): until then their bytes stay stored."""
    cutoff = retention_cutoff(actor, now)
    expired = Attachment.objects.in_workspace(actor.workspace.pk).filter(deleted_at__lt=cutoff)
    return purge_batches(
        expired, lambda batch: _purge(actor, batch, source=source), batch_size=batch_size
    )


def _purge(actor: Actor, files: list[Attachment], *, source: str) -> None:
    """Rows now, audited; the stored bytes once the purge commits (a rolled-back purge keeps
    them)."""
    if not files:
        return
    record_many(
        actor=actor,
        entries=[
            (events.ATTACHMENT_PURGED, f, {"filename": {"before": f.filename, "after": None}})
            for f in files
        ],
        source=source,
    )
    stored = [(f.file.storage, f.file.name) for f in files if f.file.name]
    Attachment.objects.filter(pk__in=[f.pk for f in files]).delete()
    transaction.on_commit(lambda: _delete_stored(stored))


def _delete_stored(stored: list) -> None:
    for storage, name in stored:
        with contextlib.suppress(OSError):  # already gone: nothing left to remove
            storage.delete(name)
