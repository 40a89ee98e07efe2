"""Custom field values through /api/v1/contacts and /api/v1/companies: validation of every
type, required and default, renames, deletes, filters, sorting and keyset paging."""

from __future__ import annotations

import pytest

from rapport.audit.models import AuditEntry
from rapport.core.actors import Role
from rapport.testing.suites import all_pages, assert_problem, count_queries, ids

pytestmark = pytest.mark.django_db


def define(client, key: str, type_: str, object_type: str = "contacts.person", **extra) -> dict:
    body = {"object_type": object_type, "key": key, "label": key.title(), "type": type_, **extra}
    r = client.post("/custom-fields", body)
    assert r.status_code == 201, r.content
    return r.json()


def person(client, n: int, **custom) -> dict:
    body = {"first_name": f"P{n}", "email": f"p{n}.{client.workspace.slug}@example.com"}
    if custom:
        body["custom"] = custom
    r = client.post("/contacts", body)
    assert r.status_code == 201, r.content
    return r.json()


OPTIONS = [{"value": "gold", "label": "Gold"}, {"value": "silver", "label": "Silver"}]

# type, extra definition, valid value -> stored, wrong values
CASES = [
    ("text", {}, "Hello", "Hello", [5, True, ["a"], {"a": 1}]),
    ("long_text", {}, "Line 1\nLine 2", "Line 1\nLine 2", [5, False]),
    ("number", {}, 42, 42, ["42", 4.5, True, "abc", 2**60]),
    ("decimal", {}, "12.50", "12.5", [12.5, "abc", True, "1e5", "1.1234567"]),
    (
        "currency",
        {},
        {"amount": "12.5", "currency": "eur"},
        {"amount": "12.50", "currency": "EUR"},
        ["12.50", {"amount": 12.5}, {"amount": "x"}, {"amount": "1", "currency": "EURO"}],
    ),
    ("date", {}, "2024-12-31", "2024-12-31", ["31/12/2024", 20241231, "2024-02-30"]),
    (
        "datetime",
        {},
        "2024-12-31T10:30:00+02:00",
        "2024-12-31T08:30:00Z",
        ["2024-12-31", 5, "yesterday"],
    ),
    ("boolean", {}, True, True, ["yes", 1, "true"]),
    ("select", {"options": OPTIONS}, "gold", "gold", ["Gold", "bronze", ["gold"], 1]),
    (
        "multi_select",
        {"options": OPTIONS},
        ["silver", "gold", "gold"],
        ["gold", "silver"],
        ["gold", ["bronze"], [1]],
    ),
    ("url", {}, "https://example.com/x", "https://example.com/x", ["javascript:alert(1)", 5]),
    ("email", {}, "Ada@Example.COM", "ada@example.com", ["not-an-email", 5]),
    ("phone", {}, "+44 20 7946 0958", "+442079460958", ["12", 442079460958]),
]


@pytest.mark.parametrize(("type_", "extra", "value", "stored", "wrong"), CASES)
def test_every_type_validates_and_stores(api, type_, extra, value, stored, wrong):
    define(api, "thing", type_, **extra)
    created = person(api, 1, thing=value)
    assert created["custom"] == {"thing": stored}
    for bad in wrong:
        r = api.post("/contacts", {"first_name": "X", "custom": {"thing": bad}})
        assert_problem(r, 422, "custom.thing")
        r = api.patch(f"/contacts/{created['id']}", {"custom": {"thing": bad}})
        assert_problem(r, 422, "custom.thing")
    assert api.get(f"/contacts/{created['id']}").json()["custom"] == {"thing": stored}


def test_user_reference_must_be_a_member(api, other_api):
    define(api, "account_manager", "user")
    me = str(api.user.pk)
    assert person(api, 1, account_manager=me)["custom"] == {"account_manager": me}
    stranger = str(other_api.user.pk)
    for bad in (stranger, "not-a-uuid", 5):
        r = api.post("/contacts", {"first_name": "X", "custom": {"account_manager": bad}})
        assert_problem(r, 422, "custom.account_manager")


def test_unknown_keys_and_other_workspaces_definitions_are_422(api, other_api):
    define(other_api, "tier", "text")
    r = api.post("/contacts", {"first_name": "X", "custom": {"tier": "gold"}})
    assert_problem(r, 422, "custom.tier")
    r = api.post("/contacts", {"first_name": "X", "custom": "nope"})
    assert_problem(r, 422)
    # A person's field does not validate a company's value.
    define(api, "tier", "text")
    r = api.post("/companies", {"name": "Acme", "custom": {"tier": "gold"}})
    assert_problem(r, 422, "custom.tier")


def test_required_and_default_on_create_partial_updates_merge_and_null_removes(api):
    define(api, "tier", "select", options=OPTIONS, required=True)
    define(api, "score", "number", default=10)
    define(api, "note", "text")
    r = api.post("/contacts", {"first_name": "X"})
    body = assert_problem(r, 422, "custom.tier")
    assert "required" in body["errors"][0]["message"].lower()
    created = person(api, 1, tier="gold")
    assert created["custom"] == {"tier": "gold", "score": 10}
    r = api.patch(f"/contacts/{created['id']}", {"custom": {"note": "hi"}})
    assert r.json()["custom"] == {"tier": "gold", "score": 10, "note": "hi"}
    r = api.patch(f"/contacts/{created['id']}", {"custom": {"score": None}})
    assert r.json()["custom"] == {"tier": "gold", "note": "hi"}
    assert_problem(
        api.patch(f"/contacts/{created['id']}", {"custom": {"tier": None}}), 422, "custom.tier"
    )
    # A record made before the field was required keeps working for other changes.
    assert api.patch(f"/contacts/{created['id']}", {"title": "Boss"}).status_code == 200


def test_rename_keeps_the_data(api):
    field = define(api, "tier", "select", options=OPTIONS)
    created = person(api, 1, tier="gold")
    r = api.patch(
        f"/custom-fields/{field['id']}",
        {"label": "Customer tier", "options": [{"value": "gold", "label": "Or"}, OPTIONS[1]]},
    )
    assert r.status_code == 200, r.content
    assert r.json()["label"] == "Customer tier"
    assert api.get(f"/contacts/{created['id']}").json()["custom"] == {"tier": "gold"}
    for fixed in ({"key": "other"}, {"type": "text"}, {"object_type": "contacts.company"}):
        assert_problem(api.patch(f"/custom-fields/{field['id']}", fixed), 422)


def test_an_option_in_use_cannot_be_removed(api):
    field = define(api, "tier", "multi_select", options=OPTIONS)
    person(api, 1, tier=["silver"])
    r = api.patch(f"/custom-fields/{field['id']}", {"options": [OPTIONS[0]]})
    assert_problem(r, 422, "options")
    r = api.patch(f"/custom-fields/{field['id']}", {"options": [OPTIONS[1]]})
    assert r.status_code == 200


def test_delete_removes_the_values_is_audited_and_frees_the_key(api):
    field = define(api, "nickname", "text")
    kept = define(api, "score", "number")
    a = person(api, 1, nickname="Ziggy", score=3)
    person(api, 2)
    assert ids(api.get("/search", {"q": "ziggy"}).json()["results"]) == [a["id"]]
    assert api.delete(f"/custom-fields/{field['id']}").status_code == 204
    assert api.get(f"/contacts/{a['id']}").json()["custom"] == {"score": 3}
    assert api.get("/search", {"q": "ziggy"}).json()["results"] == []
    entry = AuditEntry.objects.get(object_id=field["id"], action="custom_field.deleted")
    assert entry.changes["values_removed"] == {"before": 1, "after": 0}
    assert_problem(api.get(f"/custom-fields/{field['id']}"), 404)
    assert api.get(f"/custom-fields/{kept['id']}").status_code == 200
    again = define(api, "nickname", "number")
    assert again["id"] != field["id"]
    assert person(api, 3, nickname=7)["custom"] == {"nickname": 7}


def test_definition_validation(api):
    base = {"object_type": "contacts.person", "label": "X", "type": "text"}
    bad = [
        ({"key": "Bad Key"}, "key"),
        ({"key": "two__underscores"}, "key"),
        ({"type": "colour"}, "type"),
        ({"object_type": "contacts.deal"}, "object_type"),
        ({"regex": "([a-z"}, "regex"),
        ({"regex": "(a+)+$"}, "regex"),
        ({"regex": "(a|aa)*"}, "regex"),
        ({"regex": r"(\w)\1"}, "regex"),
        ({"regex": "a" * 201}, "regex"),
        ({"type": "select"}, "options"),
        ({"type": "select", "options": [{"value": "A B", "label": "x"}]}, "options.0"),
        ({"type": "select", "options": ["x", "x"]}, "options.1"),
        ({"type": "number", "minimum": 10, "maximum": 1}, "minimum"),
        ({"type": "number", "default": "abc"}, "default"),
        ({"type": "boolean", "minimum": 1}, "minimum"),
        ({"label": ""}, "label"),
    ]
    for change, field in bad:
        r = api.post("/custom-fields", {**base, "key": "thing", **change})
        assert_problem(r, 422, field)
    define(api, "thing", "text")
    assert_problem(api.post("/custom-fields", {**base, "key": "thing"}), 422, "key")
    # The key is made from the label when left out.
    r = api.post("/custom-fields", {**base, "label": "Contract end!"})
    assert r.json()["key"] == "contract_end"


def test_text_bounds_and_pattern(api):
    define(api, "code", "text", regex=r"[A-Z]{2}-\d{4}", minimum=7, maximum=7)
    assert person(api, 1, code="AB-1234")["custom"] == {"code": "AB-1234"}
    for bad in ("ab-1234", "AB-12345", "x" * 100_000):
        r = api.post("/contacts", {"first_name": "X", "custom": {"code": bad}})
        assert_problem(r, 422, "custom.code")


def test_number_and_date_bounds(api):
    define(api, "seats", "number", minimum=1, maximum=100)
    define(api, "renewal", "date", minimum="2020-01-01")
    assert person(api, 1, seats=100, renewal="2020-01-01")["custom"]["seats"] == 100
    assert_problem(
        api.post("/contacts", {"first_name": "X", "custom": {"seats": 0}}), 422, "custom.seats"
    )
    r = api.post("/contacts", {"first_name": "X", "custom": {"renewal": "2019-12-31"}})
    assert_problem(r, 422, "custom.renewal")


def test_hostile_labels_are_stored_as_text(api):
    label = '<script>alert("x")</script>'
    field = define(api, "evil", "select", options=[{"label": label}], help_text=label)
    assert field["label"] == "Evil"
    r = api.patch(f"/custom-fields/{field['id']}", {"label": label})
    assert r.json()["label"] == label
    assert field["options"][0]["label"] == label
    assert field["options"][0]["value"] == "scriptalertxscript"


def test_workspace_wall_on_definitions(api, other_api):
    field = define(api, "tier", "text")
    assert_problem(other_api.get(f"/custom-fields/{field['id']}"), 404)
    assert_problem(other_api.patch(f"/custom-fields/{field['id']}", {"label": "x"}), 404)
    assert_problem(other_api.delete(f"/custom-fields/{field['id']}"), 404)
    assert other_api.get("/custom-fields").json()["results"] == []
    assert api.get("/custom-fields", {"object_type": "contacts.company"}).json()["results"] == []


# --- filters and sorting ------------------------------------------------------------------------


@pytest.fixture
def catalogue(api):
    define(api, "tier", "select", options=OPTIONS)
    define(api, "tags2", "multi_select", options=OPTIONS)
    define(api, "seats", "number")
    define(api, "price", "decimal")
    define(api, "budget", "currency")
    define(api, "renewal", "date")
    define(api, "note", "text")
    define(api, "vip", "boolean")
    people = []
    for n in range(12):
        custom = {
            "tier": "gold" if n % 3 == 0 else "silver",
            "tags2": ["gold"] if n % 2 else ["silver"],
            "seats": n * 10 if n % 4 else None,  # some without a value
            "price": f"{n}.5",
            "budget": {"amount": f"{100 * n}", "currency": "EUR"},
            "renewal": f"2024-01-{n + 1:02d}",
            "note": f"Note number {n}",
            "vip": n % 2 == 0,
        }
        people.append(person(api, n, **{k: v for k, v in custom.items() if v is not None}))
    return people


def _names(rows):
    return [r["first_name"] for r in rows]


def test_filters(api, catalogue):
    def names(**params):
        return sorted(_names(all_pages(api, "/contacts", params)), key=lambda s: int(s[1:]))

    assert names(**{"custom.tier": "gold"}) == ["P0", "P3", "P6", "P9"]
    assert names(**{"custom.tier__in": "gold,silver"}) == [f"P{n}" for n in range(12)]
    assert names(**{"custom.tags2": "gold"}) == ["P1", "P3", "P5", "P7", "P9", "P11"]
    assert names(**{"custom.seats__gt": "50"}) == ["P6", "P7", "P9", "P10", "P11"]
    assert names(**{"custom.seats__lte": "20"}) == ["P1", "P2"]
    assert names(**{"custom.seats__isnull": "true"}) == ["P0", "P4", "P8"]
    assert names(**{"custom.price__gte": "10.5"}) == ["P10", "P11"]
    assert names(**{"custom.budget__lt": "200"}) == ["P0", "P1"]
    assert names(**{"custom.renewal__gt": "2024-01-10"}) == ["P10", "P11"]
    assert names(**{"custom.renewal": "2024-01-03"}) == ["P2"]
    assert names(**{"custom.note__contains": "NUMBER 1"}) == ["P1", "P10", "P11"]
    assert names(**{"custom.note": "note number 4"}) == ["P4"]
    assert names(**{"custom.vip": "true", "custom.tier": "gold"}) == ["P0", "P6"]
    assert_problem(api.get("/contacts", {"custom.nope": "x"}), 422, "custom.nope")
    assert_problem(api.get("/contacts", {"custom.seats__gt": "many"}), 422, "custom.seats")
    assert_problem(api.get("/contacts", {"custom.vip__gt": "1"}), 422, "custom.vip")
    assert_problem(api.get("/contacts", {"custom.tier": "bronze"}), 422, "custom.tier")


@pytest.mark.parametrize("key", ["seats", "price", "budget", "renewal", "note", "tier"])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_keyset_pages_every_record_once_nulls_last(api, catalogue, key, descending):
    token = ("-" if descending else "") + f"custom.{key}"
    rows = all_pages(api, "/contacts", {"sort": token, "limit": 5})
    assert sorted(ids(rows)) == sorted(p["id"] for p in catalogue)

    def value(row):
        v = row["custom"].get(key)
        if isinstance(v, dict):
            v = v["amount"]
        if key in ("price", "budget") and v is not None:
            from decimal import Decimal

            v = Decimal(v)
        return v

    present = [value(r) for r in rows if value(r) is not None]
    assert present == sorted(present, reverse=descending)
    # Records without a value come last, whichever the direction.
    seen_null = False
    for row in rows:
        if value(row) is None:
            seen_null = True
        else:
            assert not seen_null


def test_sort_errors(api, catalogue):
    assert_problem(api.get("/contacts", {"sort": "custom.nope"}), 422, "sort")
    assert_problem(api.get("/contacts", {"sort": "custom.tags2"}), 422, "sort")  # not sortable
    r = api.get("/contacts", {"sort": "custom.seats", "limit": 2})
    cursor = r.json()["next"]
    assert_problem(api.get("/contacts", {"sort": "custom.price", "cursor": cursor}), 422, "cursor")


def test_list_query_count_is_constant_with_custom_filters_and_sort(api):
    define(api, "tier", "select", options=OPTIONS, show_in_list=True)
    define(api, "seats", "number")
    params = {"custom.tier": "gold", "sort": "-custom.seats", "limit": 100}
    for n in range(3):
        person(api, n, tier="gold", seats=n)
    api.get("/contacts", params)
    few, r, _ = count_queries(lambda: api.get("/contacts", params))
    assert len(r.json()["results"]) == 3
    for n in range(3, 20):
        person(api, n, tier="gold", seats=n)
    many, r, sql = count_queries(lambda: api.get("/contacts", params))
    assert len(r.json()["results"]) == 20
    assert many == few, "\n".join(sql)


def test_companies_take_custom_fields_too(api):
    define(api, "arr", "currency", object_type="contacts.company", required=True)
    assert_problem(api.post("/companies", {"name": "Acme"}), 422, "custom.arr")
    r = api.post("/companies", {"name": "Acme", "custom": {"arr": {"amount": "10"}}})
    assert r.status_code == 201, r.content
    assert r.json()["custom"] == {
        "arr": {"amount": "10.00", "currency": api.workspace.default_currency}
    }
    rows = api.get("/companies", {"custom.arr__gte": "5", "sort": "custom.arr"}).json()["results"]
    assert [c["name"] for c in rows] == ["Acme"]


def test_read_only_cannot_define_but_reads(api, api_as):
    define(api, "tier", "text")
    reader = api_as(Role.READ_ONLY)
    assert len(reader.get("/custom-fields").json()["results"]) == 1
    r = reader.post(
        "/custom-fields", {"object_type": "contacts.person", "label": "x", "type": "text"}
    )
    assert_problem(r, 403)
