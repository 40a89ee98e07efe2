"""A quote as HTML (Django template, auto-escaped) and as PDF (WeasyPrint).

Everything a user typed (terms, line names, the deal and company names) goes through the
template's auto-escaping, so hostile text renders as text. WeasyPrint fetches nothing: only
``data:`` URLs are allowed, so a quote can never make the server request a URL; the workspace
logo is embedded as one (read from the storage here, never fetched by URL).
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from rapport.tenancy.logo_services import logo_data_uri

from .quote_format import plain
from .quote_models import Quote

TEMPLATE = "sales/quotes/pdf.html"


def quote_context(quote: Quote) -> dict[str, Any]:
    deal = quote.deal
    return {
        "quote": quote,
        "lines": [
            {
                "line": line,
                "quantity": plain(line.quantity),
                "discount": plain(line.discount) if line.discount else "",
                "tax_rate": plain(line.tax_rate),
            }
            for line in quote.lines.all()
        ],
        "workspace": quote.workspace,
        "deal": deal,
        "company": deal.company if deal.company_id else None,
        # The letterhead: the workspace's logo, or its name when it has none.
        "logo_src": logo_data_uri(quote.workspace),
        "logo_text": quote.workspace.name,
    }


def quote_html(quote: Quote) -> str:
    return render_to_string(TEMPLATE, quote_context(quote))


def quote_pdf(quote: Quote) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols=["data"], allow_redirects=False)
    return HTML(string=quote_html(quote), url_fetcher=fetcher).write_pdf()


def quote_filename(quote: Quote) -> str:
    return f"quote-{quote.label}.pdf"
