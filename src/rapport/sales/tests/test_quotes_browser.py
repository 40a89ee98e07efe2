"""Line items, a quote and the customer's public page in a real browser, on a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from rapport.core.actors import Role
from rapport.sales import quote_services as services
from rapport.sales.quote_models import Quote, QuoteStatus
from rapport.testing.browser import assert_no_horizontal_scroll, login, screenshot
from rapport.testing.factories import (
    PASSWORD,
    DealFactory,
    MembershipFactory,
    PersonFactory,
    actor_for,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("rapport.sales.tests.test_quotes_urlconf"),
]


def test_quote_pages_on_a_phone(phone_page, live_server):
    owner = MembershipFactory(role=Role.OWNER.value)
    actor = actor_for(owner)
    product = services.product_create(
        actor=actor,
        data={
            "sku": "ENT-SEAT-ANNUAL-LICENCE",
            "name": "Enterprise seat, annual licence with premium support",
            "tax_rate": "20",
            "prices": [{"amount": "1299.00", "currency": "EUR"}],
        },
    )
    person = PersonFactory(actor=actor, email="ada@northwind.example")
    deal = DealFactory(
        actor=actor,
        name="Northwind — Enterprise plan",
        amount={"amount": "1.00", "currency": "EUR"},
        people=[{"id": str(person.pk), "role": "economic_buyer"}],
    )
    services.deal_line_items_set(
        actor=actor,
        deal_id=deal.pk,
        items=[{"product": str(product.pk), "quantity": "250", "discount": "12.5"}],
        update_amount=True,
    )
    quote = services.quote_create_from_deal(
        actor=actor, deal_id=deal.pk, data={"terms": "<script>alert(1)</script> Net 30"}
    )
    quote = services.quote_send(actor=actor, quote_id=quote.pk)

    login(phone_page, live_server, owner.user.email, PASSWORD)
    for url, name in [
        (f"/deals/{deal.pk}/line-items/", "quote-line-items-phone"),
        (f"/deals/{deal.pk}/quotes/", "quote-deal-quotes-phone"),
        (f"/quotes/{quote.pk}/", "quote-detail-phone"),
        ("/products/", "quote-products-phone"),
    ]:
        phone_page.goto(f"{live_server.url}{url}")
        expect(phone_page.locator("h1")).to_have_count(1)
        screenshot(phone_page, name)
        assert_no_horizontal_scroll(phone_page)

    # The customer, signed out.
    phone_page.context.clear_cookies()
    phone_page.goto(f"{live_server.url}/q/{services.quote_token(quote)}/")
    expect(phone_page.locator(".quote-terms")).to_contain_text("<script>alert(1)</script>")
    assert_no_horizontal_scroll(phone_page)
    phone_page.fill("input[name=name]", "Ada Lovelace")
    phone_page.get_by_role("button", name="Accept quote").click()
    expect(phone_page.locator(".quote-done")).to_contain_text("the quote is accepted")
    screenshot(phone_page, "quote-public-accepted-phone")
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.ACCEPTED
