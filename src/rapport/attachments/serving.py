"""Sending a stored file to a browser or an API client, safely.

Every file is a download (``Content-Disposition: attachment``) unless it is an image or a PDF
and inline display was asked for. The type sent is the sniffed one, ``nosniff`` stops the
browser guessing another, and a sandbox CSP keeps anything inside from running on our origin.
"""

from __future__ import annotations

from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from .models import Attachment

# Download or image: no scripts, no plugins, no forms, an opaque origin.
SANDBOX_CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"
# A PDF shown inline: Chromium refuses to render a PDF in a sandboxed document and Firefox's
# viewer needs its own scripts, so the PDF gets a closed policy instead of the sandbox. Script
# in a PDF runs inside the viewer's own sandbox, never with our origin's cookies or DOM.
PDF_CSP = "default-src 'none'; object-src 'self'; img-src 'self' data:; style-src 'unsafe-inline'"


def wants_inline(request: HttpRequest) -> bool:
    return request.GET.get("inline", "") in ("1", "true", "yes")


def file_response(request: HttpRequest, attachment: Attachment) -> HttpResponseBase:
    inline = wants_inline(request) and attachment.previewable
    etag = f'"{attachment.sha256}"'
    if etag in request.headers.get("If-None-Match", ""):
        response: HttpResponseBase = HttpResponse(status=304)
    else:
        response = FileResponse(
            attachment.file.open("rb"),
            as_attachment=not inline,
            filename=attachment.filename,
            content_type=attachment.content_type,
        )
        response["Content-Length"] = str(attachment.size)
    response["ETag"] = etag
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = PDF_CSP if inline and attachment.is_pdf else SANDBOX_CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    # Private to the signed-in user; revalidated so a deleted file is not shown from a cache.
    response["Cache-Control"] = "private, no-cache"
    return response
