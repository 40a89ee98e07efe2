"""/api/v1/search: the same typo-tolerant search as the search box and command palette."""

from __future__ import annotations

import uuid
from typing import Literal

from django.http import HttpResponse
from ninja import Query, Router, Schema

from rapport.core.api import COMMON_ERRORS, actor_of, json_response

from . import selectors

router = Router(tags=["search"])

TYPES = {
    "person": "contacts.person",
    "company": "contacts.company",
    "deal": "sales.deal",
    "lead": "sales.lead",
}


class SearchResult(Schema):
    type: str
    id: uuid.UUID
    title: str
    subtitle: str
    score: float
    url: str


class SearchResults(Schema):
    results: list[SearchResult]
    next: str | None = None


def hit_url(hit: selectors.SearchHit) -> str:
    if hit.kind == "deal":
        return f"/deals/{hit.object_id}"
    if hit.kind == "lead":
        return f"/leads/{hit.object_id}/"
    return {"person": f"/people/{hit.object_id}", "company": f"/companies/{hit.object_id}"}.get(
        hit.kind, "/"
    )


@router.get("", response={200: SearchResults, **COMMON_ERRORS}, summary="Search everything")
def search(
    request,
    q: str = Query(..., max_length=200),
    type: Literal["person", "company", "deal", "lead"] | None = None,
    limit: int = Query(20, ge=1, le=50),
) -> HttpResponse:
    hits = selectors.search(
        actor=actor_of(request), q=q, limit=limit, types=[TYPES[type]] if type else None
    )
    return json_response(
        {
            "results": [
                {
                    "type": h.kind,
                    "id": str(h.object_id),
                    "title": h.title,
                    "subtitle": h.subtitle,
                    "score": round(h.score, 1),
                    "url": hit_url(h),
                }
                for h in hits
            ],
            "next": None,
        }
    )
