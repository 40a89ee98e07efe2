"""/api/v1/products, /quotes and /deals/{id}/line-items: parse, call a selector or a service,
shape the answer. Roles and rules live in ``sales.quote_services``.

Products: every member reads; managers, admins and owners write (403 otherwise).
Line items and quotes: whoever may see the deal reads; members and up write; a draft quote is
deleted by its creator or a manager (members: any, when the workspace allows it).
"""

from __future__ import annotations

import uuid

from django.http import HttpResponse
from ninja import Query, Router

from rapport.audit import selectors as audit_selectors
from rapport.audit.schemas import AuditEntryList, AuditEntryOut
from rapport.core.api import (
    COMMON_ERRORS,
    WRITE_ERRORS,
    actor_of,
    idempotent,
    if_match_version,
    json_response,
    list_response,
    record_response,
)
from rapport.core.pagination import sort_pattern

from . import quote_selectors as selectors
from . import quote_services as services
from .quote_pdf import quote_filename, quote_pdf
from .quote_schemas import (
    LineItemOut,
    LineItemsIn,
    LineItemsOut,
    ProductIn,
    ProductList,
    ProductOut,
    QuoteCreateIn,
    QuoteDecideIn,
    QuoteList,
    QuoteOut,
    QuotePatchIn,
    QuoteSendIn,
    QuoteStatusValue,
)

products_router = Router(tags=["products"])
quotes_router = Router(tags=["quotes"])
line_items_router = Router(tags=["deals"])

Limit = Query(50, ge=1, le=500, description="Page size (max 500)")
Cursor = Query(None, max_length=1000, description="The `next` value of the previous page")
DealParam = Query(None, description="Only this deal's quotes")
StatusParam = Query(None, description="Only quotes showing this status (past validity: expired)")


# --- products -----------------------------------------------------------------------------------


@products_router.get("", response={200: ProductList, **COMMON_ERRORS}, summary="List products")
def list_products(
    request,
    active: bool | None = Query(None, description="Only active (true) or inactive (false)"),
    q: str = Query("", max_length=200, description="Text in the name or SKU"),
    sort: str = Query("name", pattern=sort_pattern(selectors.PRODUCT_SORTS)),
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> HttpResponse:
    page = selectors.product_page(
        actor=actor_of(request), active=active, q=q.strip(), sort=sort, cursor=cursor, limit=limit
    )
    return list_response(ProductOut, page)


@products_router.post(
    "", response={201: ProductOut, **WRITE_ERRORS}, summary="Create a product (managers+)"
)
def create_product(request, payload: ProductIn) -> HttpResponse:
    actor = actor_of(request)

    def create() -> HttpResponse:
        product = services.product_create(
            actor=actor, data=payload.model_dump(mode="json", exclude_unset=True), source="api"
        )
        product = selectors.product_get(actor=actor, product_id=product.pk)
        return record_response(
            ProductOut, product, status=201, location=f"/api/v1/products/{product.pk}"
        )

    return idempotent(request, create)


@products_router.get(
    "/{product_id}", response={200: ProductOut, **COMMON_ERRORS}, summary="Get a product"
)
def get_product(request, product_id: uuid.UUID) -> HttpResponse:
    return record_response(
        ProductOut, selectors.product_get(actor=actor_of(request), product_id=product_id)
    )


@products_router.patch(
    "/{product_id}", response={200: ProductOut, **WRITE_ERRORS}, summary="Change a product"
)
def update_product(request, product_id: uuid.UUID, payload: ProductIn) -> HttpResponse:
    actor = actor_of(request)
    services.product_update(
        actor=actor,
        product_id=product_id,
        data=payload.model_dump(mode="json", exclude_unset=True),
        expected_version=if_match_version(request),
        source="api",
    )
    return record_response(ProductOut, selectors.product_get(actor=actor, product_id=product_id))


@products_router.delete(
    "/{product_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Delete a product (one in use by a deal or quote is deactivated instead)",
)
def delete_product(request, product_id: uuid.UUID) -> HttpResponse:
    services.product_delete(
        actor=actor_of(request),
        product_id=product_id,
        expected_version=if_match_version(request),
        source="api",
    )
    return HttpResponse(status=204)


@products_router.get(
    "/{product_id}/history",
    response={200: AuditEntryList, **COMMON_ERRORS},
    summary="Field-level change history of a product (the audit log)",
)
def product_history(
    request, product_id: uuid.UUID, limit: int = Limit, cursor: str | None = Cursor
) -> HttpResponse:
    actor = actor_of(request)
    product = selectors.product_get(actor=actor, product_id=product_id)
    return list_response(
        AuditEntryOut,
        audit_selectors.record_history(actor=actor, obj=product, cursor=cursor, limit=limit),
    )


# --- deal line items ----------------------------------------------------------------------------


def _line_items_body(deal, items, amount_updated: bool) -> dict:
    figures = services.totals(items)
    return {
        "deal": str(deal.pk),
        "currency": services.deal_currency(deal),
        "items": [LineItemOut.from_orm(i).model_dump(mode="json") for i in items],
        "subtotal": f"{figures['subtotal']:.2f}",
        "tax": f"{figures['tax']:.2f}",
        "total": f"{figures['total']:.2f}",
        "amount_updated": amount_updated,
    }


@line_items_router.get(
    "/{deal_id}/line-items",
    response={200: LineItemsOut, **COMMON_ERRORS},
    summary="A deal's line items with their totals",
)
def get_line_items(request, deal_id: uuid.UUID) -> HttpResponse:
    deal, items = selectors.deal_line_items(actor=actor_of(request), deal_id=deal_id)
    return json_response(_line_items_body(deal, items, False))


@line_items_router.put(
    "/{deal_id}/line-items",
    response={200: LineItemsOut, **WRITE_ERRORS},
    summary="Replace a deal's line items (optionally setting the deal amount to the subtotal)",
)
def put_line_items(request, deal_id: uuid.UUID, payload: LineItemsIn) -> HttpResponse:
    actor = actor_of(request)
    data = payload.model_dump(mode="json", exclude_unset=True)
    items = [{k: v for k, v in item.items() if v is not None} for item in data.get("items", [])]
    services.deal_line_items_set(
        actor=actor,
        deal_id=deal_id,
        items=items,
        update_amount=payload.update_amount,
        source="api",
    )
    deal, rows = selectors.deal_line_items(actor=actor, deal_id=deal_id)
    return json_response(_line_items_body(deal, rows, payload.update_amount))


# --- quotes -------------------------------------------------------------------------------------


@quotes_router.get("", response={200: QuoteList, **COMMON_ERRORS}, summary="List quotes")
def list_quotes(
    request,
    deal: uuid.UUID | None = DealParam,
    status: QuoteStatusValue | None = StatusParam,
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> HttpResponse:
    page = selectors.quote_page(
        actor=actor_of(request), deal=deal, status=status, cursor=cursor, limit=limit
    )
    return list_response(QuoteOut, page)


@quotes_router.post(
    "",
    response={201: QuoteOut, **WRITE_ERRORS},
    summary="Create a quote from a deal's line items",
)
def create_quote(request, payload: QuoteCreateIn) -> HttpResponse:
    actor = actor_of(request)

    def create() -> HttpResponse:
        data = payload.model_dump(mode="json", exclude_unset=True)
        deal_id = data.pop("deal")
        quote = services.quote_create_from_deal(
            actor=actor, deal_id=deal_id, data=data, source="api"
        )
        quote = selectors.quote_get(actor=actor, quote_id=quote.pk)
        return record_response(QuoteOut, quote, status=201, location=f"/api/v1/quotes/{quote.pk}")

    return idempotent(request, create)


@quotes_router.get("/{quote_id}", response={200: QuoteOut, **COMMON_ERRORS}, summary="Get a quote")
def get_quote(request, quote_id: uuid.UUID) -> HttpResponse:
    return record_response(
        QuoteOut, selectors.quote_get(actor=actor_of(request), quote_id=quote_id)
    )


@quotes_router.patch(
    "/{quote_id}",
    response={200: QuoteOut, **WRITE_ERRORS},
    summary="Change a quote (a sent quote gets a new revision: the answer is that revision)",
)
def update_quote(request, quote_id: uuid.UUID, payload: QuotePatchIn) -> HttpResponse:
    actor = actor_of(request)
    quote = services.quote_update(
        actor=actor,
        quote_id=quote_id,
        data=payload.model_dump(mode="json", exclude_unset=True),
        expected_version=if_match_version(request),
        source="api",
    )
    return record_response(QuoteOut, selectors.quote_get(actor=actor, quote_id=quote.pk))


@quotes_router.delete(
    "/{quote_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Delete a draft quote (sent and decided quotes stay: 422)",
)
def delete_quote(request, quote_id: uuid.UUID) -> HttpResponse:
    services.quote_delete(
        actor=actor_of(request),
        quote_id=quote_id,
        expected_version=if_match_version(request),
        source="api",
    )
    return HttpResponse(status=204)


@quotes_router.get(
    "/{quote_id}/history",
    response={200: AuditEntryList, **COMMON_ERRORS},
    summary="Field-level change history of a quote (the audit log)",
)
def quote_history(
    request, quote_id: uuid.UUID, limit: int = Limit, cursor: str | None = Cursor
) -> HttpResponse:
    actor = actor_of(request)
    quote = selectors.quote_get(actor=actor, quote_id=quote_id)
    return list_response(
        AuditEntryOut,
        audit_selectors.record_history(actor=actor, obj=quote, cursor=cursor, limit=limit),
    )


@quotes_router.post(
    "/{quote_id}/send",
    response={200: QuoteOut, **WRITE_ERRORS},
    summary="Email the quote's PDF to the deal's people and mark it sent",
)
def send_quote(request, quote_id: uuid.UUID, payload: QuoteSendIn | None = None) -> HttpResponse:
    actor = actor_of(request)
    message = (payload.message if payload else None) or ""
    services.quote_send(actor=actor, quote_id=quote_id, message=message, source="api")
    return record_response(QuoteOut, selectors.quote_get(actor=actor, quote_id=quote_id))


def _decide(request, quote_id: uuid.UUID, payload: QuoteDecideIn | None, decision: str):
    actor = actor_of(request)
    services.quote_decide(
        actor=actor,
        quote_id=quote_id,
        decision=decision,
        name=(payload.name if payload else None) or "",
        source="api",
    )
    return record_response(QuoteOut, selectors.quote_get(actor=actor, quote_id=quote_id))


@quotes_router.post(
    "/{quote_id}/accept",
    response={200: QuoteOut, **WRITE_ERRORS},
    summary="Record that the customer accepted the quote",
)
def accept_quote(
    request, quote_id: uuid.UUID, payload: QuoteDecideIn | None = None
) -> HttpResponse:
    return _decide(request, quote_id, payload, "accept")


@quotes_router.post(
    "/{quote_id}/decline",
    response={200: QuoteOut, **WRITE_ERRORS},
    summary="Record that the customer declined the quote",
)
def decline_quote(
    request, quote_id: uuid.UUID, payload: QuoteDecideIn | None = None
) -> HttpResponse:
    return _decide(request, quote_id, payload, "decline")


@quotes_router.get(
    "/{quote_id}/pdf",
    response={200: None, **COMMON_ERRORS},
    summary="The quote as a PDF document",
)
def quote_pdf_download(request, quote_id: uuid.UUID) -> HttpResponse:
    quote = selectors.quote_get(actor=actor_of(request), quote_id=quote_id)
    response = HttpResponse(quote_pdf(quote), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{quote_filename(quote)}"'
    return response
