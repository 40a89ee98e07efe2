"""How quotes and the catalogue show numbers to people: one place, so the pages, the PDF and
the quote email agree ("EUR 12,345.00", "2.5", "12.5 %").

Money is the currency code, a space and the amount with thousands separators and exactly two
decimals, like ``sales.money``'s explanations; the code (not a symbol) because a quote may be
in any ISO 4217 currency and "$" alone does not say which dollar.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def money_text(amount, currency: str = "") -> str:
    """``12345`` and ``"EUR"`` -> ``"EUR 12,345.00"``; blank for no amount."""
    value = _decimal(amount)
    if value is None:
        return ""
    return f"{currency} {value:,.2f}".strip()


def plain(value) -> str:
    """A decimal without trailing zeros or exponent: 2.5000 -> "2.5", 1000.00 -> "1,000"."""
    number = _decimal(value)
    if number is None:
        return ""
    text = f"{number.normalize():,f}"
    return text


def percent_text(value) -> str:
    """``12.50`` -> ``"12.5 %"``."""
    number = _decimal(value)
    return "" if number is None else f"{plain(number)} %"
