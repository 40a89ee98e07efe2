"""The search results page and the command palette's live results (an htmx partial)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET

from rapport.tenancy.views import actor_of
from rapport.ui.views import workspace_required

from . import selectors

PAGE_LIMIT = 50
PALETTE_LIMIT = 8
# Record pages other apps serve, by hit kind.
RECORD_URLS = {"person": "/people/{id}/", "company": "/companies/{id}/"}
KIND_LABELS = {"person": "Person", "company": "Company", "deal": "Deal", "lead": "Lead"}
# Record pages named by URL (apps whose pages are not at a fixed path).
RECORD_URL_NAMES = {"deal": "sales:deal_detail", "lead": "sales:lead_detail"}


def record_url(kind: str, object_id) -> str:
    if kind in RECORD_URL_NAMES:
        try:
            return reverse(RECORD_URL_NAMES[kind], args=[object_id])
        except NoReverseMatch:
            return "/"
    return RECORD_URLS.get(kind, "/").format(id=object_id)


def _results(request: HttpRequest, limit: int) -> tuple[str, list[dict]]:
    q = (request.GET.get("q") or "").strip()[: selectors.MAX_QUERY]
    hits = selectors.search(actor=actor_of(request), q=q, limit=limit) if q else []
    results = [
        {
            "hit": h,
            "url": record_url(h.kind, h.object_id),
            "kind_label": KIND_LABELS.get(h.kind, h.kind),
        }
        for h in hits
    ]
    return q, results


@require_GET
@workspace_required
def results(request: HttpRequest) -> HttpResponse:
    q, found = _results(request, PAGE_LIMIT)
    context = {"q": q, "results": found, "limit": PAGE_LIMIT}
    return render(request, "search/results.html", context)


@require_GET
def palette(request: HttpRequest) -> HttpResponseBase:
    if request.headers.get("HX-Request") == "true" and not request.user.is_authenticated:
        # The session ended while the page stayed open: send the whole tab to the sign-in
        # page instead of letting htmx paste that page into the palette's list.
        here = urlsplit(request.headers.get("HX-Current-URL", ""))
        response = HttpResponse("")
        response["HX-Redirect"] = redirect_to_login(here.path or "/")["Location"]
        return response
    return _palette(request)


@workspace_required
def _palette(request: HttpRequest) -> HttpResponse:
    q, found = _results(request, PALETTE_LIMIT)
    response = render(request, "search/palette.html", {"q": q, "results": found})
    response["Cache-Control"] = "no-store"
    return response
