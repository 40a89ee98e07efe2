"""Deal line items and quotes: money math, numbering, revisions, the PDF, sending, the
customer's public link, the API and isolation."""

from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.core.actors import Role
from rapport.core.errors import NotFound, PermissionDenied, ValidationFailed
from rapport.sales import quote_services as services
from rapport.sales.models import Deal
from rapport.sales.quote_models import Quote, QuoteStatus
from rapport.sales.quote_pdf import quote_html, quote_pdf
from rapport.testing.clients import make_api_client, make_browser
from rapport.testing.factories import (
    DealFactory,
    MembershipFactory,
    PersonFactory,
    actor_for,
)

pytestmark = [pytest.mark.django_db, pytest.mark.urls("rapport.sales.tests.test_quotes_urlconf")]

HOSTILE = '<script>alert("x")</script><img src="http://127.0.0.1:1/x">'


@pytest.fixture
def admin():
    return actor_for(MembershipFactory(role=Role.ADMIN.value))


@pytest.fixture
def widget(admin):
    return services.product_create(
        actor=admin,
        data={
            "sku": "W-1",
            "name": "Widget",
            "tax_rate": "20",
            "prices": [{"amount": "19.99", "currency": "EUR"}],
        },
    )


def eur_deal(actor, **kw):
    return DealFactory(actor=actor, amount={"amount": "1.00", "currency": "EUR"}, **kw)


def deal_with_lines(actor, widget, **kw):
    deal = eur_deal(actor, **kw)
    services.deal_line_items_set(
        actor=actor,
        deal_id=deal.pk,
        items=[
            {"product": str(widget.pk), "quantity": "3", "discount": "10"},
            {"name": "Setup", "quantity": "1", "unit_price": "100.00", "tax_rate": "0"},
        ],
    )
    return deal


# --- line items -------------------------------------------------------------------------------


def test_line_totals_are_exact_decimals():
    # 3 × 19.99 = 59.97, less 10 % = 53.973 -> 53.97; 20 % tax = 10.794 -> 10.79
    assert services.line_totals(Decimal(3), Decimal("19.99"), Decimal(10), Decimal(20)) == (
        Decimal("53.97"),
        Decimal("10.79"),
    )
    # half-up rounding: 0.125 -> 0.13
    assert services.line_totals(Decimal("0.5"), Decimal("0.25"), Decimal(0), Decimal(0)) == (
        Decimal("0.13"),
        Decimal("0.00"),
    )


def test_line_items_take_product_defaults_and_update_the_amount(admin, widget):
    deal = deal_with_lines(admin, widget)
    items = list(deal.line_items.order_by("position"))
    assert [(i.name, i.unit_price, i.tax_rate, i.currency) for i in items] == [
        ("Widget", Decimal("19.99"), Decimal("20.00"), "EUR"),
        ("Setup", Decimal("100.00"), Decimal("0.00"), "EUR"),
    ]
    assert services.totals(items) == {
        "subtotal": Decimal("153.97"),
        "tax": Decimal("10.79"),
        "total": Decimal("164.76"),
    }
    deal.refresh_from_db()
    assert deal.amount == Decimal("1.00")  # not asked to update
    services.deal_line_items_set(
        actor=admin,
        deal_id=deal.pk,
        items=[{"product": str(widget.pk), "quantity": "3", "discount": "10"}],
        update_amount=True,
    )
    deal.refresh_from_db()
    assert deal.amount == Decimal("53.97") and deal.version == 2
    actions = list(
        AuditEntry.objects.filter(object_id=str(deal.pk)).values_list("action", flat=True)
    )
    assert actions.count("deal.line_items_set") == 2 and "deal.updated" in actions


def test_line_items_refuse_bad_input_and_read_only(admin, widget):
    deal = eur_deal(admin)
    with pytest.raises(ValidationFailed) as exc:
        services.deal_line_items_set(
            actor=admin,
            deal_id=deal.pk,
            items=[{"name": "x", "quantity": "0", "unit_price": "1"}, {"quantity": "1"}],
        )
    fields = {e.field for e in exc.value.errors}
    assert {"items.0.quantity", "items.1.name"} <= fields
    usd_deal = DealFactory(actor=admin, amount={"amount": "1.00", "currency": "USD"})
    with pytest.raises(ValidationFailed, match="no USD price"):
        services.deal_line_items_set(
            actor=admin, deal_id=usd_deal.pk, items=[{"product": str(widget.pk)}]
        )
    reader = actor_for(MembershipFactory(workspace=admin.workspace, role=Role.READ_ONLY.value))
    with pytest.raises(PermissionDenied):
        services.deal_line_items_set(actor=reader, deal_id=deal.pk, items=[])
    stranger = actor_for(MembershipFactory(role=Role.OWNER.value))
    with pytest.raises(NotFound):
        services.deal_line_items_set(actor=stranger, deal_id=deal.pk, items=[])


# --- quotes -----------------------------------------------------------------------------------


def test_quote_numbers_are_sequenced_per_workspace(admin, widget):
    deal = deal_with_lines(admin, widget)
    year = timezone.localdate().year
    first = services.quote_create_from_deal(actor=admin, deal_id=deal.pk)
    second = services.quote_create_from_deal(actor=admin, deal_id=deal.pk)
    assert (first.number, second.number) == (f"Q-{year}-0001", f"Q-{year}-0002")
    assert first.subtotal == Decimal("153.97") and first.total == Decimal("164.76")
    assert first.lines.count() == 2 and first.currency == "EUR"
    assert first.valid_until == timezone.localdate() + dt.timedelta(days=30)

    other = actor_for(MembershipFactory(role=Role.ADMIN.value))
    other_widget = services.product_create(
        actor=other,
        data={"sku": "A", "name": "A", "prices": [{"amount": "1.00", "currency": "EUR"}]},
    )
    other_quote = services.quote_create_from_deal(
        actor=other, deal_id=deal_with_lines(other, other_widget).pk
    )
    assert other_quote.number == f"Q-{year}-0001"


def test_a_deal_without_line_items_cannot_be_quoted(admin):
    with pytest.raises(ValidationFailed, match="no line items"):
        services.quote_create_from_deal(actor=admin, deal_id=eur_deal(admin).pk)


def test_draft_changes_in_place_and_sent_quote_gets_a_revision(admin, widget):
    person = PersonFactory(actor=admin, email="buyer@example.com")
    deal = deal_with_lines(admin, widget, people=[{"id": str(person.pk), "role": "champion"}])
    quote = services.quote_create_from_deal(actor=admin, deal_id=deal.pk)
    same = services.quote_update(actor=admin, quote_id=quote.pk, data={"terms": "Net 30"})
    assert same.pk == quote.pk and same.version == 2 and same.terms == "Net 30"

    services.quote_send(actor=admin, quote_id=quote.pk)
    revised = services.quote_update(actor=admin, quote_id=quote.pk, data={"terms": "Net 15"})
    assert revised.pk != quote.pk
    assert (revised.number, revised.revision, revised.status) == (quote.number, 2, "draft")
    assert revised.terms == "Net 15" and revised.lines.count() == 2
    assert revised.total == quote.total
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SUPERSEDED and quote.terms == "Net 30"
    with pytest.raises(ValidationFailed):
        services.quote_decide(actor=admin, quote_id=quote.pk, decision="accept")
    # An unchanged patch creates nothing.
    services.quote_send(actor=admin, quote_id=revised.pk)
    assert (
        services.quote_update(actor=admin, quote_id=revised.pk, data={"terms": "Net 15"}).pk
        == revised.pk
    )
    assert Quote.objects.filter(number=quote.number).count() == 2


def test_pdf_renders_and_hostile_text_is_text(admin, widget):
    deal = deal_with_lines(admin, widget)
    Deal.objects.filter(pk=deal.pk).update(name=HOSTILE)
    quote = services.quote_create_from_deal(actor=admin, deal_id=deal.pk, data={"terms": HOSTILE})
    quote = Quote.objects.select_related("deal", "workspace").get(pk=quote.pk)
    source = quote_html(quote)
    assert "<script>" not in source and "<img src=" not in source
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in source
    assert admin.workspace.name in source  # the letterhead
    pdf = quote_pdf(quote)
    assert pdf.startswith(b"%PDF")


def test_send_emails_the_pdf_to_the_deal_people(admin, widget, django_capture_on_commit_callbacks):
    a = PersonFactory(actor=admin, email="a@example.com")
    b = PersonFactory(actor=admin, email="b@example.com")
    deal = deal_with_lines(
        admin, widget, people=[{"id": str(a.pk), "role": ""}, {"id": str(b.pk), "role": ""}]
    )
    quote = services.quote_create_from_deal(actor=admin, deal_id=deal.pk)
    with django_capture_on_commit_callbacks(execute=True):
        sent = services.quote_send(actor=admin, quote_id=quote.pk, message="Hello")
    assert sent.status == QuoteStatus.SENT and sent.sent_at is not None
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == ["a@example.com", "b@example.com"]
    assert quote.number in message.subject
    assert services.quote_token(quote) in message.body
    ((name, content, mimetype),) = message.attachments
    assert name == f"quote-{quote.number}.pdf" and mimetype == "application/pdf"
    assert content.startswith(b"%PDF")
    assert AuditEntry.objects.filter(object_id=str(quote.pk), action="quote.sent").exists()


def test_send_needs_people_with_email(admin, widget):
    quote = services.quote_create_from_deal(actor=admin, deal_id=deal_with_lines(admin, widget).pk)
    with pytest.raises(ValidationFailed, match="no people"):
        services.quote_send(actor=admin, quote_id=quote.pk)
    assert mail.outbox == []


def _sent_quote(admin, widget, **kw):
    person = PersonFactory(actor=admin, email="buyer@example.com")
    deal = deal_with_lines(admin, widget, people=[{"id": str(person.pk), "role": ""}])
    quote = services.quote_create_from_deal(actor=admin, deal_id=deal.pk, data=kw)
    return services.quote_send(actor=admin, quote_id=quote.pk)


def test_public_link_accepts_once(admin, widget):
    quote = _sent_quote(admin, widget, terms=HOSTILE)
    token = services.quote_token(quote)
    client = Client(enforce_csrf_checks=True)
    page = client.get(f"/q/{token}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Accept quote" in body and "<script>alert" not in body
    csrf = client.cookies["csrftoken"].value
    refused = client.post(f"/q/{token}/", {"decision": "accept", "name": "Ann"})
    assert refused.status_code == 403  # no CSRF token
    ok = client.post(
        f"/q/{token}/", {"decision": "accept", "name": "Ann", "csrfmiddlewaretoken": csrf}
    )
    assert ok.status_code == 200 and "the quote is accepted" in ok.content.decode()
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED and quote.decided_by_name == "Ann"
    again = client.post(
        f"/q/{token}/", {"decision": "decline", "name": "Ann", "csrfmiddlewaretoken": csrf}
    )
    assert again.status_code == 422 and "already accepted" in html.unescape(again.content.decode())
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED
    assert client.get(f"/q/{token}/pdf/").content.startswith(b"%PDF")


def test_public_link_unknown_draft_and_expired(admin, widget):
    assert Client().get(f"/q/{'0' * 64}/").status_code == 404
    draft = services.quote_create_from_deal(actor=admin, deal_id=deal_with_lines(admin, widget).pk)
    assert Client().get(f"/q/{services.quote_token(draft)}/").status_code == 404

    quote = _sent_quote(admin, widget)
    Quote.objects.filter(pk=quote.pk).update(valid_until=timezone.localdate() - dt.timedelta(1))
    token = services.quote_token(quote)
    page = Client().get(f"/q/{token}/")
    assert page.status_code == 200 and "This quote expired on" in page.content.decode()
    refused = Client().post(f"/q/{token}/", {"decision": "accept", "name": "Ann"})
    assert refused.status_code == 422
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT


def test_member_decides_and_only_latest_revision(admin, widget):
    quote = _sent_quote(admin, widget)
    member = actor_for(MembershipFactory(workspace=admin.workspace, role=Role.MEMBER.value))
    declined = services.quote_decide(actor=member, quote_id=quote.pk, decision="decline")
    assert declined.status == QuoteStatus.DECLINED
    assert declined.decided_by_name == member.user.email
    with pytest.raises(ValidationFailed):
        services.quote_update(actor=admin, quote_id=quote.pk, data={"terms": "x"})


# --- API --------------------------------------------------------------------------------------


def test_api_flow(widget, admin, django_capture_on_commit_callbacks):
    api = make_api_client(Role.MEMBER, workspace=admin.workspace)
    person = PersonFactory(actor=admin, email="buyer@example.com")
    deal = eur_deal(admin, people=[{"id": str(person.pk), "role": ""}])
    put = api._call(
        "put",
        f"/deals/{deal.pk}/line-items",
        {
            "items": [{"product": str(widget.pk), "quantity": "3", "discount": "10"}],
            "update_amount": True,
        },
    )
    assert put.status_code == 200, put.content
    assert put.json()["subtotal"] == "53.97" and put.json()["tax"] == "10.79"
    assert api.get(f"/deals/{deal.pk}/line-items").json()["items"][0]["net"] == "53.97"

    created = api.post("/quotes", {"deal": str(deal.pk), "terms": "Net 30"})
    assert created.status_code == 201, created.content
    quote = created.json()
    assert quote["total"] == {"amount": "64.76", "currency": "EUR"}
    assert quote["status"] == "draft" and len(quote["lines"]) == 1
    assert api.get("/quotes", {"deal": str(deal.pk)}).json()["results"][0]["id"] == quote["id"]

    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(f"/quotes/{quote['id']}/send", {"message": "Hi"})
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    assert len(mail.outbox) == 1
    revised = api.patch(f"/quotes/{quote['id']}", {"terms": "Net 10"})
    assert revised.status_code == 200
    assert revised.json()["revision"] == 2 and revised.json()["id"] != quote["id"]
    assert api.get(f"/quotes/{quote['id']}").json()["status"] == "superseded"
    new_id = revised.json()["id"]
    api.post(f"/quotes/{new_id}/send")
    accepted = api.post(f"/quotes/{new_id}/accept", {"name": "Ann"})
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert api.post(f"/quotes/{new_id}/decline").status_code == 422
    pdf = api.get(f"/quotes/{new_id}/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_api_read_only_and_isolation(admin, widget):
    quote = services.quote_create_from_deal(actor=admin, deal_id=deal_with_lines(admin, widget).pk)
    reader = make_api_client(Role.READ_ONLY, workspace=admin.workspace)
    assert reader.get(f"/quotes/{quote.pk}").status_code == 200
    assert reader.post("/quotes", {"deal": str(quote.deal_id)}).status_code == 403
    assert reader.patch(f"/quotes/{quote.pk}", {"terms": "x"}).status_code == 403
    assert reader.post(f"/quotes/{quote.pk}/accept").status_code == 403

    stranger = make_api_client(Role.OWNER)
    for response in (
        stranger.get(f"/quotes/{quote.pk}"),
        stranger.get(f"/quotes/{quote.pk}/pdf"),
        stranger.patch(f"/quotes/{quote.pk}", {"terms": "x"}),
        stranger.post(f"/quotes/{quote.pk}/send"),
        stranger.post(f"/quotes/{quote.pk}/accept"),
        stranger.post("/quotes", {"deal": str(quote.deal_id)}),
        stranger.get(f"/deals/{quote.deal_id}/line-items"),
    ):
        assert response.status_code == 404, response.content
    assert stranger.get("/quotes").json()["results"] == []


# --- pages ------------------------------------------------------------------------------------


def test_pages_line_items_quotes_and_detail(widget):
    client, membership = make_browser(Role.OWNER, workspace=widget.workspace)
    actor = actor_for(membership)
    deal = eur_deal(actor)
    page = client.get(f"/deals/{deal.pk}/line-items/")
    assert page.status_code == 200 and "Widget" in page.content.decode()
    saved = client.post(
        f"/deals/{deal.pk}/line-items/",
        {
            "product": [str(widget.pk), ""],
            "name": ["", "Setup"],
            "quantity": ["3", "1"],
            "unit_price": ["", "100.00"],
            "discount": ["10", ""],
            "tax_rate": ["", "0"],
            "update_amount": "on",
        },
    )
    assert saved.status_code == 302
    deal.refresh_from_db()
    assert deal.amount == Decimal("153.97")
    assert client.get(f"/deals/{deal.pk}/quotes/").status_code == 200
    created = client.post(f"/deals/{deal.pk}/quotes/", {"terms": HOSTILE, "valid_until": ""})
    assert created.status_code == 302
    quote = Quote.objects.get(deal=deal)
    detail = client.get(f"/quotes/{quote.pk}/").content.decode()
    assert quote.number in detail and "<script>alert" not in detail
    assert client.get(f"/quotes/{quote.pk}/pdf/").content.startswith(b"%PDF")
    refused = client.post(f"/quotes/{quote.pk}/send/", follow=True)
    assert "no people" in refused.content.decode()

    stranger, _ = make_browser(Role.OWNER)
    assert stranger.get(f"/quotes/{quote.pk}/").status_code == 404
    assert stranger.get(f"/deals/{deal.pk}/quotes/").status_code == 404
    assert stranger.get(f"/deals/{deal.pk}/line-items/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_concurrent_quotes_get_distinct_numbers():
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: the row lock is a PostgreSQL matter")
    admin = actor_for(MembershipFactory(role=Role.ADMIN.value))
    product = services.product_create(
        actor=admin,
        data={"sku": "C", "name": "C", "prices": [{"amount": "1.00", "currency": "EUR"}]},
    )
    deal = deal_with_lines(admin, product)

    def create(_):
        try:
            return services.quote_create_from_deal(actor=admin, deal_id=deal.pk).number
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=4) as pool:
        numbers = list(pool.map(create, range(8)))
    assert len(set(numbers)) == 8
    year = timezone.localdate().year
    assert sorted(numbers) == [f"Q-{year}-{n:04d}" for n in range(1, 9)]
