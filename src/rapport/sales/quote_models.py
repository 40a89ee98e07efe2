"""Products, deal line items and quotes.

A product has a price per currency; a deal's line items copy name, unit price and tax rate from
it (or are typed by hand) so later catalogue changes never rewrite a deal. A quote snapshots the
deal's line items into its own lines; after a quote is sent, changing it creates a new revision
(a new row with the same number and ``revision + 1``) and the previous one is superseded.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from rapport.core.models import ActorStamped, Versioned, WorkspaceModel

__all__ = [
    "DealLineItem",
    "Product",
    "ProductPrice",
    "Quote",
    "QuoteCounter",
    "QuoteLine",
    "QuoteStatus",
]


class Product(WorkspaceModel, ActorStamped, Versioned):
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # A percentage: 20.00 means 20 %.
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(Lower("sku"), "workspace", name="sales_product_unique_sku"),
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0) & Q(tax_rate__lte=100),
                name="sales_product_tax_rate_range",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "active", "name"], name="product_active")]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class ProductPrice(WorkspaceModel):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(max_length=3)
    unit_price = models.DecimalField(max_digits=18, decimal_places=2)

    class Meta:
        ordering = ["currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "currency"], name="sales_productprice_unique_currency"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="sales_productprice_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.unit_price}"


class DealLineItem(WorkspaceModel):
    """One line of a deal: net = quantity × unit price × (1 − discount %); tax on top."""

    deal = models.ForeignKey("sales.Deal", on_delete=models.CASCADE, related_name="line_items")
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=200)
    quantity = models.DecimalField(max_digits=12, decimal_places=4)
    unit_price = models.DecimalField(max_digits=18, decimal_places=2)
    currency = models.CharField(max_length=3)
    discount = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["deal", "position"]
        indexes = [models.Index(fields=["deal", "position"], name="deallineitem_deal")]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "Expired"
    SUPERSEDED = "superseded", "Superseded by a newer revision"


class QuoteCounter(WorkspaceModel):
    """The last quote number given out in a workspace and year (locked while allocating)."""

    year = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "year"], name="sales_quotecounter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Quote(WorkspaceModel, ActorStamped, Versioned):
    deal = models.ForeignKey("sales.Deal", on_delete=models.CASCADE, related_name="quotes")
    number = models.CharField(max_length=20)
    revision = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=12, choices=QuoteStatus.choices, default="draft")
    valid_until = models.DateField(null=True, blank=True)
    terms = models.TextField(blank=True)
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    tax = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    # sha256 of the customer link's token (the token itself is never stored).
    public_token_hash = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by_name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "number", "revision"], name="sales_quote_unique_revision"
            ),
            models.UniqueConstraint(
                fields=["public_token_hash"],
                condition=~Q(public_token_hash=""),
                name="sales_quote_unique_token",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "deal", "created_at"], name="quote_deal")]

    def __str__(self) -> str:
        return f"{self.number} rev. {self.revision}"

    @property
    def label(self) -> str:
        return self.number if self.revision == 1 else f"{self.number}-R{self.revision}"


class QuoteLine(WorkspaceModel):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sku = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=200)
    quantity = models.DecimalField(max_digits=12, decimal_places=4)
    unit_price = models.DecimalField(max_digits=18, decimal_places=2)
    discount = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    net = models.DecimalField(max_digits=18, decimal_places=2)
    tax = models.DecimalField(max_digits=18, decimal_places=2)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["quote", "position"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"
