"""File pages: serve a file, upload one (with or without JavaScript), delete one, and the
"Files" section of a record page. Parse, call a selector or service, answer."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from rapport.core import targets
from rapport.core.actors import Actor
from rapport.core.errors import DomainError, NotFound, ValidationFailed
from rapport.core.policy import can_write, require_write
from rapport.core.validation import uuid_or_none
from rapport.ui.views import htmx_target, workspace_required

from . import selectors, services, serving, sniffing
from .models import Attachment

SECTION_LIMIT = 20
PAGE_LIMIT = 50
FORM_OVERHEAD = 64 * 1024  # the multipart fields around the file
# A hint for the file chooser only; the server decides from the content.
ACCEPT = (
    "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,text/csv,.csv,.txt,"
    ".docx,.xlsx,.pptx,.odt,.ods,.odp,.zip,.eml,.msg,.mp3,.wav,.m4a,.ogg"
)


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


# --- serving ------------------------------------------------------------------------------


@require_GET
@workspace_required
def serve(request: HttpRequest, attachment_id) -> HttpResponseBase:
    attachment = selectors.attachment_get(actor=_actor(request), attachment_id=attachment_id)
    return serving.file_response(request, attachment)


# --- the Files section and page -----------------------------------------------------------


def section_context(request: HttpRequest, actor: Actor, obj: Any) -> dict:
    """The "Files" section of a person or company page (registered in apps.py)."""
    context = _files_context(actor, targets.type_of(obj).name, obj.pk, None, SECTION_LIMIT)
    context["return_url"] = request.get_full_path()
    return context


def _files_context(actor: Actor, target_type: str, target_id, cursor, limit: int) -> dict:
    page = selectors.attachment_list(
        actor=actor, target_type=target_type, target_id=target_id, cursor=cursor, limit=limit
    )
    return {
        "target_type": target_type,
        "target_id": target_id,
        "attachments": page.rows,
        "next_cursor": page.next_cursor,
        "files_url": reverse("attachments:files", args=[target_type, target_id]),
        "can_upload": can_write(actor),
        "limit_text": services.limit_text(),
        "max_bytes": services.max_bytes(),
        "accept": ACCEPT,
        "accepted": sniffing.ACCEPTED,
    }


@require_GET
@workspace_required
def files(request: HttpRequest, target_type: str, target_id) -> HttpResponse:
    """A record's files: the section's fragment for a script refreshing it, otherwise a page
    of its own (every file, paged) that also works without JavaScript."""
    actor = _actor(request)
    cursor = request.GET.get("cursor") or None
    fragment = bool(htmx_target(request)) or request.GET.get("fragment") == "1"
    try:
        context = _files_context(
            actor, target_type, target_id, cursor, SECTION_LIMIT if fragment else PAGE_LIMIT
        )
    except ValidationFailed:  # a stale or crafted cursor: start from the top
        context = _files_context(
            actor, target_type, target_id, None, SECTION_LIMIT if fragment else PAGE_LIMIT
        )
    if fragment:
        # Refreshed inside the record's page: its forms lead back to that page, not here.
        context["return_url"] = _record_url(target_type, target_id)
        return render(request, "attachments/section.html", context)
    record = targets.get(actor, target_type, target_id)
    context.update(
        {
            "record": record,
            "record_url": _record_url(target_type, target_id),
            "cursor": cursor,
            "return_url": request.get_full_path(),
        }
    )
    return render(request, "attachments/files_page.html", context)


# --- upload and delete --------------------------------------------------------------------


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _record_url(target_type: str, target_id) -> str:
    try:
        return targets.get_type(target_type).url(target_id)
    except (ValidationFailed, NoReverseMatch):
        return reverse("ui:home")


def _back(request: HttpRequest, target_type: str, target_id, nxt: str = "") -> HttpResponse:
    if nxt and url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(nxt)
    return redirect(_record_url(target_type, target_id))


def _message(exc: DomainError) -> str:
    return exc.errors[0].message if len(exc.errors) == 1 else exc.detail


def _refused(
    request: HttpRequest, exc: DomainError, target_type: str, target_id, nxt: str = ""
) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"error": _message(exc)}, status=exc.status)
    messages.error(request, f"The file was not attached. {_message(exc)}")
    return _back(request, target_type, target_id, nxt)


@csrf_exempt  # checked by _upload below, once the size is known to be acceptable
@require_POST
@workspace_required
def upload(request: HttpRequest) -> HttpResponseBase:
    """The upload form's target (and the drag-and-drop script's). An oversized body is refused
    from its Content-Length, before Django reads a byte of it into a temporary file."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > services.max_bytes() + FORM_OVERHEAD:
        # The form names its record in its URL too, for this answer that reads no body.
        target = request.GET.get("target_type", ""), request.GET.get("target_id", "")
        return _refused(request, services.too_large(), *target)
    return _upload(request)


@csrf_protect
def _upload(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    target_type = request.POST.get("target_type", "")
    target_id = request.POST.get("target_id", "")
    upload_file = request.FILES.get("file")
    try:
        if upload_file is None:
            raise ValidationFailed.one("file", "Choose a file to attach.")
        attachment = services.attachment_upload(
            actor=actor, target_type=target_type, target_id=target_id, upload=upload_file
        )
    except NotFound:
        raise Http404("Not found")
    except DomainError as exc:
        if exc.status == 403 and not _wants_json(request):
            raise  # the 403 page, which says who can change the role
        return _refused(request, exc, target_type, target_id, request.POST.get("next", ""))
    if _wants_json(request):
        return JsonResponse({"id": str(attachment.pk), "filename": attachment.filename}, status=201)
    messages.success(request, f"Attached {attachment.filename}.")
    return _back(request, target_type, target_id, request.POST.get("next", ""))


@require_POST
@workspace_required
def delete(request: HttpRequest, attachment_id) -> HttpResponse:
    actor = _actor(request)
    attachment: Attachment = selectors.attachment_get(actor=actor, attachment_id=attachment_id)
    services.attachment_delete(actor=actor, attachment_id=attachment.pk)
    if _wants_json(request):
        return JsonResponse({}, status=200)
    messages.success(
        request,
        format_html(
            'Deleted {}. <a href="{}">Restore it from the trash</a>.',
            attachment.filename,
            reverse("attachments:trash"),
        ),
    )
    return _back(
        request, attachment.target_type, attachment.target_id, request.POST.get("next", "")
    )


# --- the trash ----------------------------------------------------------------------------------

TRASH_PAGE_SIZE = 50


@workspace_required
@require_GET
def trash(request: HttpRequest) -> HttpResponse:
    """Deleted files, newest deletion first, with their record and Restore (for those who may
    restore: read-only members get 403, as on the other trash pages)."""
    actor = _actor(request)
    require_write(actor)
    cursor = request.GET.get("cursor") or None
    notice = ""
    try:
        page = selectors.deleted_attachments(actor=actor, cursor=cursor, limit=TRASH_PAGE_SIZE)
    except ValidationFailed:
        notice = "That page link is out of date; showing the latest deletions."
        cursor = None
        page = selectors.deleted_attachments(actor=actor, cursor=None, limit=TRASH_PAGE_SIZE)
    links = selectors.record_links(actor, page.rows)
    rows = [(f, links.get(f.pk), services.may_restore(actor, f)) for f in page.rows]
    first_url = reverse("attachments:trash")
    return render(
        request,
        "attachments/trash.html",
        {
            "nav": "trash",
            "trash_tab": "files",
            "rows": rows,
            "retention_days": actor.workspace.trash_retention_days,
            "notice": notice,
            "paged": bool(cursor),
            "first_url": first_url,
            "next_url": f"{first_url}?{urlencode({'cursor': page.next_cursor})}"
            if page.next_cursor
            else "",
        },
    )


@workspace_required
@require_POST
def trash_restore(request: HttpRequest) -> HttpResponse:
    """Restores one deleted file through the service the API calls."""
    actor = _actor(request)
    back = reverse("attachments:trash")
    pk = uuid_or_none(request.POST.get("file"))
    if pk is None:
        messages.error(request, "Nothing to restore: pick a file first.")
        return redirect(back)
    try:
        attachment = services.attachment_restore(actor=actor, attachment_id=pk, source="ui")
    except NotFound:
        messages.error(request, "That file is no longer in the trash (restored or purged).")
        return redirect(back)
    target = targets.get_type(attachment.target_type)
    messages.success(
        request,
        format_html(
            'Restored {} on <a href="{}">its record</a>.',
            attachment.filename,
            target.url(attachment.target_id),
        ),
    )
    return redirect(back)
