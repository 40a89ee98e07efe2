"""Number formats of quotes and products: ``{% load quote_tags %}``, then
``{{ quote.total|quote_money:quote.currency }}`` ("EUR 12,345.00"), ``|quantity``, ``|percent``.
The filters call ``sales.quote_format``, which the quote email uses too."""

from __future__ import annotations

from django import template

from rapport.sales.quote_format import money_text, percent_text, plain

register = template.Library()


@register.filter
def quote_money(amount, currency: str = "") -> str:
    return money_text(amount, currency)


@register.filter
def quantity(value) -> str:
    return plain(value)


@register.filter
def percent(value) -> str:
    return percent_text(value)
