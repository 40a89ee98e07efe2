"""The Duplicates page, the workspace scan's progress, dismissing a pair and the merge screen.

Thin like every view: parse, call ``dedupe``/``merging`` (reads and the one write path), render.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from rapport.core.errors import DomainError, NotFound, PermissionDenied
from rapport.core.pagination import Page
from rapport.core.policy import can_delete, can_write, require_write
from rapport.ui.templatetags.ui_tags import money
from rapport.ui.views import htmx_target, workspace_required

from . import dedupe, merging
from .models import DuplicatePair, LifecycleStage

TYPES = {"person": "People", "company": "Companies"}
PAGE_SIZE = 25
LIST_ID = "duplicate-list"


def _type(request: HttpRequest) -> str:
    value = request.GET.get("type", "person")
    return value if value in TYPES else "person"


@workspace_required
def duplicate_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    object_type = _type(request)
    error = ""
    try:
        page = dedupe.pair_list(
            actor=actor,
            object_type=object_type,
            cursor=request.GET.get("cursor") or None,
            limit=PAGE_SIZE,
        )
    except DomainError:
        page, error = Page(rows=[], next_cursor=None), "This link to more pairs expired."
    scan = dedupe.scan_latest(actor=actor)
    context = {
        "nav": "duplicates",
        "page": page,
        "object_type": object_type,
        "types": TYPES,
        "scan": scan if scan and (not scan.is_finished or _recent(scan)) else None,
        "can_write": can_write(actor),
        "error": error,
        "list_id": LIST_ID,
        "paged": bool(request.GET.get("cursor")),
    }
    if htmx_target(request) == LIST_ID:
        return render(request, "contacts/partials/duplicate_list.html", context)
    return render(request, "contacts/duplicates.html", context)


def _recent(scan) -> bool:
    from django.utils import timezone

    return bool(scan.finished_at and (timezone.now() - scan.finished_at).total_seconds() < 300)


@workspace_required
@require_POST
def duplicate_scan(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    scan = dedupe.scan_start(actor=actor)
    if htmx_target(request):
        return render(request, "contacts/partials/scan_progress.html", {"scan": scan})
    messages.success(request, "Scanning the workspace for duplicates…")
    return redirect("contacts:duplicate_list")


@workspace_required
def duplicate_scan_progress(request: HttpRequest, scan_id: uuid.UUID) -> HttpResponse:
    scan = dedupe.scan_get(actor=request.actor, scan_id=scan_id)  # type: ignore[attr-defined]
    return render(request, "contacts/partials/scan_progress.html", {"scan": scan})


@workspace_required
@require_POST
def duplicate_dismiss(request: HttpRequest, pair_id: uuid.UUID) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    pair = dedupe.pair_dismiss(actor=actor, pair_id=pair_id, source="ui")
    if htmx_target(request):
        return HttpResponse("")  # the pair's card disappears
    messages.success(request, f"Dismissed: {pair.a} and {pair.b} are not duplicates.")
    return redirect(reverse("contacts:duplicate_list") + f"?type={pair.object_type}")


@workspace_required
def duplicate_detail(request: HttpRequest, pair_id: uuid.UUID) -> HttpResponse:
    """A pair opens the merge screen; the record made first survives by default."""
    pair = dedupe.pair_get(actor=request.actor, pair_id=pair_id)  # type: ignore[attr-defined]
    into, from_ = sorted((pair.a, pair.b), key=lambda r: (r.created_at, str(r.pk)))
    return redirect(_merge_url(pair.object_type, into.pk, from_.pk))


def _merge_url(object_type: str, into_id, from_id) -> str:
    name = "contacts:person_merge" if object_type == "person" else "contacts:company_merge"
    return reverse(name, args=[into_id, from_id])


# --- the merge screen ------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeRow:
    name: str
    label: str
    into: str  # the value as shown
    from_: str
    choice: str  # "into" | "from"

    @property
    def same(self) -> bool:
        return self.into == self.from_


def _shown(field: merging.MergeField, obj) -> str:
    if field.name == "address":
        parts = [getattr(obj, a) for a in field.attrs]
        return ", ".join(p for p in parts if p)
    if field.name == "company":
        company = obj.company if obj.company_id else None
        return company.name if company and not company.deleted_at else ""
    if field.name == "owner":
        return obj.owner.display_name if obj.owner_id else ""
    if field.name == "lifecycle_stage":
        return str(dict(LifecycleStage.choices).get(obj.lifecycle_stage, obj.lifecycle_stage))
    if field.name == "annual_revenue":
        if obj.annual_revenue is None:
            return ""
        return money(obj.annual_revenue, obj.annual_revenue_currency)
    value = getattr(obj, field.attrs[0])
    return "" if value is None else str(value)


@workspace_required
def person_merge(request: HttpRequest, into_id: uuid.UUID, from_id: uuid.UUID) -> HttpResponse:
    return _merge_page(request, "person", into_id, from_id)


@workspace_required
def company_merge(request: HttpRequest, into_id: uuid.UUID, from_id: uuid.UUID) -> HttpResponse:
    return _merge_page(request, "company", into_id, from_id)


def _merge_page(request: HttpRequest, object_type: str, into_id, from_id) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    if into_id == from_id:
        raise NotFound("A record cannot be merged into itself.")
    preview = merging.preview(
        actor=actor, object_type=object_type, into_id=into_id, from_id=from_id
    )
    require_write(actor)
    kind = merging.PERSON_MERGE if object_type == "person" else merging.COMPANY_MERGE
    error = ""
    if request.method == "POST":
        choices = {
            f.name: request.POST[f.name]
            for f in kind.fields
            if request.POST.get(f.name) in ("into", "from")
        }
        if request.POST.get("custom") in ("into", "from"):
            choices["custom"] = request.POST["custom"]
        merge = merging.person_merge if object_type == "person" else merging.company_merge
        try:
            survivor = merge(
                actor=actor, into_id=into_id, from_id=from_id, fields=choices, source="ui"
            )
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            error = exc.detail
        else:
            messages.success(request, f"Merged the two records into {survivor}.")
            detail = (
                "contacts:person_detail" if object_type == "person" else "contacts:company_detail"
            )
            return redirect(detail, survivor.pk)
    into, from_ = preview.into, preview.from_
    rows = [
        MergeRow(f.name, f.label, _shown(f, into), _shown(f, from_), preview.choices[f.name])
        for f in kind.fields
    ]
    rows = [r for r in rows if r.into or r.from_]
    into_tags = sorted(t.name for t in into.tags.all())
    from_tags = sorted(t.name for t in from_.tags.all())
    custom_conflict = any(
        key in into.custom and into.custom[key] != value for key, value in from_.custom.items()
    )
    context: dict[str, Any] = {
        "nav": "duplicates",
        "object_type": object_type,
        "into": into,
        "from": from_,
        "rows": rows,
        "tags": sorted(set(into_tags) | set(from_tags), key=str.lower),
        "custom_conflict": custom_conflict,
        "moves": preview.moves,
        "kept": preview.kept,
        "swap_url": _merge_url(object_type, from_.pk, into.pk),
        "cancel_url": reverse("contacts:duplicate_list") + f"?type={object_type}",
        "can_merge": can_delete(actor, from_),
        "error": error,
        "pair": DuplicatePair.objects.filter(
            workspace=actor.workspace,
            **(
                {"person_a": min(into.pk, from_.pk), "person_b": max(into.pk, from_.pk)}
                if object_type == "person"
                else {"company_a": min(into.pk, from_.pk), "company_b": max(into.pk, from_.pk)}
            ),
        ).first(),
    }
    return render(request, "contacts/merge.html", context, status=422 if error else 200)


def merged_redirect(actor, object_type: str, old_id, url_name: str) -> HttpResponse:
    """A merged record's page sends to the survivor's (301); anything else stays a 404."""
    new_id = merging.redirect_for(actor=actor, object_type=object_type, old_id=old_id)
    if new_id is None:
        raise NotFound("Not found")
    return redirect(url_name, new_id, permanent=True)
