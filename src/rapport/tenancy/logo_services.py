"""The workspace logo: the letterhead of quotes (the PDF, the quote page, the customer's page).

A logo is a PNG or a JPEG of at most 1 MiB. What it is comes from its bytes (puremagic names
whatever else was sent; the file name and the browser's Content-Type decide nothing), and it is
decoded once here, so a damaged file or a "decompression bomb" (a tiny file declaring a huge
canvas) is refused at upload instead of in every PDF. SVG is refused: it is a document that can
carry scripts and fetch URLs. The bytes go to the default storage under a fresh name (a URL
naming it can be cached); the replaced file is removed once the change is committed.
"""

from __future__ import annotations

import base64
import io
import threading
import uuid
from typing import IO, Any

import puremagic
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from rapport.attachments.services import clean_filename
from rapport.audit import events
from rapport.audit.services import record
from rapport.core.actors import Actor
from rapport.core.errors import ValidationFailed
from rapport.core.policy import require_admin

from .models import Workspace

MAX_LOGO_BYTES = 1024 * 1024
MAX_LOGO_PIXELS = 4000 * 4000  # decoding is width × height × 4 bytes, in every PDF render
FIELD = "logo"
# Sniffed type -> stored extension and the name people know it by.
ACCEPTED = {"image/png": ("png", "PNG"), "image/jpeg": ("jpg", "JPEG")}
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg"}


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed.one(FIELD, message)


def _size_text(size: int) -> str:
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{max(size // 1024, 1)} KB"


def _read_limited(upload: IO[bytes] | Any) -> bytes:
    """The upload's bytes, refusing it as soon as it is known to be over the limit (the
    declared size first, then by reading one byte past the limit at most)."""
    too_big = (
        f"The logo is larger than 1 MB ({MAX_LOGO_BYTES:,} bytes), the largest logo "
        "accepted. Save it smaller (a logo needs about 600 × 200 pixels) and upload it again."
    )
    declared = getattr(upload, "size", None)
    if isinstance(declared, int) and declared > MAX_LOGO_BYTES:
        raise _refuse(too_big)
    if hasattr(upload, "seek"):
        upload.seek(0)
    data = upload.read(MAX_LOGO_BYTES + 1)
    if len(data) > MAX_LOGO_BYTES:
        raise _refuse(too_big)
    return data


def detect_type(data: bytes) -> str:
    """``image/png`` or ``image/jpeg``, or ValidationFailed naming what the bytes are."""
    if not data:
        raise _refuse("The file is empty. Choose a PNG or JPEG image.")
    try:
        matches = puremagic.magic_string(data)
    except (puremagic.PureError, ValueError):
        matches = []
    mimes = [m.mime_type for m in matches]
    # The signature first: a real PNG or JPEG may carry "<svg" in its metadata (XMP, comments).
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    head = data[:1024].lower()
    if "image/svg+xml" in mimes or b"<svg" in head:
        raise _refuse(
            "This is an SVG image. SVG files can carry scripts and links, so they are not "
            "accepted as a logo: export it as PNG (or JPEG) and upload that."
        )
    for mime in mimes:
        if mime in ACCEPTED:
            return mime
    if matches:
        detected = matches[0].name or matches[0].mime_type or matches[0].extension
    else:
        detected = "text" if b"\x00" not in data[:8192] else "unrecognised binary data"
    raise _refuse(
        f"This file is not a PNG or JPEG image (detected: {detected}). "
        "Upload the logo as a PNG or JPEG."
    )


def _dimensions(data: bytes, content_type: str) -> tuple[int, int]:
    """Width and height after decoding the whole image (a truncated file fails here)."""
    label = ACCEPTED[content_type][1]
    # WeasyPrint turns Pillow's LOAD_TRUNCATED_IMAGES on for the whole process when imported;
    # a logo must be complete, so this decode runs with it off. The setting is process-wide:
    # the lock keeps two uploads in two threads from restoring it under each other (one would
    # then decode leniently). A PDF rendered meanwhile only embeds logos checked this way.
    with _STRICT_DECODE:
        return _decoded_size(data, label)


_STRICT_DECODE = threading.Lock()


def _decoded_size(data: bytes, label: str) -> tuple[int, int]:
    from PIL import Image, ImageFile

    lenient = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_LOGO_PIXELS:
                raise _refuse(
                    f"The image is {width:,} × {height:,} pixels; a logo may have at most "
                    f"{MAX_LOGO_PIXELS:,} pixels (for example 4000 × 4000). Scale it down."
                )
            image.load()
    except ValidationFailed:
        raise
    except Exception:  # Pillow raises many kinds for damaged data
        raise _refuse(f"This {label} image is damaged and cannot be read. Save it again.")
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = lenient
    return width, height


def _describe(name: str, content_type: str, size: int, width: int, height: int) -> str:
    return f"{name} ({ACCEPTED[content_type][1]}, {width} × {height} px, {_size_text(size)})"


def _delete_later(name: str) -> None:
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))


@transaction.atomic
def workspace_logo_set(*, actor: Actor, upload: IO[bytes] | Any, source: str = "ui") -> Workspace:
    """Stores ``upload`` (an UploadedFile or any binary file) as the workspace's logo."""
    require_admin(actor)
    data = _read_limited(upload)
    content_type = detect_type(data)
    width, height = _dimensions(data, content_type)
    workspace = Workspace.objects.select_for_update().get(pk=actor.workspace.pk)
    before = workspace.logo.name or ""
    ext = ACCEPTED[content_type][0]
    workspace.logo.save(f"{workspace.pk}/{uuid.uuid4().hex}.{ext}", ContentFile(data), save=False)
    stored = workspace.logo.name or ""
    try:
        workspace.save(update_fields=["logo"])
        shown_name = clean_filename(getattr(upload, "name", "") or "logo")[:100]
        record(
            actor=actor,
            action=events.WORKSPACE_UPDATED,
            obj=workspace,
            changes={
                "logo": {
                    "before": before or None,
                    "after": _describe(shown_name, content_type, len(data), width, height),
                }
            },
            source=source,
        )
    except BaseException:
        default_storage.delete(stored)
        raise
    _delete_later(before)
    actor.workspace.logo = workspace.logo
    return workspace


@transaction.atomic
def workspace_logo_remove(*, actor: Actor, source: str = "ui") -> Workspace:
    require_admin(actor)
    workspace = Workspace.objects.select_for_update().get(pk=actor.workspace.pk)
    before = workspace.logo.name or ""
    if before:
        workspace.logo = ""  # type: ignore[assignment]
        workspace.save(update_fields=["logo"])
        record(
            actor=actor,
            action=events.WORKSPACE_UPDATED,
            obj=workspace,
            changes={"logo": {"before": before, "after": None}},
            source=source,
        )
        _delete_later(before)
    actor.workspace.logo = workspace.logo
    return workspace


# --- reading ----------------------------------------------------------------------------------


def logo_content_type(workspace: Workspace) -> str:
    return CONTENT_TYPES.get((workspace.logo.name or "").rsplit(".", 1)[-1], "")


def logo_bytes(workspace: Workspace) -> bytes | None:
    """The stored logo, or None (no logo, or its file is gone: the name is shown instead)."""
    if not workspace.logo or not logo_content_type(workspace):
        return None
    try:
        with default_storage.open(workspace.logo.name, "rb") as stored:
            return stored.read(MAX_LOGO_BYTES + 1)[:MAX_LOGO_BYTES]
    except OSError:
        return None


def logo_data_uri(workspace: Workspace) -> str:
    """The logo as a ``data:`` URL (what the PDF embeds: WeasyPrint fetches nothing else)."""
    data = logo_bytes(workspace)
    if data is None:
        return ""
    return f"data:{logo_content_type(workspace)};base64,{base64.b64encode(data).decode()}"


def logo_version(workspace: Workspace) -> str:
    """Changes whenever the logo does: appended to its URL so caches never show an old one."""
    return (workspace.logo.name or "").rsplit("/", 1)[-1].split(".", 1)[0]
