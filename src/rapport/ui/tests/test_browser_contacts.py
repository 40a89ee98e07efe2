"""People and companies in a real browser (headless system Chromium)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from rapport.contacts.models import Person
from rapport.core.actors import Role
from rapport.testing.browser import assert_no_horizontal_scroll, login, screenshot
from rapport.testing.factories import (
    PASSWORD,
    CompanyFactory,
    MembershipFactory,
    PersonFactory,
    actor_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def owner():
    return MembershipFactory(role=Role.OWNER.value, user__full_name="Olivia Owner")


def test_create_a_person_and_find_them_on_the_list(page, live_server, owner):
    actor = actor_for(owner)
    acme = CompanyFactory(actor=actor, name="Acme Corporation", domain="acme.example")
    login(page, live_server, owner.user.email, PASSWORD)

    page.goto(f"{live_server.url}/people/")
    expect(page.get_by_text("No people yet")).to_be_visible()
    screenshot(page, "people-empty-desktop")

    page.get_by_role("button", name="Add person").first.click()
    page.fill("#id_first_name", "Grace")
    page.fill("#id_last_name", "Hopper")
    page.fill("#id_email", "grace@navy.example.com")
    page.fill("#id_phone", "+1 202 555 0143")
    page.fill("#id_title", "Rear Admiral")
    page.fill("#id_company_name", "acme")
    option = page.get_by_role("button", name=re.compile("Acme Corporation"))
    option.wait_for()
    assert page.get_attribute("#id_company_name", "aria-expanded") == "true"
    screenshot(page, "person-form-autocomplete-desktop")
    option.click()
    expect(page.locator("#id_company")).to_have_value(str(acme.pk))
    expect(page.locator("#id_company_name_options li")).to_have_count(0)
    page.select_option("#id_owner", label="Olivia Owner")
    page.select_option("#id_lifecycle_stage", "customer")
    page.fill("#id_tags", "navy, cobol")
    page.fill("#id_city", "Arlington")
    page.select_option("#id_country", "US")
    screenshot(page, "person-form-desktop")
    page.get_by_role("button", name="Save").click()

    page.wait_for_url(re.compile(r"/people/[0-9a-f-]{36}/$"))
    expect(page.get_by_role("heading", name="Grace Hopper")).to_be_visible()
    expect(page.get_by_text("Added Grace Hopper.")).to_be_visible()
    facts = page.locator("dl.facts")
    expect(facts.get_by_role("link", name="Acme Corporation")).to_be_visible()
    expect(facts.get_by_text("Customer")).to_be_visible()
    screenshot(page, "person-detail-desktop")

    page.get_by_role("link", name="History").click()
    page.wait_for_url(re.compile(r"/history/$"))
    expect(page.get_by_text("Person created")).to_be_visible()
    screenshot(page, "person-history-desktop")

    person = Person.objects.get(email="grace@navy.example.com")
    assert person.company_id == acme.pk
    assert sorted(t.name for t in person.tags.all()) == ["cobol", "navy"]

    # Back on the list, a search narrows the table without a page load and the URL follows.
    PersonFactory(actor=actor, first_name="Alan", last_name="Turing", email="alan@example.com")
    page.locator("nav.mainnav").get_by_role("link", name="People").click()
    rows = page.locator("#list-results tbody tr")
    assert rows.count() == 2
    page.fill("#id_q", "hopper")
    page.wait_for_url(re.compile(r"q=hopper"))
    page.wait_for_function("document.querySelectorAll('#list-results tbody tr').length === 1")
    expect(rows.first.get_by_role("link", name="Grace Hopper")).to_be_visible()
    assert "email=" not in page.url  # blank filters stay out of the shared URL
    screenshot(page, "people-list-desktop")

    # A column header sorts; the sort control follows.
    page.get_by_role("link", name=re.compile("^Name")).click()
    page.wait_for_url(re.compile(r"sort=last_name"))
    page.wait_for_function("document.getElementById('id_sort').value === 'last_name'")
    assert page.locator("th[aria-sort=ascending]").inner_text().startswith("Name")

    # Filter by company through its picker, under "More filters".
    page.goto(f"{live_server.url}/people/")
    page.get_by_text("More filters").click()
    page.fill("#id_company_name", "acme")
    page.get_by_role("button", name=re.compile("Acme Corporation")).click()
    page.wait_for_url(re.compile(rf"company={acme.pk}"))
    page.wait_for_function("document.querySelectorAll('#list-results tbody tr').length === 1")
    expect(rows.first.get_by_role("link", name="Grace Hopper")).to_be_visible()
    screenshot(page, "people-filters-open-desktop")
    # Back shows the whole list again.
    page.go_back()
    page.wait_for_function("document.querySelectorAll('#list-results tbody tr').length === 2")


def test_pages_fit_a_phone(phone_page, live_server, owner):
    page = phone_page
    actor = actor_for(owner)
    company = CompanyFactory(
        actor=actor,
        name="Internationale Handelsgesellschaft für Maschinenbau und Feinmechanik",
        domain="handelsgesellschaft-maschinenbau-feinmechanik.example",
        industry="Industrial machinery",
        employees=12500,
        annual_revenue={"amount": "1250000000.00", "currency": "EUR"},
        tags=["enterprise", "germany", "key-account"],
        address={"street": "Friedrichstraße 123", "city": "Berlin", "country": "DE"},
    )
    person = PersonFactory(
        actor=actor,
        first_name="Maximiliane",
        last_name="Schwarzenberger-Oberhausen",
        email="maximiliane.schwarzenberger-oberhausen@handelsgesellschaft.example.com",
        phone="+49 30 901820",
        title="Head of International Procurement",
        company=str(company.pk),
        owner=str(owner.user_id),
        tags=["decision-maker", "newsletter"],
    )
    for i in range(3):
        PersonFactory(actor=actor, company=str(company.pk), email=f"colleague{i}@example.com")
    login(page, live_server, owner.user.email, PASSWORD)

    pages = {
        "people-list-phone": "/people/",
        "person-detail-phone": f"/people/{person.pk}/",
        "company-detail-phone": f"/companies/{company.pk}/",
        "companies-list-phone": "/companies/",
        "person-form-phone": f"/people/{person.pk}/edit/",
        "home-phone": "/",
    }
    for name, path in pages.items():
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        screenshot(page, name)
        assert_no_horizontal_scroll(page)

    # The people table scrolls inside its wrapper instead of widening the page.
    page.goto(f"{live_server.url}/people/")
    wrap = page.locator(".table-wrap").first
    assert wrap.evaluate("el => el.scrollWidth > el.clientWidth")


def test_company_page_adds_a_person_already_linked(page, live_server, owner):
    actor = actor_for(owner)
    company = CompanyFactory(
        actor=actor,
        name="Globex",
        domain="globex.example",
        employees=340,
        annual_revenue={"amount": "52000000.00", "currency": "USD"},
        tags=["manufacturing"],
    )
    PersonFactory(
        actor=actor,
        first_name="Hank",
        last_name="Scorpio",
        company=str(company.pk),
        email="hank@globex.example.com",
    )
    login(page, live_server, owner.user.email, PASSWORD)

    page.goto(f"{live_server.url}/companies/{company.pk}/")
    expect(page.get_by_role("link", name="Hank Scorpio")).to_be_visible()
    screenshot(page, "company-detail-desktop")

    page.locator(".related").get_by_role("button", name="Add person").click()
    expect(page.locator("#id_company_name")).to_have_value("Globex")
    page.fill("#id_first_name", "Homer")
    page.fill("#id_email", "not-an-email")
    page.get_by_role("button", name="Save").click()
    # The service refused the email: the error sits on the field and nothing was saved.
    expect(page.locator("#id_email_error")).to_be_visible()
    assert page.locator("#id_email").get_attribute("aria-invalid") == "true"
    expect(page.locator("#id_company_name")).to_have_value("Globex")
    screenshot(page, "person-form-errors-desktop")
    page.fill("#id_email", "homer@globex.example.com")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/people/[0-9a-f-]{36}/$"))

    page.get_by_role("link", name="Globex").first.click()
    expect(page.get_by_role("link", name="Homer", exact=True)).to_be_visible()
    page.get_by_role("link", name=re.compile("All people of Globex")).click()
    page.wait_for_url(re.compile(rf"company={company.pk}"))
    expect(page.locator("#id_company_name")).to_have_value("Globex")
    assert page.locator("#list-results tbody tr").count() == 2

    page.goto(f"{live_server.url}/companies/")
    screenshot(page, "companies-list-desktop")
    page.goto(f"{live_server.url}/")
    assert page.locator(".stat-value").all_inner_texts() == ["2", "1"]
    screenshot(page, "home-desktop")
    page.goto(f"{live_server.url}/companies/{company.pk}/edit/")
    page.fill("#id_employees", "many")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#id_employees_error")).to_be_visible()
    screenshot(page, "company-form-errors-desktop")
