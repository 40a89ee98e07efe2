"""Saved views: the condition compiler on standard and custom fields, /api/v1/views (the shared
contract suite, visibility, the wall), ``?view=`` on the API and the list pages."""

from __future__ import annotations

import pytest

from rapport.core.actors import Role
from rapport.testing.clients import make_browser
from rapport.testing.suites import (
    ApiContractSuite,
    Resource,
    all_pages,
    assert_problem,
    count_queries,
    ids,
)

pytestmark = pytest.mark.django_db

OPTIONS = [{"value": "gold", "label": "Gold"}, {"value": "silver", "label": "Silver"}]


def define(client, key: str, type_: str, object_type: str = "contacts.person", **extra) -> dict:
    body = {"object_type": object_type, "key": key, "label": key.title(), "type": type_, **extra}
    r = client.post("/custom-fields", body)
    assert r.status_code == 201, r.content
    return r.json()


def person(client, n, **data) -> dict:
    body = {"first_name": f"P{n}", "email": f"p{n}.{client.workspace.slug}@example.com", **data}
    r = client.post("/contacts", body)
    assert r.status_code == 201, r.content
    return r.json()


def matches(client, conditions, path="/contacts") -> set[str]:
    r = client.post(
        "/views",
        {
            "object_type": "contacts.person" if path == "/contacts" else "contacts.company",
            "name": "t",
            "conditions": conditions,
        },
    )
    assert r.status_code == 201, r.content
    return set(ids(all_pages(client, path, {"view": r.json()["id"], "limit": 500})))


def one(field, operator, value=None) -> dict:
    item = {"field": field, "operator": operator}
    if value is not None:
        item["value"] = value
    return {"op": "and", "items": [item]}


def view_payload(client, n: int) -> dict:
    return {
        "object_type": "contacts.person",
        "name": f"View {n}",
        "shared": True,
        "conditions": one("lifecycle_stage", "is", "customer"),
        "sort": "-updated_at",
        "columns": ["name", "email"],
        "page_size": 25,
    }


VIEWS = Resource(
    path="/views",
    object_type="customization.savedview",
    payload=view_payload,
    update={"name": "Renamed view"},
    history=False,
)


class TestViewsContract(ApiContractSuite):
    resource = VIEWS

    # Saved views differ from records in one rule: only the owner (or an admin, for a shared
    # view) changes or deletes a view; managers and colleagues do not.
    def test_member_deletes_own_records_but_not_others(self, api, api_as):
        member = api_as(Role.MEMBER)
        colleague = api_as(Role.MEMBER)
        theirs = self.create(colleague)
        mine = self.create(member)
        assert_problem(member.delete(self.url(theirs["id"])), 403)
        assert_problem(member.patch(self.url(theirs["id"]), self.resource.update), 403)
        assert member.delete(self.url(mine["id"])).status_code == 204
        assert api.delete(self.url(theirs["id"])).status_code == 204  # an admin may

    def test_member_deletes_any_record_when_the_workspace_allows_it(self, api, api_as):
        member = api_as(Role.MEMBER)
        theirs = self.create(api)
        api.workspace.members_can_delete_any = True
        api.workspace.save(update_fields=["members_can_delete_any"])
        assert_problem(member.delete(self.url(theirs["id"])), 403)

    def test_managers_delete_anyones_records(self, api, api_as):
        manager = api_as(Role.MANAGER)
        theirs = self.create(api_as(Role.MEMBER))
        assert_problem(manager.delete(self.url(theirs["id"])), 403)


# --- visibility -----------------------------------------------------------------------------------


def test_private_views_are_their_owners_only(api, api_as):
    colleague = api_as(Role.MEMBER)
    private = api.post("/views", {**view_payload(api, 1), "shared": False}).json()
    shared = api.post("/views", view_payload(api, 2)).json()
    seen = ids(all_pages(colleague, "/views"))
    assert shared["id"] in seen and private["id"] not in seen
    assert_problem(colleague.get(f"/views/{private['id']}"), 404)
    assert_problem(colleague.patch(f"/views/{private['id']}", {"name": "x"}), 404)
    assert_problem(colleague.get("/contacts", {"view": private["id"]}), 404)
    assert colleague.get("/contacts", {"view": shared["id"]}).status_code == 200
    mine = colleague.post("/views", {**view_payload(colleague, 3), "shared": False}).json()
    assert mine["id"] not in ids(all_pages(api, "/views"))  # not even the owner of the workspace


def test_another_workspaces_view_is_404_on_lists(api, other_api):
    view = api.post("/views", view_payload(api, 1)).json()
    assert_problem(other_api.get("/contacts", {"view": view["id"]}), 404)
    assert_problem(other_api.get("/companies", {"view": view["id"]}), 404)


def test_object_type_filter_and_view_of_another_type_is_404(api):
    people = api.post("/views", view_payload(api, 1)).json()
    companies = api.post(
        "/views", {"object_type": "contacts.company", "name": "Big", "conditions": {}}
    ).json()
    listed = ids(all_pages(api, "/views", {"object_type": "contacts.company"}))
    assert listed == [companies["id"]]
    assert_problem(api.get("/companies", {"view": people["id"]}), 404)


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conditions", "field"),
    [
        ({"op": "xor", "items": []}, "conditions.op"),
        (one("nope", "is", "x"), "conditions.items.0.field"),
        (one("email", "gt", "x"), "conditions.items.0.operator"),
        (one("employees", "is", "x"), "conditions.items.0.field"),  # a company field
        (one("created_at", "is", "yesterday"), "conditions.items.0.value"),
        (one("created_at", "in_last_days", 0), "conditions.items.0.value"),
        (one("owner", "is", "not-a-uuid"), "conditions.items.0.value"),
        (one("owner", "is_me", "x"), "conditions.items.0.value"),
        (one("tags", "any_of", []), "conditions.items.0.value"),
        (one("tags", "any_of", ["t"] * 51), "conditions.items.0.value"),
        (one("lifecycle_stage", "is", "king"), "conditions.items.0.value"),
        (one("first_name", "is", "a\x00b"), "conditions.items.0.value"),
        (one("first_name", "is", "x" * 201), "conditions.items.0.value"),
        (one("created_at", "between", ["2024-02-01", "2024-01-01"]), "conditions.items.0.value"),
        (
            {"op": "and", "items": [one("email", "empty"), one("email", "is")]},
            "conditions.items.1.items.0.value",
        ),
        (
            {
                "op": "or",
                "items": [
                    {"op": "or", "items": [{"op": "or", "items": [one("first_name", "is", "a")]}]}
                ],
            },
            "conditions.items.0.items.0.items.0",
        ),
        ({"op": "and", "items": [one("email", "empty")] * 0 + ["x"]}, "conditions.items.0"),
    ],
)
def test_bad_conditions_are_422_naming_the_path(api, conditions, field):
    r = api.post("/views", {**view_payload(api, 1), "conditions": conditions})
    assert_problem(r, 422, field)


def test_too_many_conditions(api):
    items = [{"field": "first_name", "operator": "is", "value": str(i)} for i in range(51)]
    assert_problem(
        api.post("/views", {**view_payload(api, 1), "conditions": {"op": "or", "items": items}}),
        422,
        "conditions",
    )


def test_columns_sort_and_page_size_are_checked(api):
    define(api, "tier", "select", options=OPTIONS)
    ok = api.post(
        "/views",
        {**view_payload(api, 1), "columns": ["custom.tier", "name"], "sort": "custom.tier"},
    )
    assert ok.status_code == 201, ok.content
    bad = api.post(
        "/views",
        {
            **view_payload(api, 2),
            "columns": ["name", "name", "password"],
            "sort": "password",
            "page_size": 5000,
        },
    )
    assert_problem(bad, 422, "columns.1", "columns.2", "sort", "page_size")


# --- the compiler, through ?view= -----------------------------------------------------------------


def test_standard_field_operators(api):
    from rapport.tenancy.models import Membership

    a = person(
        api,
        1,
        last_name="Smith",
        title="CEO",
        lifecycle_stage="customer",
        tags=["vip"],
        phone="+4930123456",
        address={"city": "Berlin", "country": "DE"},
    )
    b = person(api, 2, last_name="smithers", title="", lifecycle_stage="lead", owner=None)
    c = person(api, 3, last_name="Jones", title="Engineer", tags=["Other"], lifecycle_stage="other")
    member = Membership.objects.filter(workspace=api.workspace).first()
    api.patch(f"/contacts/{a['id']}", {"owner": str(member.user_id)})
    A, B, C = a["id"], b["id"], c["id"]
    assert matches(api, one("last_name", "is", "SMITH")) == {A}
    assert matches(api, one("last_name", "is_not", "smith")) == {B, C}
    assert matches(api, one("last_name", "contains", "MITH")) == {A, B}
    assert matches(api, one("last_name", "starts_with", "smi")) == {A, B}
    assert matches(api, one("last_name", "any_of", ["jones", "smith"])) == {A, C}
    assert matches(api, one("title", "empty")) == {B}
    assert matches(api, one("title", "not_empty")) == {A, C}
    assert matches(api, one("email", "is", a["email"].upper())) == {A}
    assert matches(api, one("email", "any_of", [a["email"], c["email"]])) == {A, C}
    assert matches(api, one("phone", "is", "+49 30 123456")) == {A}
    assert matches(api, one("city", "is", "berlin")) == {A}
    assert matches(api, one("country", "is", "de")) == {A}
    assert matches(api, one("lifecycle_stage", "any_of", ["customer", "lead"])) == {A, B}
    assert matches(api, one("lifecycle_stage", "is_not", "customer")) == {B, C}
    assert matches(api, one("owner", "is_me")) == {A}
    assert matches(api, one("owner", "is", str(member.user_id))) == {A}
    assert matches(api, one("owner", "empty")) == {B, C}
    assert matches(api, one("tags", "any_of", ["VIP", "other"])) == {A, C}
    assert matches(api, one("tags", "empty")) == {B}
    assert matches(api, one("tags", "not_empty")) == {A, C}
    assert matches(api, one("created_at", "in_last_days", 1)) == {A, B, C}
    assert matches(api, one("created_at", "lt", "2000-01-01")) == set()
    assert matches(api, one("created_at", "gt", "2000-01-01")) == {A, B, C}
    assert matches(api, one("created_at", "between", ["2000-01-01", "2999-01-01"])) == {A, B, C}
    assert matches(api, one("search", "contains", "jones")) == {C}


def test_company_fields_and_nesting(api):
    def company(n, **data):
        r = api.post("/companies", {"name": f"C{n}", "domain": f"c{n}.example", **data})
        assert r.status_code == 201, r.content
        return r.json()["id"]

    small = company(1, employees=5, industry="Retail")
    big = company(2, employees=500, industry="Software")
    none = company(3)
    assert matches(api, one("employees", "gt", 10), "/companies") == {big}
    assert matches(api, one("employees", "lte", 5), "/companies") == {small}
    assert matches(api, one("employees", "between", [1, 499]), "/companies") == {small}
    assert matches(api, one("employees", "empty"), "/companies") == {none}
    assert matches(api, one("domain", "is", "https://www.C1.example/x"), "/companies") == {small}
    tree = {
        "op": "or",
        "items": [
            {"op": "and", "items": [one("industry", "is", "retail"), one("employees", "lt", 10)]},
            one("name", "is", "C3"),
        ],
    }
    assert matches(api, tree, "/companies") == {small, none}


def test_custom_field_operators(api):
    define(api, "nick", "text")
    define(api, "score", "number")
    define(api, "price", "decimal")
    define(api, "renewal", "date")
    define(api, "seen", "datetime")
    define(api, "tier", "select", options=OPTIONS)
    define(api, "labels", "multi_select", options=OPTIONS)
    define(api, "vip", "boolean")
    define(api, "rep", "user")
    from rapport.tenancy.models import Membership

    me = str(Membership.objects.filter(workspace=api.workspace).first().user_id)
    a = person(
        api,
        1,
        custom={
            "nick": "Bobby",
            "score": 5,
            "price": "12.50",
            "renewal": "2024-06-01",
            "seen": "2024-06-01T10:00:00Z",
            "tier": "gold",
            "labels": ["gold", "silver"],
            "vip": True,
            "rep": me,
        },
    )["id"]
    b = person(
        api,
        2,
        custom={
            "nick": "Rob",
            "score": 50,
            "price": "3",
            "renewal": "2025-01-01",
            "tier": "silver",
            "labels": ["silver"],
            "vip": False,
        },
    )["id"]
    c = person(api, 3)["id"]
    assert matches(api, one("custom.nick", "is", "bobby")) == {a}
    assert matches(api, one("custom.nick", "is_not", "bobby")) == {b, c}
    assert matches(api, one("custom.nick", "contains", "OB")) == {a, b}
    assert matches(api, one("custom.nick", "starts_with", "ro")) == {b}
    assert matches(api, one("custom.nick", "any_of", ["rob", "bobby"])) == {a, b}
    assert matches(api, one("custom.nick", "empty")) == {c}
    assert matches(api, one("custom.score", "is", 5)) == {a}
    assert matches(api, one("custom.score", "gt", 5)) == {b}
    assert matches(api, one("custom.score", "between", [1, 10])) == {a}
    assert matches(api, one("custom.price", "lt", "10")) == {b}
    assert matches(api, one("custom.price", "gte", "12.5")) == {a}
    assert matches(api, one("custom.renewal", "is", "2024-06-01")) == {a}
    assert matches(api, one("custom.renewal", "gt", "2024-06-01")) == {b}
    assert matches(api, one("custom.renewal", "between", ["2024-01-01", "2024-12-31"])) == {a}
    assert matches(api, one("custom.renewal", "in_last_days", 3650)) >= {a, b}
    assert matches(api, one("custom.seen", "is", "2024-06-01")) == {a}
    assert matches(api, one("custom.seen", "lt", "2024-06-01")) == set()
    assert matches(api, one("custom.seen", "not_empty")) == {a}
    assert matches(api, one("custom.tier", "is", "Gold")) == {a}
    assert matches(api, one("custom.tier", "is_not", "gold")) == {b, c}
    assert matches(api, one("custom.tier", "any_of", ["gold", "silver"])) == {a, b}
    assert matches(api, one("custom.labels", "is", "gold")) == {a}
    assert matches(api, one("custom.labels", "any_of", ["silver"])) == {a, b}
    assert matches(api, one("custom.vip", "is", False)) == {b}
    assert matches(api, one("custom.vip", "empty")) == {c}
    assert matches(api, one("custom.rep", "is_me")) == {a}
    assert matches(api, one("custom.rep", "is", me)) == {a}
    assert_problem(
        api.post("/views", {**view_payload(api, 9), "conditions": one("custom.tier", "is", "x")}),
        422,
        "conditions.items.0.value",
    )


def test_hostile_values_are_plain_values(api):
    a = person(api, 1, last_name="O'Brien")
    hostile = "x' OR 1=1 --"
    assert matches(api, one("last_name", "is", hostile)) == set()
    assert matches(api, one("last_name", "contains", "%")) == set()
    assert matches(api, one("last_name", "contains", "'")) == {a["id"]}


def test_view_sort_and_page_size_apply_to_the_api(api):
    people = [person(api, n, last_name=name) for n, name in enumerate("cab")]
    view = api.post(
        "/views", {**view_payload(api, 1), "conditions": {}, "sort": "last_name", "page_size": 10}
    ).json()
    body = api.get("/contacts", {"view": view["id"]}).json()
    assert [r["last_name"] for r in body["results"]] == ["a", "b", "c"]
    assert len(people) == 3


# --- the list page ------------------------------------------------------------------------------


def _owner_browser(api):
    from django.test import Client

    client = Client()
    client.force_login(api.user)
    return client


def test_list_page_applies_the_view_with_constant_queries(api):
    view = api.post(
        "/views",
        {
            **view_payload(api, 1),
            "name": "<script>alert(1)</script>",
            "pinned": True,
            "columns": ["email", "name", "tags", "company"],
            "conditions": one("title", "is", "CEO"),
        },
    ).json()
    browser = _owner_browser(api)
    for n in range(2):
        person(api, n, title="CEO", tags=["a"])
    person(api, 99, title="Intern")
    url = f"/people/?view={view['id']}"
    browser.get(url)
    few, r, _ = count_queries(lambda: browser.get(url))
    html = r.content.decode()
    assert r.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert "P0" in html and "P99" not in html
    assert html.index(">Email<") < html.index(">Name<")  # the view's column order
    for n in range(2, 12):
        person(api, n, title="CEO", tags=["b"])
    many, r, sql = count_queries(lambda: browser.get(url))
    assert r.content.decode().count("<tr>") >= 12
    assert many == few, "\n".join(sql)


def test_save_as_view_captures_filters_and_sort(api):
    browser = _owner_browser(api)
    person(api, 1, title="CEO")
    person(api, 2, title="Intern")
    r = browser.post(
        "/views/new/",
        {
            "object_type": "contacts.person",
            "query": "title=ceo&sort=last_name&owner=me",
            "name": "CEOs",
            "shared": "on",
            "pinned": "on",
        },
    )
    assert r.status_code == 302
    from rapport.customization.models import SavedView

    view = SavedView.objects.get(name="CEOs")
    assert view.sort == "last_name" and view.shared and view.pinned
    assert {"field": "title", "operator": "is", "value": "ceo"} in view.conditions["items"]
    assert {"field": "owner", "operator": "is_me"} in view.conditions["items"]
    page = browser.get(r["Location"]).content.decode()
    assert "CEOs" in page  # the heading and the pinned link


def test_edit_view_page_saves_columns_in_order(api, api_as):
    view = api.post("/views", view_payload(api, 1)).json()
    browser = _owner_browser(api)
    assert browser.get(f"/views/{view['id']}/edit/").status_code == 200
    r = browser.post(
        f"/views/{view['id']}/edit/",
        {
            "name": "Mine",
            "shared": "on",
            "page_size": "20",
            "sort": "-created_at",
            "version": "1",
            "col-email": "on",
            "pos-email": "2",
            "col-phone": "on",
            "pos-phone": "1",
        },
    )
    assert r.status_code == 302, r.content[:800]
    body = api.get(f"/views/{view['id']}").json()
    assert body["columns"] == ["phone", "email"] and body["page_size"] == 20
    reader_client, _ = make_browser(Role.MEMBER, workspace=api.workspace)
    assert reader_client.get(f"/views/{view['id']}/edit/").status_code == 403


# --- exports, htmx, the builder, row-level security -------------------------------------------


def test_export_honours_the_view(api):
    person(api, 1, title="CEO")
    person(api, 2, title="Intern")
    view = api.post("/views", {**view_payload(api, 1), "conditions": one("title", "is", "ceo")})
    browser = _owner_browser(api)
    r = browser.get(
        "/exports/file/", {"type": "person", "format": "csv", "view": view.json()["id"]}
    )
    body = b"".join(r.streaming_content).decode() if r.streaming else r.content.decode()
    assert "P1" in body and "P2" not in body


def test_htmx_results_keep_the_view(api):
    view = api.post(
        "/views", {**view_payload(api, 1), "conditions": one("title", "is", "ceo")}
    ).json()
    person(api, 1, title="CEO")
    person(api, 2, title="Intern")
    browser = _owner_browser(api)
    r = browser.get(
        "/people/",
        {"view": view["id"], "q": ""},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="list-results",
    )
    html = r.content.decode()
    assert 'id="list-results"' in html and "<html" not in html
    assert "P1" in html and "P2" not in html
    assert f"view={view['id']}" in html  # "Clear filters" keeps the view


def test_unknown_or_foreign_view_on_the_list_page_is_404(api, other_api):
    theirs = other_api.post("/views", view_payload(other_api, 1)).json()
    browser = _owner_browser(api)
    assert browser.get("/people/", {"view": theirs["id"]}).status_code == 404
    assert browser.get(f"/views/{theirs['id']}/edit/").status_code == 404
    assert "could not be applied" in browser.get("/people/", {"view": "nope"}).content.decode()


def test_builder_adds_removes_and_nests_without_saving(api):
    view = api.post("/views", view_payload(api, 1)).json()
    browser = _owner_browser(api)
    url = f"/views/{view['id']}/edit/"
    base = {
        "name": "V",
        "shared": "on",
        "page_size": "50",
        "version": "1",
        "g-r-op": "and",
        "c-r.0-field": "lifecycle_stage",
        "c-r.0-operator": "is",
        "c-r.0-value": "customer",
    }
    r = browser.post(url, {**base, "action": "addgroup:r"})
    html = r.content.decode()
    assert 'name="g-r.1-op"' in html and 'name="c-r.1.0-field"' in html
    # htmx asks for the builder only
    r = browser.post(
        url, {**base, "action": "add:r"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="condition-builder"
    )
    html = r.content.decode()
    assert html.lstrip().startswith('<div id="condition-builder"') and 'name="c-r.1-field"' in html
    r = browser.post(url, {**base, "action": "remove:r.0"})
    assert 'name="c-r.0-field"' not in r.content.decode()
    assert api.get(f"/views/{view['id']}").json()["version"] == 1  # nothing saved


def test_builder_saves_a_nested_tree_and_shows_errors_on_the_row(api):
    view = api.post("/views", view_payload(api, 1)).json()
    browser = _owner_browser(api)
    url = f"/views/{view['id']}/edit/"
    post = {
        "name": "V",
        "shared": "on",
        "page_size": "50",
        "version": "1",
        "g-r-op": "and",
        "c-r.0-field": "created_at",
        "c-r.0-operator": "between",
        "c-r.0-value": "2024-01-01",
        "c-r.0-value2": "2024-12-31",
        "g-r.1-op": "or",
        "c-r.1.0-field": "tags",
        "c-r.1.0-operator": "any_of",
        "c-r.1.0-value": "vip, gold",
        "c-r.1.1-field": "owner",
        "c-r.1.1-operator": "is_me",
        "col-name": "on",
    }
    bad = browser.post(url, {**post, "c-r.0-value2": "2023-01-01", "action": "save"})
    assert bad.status_code == 200
    assert "The first value is above the second." in bad.content.decode()
    ok = browser.post(url, {**post, "action": "save"})
    assert ok.status_code == 302
    saved = api.get(f"/views/{view['id']}").json()
    assert saved["conditions"] == {
        "op": "and",
        "items": [
            {"field": "created_at", "operator": "between", "value": ["2024-01-01", "2024-12-31"]},
            {
                "op": "or",
                "items": [
                    {"field": "tags", "operator": "any_of", "value": ["vip", "gold"]},
                    {"field": "owner", "operator": "is_me"},
                ],
            },
        ],
    }
    assert saved["columns"] == ["name"]


def test_openapi_documents_the_condition_shape(api):
    doc = api.get("/openapi.json").json()
    schema = doc["components"]["schemas"]["SavedViewIn"]["properties"]["conditions"]
    text = str(schema)
    assert "in_last_days" in text and "conditions.items.2.value" in text
    assert "/api/v1/views" in doc["paths"] or "/views" in str(doc["paths"])


def test_saved_view_table_has_row_level_security(db):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cur:
        cur.execute("SELECT relrowsecurity FROM pg_class WHERE relname = 'customization_savedview'")
        assert cur.fetchone()[0] is True
        cur.execute("SELECT count(*) FROM pg_policies WHERE tablename = 'customization_savedview'")
        assert cur.fetchone()[0] == 1


def test_writes_are_audited(api):
    from rapport.audit.models import AuditEntry

    view = api.post("/views", view_payload(api, 1)).json()
    api.patch(f"/views/{view['id']}", {"pinned": True})
    api.delete(f"/views/{view['id']}")
    actions = list(
        AuditEntry.objects.filter(object_id=view["id"])
        .order_by("created_at")
        .values_list("action", flat=True)
    )
    assert actions == ["saved_view.created", "saved_view.updated", "saved_view.deleted"]


def test_empty_view_and_save_as_view_from_an_open_view(api):
    view = api.post(
        "/views", {**view_payload(api, 1), "conditions": one("title", "is", "nobody")}
    ).json()
    browser = _owner_browser(api)
    html = browser.get("/people/", {"view": view["id"]}).content.decode()
    assert "Nothing matches the conditions of the view" in html
    # A view saved while another is open keeps its conditions as a group, ANDed with the filters.
    r = browser.post(
        "/views/new/",
        {"object_type": "contacts.person", "query": f"view={view['id']}&city=Paris", "name": "P"},
    )
    assert r.status_code == 302
    from rapport.customization.models import SavedView

    saved = SavedView.objects.get(name="P")
    assert saved.conditions["items"] == [
        {"op": "and", "items": [{"field": "title", "operator": "is", "value": "nobody"}]},
        {"field": "city", "operator": "is", "value": "Paris"},
    ]
    assert not saved.shared
    # A blank name saves nothing and says why.
    r = browser.post(
        "/views/new/",
        {"object_type": "contacts.person", "query": "city=x", "name": " "},
        follow=True,
    )
    assert "The view was not saved" in r.content.decode()
    assert SavedView.objects.count() == 2
