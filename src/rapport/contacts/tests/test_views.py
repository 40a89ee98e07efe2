"""The people and company pages, driven through Django's test client."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.contacts import services
from rapport.contacts.models import Company, Person
from rapport.core.actors import Role
from rapport.testing.clients import make_browser
from rapport.testing.factories import CompanyFactory, PersonFactory, actor_for

pytestmark = pytest.mark.django_db

_emails = itertools.count()


def person(actor, **data):
    """A person through the service. (The factory's default example.test address is refused
    by the email validator, so every test person gets a deliverable-looking one.)"""
    data.setdefault("email", f"person{next(_emails)}@example.com")
    return PersonFactory(actor=actor, **data)


@pytest.fixture
def actor(browser):
    return actor_for(browser.membership)


@pytest.fixture
def other_actor(db):
    _, membership = make_browser(Role.OWNER)
    return actor_for(membership)


def html(response) -> str:
    return response.content.decode()


def rows(response) -> list[str]:
    """The linked names in the results table, in order."""
    body = html(response).split("<tbody>", 1)[-1].split("</tbody>", 1)[0]
    # (a bulk checkbox cell may come first)
    return re.findall(
        r'<tr>\s*(?:<td class="check">.*?</td>\s*)?<td><a href="/[a-z]+/[0-9a-f-]+/">([^<]+)</a>',
        body,
    )


def htmx(target: str) -> dict:
    return {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": target}


# --- sign-in and isolation ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/people/", "/people/new/", "/companies/", "/companies/new/"])
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    r = client.get(path)
    assert r.status_code == 302
    assert r["Location"].startswith("/accounts/login/?next=")


def test_another_workspaces_records_are_not_found(browser, other_actor):
    theirs = person(other_actor, first_name="Secret")
    company = CompanyFactory(actor=other_actor)
    for path in (
        f"/people/{theirs.pk}/",
        f"/people/{theirs.pk}/edit/",
        f"/people/{theirs.pk}/history/",
        f"/companies/{company.pk}/",
        f"/companies/{company.pk}/edit/",
        f"/companies/{company.pk}/history/",
        f"/people/new/?company={company.pk}",
    ):
        assert browser.get(path).status_code == 404, path
    assert browser.post(f"/people/{theirs.pk}/delete/").status_code == 404
    assert browser.post(f"/companies/{company.pk}/delete/").status_code == 404
    assert browser.post(f"/people/{theirs.pk}/edit/", {"first_name": "X"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.first_name == "Secret" and theirs.deleted_at is None
    assert "Secret" not in html(browser.get("/people/"))


def test_another_workspaces_company_cannot_be_linked_or_suggested(browser, actor, other_actor):
    CompanyFactory(actor=other_actor, name="Hidden Holdings")
    assert "Hidden" not in html(browser.get("/companies/autocomplete/?q=hidden"))
    r = browser.post("/people/new/", {"first_name": "Ann", "company_name": "Hidden Holdings"})
    assert r.status_code == 200
    assert "There is no company called" in html(r)
    assert not Person.objects.filter(first_name="Ann").exists()


# --- people list --------------------------------------------------------------------------


def test_people_list_shows_every_column(browser, actor):
    acme = CompanyFactory(actor=actor, name="Acme")
    person(
        actor,
        first_name="Ada",
        last_name="Lovelace",
        email="ada@example.com",
        phone="+44 20 7946 0958",
        company=str(acme.pk),
        owner=str(actor.user.pk),
        lifecycle_stage="customer",
        tags=["vip", "math"],
    )
    r = browser.get("/people/")
    assert r.status_code == 200
    page = html(r)
    for text in ("Ada Lovelace", "ada@example.com", "+442079460958", "Acme", "Customer", "vip"):
        assert text in page
    assert actor.user.display_name in page
    assert 'href="/people/?tag=vip"' in page
    assert '<div class="table-wrap">' in page


def test_empty_states(browser, actor):
    page = html(browser.get("/people/"))
    assert "No people yet — add the first one." in page
    assert 'href="/people/new/"' in page
    person(actor, first_name="Ada")
    page = html(browser.get("/people/?q=nobody-at-all"))
    assert "No one matches these filters." in page
    assert "Clear filters" in page
    assert "No companies yet" in html(browser.get("/companies/"))


@pytest.fixture
def crowd(actor):
    acme = CompanyFactory(actor=actor, name="Acme")
    me = str(actor.user.pk)
    people = {
        "ada": person(
            actor,
            first_name="Ada",
            last_name="Lovelace",
            email="ada@example.com",
            company=str(acme.pk),
            owner=me,
            lifecycle_stage="customer",
            source="referral",
            tags=["vip"],
            address={"city": "London", "country": "GB"},
        ),
        "alan": person(
            actor,
            first_name="Alan",
            last_name="Turing",
            email="alan@example.com",
            lifecycle_stage="lead",
            source="website",
            tags=["math"],
            address={"city": "Manchester", "country": "GB"},
        ),
        "grace": person(
            actor,
            first_name="Grace",
            last_name="Hopper",
            email="grace@example.com",
            owner=me,
            lifecycle_stage="opportunity",
            address={"city": "Arlington", "country": "US"},
        ),
    }
    return {"acme": acme, **people}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=lovel", {"Ada Lovelace"}),
        ("email=ALAN@example.com", {"Alan Turing"}),
        ("owner=me", {"Ada Lovelace", "Grace Hopper"}),
        ("owner=none", {"Alan Turing"}),
        ("tag=VIP", {"Ada Lovelace"}),
        ("lifecycle_stage=opportunity", {"Grace Hopper"}),
        ("source=website", {"Alan Turing"}),
        ("city=london", {"Ada Lovelace"}),
        ("country=GB", {"Ada Lovelace", "Alan Turing"}),
        ("country=GB&owner=me", {"Ada Lovelace"}),
        ("first_name=grace", {"Grace Hopper"}),
        ("last_name=turing", {"Alan Turing"}),
    ],
)
def test_people_filters(browser, crowd, query, expected):
    r = browser.get(f"/people/?{query}")
    assert r.status_code == 200
    assert set(rows(r)) == expected


def test_people_filter_by_company_names_it(browser, crowd):
    r = browser.get(f"/people/?company={crowd['acme'].pk}")
    assert rows(r) == ["Ada Lovelace"]
    assert 'value="Acme"' in html(r)  # the company box shows the name, not the id
    # Typing the name without picking a suggestion (no JavaScript) finds it too.
    r = browser.get("/people/?company_name=acme")
    assert rows(r) == ["Ada Lovelace"]
    # Emptying the box drops the company filter.
    r = browser.get(f"/people/?company={crowd['acme'].pk}&company_name=")
    assert len(rows(r)) == 3


def test_people_filter_by_dates(browser, crowd):
    Person.objects.filter(pk=crowd["alan"].pk).update(
        created_at=timezone.now() - dt.timedelta(days=30),
        updated_at=timezone.now() - dt.timedelta(days=20),
    )
    today = timezone.localdate().isoformat()
    ten_days_ago = (timezone.localdate() - dt.timedelta(days=10)).isoformat()
    assert rows(browser.get(f"/people/?created_before={ten_days_ago}")) == ["Alan Turing"]
    assert "Alan Turing" not in rows(browser.get(f"/people/?updated_after={ten_days_ago}"))
    assert len(rows(browser.get(f"/people/?created_after={ten_days_ago}"))) == 2
    assert rows(browser.get(f"/people/?updated_before={today}")) == ["Alan Turing"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("owner=somebody", "Owner:"),
        ("created_after=yesterday-ish", "Created after:"),
        ("lifecycle_stage=royalty", "Lifecycle stage:"),
        ("company=not-an-id", "Company:"),
        ("sort=-shoe_size", "Sort by one of"),
        ("cursor=garbage", "Invalid cursor"),
        ("company_name=Nowhere%20Inc", "There is no company called"),
    ],
)
def test_bad_filter_input_is_explained_not_a_500(browser, crowd, query, message):
    r = browser.get(f"/people/?{query}")
    assert r.status_code == 200
    page = html(r)
    assert "These filters could not be applied" in page
    assert message in page
    assert rows(r) == []


def test_people_sort_by_column(browser, crowd):
    r = browser.get("/people/?sort=last_name")
    assert rows(r) == ["Grace Hopper", "Ada Lovelace", "Alan Turing"]
    page = html(r)
    assert 'aria-sort="ascending"' in page
    assert 'href="?sort=-last_name"' in page  # clicking again flips it
    assert rows(browser.get("/people/?sort=-last_name")) == [
        "Alan Turing",
        "Ada Lovelace",
        "Grace Hopper",
    ]
    assert rows(browser.get("/people/?sort=first_name"))[0] == "Ada Lovelace"
    assert rows(browser.get("/people/?sort=email"))[-1] == "Grace Hopper"


def test_sort_links_keep_the_filters(browser, crowd):
    page = html(browser.get("/people/?country=GB&cursor="))
    assert 'href="?country=GB&amp;sort=last_name"' in page


def test_people_keyset_pagination(browser, actor):
    for i in range(53):
        person(actor, first_name=f"P{i:02d}", last_name="Sample")
    r = browser.get("/people/?sort=first_name")
    first = rows(r)
    assert len(first) == 50 and first[0] == "P00 Sample"
    page = html(r)
    assert "Next page" in page and "First page" not in page
    next_href = re.search(r'href="(\?[^"]*cursor=[^"]+)" hx-get="[^"]*" rel="next"', page)[1]
    r = browser.get("/people/" + next_href.replace("&amp;", "&"))
    second = rows(r)
    assert second == ["P50 Sample", "P51 Sample", "P52 Sample"]
    assert "First page" in html(r) and "Next page" not in html(r)


def test_htmx_asks_for_the_results_only(browser, crowd):
    r = browser.get("/people/?q=turing", **htmx("list-results"))
    page = html(r)
    # Only the results (and their bulk bar, which carries the filters it acts on): never the
    # filter form or the page around it.
    assert "<html" not in page and 'id="list-filters"' not in page
    assert page.lstrip().startswith('<div id="list-results"')
    assert rows(r) == ["Alan Turing"]
    assert 'id="list-sort" class="field" hx-swap-oob="true"' in page
    assert "HX-Request" in r["Vary"]
    # A history restore (back button after a cache miss) must get the whole page.
    r = browser.get("/people/?q=turing", HTTP_HX_HISTORY_RESTORE_REQUEST="true", **htmx(""))
    assert "<html" in html(r)


def test_filter_form_works_without_javascript(browser, crowd):
    page = html(browser.get("/people/?owner=me&city=london"))
    assert '<form id="list-filters" class="filters" method="get" action="/people/"' in page
    assert '<option value="me" selected>Me</option>' in page
    assert 'value="london"' in page
    assert '<details class="more-filters" open>' in page  # city lives under "More filters"


# --- companies list -------------------------------------------------------------------------


def test_company_list_filters_and_sorts(browser, actor):
    CompanyFactory(
        actor=actor,
        name="Initech",
        domain="initech.example",
        industry="Software",
        employees=40,
        tags=["saas"],
    )
    CompanyFactory(
        actor=actor,
        name="Globex",
        domain="globex.example",
        industry="Energy",
        employees=5000,
        address={"city": "Springfield", "country": "US"},
    )
    r = browser.get("/companies/?sort=name")
    assert rows(r) == ["Globex", "Initech"]
    page = html(r)
    for text in ("globex.example", "Energy", "5,000", "saas"):
        assert text in page
    assert rows(browser.get("/companies/?industry=software")) == ["Initech"]
    assert rows(browser.get("/companies/?employees_min=100")) == ["Globex"]
    assert rows(browser.get("/companies/?domain=https://www.initech.example/")) == ["Initech"]
    assert rows(browser.get("/companies/?tag=saas")) == ["Initech"]
    assert rows(browser.get("/companies/?country=US")) == ["Globex"]
    assert rows(browser.get("/companies/?q=glob")) == ["Globex"]
    r = browser.get("/companies/?employees_min=lots")
    assert r.status_code == 200 and "Employees from:" in html(r)


# --- create ---------------------------------------------------------------------------------


PERSON_POST = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ADA@Example.com",
    "phone": "+44 20 7946 0958",
    "title": "Analyst",
    "lifecycle_stage": "customer",
    "source": "referral",
    "tags": "vip, math, ",
    "street": "12 St James's Square",
    "city": "London",
    "region": "",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}


def test_create_person(browser, actor):
    acme = CompanyFactory(actor=actor, name="Acme")
    r = browser.get("/people/new/")
    assert r.status_code == 200
    assert '<option value="lead" selected>Lead</option>' in html(r)
    data = {
        **PERSON_POST,
        "company": str(acme.pk),
        "company_name": "Acme",
        "owner": str(actor.user.pk),
    }
    r = browser.post("/people/new/", data)
    created = Person.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/people/{created.pk}/"
    assert created.email == "ada@example.com"
    assert created.phone == "+442079460958"
    assert created.company_id == acme.pk
    assert created.owner_id == actor.user.pk
    assert created.lifecycle_stage == "customer"
    assert created.address == {
        "street": "12 St James's Square",
        "city": "London",
        "region": "",
        "postal_code": "SW1Y 4JH",
        "country": "GB",
    }
    assert sorted(t.name for t in created.tags.all()) == ["math", "vip"]
    page = html(browser.get(r["Location"]))
    assert "Added Ada Lovelace." in page
    assert "London" in page and "United Kingdom" in page


def test_create_person_with_company_typed_by_name(browser, actor):
    acme = CompanyFactory(actor=actor, name="Acme Corp")
    r = browser.post("/people/new/", {"first_name": "Ann", "company_name": "acme corp"})
    assert r.status_code == 302
    assert Person.objects.get().company_id == acme.pk


def test_typed_company_name_wins_over_a_stale_hidden_id(browser, actor):
    """Without JavaScript the hidden id keeps the old pick; a different typed name wins."""
    acme = CompanyFactory(actor=actor, name="Acme")
    globex = CompanyFactory(actor=actor, name="Globex")
    ada = person(actor, first_name="Ada", company=str(acme.pk))
    r = browser.post(
        f"/people/{ada.pk}/edit/",
        {
            "first_name": "Ada",
            "email": ada.email,
            "company": str(acme.pk),
            "company_name": "Globex",
            "lifecycle_stage": "lead",
            "version": "1",
        },
    )
    assert r.status_code == 302
    ada.refresh_from_db()
    assert ada.company_id == globex.pk
    r = browser.get(f"/people/?company={acme.pk}&company_name=globex")
    assert rows(r) == ["Ada"]


def test_ambiguous_company_name_is_refused(browser, actor):
    CompanyFactory(actor=actor, name="Twin", domain="twin-one.example")
    CompanyFactory(actor=actor, name="Twin", domain="twin-two.example")
    r = browser.post("/people/new/", {"first_name": "Ann", "company_name": "Twin"})
    assert r.status_code == 200
    assert "Several companies are called" in html(r)
    assert not Person.objects.exists()


def test_invalid_person_shows_errors_on_fields_and_saves_nothing(browser):
    r = browser.post(
        "/people/new/",
        {**PERSON_POST, "email": "not-an-email", "country": "XX", "phone": "12"},
    )
    assert r.status_code == 200
    page = html(r)
    assert "Nothing was saved." in page
    assert re.search(r'id="id_email_error">Not a valid email address', page)
    assert re.search(r'id="id_country_error">Use an ISO 3166-1', page)
    assert re.search(r'id="id_phone_error">Not a', page)
    assert re.search(
        r'<input type="email" name="email" value="not-an-email"[^>]*aria-invalid="true"', page
    )
    assert 'value="Lovelace"' in page  # what the user typed is kept
    assert not Person.objects.exists()


def test_person_without_any_name_is_refused(browser):
    r = browser.post("/people/new/", {"title": "Ghost"})
    assert r.status_code == 200
    assert 'id="id_first_name_error"' in html(r)
    assert not Person.objects.exists()


def test_duplicate_email_links_to_the_existing_person(browser, actor):
    existing = person(actor, first_name="Ada", email="ada@example.com")
    r = browser.post("/people/new/", {"first_name": "Other", "email": "Ada@Example.com"})
    assert r.status_code == 200
    page = html(r)
    assert "already exists" in page
    assert f'href="/people/{existing.pk}/">Open the existing record' in page
    assert Person.objects.count() == 1


def test_add_person_from_a_company_page_is_prelinked(browser, actor):
    acme = CompanyFactory(actor=actor, name="Acme")
    page = html(browser.get(f"/companies/{acme.pk}/"))
    assert f'href="/people/new/?company={acme.pk}"' in page
    page = html(browser.get(f"/people/new/?company={acme.pk}"))
    assert 'value="Acme"' in page and f'value="{acme.pk}"' in page
    assert f'href="/companies/{acme.pk}/"' in page  # Cancel goes back to the company


def test_create_company(browser, actor):
    r = browser.post(
        "/companies/new/",
        {
            "name": "Initech",
            "domain": "https://www.Initech.example/about",
            "industry": "Software",
            "employees": "120",
            "annual_revenue_amount": "1250000.50",
            "annual_revenue_currency": "eur",
            "phone": "+1 415 555 0100",
            "owner": str(actor.user.pk),
            "tags": "saas",
            "city": "Austin",
            "country": "US",
        },
    )
    company = Company.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/companies/{company.pk}/"
    assert company.domain == "initech.example"
    assert company.employees == 120
    assert str(company.annual_revenue) == "1250000.50"
    assert company.annual_revenue_currency == "EUR"
    page = html(browser.get(r["Location"]))
    assert "€1,250,000.50" in page
    assert "Added Initech." in page


def test_invalid_company_shows_errors(browser, actor):
    existing = CompanyFactory(actor=actor, name="Globex", domain="globex.example")
    r = browser.post(
        "/companies/new/",
        {
            "name": "",
            "employees": "many",
            "annual_revenue_amount": "12.345",
            "annual_revenue_currency": "ZZZ",
        },
    )
    page = html(r)
    assert 'id="id_name_error">This field is required.' in page
    assert 'id="id_employees_error">Must be a whole number.' in page
    assert 'id="id_annual_revenue_amount_error"' in page
    assert 'id="id_annual_revenue_currency_error"' in page
    r = browser.post("/companies/new/", {"name": "Globex 2", "domain": "GLOBEX.example"})
    assert f'href="/companies/{existing.pk}/">Open the existing record' in html(r)
    assert Company.objects.count() == 1


# --- edit -----------------------------------------------------------------------------------


def test_edit_person(browser, actor):
    acme = CompanyFactory(actor=actor, name="Acme")
    ada = person(
        actor,
        first_name="Ada",
        last_name="Lovelace",
        company=str(acme.pk),
        tags=["vip"],
        address={"city": "London"},
    )
    r = browser.get(f"/people/{ada.pk}/edit/")
    page = html(r)
    assert 'value="Ada"' in page and 'value="Acme"' in page and 'value="vip"' in page
    form = {
        "first_name": "Augusta Ada",
        "last_name": "Lovelace",
        "email": ada.email,
        "phone": "",
        "title": "",
        "company": str(acme.pk),
        "company_name": "Acme",
        "owner": "",
        "lifecycle_stage": "lead",
        "source": "",
        "tags": "vip, poet",
        "street": "",
        "city": "London",
        "region": "",
        "postal_code": "",
        "country": "",
        "version": str(ada.version),
    }
    r = browser.post(f"/people/{ada.pk}/edit/", form)
    assert r.status_code == 302
    ada.refresh_from_db()
    assert ada.first_name == "Augusta Ada"
    assert ada.company_id == acme.pk and ada.city == "London"
    assert sorted(t.name for t in ada.tags.all()) == ["poet", "vip"]
    assert ada.version == 2
    # Clearing the company box unlinks the company.
    form.update(first_name="Ada", company_name="", version="2")
    browser.post(f"/people/{ada.pk}/edit/", form)
    ada.refresh_from_db()
    assert ada.company_id is None


def test_edit_keeps_an_unchanged_link_to_a_deleted_company(browser, actor):
    gone = CompanyFactory(actor=actor, name="Gone Ltd")
    ada = person(actor, first_name="Ada", company=str(gone.pk))
    services.company_delete(actor=actor, company_id=gone.pk)
    r = browser.post(
        f"/people/{ada.pk}/edit/",
        {
            "first_name": "Ada L",
            "email": ada.email,
            "company": str(gone.pk),
            "company_name": "Gone Ltd",
            "lifecycle_stage": "lead",
            "version": "1",
        },
    )
    assert r.status_code == 302  # only the changed fields are sent to the service
    ada.refresh_from_db()
    assert ada.first_name == "Ada L"


def test_edit_after_someone_else_saved_asks_to_reload(browser, actor):
    ada = person(actor, first_name="Ada")
    services.person_update(actor=actor, person_id=ada.pk, data={"title": "Countess"})
    r = browser.post(
        f"/people/{ada.pk}/edit/",
        {"first_name": "Augusta", "email": ada.email, "version": "1"},
    )
    assert r.status_code == 200
    assert "Someone else changed this record" in html(r)
    assert f'<a href="/people/{ada.pk}/edit/">Reload the latest version</a>' in html(r)
    ada.refresh_from_db()
    assert ada.first_name == "Ada"


def test_edit_company(browser, actor):
    globex = CompanyFactory(
        actor=actor,
        name="Globex",
        domain="globex.example",
        annual_revenue={"amount": "10.00", "currency": "USD"},
    )
    r = browser.get(f"/companies/{globex.pk}/edit/")
    assert 'value="10.00"' in html(r)
    data = {**company_form_data(globex), "employees": "77", "annual_revenue_amount": ""}
    r = browser.post(f"/companies/{globex.pk}/edit/", data)
    assert r.status_code == 302
    globex.refresh_from_db()
    assert globex.employees == 77
    assert globex.annual_revenue is None and globex.annual_revenue_currency == ""


def company_form_data(company) -> dict:
    from rapport.contacts.forms import CompanyForm

    return {k: ("" if v is None else str(v)) for k, v in CompanyForm.initial_for(company).items()}


# --- delete and roles -----------------------------------------------------------------------


def test_delete_person(browser, actor):
    ada = person(actor, first_name="Ada", last_name="Lovelace")
    page = html(browser.get(f"/people/{ada.pk}/"))
    assert f'action="/people/{ada.pk}/delete/" data-confirm="Delete Ada Lovelace?' in page
    assert browser.get(f"/people/{ada.pk}/delete/").status_code == 405
    r = browser.post(f"/people/{ada.pk}/delete/", {"version": "1"})
    assert r.status_code == 302 and r["Location"] == "/people/"
    assert "Deleted Ada Lovelace." in html(browser.get("/people/"))
    assert browser.get(f"/people/{ada.pk}/").status_code == 404


def test_delete_company_keeps_its_people(browser, actor):
    acme = CompanyFactory(actor=actor, name="Acme")
    ada = person(actor, first_name="Ada", company=str(acme.pk))
    r = browser.post(f"/companies/{acme.pk}/delete/")
    assert r.status_code == 302 and r["Location"] == "/companies/"
    assert browser.get(f"/companies/{acme.pk}/").status_code == 404
    page = html(browser.get(f"/people/{ada.pk}/"))
    assert f"/companies/{acme.pk}/" not in page  # no link to a deleted company


def test_delete_of_a_changed_record_asks_to_check(browser, actor):
    ada = person(actor, first_name="Ada")
    services.person_update(actor=actor, person_id=ada.pk, data={"title": "Countess"})
    r = browser.post(f"/people/{ada.pk}/delete/", {"version": "1"})
    assert r.status_code == 302 and r["Location"] == f"/people/{ada.pk}/"
    assert "was changed since you opened the page" in html(browser.get(r["Location"]))
    ada.refresh_from_db()
    assert ada.deleted_at is None


@pytest.fixture
def reader(browser):
    client, _ = make_browser(Role.READ_ONLY, workspace=browser.membership.workspace)
    return client


def test_read_only_role_sees_no_write_buttons_and_cannot_write(reader, actor):
    acme = CompanyFactory(actor=actor, name="Acme")
    ada = person(actor, first_name="Ada", company=str(acme.pk))
    for path in (f"/people/{ada.pk}/", f"/companies/{acme.pk}/", "/people/", "/companies/", "/"):
        page = html(reader.get(path))
        assert "/edit/" not in page and "/delete/" not in page and "/new/" not in page, path
    for path in ("/people/new/", f"/people/{ada.pk}/edit/", "/companies/new/"):
        r = reader.get(path)
        assert r.status_code == 403 and "read-only" in html(r), path
    assert reader.post("/people/new/", {"first_name": "Eve"}).status_code == 403
    assert reader.post(f"/people/{ada.pk}/edit/", {"first_name": "Eve"}).status_code == 403
    r = reader.post(f"/people/{ada.pk}/delete/")
    assert r.status_code == 403
    assert reader.post(f"/companies/{acme.pk}/delete/").status_code == 403
    ada.refresh_from_db()
    acme.refresh_from_db()
    assert ada.first_name == "Ada" and ada.deleted_at is None and acme.deleted_at is None
    assert Person.objects.count() == 1


def test_member_cannot_delete_someone_elses_record(browser, actor):
    member, _ = make_browser(Role.MEMBER, workspace=browser.membership.workspace)
    ada = person(actor, first_name="Ada")
    page = html(member.get(f"/people/{ada.pk}/"))
    assert f"/people/{ada.pk}/edit/" in page  # members edit
    assert f"/people/{ada.pk}/delete/" not in page  # but delete only their own
    assert member.post(f"/people/{ada.pk}/delete/").status_code == 403


# --- record pages and history ---------------------------------------------------------------


def test_person_page_shows_the_key_facts(browser, actor):
    acme = CompanyFactory(actor=actor, name="Acme")
    ada = person(
        actor,
        first_name="Ada",
        last_name="Lovelace",
        title="Analyst",
        company=str(acme.pk),
        owner=str(actor.user.pk),
        source="referral",
        tags=["vip"],
        address={
            "street": "1 Main St",
            "city": "Springfield",
            "postal_code": "12345",
            "country": "US",
        },
    )
    page = html(browser.get(f"/people/{ada.pk}/"))
    assert "<h1>Ada Lovelace</h1>" in page
    assert f'<a href="/companies/{acme.pk}/">Acme</a>' in page
    for text in (
        "Analyst",
        "referral",
        "vip",
        "1 Main St",
        "12345 Springfield",
        "United States",
        actor.user.display_name,
        "Created",
        "Last updated",
    ):
        assert text in page, text
    assert f'hx-get="/people/{ada.pk}/history/"' in page


def test_company_page_lists_its_people(browser, actor):
    acme = CompanyFactory(actor=actor, name="Acme")
    for name in ("Bob", "Ann"):
        person(actor, first_name=name, last_name="Smith", company=str(acme.pk))
    person(actor, first_name="Elsewhere")
    page = html(browser.get(f"/companies/{acme.pk}/"))
    assert page.index(">Ann Smith<") < page.index(">Bob Smith<")
    assert "Elsewhere" not in page
    assert f'href="/people/?company={acme.pk}"' in page
    assert '<small class="muted">2</small>' in page


def test_history_tab_shows_every_change(browser, actor):
    acme = CompanyFactory(actor=actor, name="Acme")
    ada = person(actor, first_name="Ada", title="Analyst")
    services.person_update(
        actor=actor,
        person_id=ada.pk,
        data={
            "title": "Countess",
            "company": str(acme.pk),
            "address": {"city": "London"},
            "lifecycle_stage": "customer",
        },
    )
    r = browser.get(f"/people/{ada.pk}/history/")
    assert r.status_code == 200
    page = html(r)
    assert "<html" in page  # without htmx, the tab is a full page
    assert "Person changed" in page and "Person created" in page
    assert page.index("Person changed") < page.index("Person created")  # newest first
    changed = page.split("Person changed", 1)[1].split("Person created", 1)[0]
    assert re.search(
        r"Job title</th><td class=\"before\">Analyst</td><td class=\"after\">Countess", changed
    )
    assert re.search(r"Company</th><td class=\"before\">—</td><td class=\"after\">Acme", changed)
    assert re.search(r"City</th><td class=\"before\">—</td><td class=\"after\">London", changed)
    assert re.search(
        r"Lifecycle stage</th><td class=\"before\">Lead</td><td class=\"after\">Customer", changed
    )
    assert actor.user.display_name in changed
    # htmx asks for the tab strip and panel only.
    r = browser.get(f"/people/{ada.pk}/history/", **htmx("record-tabs"))
    page = html(r)
    assert page.lstrip().startswith('<section id="record-tabs"') and "<html" not in page
    assert "Person changed" in page
    r = browser.get(f"/people/{ada.pk}/", **htmx("record-tabs"))
    assert "Lifecycle stage" in html(r) and "<h1>" not in html(r)


def test_history_pages_older_changes(browser, actor):
    ada = person(actor, first_name="Ada")
    for i in range(24):
        services.person_update(actor=actor, person_id=ada.pk, data={"title": f"T{i}"})
    page = html(browser.get(f"/people/{ada.pk}/history/"))
    assert page.count('class="history-entry"') == 20
    older = re.search(r'<li id="history-more"[^>]*>\s*<a href="([^"]+)"', page)[1]
    r = browser.get(older.replace("&amp;", "&"), **htmx("history-more"))
    page = html(r)
    assert page.count('class="history-entry"') == 5
    assert "Person created" in page and 'id="history-more"' not in page
    assert browser.get(f"/people/{ada.pk}/history/?cursor=nonsense").status_code == 200


def test_company_history(browser, actor):
    globex = CompanyFactory(actor=actor, name="Globex")
    services.company_update(
        actor=actor,
        company_id=globex.pk,
        data={"annual_revenue": {"amount": "5.00", "currency": "EUR"}},
    )
    page = html(browser.get(f"/companies/{globex.pk}/history/"))
    assert "Company changed" in page
    assert re.search(
        r"Annual revenue</th><td class=\"before\">—</td><td class=\"after\">5.00", page
    )


# --- safety and cost ------------------------------------------------------------------------


def test_markup_typed_into_fields_is_shown_as_text(browser, actor):
    evil = "<script>alert(1)</script>"
    acme = CompanyFactory(actor=actor, name=evil, industry='"><img src=x onerror=alert(2)>')
    bad = person(
        actor,
        first_name=evil,
        last_name="<b>bold</b>",
        company=str(acme.pk),
        title="<i>x</i>",
        tags=["<svg onload=alert(3)>"],
    )
    services.person_update(actor=actor, person_id=bad.pk, data={"source": evil})
    for path in (
        f"/people/{bad.pk}/",
        f"/people/{bad.pk}/edit/",
        f"/people/{bad.pk}/history/",
        "/people/",
        f"/companies/{acme.pk}/",
        "/companies/",
        "/",
        "/companies/autocomplete/?q=script",
    ):
        page = html(browser.get(path))
        assert "<script>alert(1)" not in page, path
        assert "<b>bold</b>" not in page and "<svg onload" not in page, path
        assert "<img src=x" not in page, path
    page = html(browser.get(f"/people/{bad.pk}/"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;bold&lt;/b&gt;" in page
    assert 'data-confirm="Delete &lt;script&gt;alert(1)&lt;/script&gt;' in page


def test_pages_carry_no_inline_script_or_style(browser, actor):
    acme = CompanyFactory(actor=actor, name="Acme")
    ada = person(actor, first_name="Ada", company=str(acme.pk))
    for path in (
        "/",
        "/people/",
        "/people/new/",
        f"/people/{ada.pk}/",
        f"/people/{ada.pk}/history/",
        f"/companies/{acme.pk}/",
        "/companies/new/",
    ):
        page = html(browser.get(path))
        assert " style=" not in page, path
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), path
        assert not re.search(r"\son[a-z]+=", page), path


def _queries(client, path: str) -> int:
    client.get(path)  # the first request of a session also stores the workspace in it
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx)


def test_people_list_queries_do_not_grow_with_rows(browser, actor, django_assert_num_queries):
    acme = CompanyFactory(actor=actor, name="Acme")
    for i in range(3):
        person(actor, company=str(acme.pk), owner=str(actor.user.pk), tags=[f"t{i}", "all"])
    path = f"/people/?owner=me&company={acme.pk}"
    few = _queries(browser, path)
    for i in range(27):
        other = CompanyFactory(actor=actor)
        person(actor, company=str(other.pk), owner=str(actor.user.pk), tags=[f"u{i}"])
    with django_assert_num_queries(few):
        browser.get(path)
    with django_assert_num_queries(_queries(browser, "/people/")):
        r = browser.get("/people/")
    assert len(rows(r)) == 30


def test_company_list_queries_do_not_grow_with_rows(browser, actor, django_assert_num_queries):
    for i in range(3):
        CompanyFactory(actor=actor, owner=str(actor.user.pk), tags=[f"t{i}"])
    few = _queries(browser, "/companies/")
    for i in range(27):
        CompanyFactory(actor=actor, owner=str(actor.user.pk), tags=[f"u{i}", "x"])
    with django_assert_num_queries(few):
        r = browser.get("/companies/")
    assert len(rows(r)) == 30


def test_record_page_queries_do_not_grow(browser, actor, django_assert_num_queries):
    acme = CompanyFactory(actor=actor, name="Acme", tags=["a"])
    for _ in range(3):
        person(actor, company=str(acme.pk), tags=["x"])
    few, few_history = (
        _queries(browser, f"/companies/{acme.pk}/"),
        _queries(browser, f"/companies/{acme.pk}/history/"),
    )
    for i in range(12):
        person(actor, company=str(acme.pk), tags=[f"y{i}"])
        services.company_update(actor=actor, company_id=acme.pk, data={"industry": f"I{i}"})
    with django_assert_num_queries(few):
        browser.get(f"/companies/{acme.pk}/")
    with django_assert_num_queries(few_history):
        browser.get(f"/companies/{acme.pk}/history/")


def test_company_autocomplete(browser, actor):
    CompanyFactory(actor=actor, name="Acme Anvils", domain="anvils.example")
    CompanyFactory(actor=actor, name="Zenith")
    page = html(browser.get("/companies/autocomplete/?company_name=acme"))
    assert 'data-label="Acme Anvils"' in page and "anvils.example" in page
    assert "Zenith" not in page
    assert "No company matches" in html(browser.get("/companies/autocomplete/?q=qqqqq"))
    assert html(browser.get("/companies/autocomplete/?q=")).strip() == ""
