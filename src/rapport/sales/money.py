"""Converting money into the workspace's base currency, and saying how.

Totals are summed per currency by the database (``GROUP BY currency``) and converted here,
one subtotal at a time, with the rate valid on the day asked for: the latest rate dated on or
before it. A currency with no rate is never added in: the total says it is missing, so a user
sees "EUR 1,200.00 not converted: no EUR rate" rather than a wrong figure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from .models import ExchangeRate

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Conversion:
    """One currency's subtotal turned into the base currency."""

    currency: str
    amount: Decimal
    rate: Decimal | None  # None: no rate known, the amount is left out of the total
    rate_date: dt.date | None
    converted: Decimal | None

    @property
    def explanation(self) -> str:
        if self.rate is None:
            return f"{self.currency} {self.amount:,.2f} not converted: no {self.currency} rate"
        if self.rate == 1 and self.rate_date is None:
            return f"{self.currency} {self.amount:,.2f}"
        return (
            f"{self.currency} {self.amount:,.2f} × {self.rate.normalize():f} "
            f"(rate of {self.rate_date}) = {self.converted:,.2f}"
        )


@dataclass
class Total:
    """A sum in the base currency, with the conversions that made it."""

    base: str
    amount: Decimal = Decimal("0.00")
    parts: list[Conversion] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        return [p.currency for p in self.parts if p.rate is None]

    @property
    def converted(self) -> bool:
        """True when some part was in another currency (the total needs explaining)."""
        return any(p.currency != self.base for p in self.parts)

    @property
    def explanation(self) -> str:
        return "; ".join(p.explanation for p in self.parts)

    def as_money(self) -> dict[str, str]:
        return {"amount": f"{self.amount:.2f}", "currency": self.base}


class Rates:
    """The rates into one base currency, loaded once (one query) and looked up by date."""

    def __init__(self, workspace, *, base: str | None = None) -> None:
        self.base = base or workspace.default_currency
        self._by_currency: dict[str, list[tuple[dt.date, Decimal]]] = {}
        rows = (
            ExchangeRate.objects.in_workspace(workspace)
            .filter(base=self.base)
            .order_by("currency", "valid_from")
            .values_list("currency", "valid_from", "rate")
        )
        for currency, valid_from, rate in rows:
            self._by_currency.setdefault(currency, []).append((valid_from, rate))

    def rate(self, currency: str, on: dt.date) -> tuple[Decimal, dt.date | None] | None:
        if currency == self.base:
            return Decimal(1), None
        found = None
        for valid_from, rate in self._by_currency.get(currency, ()):
            if valid_from > on:
                break
            found = (rate, valid_from)
        if found is None:
            # Before the first dated rate, the earliest one is the best there is.
            history = self._by_currency.get(currency)
            if history:
                found = (history[0][1], history[0][0])
        return found

    def convert(self, currency: str, amount: Decimal, on: dt.date) -> Conversion:
        known = self.rate(currency, on)
        if known is None:
            return Conversion(currency, amount, None, None, None)
        rate, rate_date = known
        converted = (amount * rate).quantize(CENT, rounding=ROUND_HALF_EVEN)
        return Conversion(currency, amount, rate, rate_date, converted)

    def total(
        self,
        per_currency: Mapping[str, Decimal] | Iterable[tuple[str, Decimal | None]],
        on: dt.date,
    ) -> Total:
        """``{currency: amount}`` (or ``(currency, amount)`` pairs) as one base-currency total."""
        items: Iterable[tuple[str, Decimal | None]] = (
            per_currency.items() if isinstance(per_currency, Mapping) else per_currency
        )
        merged: dict[str, Decimal] = {}
        for currency, amount in items:
            if amount is None or not currency:
                continue
            merged[currency] = merged.get(currency, Decimal(0)) + Decimal(amount)
        total = Total(self.base)
        # The base currency first, then the others alphabetically: a stable explanation.
        for currency in sorted(merged, key=lambda c: (c != self.base, c)):
            part = self.convert(currency, merged[currency], on)
            total.parts.append(part)
            if part.converted is not None:
                total.amount += part.converted
        total.amount = total.amount.quantize(CENT)
        return total
