"""Settings → Custom fields, and custom fields on the people and company pages."""

from __future__ import annotations

import re

import pytest

from rapport.audit.models import AuditEntry
from rapport.contacts.models import Person
from rapport.core.actors import Role
from rapport.customization import services
from rapport.customization.models import CustomField
from rapport.testing.clients import make_browser
from rapport.testing.factories import PersonFactory, actor_for
from rapport.testing.suites import count_queries

pytestmark = pytest.mark.django_db

EVIL = '<script>alert("x")</script>'


@pytest.fixture
def actor(browser):
    return actor_for(browser.membership)


def define(actor, key, type_, object_type="contacts.person", **extra):
    data = {"object_type": object_type, "key": key, "label": key.title(), "type": type_, **extra}
    return services.field_create(actor=actor, data=data)


def html(response) -> str:
    return response.content.decode()


def test_settings_empty_state_and_tab(browser):
    r = browser.get("/settings/custom-fields/")
    assert r.status_code == 200
    page = html(r)
    assert "No custom fields yet" in page
    assert 'aria-current="page">Custom fields' in page
    assert "Add a field for people" in page


def test_members_see_fields_read_only(actor):
    define(actor, "tier", "text")
    client, _ = make_browser(Role.MEMBER, workspace=actor.workspace)
    r = client.get("/settings/custom-fields/")
    assert r.status_code == 200
    assert "Tier" in html(r) and "only owners and admins" in html(r)
    assert "/edit/" not in html(r)
    field = CustomField.objects.get(key="tier")
    for path in (
        "/settings/custom-fields/new/",
        f"/settings/custom-fields/{field.pk}/edit/",
        f"/settings/custom-fields/{field.pk}/delete/",
    ):
        assert client.get(path).status_code == 403
    r = client.post(f"/settings/custom-fields/{field.pk}/delete/", {"version": "1"})
    assert r.status_code == 403
    assert CustomField.objects.filter(pk=field.pk, deleted_at__isnull=True).exists()


def test_define_edit_reorder_and_delete_through_the_pages(browser, actor):
    r = browser.post(
        "/settings/custom-fields/new/",
        {
            "object_type": "contacts.person",
            "label": "Customer tier",
            "type": "select",
            "options": "Gold\nsilver | Silver\n",
            "default": "Silver",
            "show_in_list": "on",
        },
    )
    assert r.status_code == 302, html(r)
    field = CustomField.objects.get(key="customer_tier")
    assert field.options == [
        {"value": "gold", "label": "Gold"},
        {"value": "silver", "label": "Silver"},
    ]
    assert field.default == "silver"
    assert field.show_in_list
    second = define(actor, "seats", "number")

    r = browser.get(f"/settings/custom-fields/{field.pk}/edit/")
    assert "silver | Silver" not in html(r)  # the value is the label's slug: shown as a label
    r = browser.post(
        f"/settings/custom-fields/{field.pk}/edit/",
        {"label": "Tier", "options": "Gold\nSilver\nBronze", "version": "1"},
    )
    assert r.status_code == 302, html(r)
    field.refresh_from_db()
    assert field.label == "Tier" and len(field.options) == 3 and field.key == "customer_tier"

    browser.post(f"/settings/custom-fields/{second.pk}/move/", {"direction": "up"})
    order = list(
        CustomField.objects.filter(workspace=actor.workspace)
        .order_by("position")
        .values_list("key", flat=True)
    )
    assert order == ["seats", "customer_tier"]

    PersonFactory(actor=actor, email="a@example.com", custom={"customer_tier": "gold"})
    r = browser.get(f"/settings/custom-fields/{field.pk}/delete/")
    assert "1 people record holds a value" in html(r)
    field.refresh_from_db()
    r = browser.post(f"/settings/custom-fields/{field.pk}/delete/", {"version": str(field.version)})
    assert r.status_code == 302
    assert Person.objects.get(email="a@example.com").custom == {}
    assert AuditEntry.objects.filter(
        action="custom_field.deleted", object_id=str(field.pk)
    ).exists()


def test_invalid_definitions_show_errors_beside_inputs(browser):
    r = browser.post(
        "/settings/custom-fields/new/",
        {"object_type": "contacts.person", "label": "Code", "type": "text", "regex": "(a+)+"},
    )
    assert r.status_code == 422
    assert re.search(r'id="id_regex_error">[^<]*exponential', html(r))
    r = browser.post(
        "/settings/custom-fields/new/",
        {"object_type": "contacts.person", "label": "Tier", "type": "select", "options": ""},
    )
    assert "Give at least one option" in html(r)


def test_hostile_labels_and_options_are_escaped(browser, actor):
    define(
        actor,
        "evil",
        "select",
        options=[{"value": "x", "label": EVIL}],
        help_text=EVIL,
        show_in_list=True,
    )
    CustomField.objects.filter(key="evil").update(label=EVIL)
    PersonFactory(actor=actor, email="e@example.com", custom={"evil": "x"})
    person = Person.objects.get(email="e@example.com")
    for path in (
        "/settings/custom-fields/",
        "/people/new/",
        f"/people/{person.pk}/",
        f"/people/{person.pk}/edit/",
        "/people/",
    ):
        page = html(browser.get(path))
        assert EVIL not in page, path
        assert "&lt;script&gt;" in page, path


def test_person_form_renders_custom_fields_and_saves_them(browser, actor):
    define(actor, "tier", "select", options=[{"label": "Gold"}, {"label": "Silver"}], required=True)
    define(actor, "seats", "number", default=5)
    define(actor, "renewal", "date")
    define(actor, "interests", "multi_select", options=[{"label": "Golf"}, {"label": "Tennis"}])
    define(actor, "vip", "boolean")
    define(actor, "budget", "currency")
    page = html(browser.get("/people/new/"))
    assert 'name="custom.tier"' in page and "Custom fields" in page
    assert 'name="custom.seats" value="5"' in page

    # Errors come back beside the inputs, nothing is saved.
    r = browser.post(
        "/people/new/",
        {"first_name": "Ada", "custom.seats": "many", "custom.renewal": "31/12/2024"},
    )
    assert r.status_code == 200
    page = html(r)
    assert re.search(r'id="id_custom.seats_error">[^<]*whole number', page)
    assert not Person.objects.filter(first_name="Ada").exists()
    r = browser.post("/people/new/", {"first_name": "Ada", "custom.seats": "3"})
    assert re.search(r'id="id_custom.tier_error">[^<]*required', html(r))

    r = browser.post(
        "/people/new/",
        {
            "first_name": "Ada",
            "custom.tier": "gold",
            "custom.renewal": "31/12/2024",
            "custom.interests": ["golf", "tennis"],
            "custom.vip": "yes",
            "custom.budget": "1,250.50 EUR",
        },
    )
    assert r.status_code == 302, html(r)
    ada = Person.objects.get(first_name="Ada")
    assert ada.custom == {
        "tier": "gold",
        "seats": 5,
        "renewal": "2024-12-31",
        "interests": ["golf", "tennis"],
        "vip": True,
        "budget": {"amount": "1250.50", "currency": "EUR"},
    }
    page = html(browser.get(f"/people/{ada.pk}/"))
    assert "Custom fields" in page and "Gold" in page and "Golf, Tennis" in page
    assert "€1,250.50" in page

    # An edit sends only what changed, and an emptied input removes the value.
    r = browser.post(
        f"/people/{ada.pk}/edit/",
        {
            "first_name": "Ada",
            "custom.tier": "silver",
            "custom.seats": "5",
            "custom.renewal": "2024-12-31",
            "custom.interests": ["golf", "tennis"],
            "custom.vip": "",
            "custom.budget": "1250.50 EUR",
            "version": str(ada.version),
        },
    )
    assert r.status_code == 302, html(r)
    ada.refresh_from_db()
    assert ada.custom["tier"] == "silver" and "vip" not in ada.custom
    assert ada.custom["budget"] == {"amount": "1250.50", "currency": "EUR"}


def test_list_columns_filters_and_sort(browser, actor):
    define(actor, "seats", "number", show_in_list=True)
    define(actor, "tier", "select", options=[{"label": "Gold"}, {"label": "Silver"}])
    for n in range(7):
        PersonFactory(
            actor=actor,
            first_name=f"N{n}",
            email=f"n{n}@example.com",
            custom={"seats": n * 10, "tier": "gold" if n % 2 else "silver"},
        )
    r = browser.get("/people/", {"sort": "-custom.seats"})
    page = html(r)
    assert ">Seats<" in page
    names = re.findall(r'<a href="/people/[0-9a-f-]+/">(N\d)[^<]*</a>', page)
    assert names == [f"N{n}" for n in range(6, -1, -1)]
    assert 'name="custom.seats__gte"' in page and 'name="custom.tier"' in page
    r = browser.get("/people/", {"custom.tier": "gold", "custom.seats__gte": "20"})
    names = re.findall(r'<a href="/people/[0-9a-f-]+/">(N\d)[^<]*</a>', html(r))
    assert sorted(names) == ["N3", "N5"]
    r = browser.get("/people/", {"custom.seats__gte": "lots"})
    assert "could not be applied" in html(r) and "Seats from" in html(r)


def test_ui_list_pages_and_query_count(browser, actor):
    define(actor, "seats", "number", show_in_list=True)
    define(actor, "owner2", "user", show_in_list=True)
    for n in range(3):
        PersonFactory(
            actor=actor,
            email=f"q{n}@example.com",
            custom={"seats": n, "owner2": str(actor.user_id)},
        )
    browser.get("/people/", {"sort": "custom.seats"})
    few, _r, _ = count_queries(lambda: browser.get("/people/", {"sort": "custom.seats"}))
    for n in range(3, 60):
        PersonFactory(actor=actor, email=f"q{n}@example.com", custom={"seats": n % 7})
    many, _, sql = count_queries(lambda: browser.get("/people/", {"sort": "custom.seats"}))
    assert many == few, "\n".join(sql)
    # Keyset paging through the UI visits every person once.
    seen: list[str] = []
    url, params = "/people/", {"sort": "custom.seats"}
    for _ in range(5):
        page = html(browser.get(url, params))
        seen += re.findall(r'<a href="/people/([0-9a-f-]+)/">', page)
        nxt = re.search(r'href="\?([^"]*cursor=[^"]*)" hx-get="[^"]*" rel="next"', page)
        if not nxt:
            break
        url, params = "/people/?" + nxt.group(1).replace("&amp;", "&"), {}
    assert len(seen) == len(set(seen)) == 60


def test_record_page_hides_nothing_from_other_workspaces(browser, actor):
    _, other = make_browser(Role.OWNER)
    other_actor = actor_for(other)
    field = define(other_actor, "secret", "text")
    assert browser.get(f"/settings/custom-fields/{field.pk}/edit/").status_code == 404
    assert browser.get(f"/settings/custom-fields/{field.pk}/delete/").status_code == 404
    assert "Secret" not in html(browser.get("/people/new/"))


def test_history_names_custom_fields_by_label(browser, actor):
    define(actor, "renewal_day", "date", label="Contract renewal")
    p = PersonFactory(actor=actor, email="h@example.com")
    from rapport.contacts import services as contact_services

    contact_services.person_update(
        actor=actor, person_id=p.pk, data={"custom": {"renewal_day": "2025-01-31"}}
    )
    page = html(browser.get(f"/people/{p.pk}/history/"))
    assert "Contract renewal" in page and "2025-01-31" in page
