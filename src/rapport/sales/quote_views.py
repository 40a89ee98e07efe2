"""Pages of the product catalogue, a deal's line items and quotes, and the customer's public
quote page. Views parse the request, read through ``quote_selectors`` and write through
``quote_services``; a service's field errors are shown above the form and nothing is saved.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from rapport.core.actors import Actor, Role
from rapport.core.errors import DomainError, NotFound, PermissionDenied
from rapport.core.policy import can_write
from rapport.tenancy.logo_services import logo_version
from rapport.tenancy.logo_views import logo_response
from rapport.ui.views import workspace_required

from . import quote_selectors as selectors
from . import quote_services as services
from .quote_pdf import quote_filename, quote_pdf

PAGE_SIZE = 50
BLANK_ROWS = 3


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _errors(exc: DomainError) -> list[str]:
    return [f"{e.field}: {e.message}" for e in exc.errors] or [exc.detail]


def _logo_url(workspace, url: str) -> str:
    """Where the page loads the workspace logo from ("" without one: the name is shown)."""
    return f"{url}?v={logo_version(workspace)}" if workspace.logo else ""


def _pdf_response(quote) -> HttpResponse:
    response = HttpResponse(quote_pdf(quote), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{quote_filename(quote)}"'
    return response


# --- products -----------------------------------------------------------------------------------


@workspace_required
def product_list(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    q = request.GET.get("q", "").strip()[:200]
    show = request.GET.get("show", "active")
    active = {"active": True, "inactive": False}.get(show)
    try:
        page = selectors.product_page(
            actor=actor, active=active, q=q, cursor=request.GET.get("cursor"), limit=PAGE_SIZE
        )
    except DomainError:
        raise Http404("Not found")
    return render(
        request,
        "sales/products/list.html",
        {
            "products": page.rows,
            "next_cursor": page.next_cursor,
            "q": q,
            "show": show,
            "can_edit": actor.role.at_least(Role.MANAGER),
        },
    )


def _product_data(post) -> dict[str, Any]:
    prices = []
    for currency, amount in zip(
        post.getlist("price_currency"), post.getlist("price_amount"), strict=False
    ):
        if currency.strip() or amount.strip():
            prices.append({"currency": currency.strip(), "amount": amount.strip()})
    return {
        "sku": post.get("sku", ""),
        "name": post.get("name", ""),
        "description": post.get("description", ""),
        "tax_rate": post.get("tax_rate", "") or "0",
        "active": post.get("active") == "on",
        "prices": prices,
    }


@workspace_required
@require_http_methods(["GET", "POST"])
def product_form(request: HttpRequest, product_id: uuid.UUID | None = None) -> HttpResponse:
    actor = _actor(request)
    product = selectors.product_get(actor=actor, product_id=product_id) if product_id else None
    services.require_catalogue_admin(actor)
    errors: list[str] = []
    if product is not None:
        values: dict[str, Any] = {
            "sku": product.sku,
            "name": product.name,
            "description": product.description,
            "tax_rate": f"{product.tax_rate:.2f}",
            "active": product.active,
            "prices": [
                {"currency": p.currency, "amount": f"{p.unit_price:.2f}"}
                for p in product.prices.all()
            ],
        }
    else:
        values = {"tax_rate": "0.00", "active": True, "prices": []}
    if request.method == "POST":
        values = _product_data(request.POST)
        try:
            if product is None:
                saved = services.product_create(actor=actor, data=values, source="ui")
            else:
                saved = services.product_update(
                    actor=actor,
                    product_id=product.pk,
                    data=values,
                    expected_version=int(request.POST.get("version") or product.version),
                )
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            errors = _errors(exc)
        else:
            messages.success(request, f"Product {saved.name} saved.")
            return redirect("sales:product_list")
    rows = list(values.get("prices") or []) + [{"currency": "", "amount": ""}] * BLANK_ROWS
    return render(
        request,
        "sales/products/form.html",
        {"product": product, "values": values, "price_rows": rows, "errors": errors},
        status=422 if errors else 200,
    )


@workspace_required
@require_POST
def product_delete(request: HttpRequest, product_id: uuid.UUID) -> HttpResponse:
    outcome = services.product_delete(actor=_actor(request), product_id=product_id, source="ui")
    messages.success(
        request,
        "Product deleted." if outcome == "deleted" else "Product in use: it was deactivated.",
    )
    return redirect("sales:product_list")


# --- deal line items ----------------------------------------------------------------------------

LINE_FIELDS = ("product", "name", "quantity", "unit_price", "discount", "tax_rate")


def _line_rows(post) -> list[dict[str, str]]:
    columns = {f: post.getlist(f) for f in LINE_FIELDS}
    count = max((len(v) for v in columns.values()), default=0)
    rows = []
    for i in range(count):
        row = {f: (columns[f][i] if i < len(columns[f]) else "").strip() for f in LINE_FIELDS}
        if any(row[f] for f in ("product", "name", "unit_price")):
            rows.append({k: v for k, v in row.items() if v != ""})
    return rows


@workspace_required
@require_http_methods(["GET", "POST"])
def deal_line_items(request: HttpRequest, deal_id: uuid.UUID) -> HttpResponse:
    actor = _actor(request)
    deal, items = selectors.deal_line_items(actor=actor, deal_id=deal_id)
    errors: list[str] = []
    rows: list[dict[str, Any]] = [
        {
            "product": str(i.product_id or ""),
            "name": i.name,
            "quantity": f"{i.quantity.normalize():f}",
            "unit_price": f"{i.unit_price:.2f}",
            "discount": f"{i.discount.normalize():f}",
            "tax_rate": f"{i.tax_rate.normalize():f}",
        }
        for i in items
    ]
    if request.method == "POST":
        rows = _line_rows(request.POST)
        try:
            services.deal_line_items_set(
                actor=actor,
                deal_id=deal.pk,
                items=rows,
                update_amount=request.POST.get("update_amount") == "on",
                source="ui",
            )
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            errors = _errors(exc)
        else:
            messages.success(request, "Line items saved.")
            return redirect("sales:deal_line_items", deal_id=deal.pk)
    figures = services.totals(items)
    return render(
        request,
        "sales/quotes/line_items.html",
        {
            "deal": deal,
            "currency": services.deal_currency(deal),
            "rows": rows + [{}] * BLANK_ROWS,
            "products": list(selectors.products(actor, active=True)[:500]),
            "figures": figures,
            "errors": errors,
            "can_edit": can_write(actor),
        },
        status=422 if errors else 200,
    )


# --- quotes -------------------------------------------------------------------------------------


@workspace_required
@require_http_methods(["GET", "POST"])
def deal_quotes(request: HttpRequest, deal_id: uuid.UUID) -> HttpResponse:
    actor = _actor(request)
    deal = selectors.deal_get(actor=actor, deal_id=deal_id)
    errors: list[str] = []
    if request.method == "POST":
        data = {"terms": request.POST.get("terms", "")}
        if request.POST.get("valid_until"):
            data["valid_until"] = request.POST["valid_until"]
        try:
            quote = services.quote_create_from_deal(
                actor=actor, deal_id=deal.pk, data=data, source="ui"
            )
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            errors = _errors(exc)
        else:
            messages.success(request, f"Quote {quote.label} created.")
            return redirect("sales:quote_detail", quote_id=quote.pk)
    quotes = selectors.deal_quotes(actor=actor, deal=deal)
    return render(
        request,
        "sales/quotes/deal_quotes.html",
        {
            "deal": deal,
            "quotes": [(q, services.effective_status(q)) for q in quotes],
            "errors": errors,
            "can_edit": can_write(actor),
        },
        status=422 if errors else 200,
    )


@workspace_required
def quote_detail(request: HttpRequest, quote_id: uuid.UUID) -> HttpResponse:
    actor = _actor(request)
    quote = selectors.quote_get(actor=actor, quote_id=quote_id)
    status = services.effective_status(quote)
    return render(
        request,
        "sales/quotes/detail.html",
        {
            "quote": quote,
            "status": status,
            "lines": list(quote.lines.all()),
            "public_url": services.public_url(quote) if quote.status != "draft" else "",
            "recipients": services.quote_recipients(quote.deal),
            "can_edit": can_write(actor),
            "is_open": status in ("draft", "sent"),
            # An expired quote still takes a new validity date (a sent one as a revision).
            "editable": quote.status in ("draft", "sent"),
            "logo_url": _logo_url(quote.workspace, reverse("tenancy:logo_image")),
        },
    )


@workspace_required
def quote_pdf_download(request: HttpRequest, quote_id: uuid.UUID) -> HttpResponse:
    return _pdf_response(selectors.quote_get(actor=_actor(request), quote_id=quote_id))


def _quote_action(request: HttpRequest, quote_id: uuid.UUID, action, done: str) -> HttpResponse:
    try:
        quote = action()
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        for line in _errors(exc):
            messages.error(request, line)
        return redirect("sales:quote_detail", quote_id=quote_id)
    messages.success(request, done.format(label=quote.label))
    return redirect("sales:quote_detail", quote_id=quote.pk)


@workspace_required
@require_POST
def quote_edit(request: HttpRequest, quote_id: uuid.UUID) -> HttpResponse:
    actor = _actor(request)
    data: dict[str, Any] = {
        "terms": request.POST.get("terms", ""),
        "valid_until": request.POST.get("valid_until") or None,
        "refresh_lines": request.POST.get("refresh_lines") == "on",
    }
    return _quote_action(
        request,
        quote_id,
        lambda: services.quote_update(
            actor=actor,
            quote_id=quote_id,
            data=data,
            expected_version=int(request.POST.get("version") or 0) or None,
            source="ui",
        ),
        "Quote {label} saved.",
    )


@workspace_required
@require_POST
def quote_send(request: HttpRequest, quote_id: uuid.UUID) -> HttpResponse:
    actor = _actor(request)
    return _quote_action(
        request,
        quote_id,
        lambda: services.quote_send(
            actor=actor, quote_id=quote_id, message=request.POST.get("message", ""), source="ui"
        ),
        "Quote {label} sent.",
    )


@workspace_required
@require_POST
def quote_decide(request: HttpRequest, quote_id: uuid.UUID, decision: str) -> HttpResponse:
    actor = _actor(request)
    return _quote_action(
        request,
        quote_id,
        lambda: services.quote_decide(
            actor=actor,
            quote_id=quote_id,
            decision=decision,
            name=request.POST.get("name", ""),
            source="ui",
        ),
        "Quote {label} " + ("accepted." if decision == "accept" else "declined."),
    )


@workspace_required
@require_POST
def quote_delete(request: HttpRequest, quote_id: uuid.UUID) -> HttpResponse:
    actor = _actor(request)
    quote = selectors.quote_get(actor=actor, quote_id=quote_id)
    try:
        services.quote_delete(actor=actor, quote_id=quote.pk, source="ui")
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        for line in _errors(exc):
            messages.error(request, line)
        return redirect("sales:quote_detail", quote_id=quote.pk)
    messages.success(request, f"Draft {quote.label} deleted.")
    return redirect("sales:deal_quotes", deal_id=quote.deal_id)


# --- the customer's page (no login) -------------------------------------------------------------


def _public_quote(token: str):
    try:
        return services.quote_by_token(token)
    except NotFound:
        raise Http404("No such quote")


@require_http_methods(["GET", "POST"])
def quote_public(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the quote email: the quote, its PDF, Accept and Decline (CSRF-protected)."""
    quote = _public_quote(token)
    errors: list[str] = []
    done = ""
    if request.method == "POST":
        decision = request.POST.get("decision", "")
        try:
            quote = services.quote_decide_public(
                token=token, decision=decision, name=request.POST.get("name", "")
            )
        except NotFound:
            raise Http404("No such quote")
        except DomainError as exc:
            # The customer reads sentences, not field names.
            errors = [e.message for e in exc.errors] or [exc.detail]
        else:
            done = "accepted" if decision == "accept" else "declined"
    status = services.effective_status(quote)
    return render(
        request,
        "sales/quotes/public.html",
        {
            "quote": quote,
            "status": status,
            "lines": list(quote.lines.all()),
            "token": token,
            "errors": errors,
            "done": done,
            "can_decide": status == "sent",
            "logo_url": _logo_url(
                quote.workspace, reverse("sales:quote_public_logo", args=[token])
            ),
        },
        status=422 if errors else 200,
    )


def quote_public_pdf(request: HttpRequest, token: str) -> HttpResponse:
    return _pdf_response(_public_quote(token))


def quote_public_logo(request: HttpRequest, token: str) -> HttpResponse:
    """The letterhead of the customer's page (the link is the only credential it needs)."""
    return logo_response(_public_quote(token).workspace)


urlpatterns = [
    path("products/", product_list, name="product_list"),
    path("products/new/", product_form, name="product_create"),
    path("products/<uuid:product_id>/edit/", product_form, name="product_edit"),
    path("products/<uuid:product_id>/delete/", product_delete, name="product_delete"),
    path("deals/<uuid:deal_id>/line-items/", deal_line_items, name="deal_line_items"),
    path("deals/<uuid:deal_id>/quotes/", deal_quotes, name="deal_quotes"),
    path("quotes/<uuid:quote_id>/", quote_detail, name="quote_detail"),
    path("quotes/<uuid:quote_id>/pdf/", quote_pdf_download, name="quote_pdf"),
    path("quotes/<uuid:quote_id>/edit/", quote_edit, name="quote_edit"),
    path("quotes/<uuid:quote_id>/send/", quote_send, name="quote_send"),
    path("quotes/<uuid:quote_id>/delete/", quote_delete, name="quote_delete"),
    path(
        "quotes/<uuid:quote_id>/accept/",
        quote_decide,
        {"decision": "accept"},
        name="quote_accept",
    ),
    path(
        "quotes/<uuid:quote_id>/decline/",
        quote_decide,
        {"decision": "decline"},
        name="quote_decline",
    ),
    path("q/<str:token>/", quote_public, name="quote_public"),
    path("q/<str:token>/pdf/", quote_public_pdf, name="quote_public_pdf"),
    path("q/<str:token>/logo/", quote_public_logo, name="quote_public_logo"),
]
