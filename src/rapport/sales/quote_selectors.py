"""Reads of products, deal line items and quotes: each starts from ``visible_to(actor)`` (for
quotes and line items, from the deals the actor may see)."""

from __future__ import annotations

from django.db.models import Prefetch, Q

from rapport.core.actors import Actor
from rapport.core.errors import NotFound
from rapport.core.pagination import Page, keyset_page, parse_sort
from rapport.core.validation import clean_uuid

from .models import Deal
from .quote_models import DealLineItem, Product, ProductPrice, Quote, QuoteLine
from .quote_services import status_q, visible_quotes

PRODUCT_SORTS = ("name", "sku", "created_at", "updated_at")


def products(actor: Actor, *, active: bool | None = None, q: str = ""):
    qs = Product.objects.visible_to(actor).prefetch_related(
        Prefetch("prices", queryset=ProductPrice.objects.order_by("currency"))
    )
    if active is not None:
        qs = qs.filter(active=active)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(sku__icontains=q))
    return qs


def product_page(
    *,
    actor: Actor,
    active: bool | None = None,
    q: str = "",
    sort: str = "name",
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    return keyset_page(
        products(actor, active=active, q=q),
        sort=parse_sort(sort, PRODUCT_SORTS, "name"),
        cursor=cursor,
        limit=limit,
    )


def product_get(*, actor: Actor, product_id) -> Product:
    product = products(actor).filter(pk=clean_uuid(product_id, "id")).first()
    if product is None:
        raise NotFound("No such product.")
    return product


def deal_get(*, actor: Actor, deal_id) -> Deal:
    deal = (
        Deal.objects.visible_to(actor)
        .select_related("workspace", "company")
        .filter(pk=clean_uuid(deal_id, "deal"))
        .first()
    )
    if deal is None:
        raise NotFound("No such deal.")
    return deal


def deal_line_items(*, actor: Actor, deal_id) -> tuple[Deal, list[DealLineItem]]:
    deal = deal_get(actor=actor, deal_id=deal_id)
    return deal, list(DealLineItem.objects.filter(deal=deal).order_by("position"))


def _quotes(actor: Actor):
    return (
        visible_quotes(actor)
        .select_related("deal", "workspace")
        .prefetch_related(Prefetch("lines", queryset=QuoteLine.objects.order_by("position")))
    )


def quote_page(
    *,
    actor: Actor,
    deal=None,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """``status`` filters on the status the answer shows (an open quote past its validity
    date is "expired"), so a filtered list never disagrees with its rows."""
    qs = _quotes(actor)
    if deal is not None:
        qs = qs.filter(deal_id=clean_uuid(deal, "deal"))
    if status:
        qs = qs.filter(status_q(status))
    return keyset_page(
        qs,
        sort=parse_sort("-created_at", ("created_at",), "-created_at"),
        cursor=cursor,
        limit=limit,
    )


def quote_get(*, actor: Actor, quote_id) -> Quote:
    quote = _quotes(actor).filter(pk=clean_uuid(quote_id, "id")).first()
    if quote is None:
        raise NotFound("No such quote.")
    return quote


def deal_quotes(*, actor: Actor, deal: Deal) -> list[Quote]:
    return list(_quotes(actor).filter(deal=deal).order_by("-created_at", "-revision"))
