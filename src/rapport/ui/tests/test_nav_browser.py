"""The top bar in a real browser: on a phone one row with a "Menu" disclosure holding the main
navigation (keyboard: Enter opens, Escape closes and gives the focus back); on a desktop the
flat bar as before. The main pages never scroll sideways at 375 or 1280 px."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from rapport.contacts import services as contact_services
from rapport.core.actors import Role
from rapport.sales import services as sales_services
from rapport.testing.browser import assert_no_horizontal_scroll, login, screenshot
from rapport.testing.factories import PASSWORD, MembershipFactory, actor_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = {
    "people": "contacts:person_list",
    "deals-board": "sales:board",
    "forecast": "sales:forecast",
    "sales-dashboard": "sales:dashboard",
    "my-work": "activities:my_work",
}


def _seed():
    owner = MembershipFactory(role=Role.OWNER.value, user__full_name="Maximiliane Oberhuber")
    actor = actor_for(owner)
    sales_services.pipeline_create_default(actor=actor)
    company = contact_services.company_create(
        actor=actor,
        data={"name": "Internationale Handelsgesellschaft mbH", "domain": "ihg.example"},
    )
    for i in range(3):
        person = contact_services.person_create(
            actor=actor,
            data={
                "first_name": "Bartholomäus",
                "last_name": f"Schwarzenegger-Oberhuber {i}",
                "email": f"bartholomaeus.schwarzenegger{i}@internationale-handels.example",
                "company": str(company.pk),
            },
        )
        sales_services.deal_create(
            actor=actor,
            data={
                "name": f"Internationale Handelsgesellschaft — Rahmenvertrag {i}",
                "amount": {"amount": "1234567.89", "currency": "EUR"},
                "close_date": "2031-03-31",
                "company": str(company.pk),
                "people": [{"id": str(person.pk), "role": "champion"}],
                "owner": str(owner.user.pk),
            },
        )
    return owner


def test_the_phone_menu_opens_closes_and_marks_the_current_page(phone_page, live_server):
    page = phone_page
    owner = _seed()
    login(page, live_server, owner.user.email, PASSWORD)
    page.goto(live_server.url + reverse("sales:board"))

    bar = page.locator("header.topbar")
    menu = page.locator("details.navmenu")
    summary = menu.locator("summary")
    expect(summary).to_be_visible()
    expect(page.locator("nav.mainnav")).to_be_hidden()
    expect(page.locator(".topsearch input[name=q]")).to_be_visible()
    assert bar.bounding_box()["height"] < 60  # one row, not three

    summary.click()
    expect(menu).to_have_attribute("open", "")
    panel = menu.get_by_role("navigation", name="Main")
    for name in ("People", "Companies", "Leads", "Forecast", "Sales dashboard", "My work",
                 "Calendar", "Duplicates", "Import", "Trash", "Settings"):  # fmt: skip
        expect(panel.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(panel.get_by_role("link", name="Deals", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    expect(menu.get_by_role("button", name="Sign out")).to_be_visible()
    assert_no_horizontal_scroll(page)
    screenshot(page, "nav-menu-open-phone")

    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    expect(summary).to_be_focused()
    page.keyboard.press("Enter")  # the summary is the button: the keyboard opens it again
    expect(menu).to_have_attribute("open", "")
    page.mouse.click(10, 730)  # a click elsewhere (below the panel) closes it
    expect(menu).not_to_have_attribute("open", "")

    summary.click()
    panel.get_by_role("link", name="People", exact=True).click()
    page.wait_for_url(f"{live_server.url}/people/")
    expect(page.locator("details.navmenu")).not_to_have_attribute("open", "")
    page.locator("details.navmenu summary").click()
    expect(
        page.locator("details.navmenu").get_by_role("link", name="People", exact=True)
    ).to_have_attribute("aria-current", "page")


def test_the_desktop_keeps_the_flat_bar(page, live_server):
    owner = _seed()
    login(page, live_server, owner.user.email, PASSWORD)
    page.goto(live_server.url + reverse("sales:forecast"))
    nav = page.locator("nav.mainnav")
    expect(nav).to_be_visible()
    expect(page.locator("details.navmenu")).to_be_hidden()
    expect(nav.get_by_role("link", name="Forecast")).to_have_attribute("aria-current", "page")
    expect(page.locator(".usermenu summary")).to_be_visible()
    nav.get_by_role("link", name="My work").click()
    page.wait_for_url(f"{live_server.url}{reverse('activities:my_work')}")
    screenshot(page, "nav-desktop")


@pytest.mark.parametrize("fixture", ["phone_page", "page"])
def test_the_main_pages_do_not_scroll_sideways(request, fixture, live_server):
    page = request.getfixturevalue(fixture)
    owner = _seed()
    login(page, live_server, owner.user.email, PASSWORD)
    for name, url_name in PAGES.items():
        page.goto(live_server.url + reverse(url_name))
        page.wait_for_load_state("networkidle")
        expect(page.locator("main")).to_be_visible()
        assert_no_horizontal_scroll(page)
        if fixture == "phone_page":
            assert page.locator("header.topbar").bounding_box()["height"] < 60, name
        screenshot(page, f"nav-{name}-{'phone' if fixture == 'phone_page' else 'desktop'}")
