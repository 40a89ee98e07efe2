"""A deal page and a company page with its Deals section in a real browser, desktop and phone."""

from __future__ import annotations

import pytest

from rapport.contacts import services as contact_services
from rapport.core.actors import Role
from rapport.sales import services
from rapport.sales.models import LostReason, Stage
from rapport.testing.browser import assert_no_horizontal_scroll, login, screenshot
from rapport.testing.factories import PASSWORD, MembershipFactory, actor_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _seed(actor):
    services.pipeline_create_default(actor=actor)
    services.exchange_rate_set(actor=actor, currency="EUR", rate="1.085", valid_from="2024-01-01")
    acme = contact_services.company_create(
        actor=actor,
        data={"name": "Northwind Traders International", "domain": "northwind.example"},
    )
    people = [
        contact_services.person_create(
            actor=actor,
            data={
                "first_name": first,
                "last_name": last,
                "email": f"{first.lower()}@northwind.example",
                "title": title,
                "company": str(acme.pk),
            },
        )
        for first, last, title in [
            ("Ada", "Lovelace", "Chief Financial Officer"),
            ("Grace", "Hopper-With-A-Long-Surname", "Head of Engineering"),
        ]
    ]
    stages = {s.name: s for s in Stage.objects.filter(workspace=actor.workspace)}
    deal = services.deal_create(
        actor=actor,
        data={
            "name": "Northwind — Enterprise plan, 250 seats, three-year agreement",
            "amount": {"amount": "184500.00", "currency": "EUR"},
            "close_date": "2031-06-30",
            "company": str(acme.pk),
            "people": [
                {"id": str(people[0].pk), "role": "economic_buyer"},
                {"id": str(people[1].pk), "role": "champion"},
            ],
            "next_step": "Security review with their IT team on Thursday",
            "source": "referral",
            "tags": ["enterprise", "q-focus"],
        },
    )
    for name in ("Needs analysis", "Proposal"):
        services.deal_move(actor=actor, deal_id=deal.pk, stage=str(stages[name].pk))
    won = services.deal_create(
        actor=actor,
        data={"name": "Northwind — Pilot", "company": str(acme.pk),
              "amount": {"amount": "12000.00", "currency": "USD"}},
    )  # fmt: skip
    services.deal_move(actor=actor, deal_id=won.pk, stage=str(stages["Won"].pk))
    lost = services.deal_create(
        actor=actor, data={"name": "Northwind — Support upgrade", "company": str(acme.pk)}
    )
    services.deal_move(
        actor=actor, deal_id=lost.pk, stage=str(stages["Lost"].pk),
        data={"lost_reason": str(LostReason.objects.filter(workspace=actor.workspace).first().pk)},
    )  # fmt: skip
    return deal, acme, stages


def test_a_deal_page_and_a_company_deals_section(page, phone_page, live_server):
    owner = MembershipFactory(role=Role.OWNER.value, user__full_name="Olivia Owner")
    actor = actor_for(owner)
    deal, acme, _stages = _seed(actor)

    login(page, live_server, owner.user.email, PASSWORD)
    page.goto(f"{live_server.url}/deals/{deal.pk}/")
    assert page.locator(".stage-step.is-current").inner_text().startswith("Proposal")
    assert "Ada Lovelace" in page.locator("#section-people").inner_text()
    assert "≈ $200,182.50" in page.locator("#section-facts").inner_text()
    screenshot(page, "deal-page-desktop")
    assert_no_horizontal_scroll(page)

    # Moving along the stage path.
    page.locator(".stage-step", has_text="Negotiation").get_by_role("button").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(".stage-step.is-current").inner_text().startswith("Negotiation")
    assert "Moved" in page.locator(".messages").inner_text()

    page.goto(f"{live_server.url}/companies/{acme.pk}/")
    section = page.locator("#section-deals")
    assert "Northwind — Enterprise plan" in section.inner_text()
    screenshot(page, "deal-company-desktop")
    assert_no_horizontal_scroll(page)

    login(phone_page, live_server, owner.user.email, PASSWORD)
    phone_page.goto(f"{live_server.url}/deals/{deal.pk}/")
    screenshot(phone_page, "deal-page-phone")
    assert_no_horizontal_scroll(phone_page)
    phone_page.goto(f"{live_server.url}/companies/{acme.pk}/")
    screenshot(phone_page, "deal-company-phone")
    assert_no_horizontal_scroll(phone_page)
    phone_page.goto(f"{live_server.url}/deals/{deal.pk}/edit/")
    screenshot(phone_page, "deal-form-phone")
    assert_no_horizontal_scroll(phone_page)
    # "Add another person" shows one more row.
    rows = phone_page.locator("[data-people-row]:visible")
    before = rows.count()
    phone_page.get_by_role("button", name="Add another person").click()
    assert phone_page.locator("[data-people-row]:visible").count() == before + 1


def test_the_deals_table_shows_a_views_columns_and_edits_in_place(page, phone_page, live_server):
    from playwright.sync_api import expect

    from rapport.customization import services as custom_services

    owner = MembershipFactory(role=Role.OWNER.value, user__full_name="Olivia Owner")
    actor = actor_for(owner)
    deal, _acme, _stages = _seed(actor)
    custom_services.field_create(
        actor=actor,
        data={"object_type": "sales.deal", "key": "seats", "label": "Seats", "type": "number"},
    )
    services.deal_update(actor=actor, deal_id=deal.pk, data={"custom": {"seats": 250}})
    view = custom_services.view_create(
        actor=actor,
        data={
            "object_type": "sales.deal",
            "name": "Seats first",
            "columns": ["custom.seats", "name", "tags", "amount", "updated_at"],
            "sort": "-custom.seats",
        },
    )
    login(page, live_server, owner.user.email, PASSWORD)
    page.goto(f"{live_server.url}/deals/table/?view={view.pk}")
    heads = page.locator("table.deal-table thead th")
    expect(heads).to_have_text(["Seats", "Name", "Tags", "Amount", "Updated"])
    row = page.locator(f"#deal-row-{deal.pk}")
    expect(row.locator("td").first).to_have_text("250")
    screenshot(page, "deal-table-view-columns-desktop")
    assert_no_horizontal_scroll(page)

    # The name still edits in place in its new position.
    row.get_by_role("button", name=f"Edit name of {deal.name}").click()
    field = row.locator("input[name=name]")
    expect(field).to_be_visible()
    field.fill("Northwind — renamed")
    row.get_by_role("button", name="Save").click()
    expect(row.get_by_role("link", name="Northwind — renamed")).to_be_visible()

    # "Choose columns" opens the view editor's chooser.
    page.get_by_role("link", name="Choose columns").click()
    expect(page.locator("#columns-title")).to_be_visible()

    login(phone_page, live_server, owner.user.email, PASSWORD)
    phone_page.goto(f"{live_server.url}/deals/table/?view={view.pk}")
    expect(phone_page.locator("table.deal-table thead th").first).to_have_text("Seats")
    screenshot(phone_page, "deal-table-view-columns-phone")
    assert_no_horizontal_scroll(phone_page)


def test_a_deleted_deal_is_restored_from_the_deleted_deals_page(page, phone_page, live_server):
    from playwright.sync_api import expect

    owner = MembershipFactory(role=Role.OWNER.value, user__full_name="Olivia Owner")
    actor = actor_for(owner)
    deal, _acme, _stages = _seed(actor)
    login(page, live_server, owner.user.email, PASSWORD)
    page.goto(f"{live_server.url}/deals/{deal.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page.locator(".messages")).to_contain_text("deleted deals")
    page.goto(f"{live_server.url}/deals/table/")
    page.get_by_role("link", name="Deleted deals").click()
    row = page.locator("tr", has_text=deal.name)
    expect(row).to_contain_text("Olivia Owner")
    screenshot(page, "deal-trash-desktop")
    assert_no_horizontal_scroll(page)

    login(phone_page, live_server, owner.user.email, PASSWORD)
    phone_page.goto(f"{live_server.url}/deals/trash/")
    expect(phone_page.get_by_role("button", name=f"Restore {deal.name}")).to_be_visible()
    screenshot(phone_page, "deal-trash-phone")
    assert_no_horizontal_scroll(phone_page)

    row.get_by_role("button", name=f"Restore {deal.name}").click()
    expect(page.locator(".messages")).to_contain_text("Restored")
    expect(page.locator(".empty-state")).to_contain_text("No deleted deals")
    page.locator(".messages").get_by_role("link", name=deal.name).click()
    expect(page.locator("h1")).to_contain_text("Northwind")
