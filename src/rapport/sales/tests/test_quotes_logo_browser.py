"""The workspace logo in a real browser: uploaded in Settings (a refused SVG first), then
heading the quote page, the customer's page and the PDF's HTML, at desktop and phone width."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from rapport.core.actors import Role
from rapport.sales import quote_services as services
from rapport.sales.quote_models import Quote
from rapport.sales.quote_pdf import quote_html
from rapport.testing.browser import assert_no_horizontal_scroll, login, screenshot
from rapport.testing.factories import (
    PASSWORD,
    DealFactory,
    MembershipFactory,
    PersonFactory,
    actor_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def logo_png() -> bytes:
    image = Image.new("RGB", (600, 200), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.ellipse((20, 30, 160, 170), fill=(21, 101, 192))
    draw.rectangle((190, 80, 560, 120), fill=(33, 33, 33))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _quote(actor) -> Quote:
    person = PersonFactory(actor=actor, email="ada@northwind.example")
    deal = DealFactory(
        actor=actor,
        name="Northwind — Enterprise plan",
        amount={"amount": "1.00", "currency": "EUR"},
        people=[{"id": str(person.pk), "role": ""}],
    )
    services.deal_line_items_set(
        actor=actor,
        deal_id=deal.pk,
        items=[
            {"name": "Enterprise seat, annual", "quantity": "250", "unit_price": "1299.00"},
            {"name": "Onboarding", "quantity": "1", "unit_price": "12500", "tax_rate": "20"},
        ],
    )
    quote = services.quote_create_from_deal(actor=actor, deal_id=deal.pk, data={})
    return services.quote_send(actor=actor, quote_id=quote.pk)


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_logo_upload_and_quote_letterhead(request, live_server, tmp_path, width):
    page = request.getfixturevalue("page" if width == "desktop" else "phone_page")
    owner = MembershipFactory(role=Role.OWNER.value)
    actor = actor_for(owner)
    quote = _quote(actor)
    svg = tmp_path / "logo.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    good = tmp_path / "logo.png"
    good.write_bytes(logo_png())

    login(page, live_server, owner.user.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/#logo")
    page.set_input_files("#logo-file", str(svg))
    page.get_by_role("button", name="Save logo").click()
    expect(page.locator("#logo-errors")).to_contain_text("This is an SVG image")
    screenshot(page, f"logo-settings-refused-{width}")
    assert_no_horizontal_scroll(page)

    page.set_input_files("#logo-file", str(good))
    page.get_by_role("button", name="Save logo").click()
    expect(page.locator(".logo-preview img")).to_be_visible()
    expect(page.get_by_role("button", name="Remove logo")).to_be_visible()
    screenshot(page, f"logo-settings-{width}")
    assert_no_horizontal_scroll(page)

    page.goto(f"{live_server.url}/quotes/{quote.pk}/")
    expect(page.locator(".quote-logo")).to_be_visible()
    expect(page.locator(".quotes-totals")).to_contain_text("EUR 339,750.00")
    screenshot(page, f"logo-quote-detail-{width}")
    assert_no_horizontal_scroll(page)

    page.context.clear_cookies()
    page.goto(f"{live_server.url}/q/{services.quote_token(quote)}/")
    expect(page.locator(".quote-logo")).to_be_visible()
    screenshot(page, f"logo-quote-public-{width}")
    assert_no_horizontal_scroll(page)

    if width == "desktop":
        # The PDF's own HTML (what WeasyPrint lays out), seen at A4 width.
        quote = Quote.objects.select_related("deal", "workspace").get(pk=quote.pk)
        page.set_viewport_size({"width": 794, "height": 1123})
        page.goto("about:blank")  # away from the app's CSP, which blocks the inline styles
        page.set_content(quote_html(quote))
        expect(page.locator(".letterhead img")).to_be_visible()
        screenshot(page, "logo-quote-pdf-html")
