"""What a customer sees of a quote: the workspace logo (PDF, quote page, public page), money
written "EUR 12,345.00" everywhere, and expiry that pages, filters and the link agree on."""

from __future__ import annotations

import datetime as dt
import html
import io
import re

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from PIL import Image

from rapport.core.actors import Role
from rapport.core.errors import ValidationFailed
from rapport.sales import quote_services as services
from rapport.sales.quote_format import money_text, percent_text, plain
from rapport.sales.quote_models import Quote, QuoteStatus
from rapport.sales.quote_pdf import quote_html, quote_pdf
from rapport.tenancy import logo_services
from rapport.testing.clients import make_api_client, make_browser
from rapport.testing.factories import DealFactory, MembershipFactory, PersonFactory, actor_for
from rapport.testing.suites import count_queries

pytestmark = pytest.mark.django_db

IMAGE_XOBJECT = re.compile(rb"/Subtype\s*/Image")


def png(size=(360, 120)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def owner():
    return MembershipFactory(role=Role.OWNER.value)


@pytest.fixture
def actor(owner):
    return actor_for(owner)


def sent_quote(actor, *, price="12345.00", quantity="1", days=30) -> Quote:
    """A sent EUR quote of one line (no tax) valid ``days`` from today."""
    person = PersonFactory(actor=actor, email=f"buyer{Quote.objects.count()}@example.com")
    deal = DealFactory(
        actor=actor,
        amount={"amount": "1.00", "currency": "EUR"},
        people=[{"id": str(person.pk), "role": ""}],
    )
    services.deal_line_items_set(
        actor=actor,
        deal_id=deal.pk,
        items=[{"name": "Licence", "quantity": quantity, "unit_price": price, "tax_rate": "0"}],
    )
    valid = (timezone.localdate() + dt.timedelta(days=days)).isoformat()
    quote = services.quote_create_from_deal(
        actor=actor, deal_id=deal.pk, data={"valid_until": valid}
    )
    return services.quote_send(actor=actor, quote_id=quote.pk)


def expire(quote: Quote) -> None:
    Quote.objects.filter(pk=quote.pk).update(
        valid_until=timezone.localdate() - dt.timedelta(days=1)
    )


# --- the logo ----------------------------------------------------------------------------------


def test_pdf_embeds_the_logo_as_an_image_and_falls_back_to_the_name(actor):
    quote = sent_quote(actor)
    without = quote_pdf(quote)
    assert not IMAGE_XOBJECT.search(without)
    assert actor.workspace.name in quote_html(quote)

    logo_services.workspace_logo_set(actor=actor, upload=io.BytesIO(png()))
    quote = Quote.objects.select_related("deal", "workspace").get(pk=quote.pk)
    page = quote_html(quote)
    assert '<img src="data:image/png;base64,' in page  # embedded: WeasyPrint fetches nothing
    assert IMAGE_XOBJECT.search(quote_pdf(quote))


def test_a_logo_whose_file_is_gone_falls_back_to_the_name(actor):
    from django.core.files.storage import default_storage

    logo_services.workspace_logo_set(actor=actor, upload=io.BytesIO(png()))
    default_storage.delete(actor.workspace.logo.name)
    quote = sent_quote(actor)
    assert not IMAGE_XOBJECT.search(quote_pdf(quote))
    assert f'<div class="letterhead">{actor.workspace.name}</div>' in quote_html(quote)


def test_quote_pages_show_the_logo_and_the_public_link_serves_it(owner, actor):
    quote = sent_quote(actor)
    token = services.quote_token(quote)
    client, _ = make_browser(Role.MEMBER, workspace=owner.workspace)

    # No logo: the name heads both pages and the logo URL is 404.
    assert "quote-logo" not in Client().get(f"/q/{token}/").content.decode()
    assert Client().get(f"/q/{token}/logo/").status_code == 404

    logo_services.workspace_logo_set(actor=actor, upload=io.BytesIO(png()))
    public = Client().get(f"/q/{token}/").content.decode()
    assert f'class="quote-logo" src="/q/{token}/logo/?v=' in public
    image = Client().get(f"/q/{token}/logo/")
    assert image.status_code == 200 and image.content == png()
    inside = client.get(f"/quotes/{quote.pk}/").content.decode()
    assert 'class="quote-logo" src="/settings/logo/image/?v=' in inside
    # A made-up token shows nothing.
    assert Client().get(f"/q/{'0' * 64}/logo/").status_code == 404


def test_another_workspace_quote_never_gets_this_logo(actor):
    logo_services.workspace_logo_set(actor=actor, upload=io.BytesIO(png()))
    theirs = sent_quote(actor_for(MembershipFactory(role=Role.OWNER.value)))
    assert not IMAGE_XOBJECT.search(quote_pdf(theirs))
    token = services.quote_token(theirs)
    assert "quote-logo" not in Client().get(f"/q/{token}/").content.decode()
    assert Client().get(f"/q/{token}/logo/").status_code == 404


# --- money format ---------------------------------------------------------------------------------


def test_money_text_is_code_thousands_and_two_decimals():
    assert money_text("12345", "EUR") == "EUR 12,345.00"
    assert money_text("1234567.5", "JPY") == "JPY 1,234,567.50"
    assert money_text("0", "USD") == "USD 0.00"
    assert money_text(None, "EUR") == money_text("", "EUR") == money_text("x", "EUR") == ""
    assert plain("2.5000") == "2.5" and plain("1000.0000") == "1,000"
    assert percent_text("12.50") == "12.5 %"


def test_pages_pdf_and_email_show_formatted_amounts(
    owner, actor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        quote = sent_quote(actor, price="1234.50", quantity="10")
    client, _ = make_browser(Role.MEMBER, workspace=owner.workspace)
    pages = {
        "detail": client.get(f"/quotes/{quote.pk}/").content.decode(),
        "deal quotes": client.get(f"/deals/{quote.deal_id}/quotes/").content.decode(),
        "line items": client.get(f"/deals/{quote.deal_id}/line-items/").content.decode(),
        "public": Client().get(f"/q/{services.quote_token(quote)}/").content.decode(),
        "pdf html": quote_html(quote),
    }
    for name, page in pages.items():
        assert "EUR 12,345.00" in page, name
        assert "12345.00" not in page, name
    assert "EUR 1,234.50" in pages["detail"] and "EUR 1,234.50" in pages["pdf html"]
    assert "EUR 12,345.00" in mail.outbox[0].body


def test_product_list_shows_formatted_prices_with_constant_queries(actor, owner):
    client, _ = make_browser(Role.MANAGER, workspace=owner.workspace)

    def add(n: int) -> None:
        services.product_create(
            actor=actor,
            data={
                "sku": f"S-{n}",
                "name": f"Seat {n}",
                "tax_rate": "7.5",
                "prices": [
                    {"amount": "12345", "currency": "EUR"},
                    {"amount": "999.9", "currency": "USD"},
                ],
            },
        )

    add(0)
    client.get("/products/")
    few, r, _ = count_queries(lambda: client.get("/products/"))
    page = r.content.decode()
    assert "EUR 12,345.00" in page and "USD 999.90" in page and "7.5 %" in page
    for n in range(1, 15):
        add(n)
    many, r, sql = count_queries(lambda: client.get("/products/"))
    assert r.content.decode().count("EUR 12,345.00") == 15
    assert many == few, "\n".join(sql)


# --- expiry -------------------------------------------------------------------------------------


def test_an_expired_quote_shows_expired_and_cannot_be_accepted_by_link(owner, actor):
    quote = sent_quote(actor)
    expire(quote)
    token = services.quote_token(quote)
    client = Client()
    page = client.get(f"/q/{token}/").content.decode()
    assert "This quote expired on" in page and "can no longer be accepted" in page
    assert "Accept quote" not in page
    # A form kept open from before the date is refused with the reason, and nothing changes.
    refused = client.post(f"/q/{token}/", {"decision": "accept", "name": "Ann"})
    assert refused.status_code == 422
    text = html.unescape(refused.content.decode())
    assert "This quote expired on" in text and "status:" not in text
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT and quote.decided_at is None

    member, _ = make_browser(Role.MEMBER, workspace=owner.workspace)
    inside = member.get(f"/quotes/{quote.pk}/").content.decode()
    assert "quote-status-expired" in inside and "Mark accepted" not in inside
    assert "Send quote" not in inside and "Send again" not in inside
    assert "creates revision 2" in inside  # a new validity date is still possible

    api = make_api_client(Role.MEMBER, workspace=owner.workspace)
    assert api.get(f"/quotes/{quote.pk}").json()["status"] == "expired"
    r = api.post(f"/quotes/{quote.pk}/accept", {})
    assert r.status_code == 422 and "expired on" in r.json()["errors"][0]["message"]
    with pytest.raises(ValidationFailed):
        services.quote_send(actor=actor, quote_id=quote.pk)


def test_a_new_validity_date_revives_an_expired_quote_as_a_revision(actor):
    quote = sent_quote(actor)
    expire(quote)
    later = (timezone.localdate() + dt.timedelta(days=14)).isoformat()
    revision = services.quote_update(actor=actor, quote_id=quote.pk, data={"valid_until": later})
    assert revision.revision == 2 and services.effective_status(revision) == "draft"
    sent = services.quote_send(actor=actor, quote_id=revision.pk)
    assert services.effective_status(sent) == "sent"


def test_valid_until_today_is_not_expired_yet(actor):
    quote = sent_quote(actor, days=0)
    assert services.effective_status(quote) == "sent"
    assert Quote.objects.filter(services.status_q("sent"), pk=quote.pk).exists()
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert services.effective_status(quote, tomorrow) == "expired"
    assert Quote.objects.filter(services.status_q("expired", tomorrow), pk=quote.pk).exists()


# --- deleting a draft from its page -----------------------------------------------------------


def test_a_draft_is_deleted_from_its_page_and_a_sent_one_is_not(owner, actor):
    sent = sent_quote(actor)
    draft = services.quote_create_from_deal(actor=actor, deal_id=sent.deal_id)
    member, _ = make_browser(Role.MEMBER, workspace=owner.workspace)
    # A member may not delete a colleague's draft; its creator (the owner here) may.
    assert member.post(f"/quotes/{draft.pk}/delete/").status_code == 403
    owner_client, _ = make_browser(Role.OWNER, workspace=owner.workspace)
    assert "Delete draft" in owner_client.get(f"/quotes/{draft.pk}/").content.decode()
    assert "Delete draft" not in owner_client.get(f"/quotes/{sent.pk}/").content.decode()
    r = owner_client.post(f"/quotes/{draft.pk}/delete/")
    assert r.status_code == 302 and r["Location"] == f"/deals/{sent.deal_id}/quotes/"
    assert not Quote.objects.filter(pk=draft.pk).exists()
    refused = owner_client.post(f"/quotes/{sent.pk}/delete/", follow=True)
    assert "Only drafts can be deleted" in refused.content.decode()
    assert Quote.objects.filter(pk=sent.pk).exists()
    other, _ = make_browser(Role.OWNER)
    assert other.post(f"/quotes/{sent.pk}/delete/").status_code == 404
