"""/api/v1/attachments: parse, call a selector or service, shape the answer."""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from ninja import File, Form, Query, Router
from ninja.files import UploadedFile

from rapport.core.api import (
    COMMON_ERRORS,
    WRITE_ERRORS,
    actor_of,
    dump,
    idempotent,
    json_response,
    list_response,
)
from rapport.core.errors import ValidationFailed

from . import selectors, services, serving
from .schemas import AttachmentList, AttachmentOut

router = Router(tags=["attachments"])

Limit = Query(50, ge=1, le=500, description="Page size (max 500)")
Cursor = Query(None, max_length=1000, description="The `next` value of the previous page")
TargetType = Query(
    ..., description="What the files are attached to: person, company, activity, ..."
)
TargetId = Query(..., description="The id of the record the files are attached to")


class _UploadRequest:
    """The request as ``idempotent`` sees it: a multipart body cannot be read again once parsed
    (and may be 25 MB), so a retry is recognised by its fields and the file's SHA-256."""

    def __init__(self, request: HttpRequest, body: bytes):
        self._request = request
        self.body = body

    def __getattr__(self, name: str):
        return getattr(self._request, name)


@router.get(
    "",
    response={200: AttachmentList, **COMMON_ERRORS},
    summary="The files attached to a record, newest first",
)
def list_attachments(
    request,
    target_type: str = TargetType,
    target_id: uuid.UUID = TargetId,
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> HttpResponse:
    page = selectors.attachment_list(
        actor=actor_of(request),
        target_type=target_type,
        target_id=target_id,
        cursor=cursor,
        limit=limit,
    )
    return list_response(AttachmentOut, page)


@router.post(
    "",
    response={201: AttachmentOut, **WRITE_ERRORS},
    summary="Attach a file to a record",
    description=(
        "Multipart form: `target_type` (person, company, activity, ...), `target_id`, `file`. "
        "The type is read from the file's content: images, PDF, text/CSV, Office documents, "
        "ZIP, emails and audio are accepted; programs, scripts, HTML and SVG are refused "
        "(422). Files over the size limit (25 MB unless configured) answer 413."
    ),
)
def upload_attachment(
    request,
    target_type: Form[str],
    target_id: Form[str],
    file: File[UploadedFile | None] = None,
) -> HttpResponse:
    def create() -> HttpResponse:
        attachment = services.attachment_upload(
            actor=actor_of(request), target_type=target_type, target_id=target_id, upload=file
        )
        return json_response(
            dump(AttachmentOut, attachment),
            status=201,
            headers={"Location": f"/api/v1/attachments/{attachment.pk}"},
        )

    if file is None:
        raise ValidationFailed.one("file", "Choose a file to attach.")
    if not request.headers.get("Idempotency-Key"):
        return create()
    fingerprint = "\n".join(
        [target_type, target_id, file.name or "", services.content_digest(file)]
    ).encode()
    return idempotent(_UploadRequest(request, fingerprint), create)  # type: ignore[arg-type]


@router.get(
    "/{attachment_id}",
    response={200: AttachmentOut, **COMMON_ERRORS},
    summary="Get a file's details",
)
def get_attachment(request, attachment_id: uuid.UUID) -> HttpResponse:
    attachment = selectors.attachment_get(actor=actor_of(request), attachment_id=attachment_id)
    return json_response(dump(AttachmentOut, attachment))


@router.get(
    "/{attachment_id}/content",
    response={200: None, 304: None, **COMMON_ERRORS},
    summary="The file itself",
    description=(
        "Sent as a download. `?inline=1` shows images and PDFs in the browser; other types are "
        "always downloads."
    ),
)
def attachment_content(request, attachment_id: uuid.UUID) -> HttpResponseBase:
    attachment = selectors.attachment_get(actor=actor_of(request), attachment_id=attachment_id)
    return serving.file_response(request, attachment)


@router.delete(
    "/{attachment_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Delete a file (members their own, managers anyone's)",
)
def delete_attachment(request, attachment_id: uuid.UUID) -> HttpResponse:
    services.attachment_delete(actor=actor_of(request), attachment_id=attachment_id)
    return HttpResponse(status=204)


@router.post(
    "/{attachment_id}/restore",
    response={200: AttachmentOut, **WRITE_ERRORS},
    summary="Restore a deleted file from the trash",
    description=(
        "It goes back on its record. Restoring follows the delete rule (members their own "
        "files, managers anyone's). A file whose record is in the trash comes back with the "
        "record: until then it is not found here."
    ),
)
def restore_attachment(request, attachment_id: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    services.attachment_restore(actor=actor, attachment_id=attachment_id, source="api")
    attachment = selectors.attachment_get(actor=actor, attachment_id=attachment_id)
    return json_response(dump(AttachmentOut, attachment))
