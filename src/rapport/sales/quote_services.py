"""Writes for products, deal line items and quotes: the only code path that changes them.

Roles: every member may read the catalogue; managers and up create, change and delete
products. Line items and quotes follow the deal: whoever may see a deal and write (member and
up) may set its line items and make, send and decide its quotes.

Money: a line's net is ``quantity × unit price × (1 − discount %)`` rounded half-up to cents;
its tax is ``net × tax rate %`` rounded the same way; subtotal, tax and total are the sums of
the rounded lines. A deal's line items are all in the deal's currency.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from rapport.audit.services import diff, record
from rapport.core.actors import Actor, Role
from rapport.core.errors import (
    Duplicate,
    ErrorCollector,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    check_version,
)
from rapport.core.ids import new_id
from rapport.core.policy import require_delete, require_write
from rapport.core.validation import clean_amount, clean_currency, clean_date, clean_text, clean_uuid

from . import quote_events as events
from . import services as deal_services
from .models import Deal
from .quote_format import money_text
from .quote_models import (
    DealLineItem,
    Product,
    ProductPrice,
    Quote,
    QuoteCounter,
    QuoteLine,
    QuoteStatus,
)

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
MAX_LINE_ITEMS = 200
MAX_PRICES = 50
DEFAULT_VALIDITY_DAYS = 30
PRODUCT_KEYS = {"sku", "name", "description", "tax_rate", "active", "prices"}
LINE_KEYS = {"product", "name", "quantity", "unit_price", "discount", "tax_rate"}
QUOTE_KEYS = {"valid_until", "terms", "refresh_lines"}


def _unknown_keys(data: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationFailed.one(unknown[0], "Unknown field.")


def require_catalogue_admin(actor: Actor) -> None:
    if not actor.role.at_least(Role.MANAGER):
        raise PermissionDenied("Only managers, admins and owners can change the product catalogue.")


def _percent(value, field: str) -> Decimal:
    if value in (None, ""):
        return Decimal("0.00")
    amount = clean_amount(value, field=field, max_digits=5, places=2)
    if amount is None or amount > HUNDRED:
        raise ValidationFailed.one(field, "A percentage between 0 and 100.")
    return amount


def line_totals(
    quantity: Decimal, unit_price: Decimal, discount: Decimal, tax_rate: Decimal
) -> tuple[Decimal, Decimal]:
    """(net, tax) of one line, each rounded half-up to cents."""
    net = (quantity * unit_price * (HUNDRED - discount) / HUNDRED).quantize(CENT, ROUND_HALF_UP)
    tax = (net * tax_rate / HUNDRED).quantize(CENT, ROUND_HALF_UP)
    return net, tax


def totals(lines) -> dict[str, Decimal]:
    subtotal = tax = Decimal("0.00")
    for line in lines:
        net, line_tax = line_totals(line.quantity, line.unit_price, line.discount, line.tax_rate)
        subtotal += net
        tax += line_tax
    return {"subtotal": subtotal, "tax": tax, "total": subtotal + tax}


# --- products -----------------------------------------------------------------------------------


def _clean_prices(value) -> dict[str, Decimal]:
    if value in (None, ""):
        return {}
    if not isinstance(value, list | tuple) or len(value) > MAX_PRICES:
        raise ValidationFailed.one(
            "prices", f'Send at most {MAX_PRICES} of {{"amount": "10.00", "currency": "EUR"}}.'
        )
    prices: dict[str, Decimal] = {}
    c = ErrorCollector()
    for i, item in enumerate(value):
        if not isinstance(item, Mapping) or set(item) - {"amount", "currency"}:
            raise ValidationFailed.one(
                f"prices.{i}", 'Send {"amount": "10.00", "currency": "EUR"}.'
            )
        c.take("currency", clean_currency, item.get("currency"), field=f"prices.{i}.currency")
        c.take("amount", clean_amount, item.get("amount"), field=f"prices.{i}.amount")
        if c.errors:
            continue
        if c.values["amount"] is None:
            c.errors.append(
                ValidationFailed.one(f"prices.{i}.amount", "This field is required.").errors[0]
            )
        elif c.values["currency"] in prices:
            c.errors.append(
                ValidationFailed.one(f"prices.{i}.currency", "One price per currency.").errors[0]
            )
        else:
            prices[c.values["currency"]] = c.values["amount"]
    c.raise_if_any()
    return prices


def _clean_product(
    actor: Actor, data: Mapping[str, Any], *, current: Product | None
) -> dict[str, Any]:
    _unknown_keys(data, PRODUCT_KEYS)
    creating = current is None
    c = ErrorCollector()
    if creating or "sku" in data:
        c.take("sku", clean_text, data.get("sku"), field="sku", max_length=64, required=True)
    if creating or "name" in data:
        c.take("name", clean_text, data.get("name"), field="name", max_length=200, required=True)
    if "description" in data:
        c.take(
            "description",
            clean_text,
            data.get("description"),
            field="description",
            max_length=10_000,
            multiline=True,
        )
    if "tax_rate" in data:
        c.take("tax_rate", _percent, data.get("tax_rate"), "tax_rate")
    if "active" in data:
        if not isinstance(data["active"], bool):
            raise ValidationFailed.one("active", "Must be true or false.")
        c.values["active"] = data["active"]
    if "prices" in data:
        c.take("prices", _clean_prices, data.get("prices"))
    c.raise_if_any()
    if "sku" in c.values:
        clash = Product.objects.in_workspace(actor.workspace).filter(sku__iexact=c.values["sku"])
        if current is not None:
            clash = clash.exclude(pk=current.pk)
        existing = clash.values_list("pk", flat=True).first()
        if existing:
            raise Duplicate(
                "sku", existing, f"There is already a product with SKU {c.values['sku']!r}."
            )
    return c.values


def product_snapshot(product: Product, prices: Mapping[str, Decimal] | None = None) -> dict:
    if prices is None:
        prices = {p.currency: p.unit_price for p in product.prices.all()}
    return {
        "sku": product.sku,
        "name": product.name,
        "description": product.description,
        "tax_rate": f"{product.tax_rate:.2f}",
        "active": product.active,
        "prices": {cur: f"{amount:.2f}" for cur, amount in sorted(prices.items())},
    }


def _set_prices(product: Product, prices: dict[str, Decimal]) -> None:
    product.prices.exclude(currency__in=list(prices)).delete()
    existing = {p.currency: p for p in product.prices.all()}
    for currency, amount in prices.items():
        row = existing.get(currency)
        if row is None:
            ProductPrice.objects.create(
                workspace=product.workspace, product=product, currency=currency, unit_price=amount
            )
        elif row.unit_price != amount:
            row.unit_price = amount
            row.save(update_fields=["unit_price"])


def _save_product(actor: Actor, product: Product) -> None:
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError:
        raise Duplicate("sku", "", f"There is already a product with SKU {product.sku!r}.")


@transaction.atomic
def product_create(*, actor: Actor, data: Mapping[str, Any], source: str = "") -> Product:
    require_catalogue_admin(actor)
    values = _clean_product(actor, data, current=None)
    prices = values.pop("prices", {})
    product = Product(workspace=actor.workspace, **values)
    product.stamp(actor, created=True)
    _save_product(actor, product)
    _set_prices(product, prices)
    record(
        actor=actor,
        action=events.PRODUCT_CREATED,
        obj=product,
        changes=diff({}, product_snapshot(product, prices)),
        source=source,
    )
    return product


def _product(actor: Actor, product_id, *, lock: bool = False) -> Product:
    qs = Product.objects.visible_to(actor)
    if lock:
        qs = qs.select_for_update()
    product = qs.filter(pk=clean_uuid(product_id, "id")).first()
    if product is None:
        raise NotFound("No such product.")
    return product


@transaction.atomic
def product_update(
    *,
    actor: Actor,
    product_id,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    source: str = "",
) -> Product:
    product = _product(actor, product_id, lock=True)
    require_catalogue_admin(actor)
    check_version(product, expected_version)
    values = _clean_product(actor, data, current=product)
    old_prices = {p.currency: p.unit_price for p in product.prices.all()}
    before = product_snapshot(product, old_prices)
    prices = values.pop("prices", None)
    for key, value in values.items():
        setattr(product, key, value)
    changes = diff(before, product_snapshot(product, old_prices if prices is None else prices))
    if not changes:
        return product
    product.version += 1
    product.stamp(actor)
    _save_product(actor, product)
    if prices is not None:
        _set_prices(product, prices)
    record(actor=actor, action=events.PRODUCT_UPDATED, obj=product, changes=changes, source=source)
    return product


@transaction.atomic
def product_delete(
    *, actor: Actor, product_id, expected_version: int | None = None, source: str = ""
) -> str:
    """Deletes a product no deal or quote uses; a used one is deactivated instead (its lines
    keep their copies either way). Answers "deleted" or "deactivated"."""
    product = _product(actor, product_id, lock=True)
    require_catalogue_admin(actor)
    check_version(product, expected_version)
    used = (
        DealLineItem.objects.filter(product=product).exists()
        or QuoteLine.objects.filter(product=product).exists()
    )
    if used:
        if product.active:
            product.active = False
            product.version += 1
            product.stamp(actor)
            product.save()
            record(
                actor=actor,
                action=events.PRODUCT_UPDATED,
                obj=product,
                changes={"active": {"before": True, "after": False}},
                source=source,
            )
        return "deactivated"
    record(
        actor=actor,
        action=events.PRODUCT_DELETED,
        obj=product,
        changes=diff(product_snapshot(product), {}),
        source=source,
    )
    product.delete()
    return "deleted"


# --- deal line items ----------------------------------------------------------------------------


def deal_currency(deal: Deal) -> str:
    return deal.currency or deal.workspace.default_currency


def _visible_deal(actor: Actor, deal_id, *, lock: bool = False) -> Deal:
    qs = Deal.objects.visible_to(actor).select_related("workspace")
    if lock:
        qs = qs.select_for_update(of=("self",))
    deal = qs.filter(pk=clean_uuid(deal_id, "deal")).first()
    if deal is None:
        raise NotFound("No such deal.")
    return deal


def _clean_line(
    actor: Actor, item, i: int, currency: str, products: dict[uuid.UUID, Product]
) -> dict[str, Any]:
    field = f"items.{i}"
    if not isinstance(item, Mapping):
        raise ValidationFailed.one(field, "Send an object per line.")
    unknown = sorted(set(item) - LINE_KEYS)
    if unknown:
        raise ValidationFailed.one(f"{field}.{unknown[0]}", "Unknown field.")
    product = None
    if item.get("product") not in (None, ""):
        product = products.get(clean_uuid(item["product"], f"{field}.product"))
        if product is None:
            raise ValidationFailed.one(f"{field}.product", "No such product in this workspace.")
    c = ErrorCollector()
    name = item.get("name") or (product.name if product else "")
    c.take("name", clean_text, name, field=f"{field}.name", max_length=200, required=True)
    c.take(
        "quantity",
        clean_amount,
        item.get("quantity", "1"),
        field=f"{field}.quantity",
        max_digits=12,
        places=4,
    )
    unit_price = item.get("unit_price")
    if unit_price in (None, "") and product is not None:
        price = next((p for p in product.prices.all() if p.currency == currency), None)
        if price is None:
            raise ValidationFailed.one(
                f"{field}.unit_price", f"The product has no {currency} price: enter one."
            )
        unit_price = price.unit_price
    c.take("unit_price", clean_amount, unit_price, field=f"{field}.unit_price")
    c.take("discount", _percent, item.get("discount"), f"{field}.discount")
    tax_rate = item.get("tax_rate")
    if tax_rate in (None, "") and product is not None:
        tax_rate = product.tax_rate
    c.take("tax_rate", _percent, tax_rate, f"{field}.tax_rate")
    c.raise_if_any()
    values = c.values
    if values["quantity"] is None or values["quantity"] <= 0:
        raise ValidationFailed.one(f"{field}.quantity", "A quantity greater than 0.")
    if values["unit_price"] is None:
        raise ValidationFailed.one(f"{field}.unit_price", "This field is required.")
    return values | {"product": product, "position": i}


def _line_snapshot(lines) -> list[dict[str, str]]:
    return [
        {
            "name": line.name,
            "product": str(line.product_id or ""),
            "quantity": f"{line.quantity.normalize():f}",
            "unit_price": f"{line.unit_price:.2f}",
            "discount": f"{line.discount:.2f}",
            "tax_rate": f"{line.tax_rate:.2f}",
        }
        for line in lines
    ]


@transaction.atomic
def deal_line_items_set(
    *,
    actor: Actor,
    deal_id,
    items,
    update_amount: bool = False,
    source: str = "",
) -> list[DealLineItem]:
    """Replaces the deal's line items with ``items`` (in order). With ``update_amount`` the
    deal's amount becomes the subtotal (through ``deal_update``: history and audit as usual)."""
    deal = _visible_deal(actor, deal_id, lock=True)
    require_write(actor)
    if not isinstance(items, list | tuple):
        raise ValidationFailed.one("items", "Send a list of line items.")
    if len(items) > MAX_LINE_ITEMS:
        raise ValidationFailed.one("items", f"At most {MAX_LINE_ITEMS} line items.")
    currency = deal_currency(deal)
    product_ids = set()
    for i, item in enumerate(items):
        if isinstance(item, Mapping) and item.get("product") not in (None, ""):
            product_ids.add(clean_uuid(item["product"], f"items.{i}.product"))
    products = {
        p.pk: p
        for p in Product.objects.visible_to(actor)
        .filter(pk__in=product_ids)
        .prefetch_related("prices")
    }
    c = ErrorCollector()
    for i, item in enumerate(items):
        c.take(str(i), _clean_line, actor, item, i, currency, products)
    c.raise_if_any()
    old = list(deal.line_items.all())
    new = [
        DealLineItem(workspace=deal.workspace, deal=deal, currency=currency, **c.values[str(i)])
        for i in range(len(items))
    ]
    changes = diff({"line_items": _line_snapshot(old)}, {"line_items": _line_snapshot(new)})
    if changes:
        deal.line_items.all().delete()
        DealLineItem.objects.bulk_create(new)
        record(
            actor=actor,
            action=events.DEAL_LINE_ITEMS_SET,
            obj=deal,
            changes=changes,
            source=source,
        )
    if update_amount:
        subtotal = totals(new)["subtotal"]
        if deal.amount != subtotal or deal.currency != currency:
            deal_services.deal_update(
                actor=actor,
                deal_id=deal.pk,
                data={"amount": {"amount": f"{subtotal:.2f}", "currency": currency}},
                source=source,
            )
    return list(DealLineItem.objects.filter(deal=deal).order_by("position"))


# --- quotes -------------------------------------------------------------------------------------


def quote_token(quote: Quote) -> str:
    """The customer link's token: derived from the quote (so its page can show the link
    again) with the server's secret; only its hash is stored."""
    return salted_hmac("rapport.sales.quote", str(quote.pk), algorithm="sha256").hexdigest()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def public_url(quote: Quote) -> str:
    return settings.SITE_URL + reverse("sales:quote_public", args=[quote_token(quote)])


def _next_number(workspace, year: int) -> str:
    """The next number of the workspace's year, under a row lock: two concurrent quotes never
    get the same number."""
    try:
        with transaction.atomic():
            QuoteCounter.objects.get_or_create(workspace=workspace, year=year)
    except IntegrityError:
        pass  # created by a concurrent transaction a moment ago
    counter = QuoteCounter.objects.select_for_update().get(workspace=workspace, year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"Q-{year}-{counter.last:04d}"


def _clean_quote(data: Mapping[str, Any]) -> dict[str, Any]:
    _unknown_keys(data, QUOTE_KEYS)
    c = ErrorCollector()
    if "valid_until" in data:
        c.take("valid_until", clean_date, data.get("valid_until"), field="valid_until")
    if "terms" in data:
        c.take(
            "terms",
            clean_text,
            data.get("terms"),
            field="terms",
            max_length=20_000,
            multiline=True,
        )
    if "refresh_lines" in data:
        if not isinstance(data["refresh_lines"], bool):
            raise ValidationFailed.one("refresh_lines", "Must be true or false.")
        c.values["refresh_lines"] = data["refresh_lines"]
    c.raise_if_any()
    return c.values


def _lines_from_deal(deal: Deal) -> list[QuoteLine]:
    items = list(deal.line_items.select_related("product").order_by("position"))
    if not items:
        raise ValidationFailed.one(
            "deal", "The deal has no line items: add products or lines before quoting."
        )
    lines = []
    for i, item in enumerate(items):
        net, tax = line_totals(item.quantity, item.unit_price, item.discount, item.tax_rate)
        lines.append(
            QuoteLine(
                workspace=deal.workspace,
                product=item.product,
                sku=item.product.sku if item.product else "",
                name=item.name,
                quantity=item.quantity,
                unit_price=item.unit_price,
                discount=item.discount,
                tax_rate=item.tax_rate,
                net=net,
                tax=tax,
                position=i,
            )
        )
    return lines


def _copy_lines(quote: Quote) -> list[QuoteLine]:
    return [
        QuoteLine(
            workspace=line.workspace,
            product_id=line.product_id,
            sku=line.sku,
            name=line.name,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount=line.discount,
            tax_rate=line.tax_rate,
            net=line.net,
            tax=line.tax,
            position=line.position,
        )
        for line in quote.lines.all()
    ]


def _save_lines(quote: Quote, lines: list[QuoteLine]) -> None:
    for line in lines:
        line.quote = quote
    QuoteLine.objects.bulk_create(lines)
    quote.subtotal = sum((line.net for line in lines), Decimal("0.00"))
    quote.tax = sum((line.tax for line in lines), Decimal("0.00"))
    quote.total = quote.subtotal + quote.tax


def _new_quote(actor: Actor, deal: Deal, **fields) -> Quote:
    quote = Quote(workspace=deal.workspace, deal=deal, **fields)
    quote.pk = new_id()
    quote.public_token_hash = token_hash(quote_token(quote))
    quote.stamp(actor, created=True)
    return quote


def quote_snapshot(quote: Quote) -> dict[str, Any]:
    return {
        "number": quote.number,
        "revision": quote.revision,
        "status": quote.status,
        "valid_until": quote.valid_until,
        "terms": quote.terms,
        "currency": quote.currency,
        "subtotal": f"{quote.subtotal:.2f}",
        "tax": f"{quote.tax:.2f}",
        "total": f"{quote.total:.2f}",
    }


@transaction.atomic
def quote_create_from_deal(
    *, actor: Actor, deal_id, data: Mapping[str, Any] | None = None, source: str = ""
) -> Quote:
    deal = _visible_deal(actor, deal_id, lock=True)
    require_write(actor)
    values = _clean_quote(data or {})
    values.pop("refresh_lines", None)
    lines = _lines_from_deal(deal)
    today = timezone.localdate()
    quote = _new_quote(
        actor,
        deal,
        number=_next_number(deal.workspace, today.year),
        revision=1,
        status=QuoteStatus.DRAFT,
        valid_until=values.get("valid_until") or today + dt.timedelta(days=DEFAULT_VALIDITY_DAYS),
        terms=values.get("terms", ""),
        currency=deal_currency(deal),
    )
    quote.save()
    _save_lines(quote, lines)
    quote.save(update_fields=["subtotal", "tax", "total"])
    record(
        actor=actor,
        action=events.QUOTE_CREATED,
        obj=quote,
        changes=diff({}, quote_snapshot(quote)),
        source=source,
    )
    return quote


def visible_quotes(actor: Actor):
    """The quotes of deals the actor may see (the deal's record access applies)."""
    return Quote.objects.in_workspace(actor.workspace).filter(
        deal__in=Deal.objects.visible_to(actor).values("pk")
    )


def _quote(actor: Actor, quote_id, *, lock: bool = False) -> Quote:
    qs = visible_quotes(actor).select_related("deal", "workspace")
    if lock:
        qs = qs.select_for_update(of=("self",))
    quote = qs.filter(pk=clean_uuid(quote_id, "id")).first()
    if quote is None:
        raise NotFound("No such quote.")
    return quote


# Expiry is computed, not stored: a draft or sent quote whose validity date has passed *is*
# expired from that day on, in every page, filter and API answer, with no daily task to wait
# for and no window in which a stored status lies. ``is_expired`` (one quote) and
# ``status_q`` (a query) are the two spellings of this one rule; keep them together.
OPEN_STATUSES = (QuoteStatus.DRAFT, QuoteStatus.SENT)


def is_expired(quote: Quote, today: dt.date | None = None) -> bool:
    if quote.status == QuoteStatus.EXPIRED:
        return True
    return (
        quote.status in OPEN_STATUSES
        and quote.valid_until is not None
        and quote.valid_until < (today or timezone.localdate())
    )


def effective_status(quote: Quote, today: dt.date | None = None) -> str:
    return QuoteStatus.EXPIRED.value if is_expired(quote, today) else quote.status


def status_q(status: str, today: dt.date | None = None) -> Q:
    """The quotes whose ``effective_status`` is ``status``, as a query condition."""
    today = today or timezone.localdate()
    lapsed = Q(status__in=OPEN_STATUSES, valid_until__lt=today)
    if status == QuoteStatus.EXPIRED:
        return Q(status=QuoteStatus.EXPIRED) | lapsed
    if status in OPEN_STATUSES:
        return Q(status=status) & (Q(valid_until__isnull=True) | Q(valid_until__gte=today))
    return Q(status=status)


@transaction.atomic
def quote_update(
    *,
    actor: Actor,
    quote_id,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    source: str = "",
) -> Quote:
    """Changes a draft in place. A sent quote is never changed: the change becomes a new
    revision (same number, revision + 1, a draft) and the sent one is superseded. Returns the
    quote that now holds the change."""
    quote = _quote(actor, quote_id, lock=True)
    require_write(actor)
    check_version(quote, expected_version)
    values = _clean_quote(data)
    refresh = values.pop("refresh_lines", False)
    if quote.status not in (QuoteStatus.DRAFT, QuoteStatus.SENT):
        raise ValidationFailed.one(
            "status", f"A quote that is {quote.get_status_display().lower()} cannot change."
        )
    lines = _lines_from_deal(quote.deal) if refresh else None
    new_totals = totals(lines) if lines is not None else None
    before = quote_snapshot(quote)
    after = before | {k: v for k, v in values.items()}
    if new_totals is not None:
        after |= {k: f"{v:.2f}" for k, v in new_totals.items()}
    lines_changed = lines is not None and _line_snapshot(lines) != _line_snapshot(quote.lines.all())
    if not diff(before, after) and not lines_changed:
        return quote
    if quote.status == QuoteStatus.DRAFT:
        for key, value in values.items():
            setattr(quote, key, value)
        if lines is not None:
            quote.lines.all().delete()
            _save_lines(quote, lines)
        quote.version += 1
        quote.stamp(actor)
        quote.save()
        record(
            actor=actor,
            action=events.QUOTE_UPDATED,
            obj=quote,
            changes=diff(before, quote_snapshot(quote)),
            source=source,
        )
        return quote
    # Sent: a new revision carries the change.
    quote.status = QuoteStatus.SUPERSEDED
    quote.version += 1
    quote.stamp(actor)
    quote.save()
    revision = _new_quote(
        actor,
        quote.deal,
        number=quote.number,
        revision=quote.revision + 1,
        status=QuoteStatus.DRAFT,
        valid_until=values.get("valid_until", quote.valid_until),
        terms=values.get("terms", quote.terms),
        currency=quote.currency if lines is None else deal_currency(quote.deal),
    )
    revision.save()
    _save_lines(revision, lines if lines is not None else _copy_lines(quote))
    revision.save(update_fields=["subtotal", "tax", "total"])
    record(
        actor=actor,
        action=events.QUOTE_REVISED,
        obj=revision,
        changes=diff(before, quote_snapshot(revision)),
        source=source,
    )
    return revision


@transaction.atomic
def quote_delete(
    *, actor: Actor, quote_id, expected_version: int | None = None, source: str = ""
) -> None:
    """Deletes a draft: no customer has seen it. A sent or decided quote is the record of
    what was offered and stays. Deleting a draft revision makes the revision it replaced the
    current one again (sent, as it was), so the customer's link keeps working."""
    quote = _quote(actor, quote_id, lock=True)
    require_delete(actor, quote)
    check_version(quote, expected_version)
    if quote.status != QuoteStatus.DRAFT:
        raise ValidationFailed.one(
            "status",
            f"Only drafts can be deleted; this quote is {effective_status(quote)} and stays as "
            "the record of what was offered.",
        )
    previous = (
        Quote.objects.in_workspace(actor.workspace)
        .select_for_update()
        .filter(number=quote.number, revision=quote.revision - 1, status=QuoteStatus.SUPERSEDED)
        .first()
    )
    record(
        actor=actor,
        action=events.QUOTE_DELETED,
        obj=quote,
        changes=diff(quote_snapshot(quote), {}),
        source=source,
    )
    quote.delete()
    if previous is not None:
        previous.status = QuoteStatus.SENT
        previous.version += 1
        previous.stamp(actor)
        previous.save()
        record(
            actor=actor,
            action=events.QUOTE_UPDATED,
            obj=previous,
            changes={"status": {"before": "superseded", "after": "sent"}},
            source=source,
        )


def quote_recipients(deal: Deal) -> list[str]:
    emails = (
        deal.deal_people.filter(person__deleted_at__isnull=True)
        .exclude(person__email="")
        .order_by("person__email")
        .values_list("person__email", flat=True)
    )
    return list(dict.fromkeys(emails))


def _check_open(quote: Quote, *, field: str = "status") -> None:
    if quote.status == QuoteStatus.SUPERSEDED:
        raise ValidationFailed.one(
            field, "A newer revision of this quote exists: only the latest can be used."
        )
    if is_expired(quote):
        until = f" on {quote.valid_until:%Y-%m-%d}" if quote.valid_until else ""
        raise ValidationFailed.one(
            field,
            f"This quote expired{until}: it can no longer be accepted or sent. "
            "A new validity date makes it usable again (a sent quote gets a new revision).",
        )


@transaction.atomic
def quote_send(*, actor: Actor, quote_id, message: str = "", source: str = "") -> Quote:
    """Renders the PDF and, after commit, emails it to the deal's people; marks the quote sent
    (sending a sent quote again re-sends it)."""
    from .quote_pdf import quote_filename, quote_pdf

    quote = _quote(actor, quote_id, lock=True)
    require_write(actor)
    _check_open(quote)
    if quote.status not in (QuoteStatus.DRAFT, QuoteStatus.SENT):
        raise ValidationFailed.one(
            "status", f"A quote that is {quote.get_status_display().lower()} cannot be sent."
        )
    message = clean_text(message, field="message", max_length=5_000, multiline=True)
    recipients = quote_recipients(quote.deal)
    if not recipients:
        raise ValidationFailed.one(
            "recipients", "The deal has no people with an email address to send the quote to."
        )
    before = quote_snapshot(quote)
    quote.status = QuoteStatus.SENT
    quote.sent_at = timezone.now()
    quote.version += 1
    quote.stamp(actor)
    quote.save()
    pdf = quote_pdf(quote)
    changes = diff(before, quote_snapshot(quote)) | {
        "recipients": {"before": None, "after": recipients}
    }
    record(actor=actor, action=events.QUOTE_SENT, obj=quote, changes=changes, source=source)
    workspace_name = quote.workspace.name
    body = "\n\n".join(
        filter(
            None,
            [
                message,
                f"Please find attached quote {quote.label} from {workspace_name} "
                f"({money_text(quote.total, quote.currency)}).",
                f"View, accept or decline it online: {public_url(quote)}",
            ],
        )
    )
    email = EmailMessage(
        subject=f"Quote {quote.label} from {workspace_name}",
        body=body,
        to=recipients,
        reply_to=[actor.user.email] if actor.user is not None else None,
    )
    email.attach(quote_filename(quote), pdf, "application/pdf")
    transaction.on_commit(lambda: email.send(fail_silently=False))
    return quote


def _decide(actor: Actor, quote: Quote, decision: str, name: str, source: str) -> Quote:
    _check_open(quote)
    if quote.status in (QuoteStatus.ACCEPTED, QuoteStatus.DECLINED):
        raise ValidationFailed.one(
            "status", f"This quote was already {quote.get_status_display().lower()}."
        )
    before = quote_snapshot(quote) | {"decided_by_name": quote.decided_by_name}
    quote.status = QuoteStatus.ACCEPTED if decision == "accept" else QuoteStatus.DECLINED
    quote.decided_at = timezone.now()
    quote.decided_by_name = name
    quote.version += 1
    quote.stamp(actor)
    quote.save()
    action = events.QUOTE_ACCEPTED if decision == "accept" else events.QUOTE_DECLINED
    after = quote_snapshot(quote) | {"decided_by_name": name}
    record(actor=actor, action=action, obj=quote, changes=diff(before, after), source=source)
    return quote


@transaction.atomic
def quote_decide(
    *, actor: Actor, quote_id, decision: str, name: str = "", source: str = ""
) -> Quote:
    """A member records the customer's answer (``decision`` is "accept" or "decline")."""
    if decision not in ("accept", "decline"):
        raise ValidationFailed.one("decision", 'Either "accept" or "decline".')
    quote = _quote(actor, quote_id, lock=True)
    require_write(actor)
    name = clean_text(name, field="name", max_length=200)
    label = name or (actor.user.email if actor.user is not None else actor.label)
    return _decide(actor, quote, decision, label, source)


def quote_by_token(token: str) -> Quote:
    if not isinstance(token, str) or not 16 <= len(token) <= 128:
        raise NotFound("No such quote.")
    quote = (
        Quote.objects.select_related("deal", "workspace", "deal__company")
        .filter(public_token_hash=token_hash(token), deal__deleted_at__isnull=True)
        .first()
    )
    if quote is None or quote.status == QuoteStatus.DRAFT:
        raise NotFound("No such quote.")
    return quote


@transaction.atomic
def quote_decide_public(*, token: str, decision: str, name: str) -> Quote:
    """The customer's answer through the public link (no login): the latest revision only,
    once, before it expires."""
    if decision not in ("accept", "decline"):
        raise ValidationFailed.one("decision", 'Either "accept" or "decline".')
    found = quote_by_token(token)
    quote = Quote.objects.select_for_update().select_related("deal", "workspace").get(pk=found.pk)
    name = clean_text(name, field="name", max_length=200, required=True)
    actor = Actor.system(quote.workspace, name=f"customer link ({name})")
    return _decide(actor, quote, decision, name, "public_link")
