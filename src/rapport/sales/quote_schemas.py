"""API shapes of products, deal line items and quotes. Money is a decimal string beside its
currency (``{"amount": "10.00", "currency": "EUR"}``); percentages are decimal strings too."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from ninja import Field, Schema

from rapport.core.api import StrictSchema

from .quote_models import DealLineItem, Product, Quote, QuoteLine
from .quote_services import effective_status, line_totals

QuoteStatusValue = Literal["draft", "sent", "accepted", "declined", "expired", "superseded"]


class PriceIn(StrictSchema):
    amount: str = Field(..., description='Decimal string, e.g. "49.00"', examples=["49.00"])
    currency: str = Field(..., description="ISO 4217", examples=["EUR"])


class PriceOut(Schema):
    amount: str
    currency: str


class ProductIn(StrictSchema):
    sku: str | None = Field(None, max_length=64, description="Unique in the workspace")
    name: str | None = Field(None, max_length=200)
    description: str | None = None
    tax_rate: str | None = Field(None, description='Percent as a decimal string, e.g. "20.00"')
    active: bool | None = None
    prices: list[PriceIn] | None = Field(
        None, description="Unit price per currency; sending the list replaces all prices"
    )


class ProductOut(Schema):
    id: uuid.UUID
    sku: str
    name: str
    description: str
    tax_rate: str
    active: bool
    prices: list[PriceOut]
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_tax_rate(obj: Product) -> str:
        return f"{obj.tax_rate:.2f}"

    @staticmethod
    def resolve_prices(obj: Product) -> list[dict[str, str]]:
        return [{"amount": f"{p.unit_price:.2f}", "currency": p.currency} for p in obj.prices.all()]


class ProductList(Schema):
    results: list[ProductOut]
    next: str | None


class LineItemIn(StrictSchema):
    product: uuid.UUID | None = Field(None, description="A product (fills name, price, tax)")
    name: str | None = Field(None, max_length=200, description="Default: the product's name")
    quantity: str = Field("1", description='Decimal string, up to 4 places, e.g. "2.5"')
    unit_price: str | None = Field(
        None, description="In the deal's currency; default: the product's price in it"
    )
    discount: str | None = Field(None, description='Percent, e.g. "10"')
    tax_rate: str | None = Field(None, description="Percent; default: the product's tax rate")


class LineItemsIn(StrictSchema):
    items: list[LineItemIn] = Field(..., max_length=200)
    update_amount: bool = Field(
        False, description="Set the deal's amount to the subtotal of the line items"
    )


class LineItemOut(Schema):
    id: uuid.UUID
    product: uuid.UUID | None = Field(None, alias="product_id")
    name: str
    quantity: str
    unit_price: str
    currency: str
    discount: str
    tax_rate: str
    net: str
    tax: str

    @staticmethod
    def resolve_quantity(obj: DealLineItem) -> str:
        return f"{obj.quantity.normalize():f}"

    @staticmethod
    def resolve_unit_price(obj: DealLineItem) -> str:
        return f"{obj.unit_price:.2f}"

    @staticmethod
    def resolve_discount(obj: DealLineItem) -> str:
        return f"{obj.discount:.2f}"

    @staticmethod
    def resolve_tax_rate(obj: DealLineItem) -> str:
        return f"{obj.tax_rate:.2f}"

    @staticmethod
    def resolve_net(obj: DealLineItem) -> str:
        return f"{line_totals(obj.quantity, obj.unit_price, obj.discount, obj.tax_rate)[0]:.2f}"

    @staticmethod
    def resolve_tax(obj: DealLineItem) -> str:
        return f"{line_totals(obj.quantity, obj.unit_price, obj.discount, obj.tax_rate)[1]:.2f}"


class LineItemsOut(Schema):
    deal: uuid.UUID
    currency: str
    items: list[LineItemOut]
    subtotal: str
    tax: str
    total: str
    amount_updated: bool


class QuoteCreateIn(StrictSchema):
    deal: uuid.UUID
    valid_until: dt.date | None = Field(None, description="Default: 30 days from today")
    terms: str | None = None


class QuotePatchIn(StrictSchema):
    valid_until: dt.date | None = None
    terms: str | None = None
    refresh_lines: bool | None = Field(
        None, description="Copy the deal's current line items into the quote again"
    )


class QuoteSendIn(StrictSchema):
    message: str | None = Field(None, max_length=5000)


class QuoteDecideIn(StrictSchema):
    name: str | None = Field(None, max_length=200, description="Who decided (default: you)")


class QuoteLineOut(Schema):
    product: uuid.UUID | None = Field(None, alias="product_id")
    sku: str
    name: str
    quantity: str
    unit_price: str
    discount: str
    tax_rate: str
    net: str
    tax: str

    @staticmethod
    def resolve_quantity(obj: QuoteLine) -> str:
        return f"{obj.quantity.normalize():f}"

    @staticmethod
    def resolve_unit_price(obj: QuoteLine) -> str:
        return f"{obj.unit_price:.2f}"

    @staticmethod
    def resolve_discount(obj: QuoteLine) -> str:
        return f"{obj.discount:.2f}"

    @staticmethod
    def resolve_tax_rate(obj: QuoteLine) -> str:
        return f"{obj.tax_rate:.2f}"

    @staticmethod
    def resolve_net(obj: QuoteLine) -> str:
        return f"{obj.net:.2f}"

    @staticmethod
    def resolve_tax(obj: QuoteLine) -> str:
        return f"{obj.tax:.2f}"


def _money(amount, currency: str) -> dict[str, Any]:
    return {"amount": f"{amount:.2f}", "currency": currency}


class QuoteOut(Schema):
    id: uuid.UUID
    deal: uuid.UUID = Field(..., alias="deal_id")
    number: str
    revision: int
    status: QuoteStatusValue
    valid_until: dt.date | None
    terms: str
    currency: str
    lines: list[QuoteLineOut]
    subtotal: PriceOut
    tax: PriceOut
    total: PriceOut
    sent_at: dt.datetime | None
    decided_at: dt.datetime | None
    decided_by_name: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_status(obj: Quote) -> str:
        return effective_status(obj)

    @staticmethod
    def resolve_lines(obj: Quote) -> list[QuoteLine]:
        return list(obj.lines.all())

    @staticmethod
    def resolve_subtotal(obj: Quote) -> dict[str, Any]:
        return _money(obj.subtotal, obj.currency)

    @staticmethod
    def resolve_tax(obj: Quote) -> dict[str, Any]:
        return _money(obj.tax, obj.currency)

    @staticmethod
    def resolve_total(obj: Quote) -> dict[str, Any]:
        return _money(obj.total, obj.currency)


class QuoteList(Schema):
    results: list[QuoteOut]
    next: str | None
