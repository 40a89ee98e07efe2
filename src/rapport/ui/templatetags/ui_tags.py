"""Display helpers shared by every page: ``{% load ui_tags %}``.

Everything here formats values for people to read; none of it reads the database.
"""

from __future__ import annotations

import datetime as dt
import decimal
from urllib.parse import urlencode

import pycountry
from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from moneyed import Money
from moneyed.l10n import format_money

register = template.Library()

EMPTY = "—"


@register.filter
def money(amount, currency: str = "") -> str:
    """``1234.5|money:"EUR"`` → ``€1,234.50``; blank when there is no amount."""
    if amount in (None, ""):
        return ""
    try:
        value = decimal.Decimal(str(amount))
        return format_money(Money(value, currency), locale="en_US", decimal_quantization=False)
    except Exception:  # an unknown currency code must not break a page
        return f"{amount} {currency}".strip()


@register.filter
def country_name(code: str) -> str:
    """``DE`` → ``Germany``; unknown codes are shown as they are."""
    if not code:
        return ""
    country = pycountry.countries.get(alpha_2=code.upper())
    return str(getattr(country, "common_name", None) or getattr(country, "name", code))


@register.simple_tag
def when(value: dt.datetime | None):
    """A ``<time>`` saying "3 minutes ago", with the full local date and time on hover."""
    if value is None:
        return EMPTY
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        date_format(local, "DATETIME_FORMAT"),
        naturaltime(value),
    )


@register.filter
def actor_name(user, kind: str = "") -> str:
    """Who did it: a user's display name, else the kind of actor (system, automation)."""
    if user is not None:
        return user.display_name
    return (kind or "system").capitalize()


@register.filter
def change_value(value) -> str:
    """A value from the change log, readable: lists joined, blanks as a dash."""
    if value in (None, "", [], {}):
        return EMPTY
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items() if v not in (None, ""))
    return str(value)


SOURCES = {"ui": "the web app", "api": "the API"}


@register.filter
def source_label(source: str) -> str:
    """Where a change came from: ``ui`` → "the web app", ``import:<id>`` → "an import"."""
    if source.startswith("import"):
        return "an import"
    return SOURCES.get(source, source)


def _query(request, **changes) -> str:
    """The current query string with ``changes`` applied (``None`` removes a key)."""
    query = request.GET.copy()
    for key, value in changes.items():
        query.pop(key, None)
        if value is not None:
            query[key] = value
    # Blank filters are noise in a shareable URL.
    pairs = [(k, v) for k, values in query.lists() for v in values if v != ""]
    return "?" + urlencode(pairs) if pairs else "?"


@register.simple_tag(takes_context=True)
def query(context, **changes) -> str:
    """``{% query cursor=page.next_cursor %}``: this page's URL with some parameters changed."""
    return _query(context["request"], **changes)


@register.inclusion_tag("ui/partials/sort_th.html", takes_context=True)
def sort_th(context, column, sort):
    """A column header; sortable columns link to the list sorted by them (click again: flip)."""
    active = bool(column.sort) and sort is not None and sort.field == column.sort
    if active:
        next_token = column.sort if sort.descending else "-" + column.sort
        aria = "descending" if sort.descending else "ascending"
    else:
        next_token = ("-" if column.descending_first else "") + column.sort
        aria = ""
    href = _query(context["request"], sort=next_token, cursor=None) if column.sort else ""
    return {"column": column, "href": href, "active": active, "aria_sort": aria}
