"""The /api/v1 contract of people and companies in detail (DESIGN: API contract)."""

from __future__ import annotations

import base64
import datetime as dt
import uuid

import orjson
import pytest
from django.test import Client
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.contacts.models import Company, Person
from rapport.core.actors import Role
from rapport.testing.clients import make_api_client
from rapport.testing.suites import all_pages, assert_problem, ids, unique

pytestmark = pytest.mark.django_db

CONTACT_FIELDS = {
    "id",
    "first_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "title",
    "company",
    "owner",
    "lifecycle_stage",
    "source",
    "tags",
    "address",
    "external_id",  # beyond DESIGN's list: the id in the system a record was imported from
    "other_emails",  # beyond DESIGN's list, read-only: kept from merged records
    "other_phones",
    "custom",
    "created_at",
    "updated_at",
    "version",
}
COMPANY_FIELDS = {
    "id",
    "name",
    "domain",
    "industry",
    "employees",
    "annual_revenue",
    "phone",
    "address",
    "owner",
    "tags",
    "external_id",
    "other_domains",  # read-only: kept from merged records
    "other_phones",
    "custom",
    "created_at",
    "updated_at",
    "version",
}
ADDRESS_FIELDS = {"street", "city", "region", "postal_code", "country"}


def person(api, **fields) -> dict:
    n = unique()
    body = {"first_name": "Ada", "last_name": f"Lovelace{n}", "email": f"ada{n}@example.com"}
    body.update(fields)
    r = api.post("/contacts", body)
    assert r.status_code == 201, r.content
    return r.json()


def company(api, **fields) -> dict:
    n = unique()
    body = {"name": f"Analytical Engines {n}", "domain": f"engines{n}.example"}
    body.update(fields)
    r = api.post("/companies", body)
    assert r.status_code == 201, r.content
    return r.json()


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- shapes ---------------------------------------------------------------------------------


def test_contact_has_exactly_the_documented_fields(api):
    org = company(api)
    r = api.post(
        "/contacts",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "Ada.Lovelace@Example.COM",
            "phone": "+44 20 7946 0958",
            "title": "Analyst",
            "company": org["id"],
            "owner": str(api.user.pk),
            "lifecycle_stage": "customer",
            "source": "referral",
            "tags": ["vip", "math"],
            "address": {
                "street": "12 St James's Square",
                "city": "London",
                "region": "Greater London",
                "postal_code": "SW1Y 4JH",
                "country": "gb",
            },
            "custom": {},
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) == CONTACT_FIELDS
    assert set(body["address"]) == ADDRESS_FIELDS
    uuid.UUID(body["id"])
    assert body["full_name"] == "Ada Lovelace"
    assert body["email"] == "ada.lovelace@example.com"  # matched case-insensitively
    assert body["phone"] == "+442079460958"  # stored E.164
    assert body["company"] == org["id"]
    assert body["owner"] == str(api.user.pk)
    assert body["lifecycle_stage"] == "customer"
    assert body["source"] == "referral"
    assert body["tags"] == ["math", "vip"]
    assert body["address"] == {
        "street": "12 St James's Square",
        "city": "London",
        "region": "Greater London",
        "postal_code": "SW1Y 4JH",
        "country": "GB",
    }
    assert body["custom"] == {}
    assert body["version"] == 1
    created, updated = parse_time(body["created_at"]), parse_time(body["updated_at"])
    assert created.tzinfo is not None and updated.tzinfo is not None
    assert abs(timezone.now() - created) < dt.timedelta(minutes=1)


def test_contact_defaults(api):
    body = person(api, first_name="", last_name="", email="only@example.com")
    assert body["full_name"] == "only@example.com"
    assert body["lifecycle_stage"] == "lead"
    assert body["company"] is None and body["owner"] is None
    assert body["tags"] == [] and body["custom"] == {}
    assert body["address"] == dict.fromkeys(ADDRESS_FIELDS, "")
    no_email = person(api, email=None, first_name="Nomail")
    assert no_email["email"] is None


def test_company_has_exactly_the_documented_fields_and_money_is_a_decimal_string(api):
    r = api.post(
        "/companies",
        {
            "name": "Acme",
            "domain": "https://www.ACME.example/about",
            "industry": "Anvils",
            "employees": 250,
            "annual_revenue": {"amount": "1234.5", "currency": "eur"},
            "phone": "+1 (202) 555-0143",
            "owner": str(api.user.pk),
            "tags": ["partner"],
            "address": {"city": "Tucson", "region": "AZ", "country": "US"},
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) == COMPANY_FIELDS
    assert set(body["address"]) == ADDRESS_FIELDS
    assert body["domain"] == "acme.example"
    assert body["employees"] == 250
    assert body["annual_revenue"] == {"amount": "1234.50", "currency": "EUR"}
    assert body["phone"] == "+12025550143"
    assert body["tags"] == ["partner"]
    assert body["owner"] == str(api.user.pk)
    r = api.patch(f"/companies/{body['id']}", {"annual_revenue": None})
    assert r.json()["annual_revenue"] is None
    r = api.patch(
        f"/companies/{body['id']}", {"annual_revenue": {"amount": "9999999.99", "currency": "JPY"}}
    )
    assert r.json()["annual_revenue"] == {"amount": "9999999.99", "currency": "JPY"}


@pytest.mark.parametrize(
    ("amount", "field"),
    [
        (1234.5, "annual_revenue.amount"),  # a float is not money
        ("12.345", "annual_revenue.amount"),
        ("-1", "annual_revenue.amount"),
        ("abc", "annual_revenue.amount"),
        ("NaN", "annual_revenue.amount"),
        ("1e30", "annual_revenue.amount"),
        ("123456789012345678901234567890", "annual_revenue.amount"),
        ("1e999999", "annual_revenue.amount"),
    ],
)
def test_invalid_money_is_422_naming_the_field(api, amount, field):
    r = api.post(
        "/companies", {"name": "Bad money", "annual_revenue": {"amount": amount, "currency": "EUR"}}
    )
    assert_problem(r, 422, field)
    assert not Company.objects.filter(name="Bad money").exists()


def test_invalid_currency_is_422(api):
    r = api.post(
        "/companies", {"name": "X", "annual_revenue": {"amount": "1.00", "currency": "EURO"}}
    )
    assert_problem(r, 422, "annual_revenue.currency")


@pytest.mark.parametrize("field", ["full_name", "id", "version", "created_at", "updated_at"])
def test_read_only_fields_are_refused(api, field):
    value = 7 if field == "version" else "x"
    assert_problem(api.post("/contacts", {"first_name": "A", field: value}), 422, field)
    created = person(api)
    r = api.patch(f"/contacts/{created['id']}", {field: value})
    assert_problem(r, 422, field)
    assert api.get(f"/contacts/{created['id']}").json() == created


# --- validation -------------------------------------------------------------------------------


def test_unknown_field_is_422_naming_it(api):
    body = assert_problem(api.post("/contacts", {"first_name": "A", "nickname": "Al"}), 422)
    assert body["errors"] == [{"field": "nickname", "message": "Unknown field."}]
    assert "nickname" in body["detail"]
    assert_problem(api.post("/companies", {"name": "A", "website": "a.example"}), 422, "website")
    assert_problem(
        api.post("/contacts", {"first_name": "A", "address": {"planet": "Mars"}}),
        422,
        "address.planet",
    )
    assert not Person.objects.filter(first_name="A").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "two@@example.com"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"phone": "+1 555"}, "phone"),
        ({"phone": "call me"}, "phone"),
        ({"address": {"country": "XX"}}, "address.country"),
        ({"address": {"country": "Germany"}}, "address.country"),
        ({"lifecycle_stage": "champion"}, "lifecycle_stage"),
        ({"owner": "not-a-uuid"}, "owner"),
        ({"company": "not-a-uuid"}, "company"),
        ({"tags": "vip"}, "tags"),
        ({"tags": ["x" * 51]}, "tags"),
        ({"first_name": "x" * 151}, "first_name"),
        ({"first_name": "bell\x07"}, "first_name"),
        ({"address": {"postal_code": "1" * 33}}, "address.postal_code"),
    ],
)
def test_invalid_person_values_are_422_naming_the_field(api, body, field):
    payload = {"first_name": "Valid", "last_name": "Person"} | body
    assert_problem(api.post("/contacts", payload), 422, field)
    created = person(api)
    assert_problem(api.patch(f"/contacts/{created['id']}", body), 422, field)
    assert api.get(f"/contacts/{created['id']}").json() == created
    assert Person.objects.filter(workspace=api.workspace).count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"domain": "not a domain"}, "domain"),
        ({"domain": "localhost"}, "domain"),
        ({"employees": -1}, "employees"),
        ({"employees": 2**31}, "employees"),
        ({"employees": "many"}, "employees"),
        ({"phone": "0"}, "phone"),
        ({"address": {"country": "ZZ"}}, "address.country"),
    ],
)
def test_invalid_company_values_are_422_naming_the_field(api, body, field):
    assert_problem(api.post("/companies", {"name": "Valid"} | body), 422, field)
    created = company(api)
    assert_problem(api.patch(f"/companies/{created['id']}", body), 422, field)
    assert api.get(f"/companies/{created['id']}").json() == created


def test_company_name_is_required_on_create(api):
    assert_problem(api.post("/companies", {"domain": "nameless.example"}), 422, "name")


def test_a_person_needs_a_name_or_an_email(api):
    assert_problem(api.post("/contacts", {"title": "Ghost"}), 422, "first_name")
    created = person(api, first_name="", last_name="", email="e@example.com")
    r = api.patch(f"/contacts/{created['id']}", {"email": None})
    assert_problem(r, 422, "first_name")


def test_every_error_of_a_body_is_reported_at_once(api):
    r = api.post(
        "/contacts",
        {"first_name": "A", "email": "bad", "phone": "bad", "address": {"country": "XX"}},
    )
    assert_problem(r, 422, "email", "phone", "address.country")


def test_custom_with_an_unknown_key_is_422_naming_it(api):
    r = api.post("/contacts", {"first_name": "A", "custom": {"shoe_size": 44}})
    assert_problem(r, 422, "custom.shoe_size")
    r = api.post("/companies", {"name": "A", "custom": {"tier": "gold", "arr": 1}})
    assert_problem(r, 422, "custom.tier", "custom.arr")
    assert_problem(api.post("/companies", {"name": "A", "custom": []}), 422, "custom")


def test_html_and_script_are_stored_verbatim_as_text(api):
    script = '<script>alert("x")</script>'
    created = person(api, first_name="<b>Bob</b>", last_name=script, title="a & b < c")
    assert created["first_name"] == "<b>Bob</b>"
    assert created["last_name"] == script
    assert created["title"] == "a & b < c"
    assert created["full_name"] == f"<b>Bob</b> {script}"
    stored = Person.objects.get(pk=created["id"])
    assert stored.last_name == script
    org = company(api, name="<img src=x onerror=alert(1)>")
    assert org["name"] == "<img src=x onerror=alert(1)>"


# --- malformed and oversized requests ------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"{", b'{"first_name": "A",}', b"not json", b"\xff\xfe"])
def test_malformed_json_is_400(api, raw):
    assert_problem(api.post("/contacts", raw), 400)
    created = person(api)
    assert_problem(api.patch(f"/contacts/{created['id']}", raw), 400)
    assert Person.objects.filter(workspace=api.workspace).count() == 1


def test_a_json_body_that_is_not_an_object_is_422(api):
    assert_problem(api.post("/contacts", b"[1, 2]"), 422)
    assert_problem(api.post("/contacts", b'"text"'), 422)


def test_a_body_over_one_megabyte_is_413(api):
    big = orjson.dumps({"first_name": "A", "title": "x" * (1024 * 1024)})
    body = assert_problem(api.post("/contacts", big), 413)
    assert "limit" in body["detail"]
    created = person(api)
    assert_problem(api.patch(f"/contacts/{created['id']}", big), 413)
    assert Person.objects.filter(workspace=api.workspace).count() == 1


def test_a_body_just_under_the_limit_is_read(api):
    # Under 1 MB the body is parsed and validated normally (here: a too-long title).
    r = api.post("/contacts", {"first_name": "A", "title": "x" * 500_000})
    assert_problem(r, 422, "title")


def test_if_match_must_be_a_version(api):
    created = person(api)
    r = api.patch(f"/contacts/{created['id']}", {"title": "X"}, headers={"If-Match": "yesterday"})
    assert_problem(r, 422, "If-Match")
    r = api.patch(f"/contacts/{created['id']}", {"title": "X"}, headers={"If-Match": 'W/"1"'})
    assert r.status_code == 200
    r = api.patch(f"/contacts/{created['id']}", {"title": "Y"}, headers={"If-Match": "*"})
    assert r.status_code == 200
    assert r.json()["version"] == 3


def test_a_patch_that_changes_nothing_keeps_the_version(api):
    created = person(api, title="Same")
    audit = AuditEntry.objects.filter(object_id=created["id"]).count()
    r = api.patch(f"/contacts/{created['id']}", {"title": "Same"})
    assert r.status_code == 200
    assert r.json()["version"] == 1 and r["ETag"] == '"1"'
    assert AuditEntry.objects.filter(object_id=created["id"]).count() == audit


def test_unknown_and_malformed_ids_are_refused(api):
    assert_problem(api.get(f"/contacts/{uuid.uuid4()}"), 404)
    assert_problem(api.get("/contacts/not-a-uuid"), 422, "contact_id")
    assert_problem(api.patch("/companies/12", {"name": "x"}), 422, "company_id")
    assert_problem(api.delete("/companies/12"), 422, "company_id")


# --- duplicates -----------------------------------------------------------------------------------


def test_duplicate_email_is_409_with_the_existing_id(api):
    first = person(api, email="dup@example.com")
    body = assert_problem(api.post("/contacts", {"email": "DUP@Example.com"}), 409, "email")
    assert body["existing_id"] == first["id"]
    other = person(api, email="other@example.com")
    r = api.patch(f"/contacts/{other['id']}", {"email": " Dup@EXAMPLE.com "})
    assert assert_problem(r, 409, "email")["existing_id"] == first["id"]
    assert Person.objects.filter(workspace=api.workspace).count() == 2


def test_an_email_may_repeat_across_workspaces_and_after_deletion(api, other_api):
    first = person(api, email="shared@example.com")
    person(other_api, email="shared@example.com")
    assert api.delete(f"/contacts/{first['id']}").status_code == 204
    again = person(api, email="shared@example.com")
    assert again["id"] != first["id"]


def test_duplicate_domain_is_409_with_the_existing_id(api, other_api):
    first = company(api, domain="globex.example")
    for variant in ("GLOBEX.example", "https://www.globex.example/", "globex.example:443"):
        body = assert_problem(api.post("/companies", {"name": "G2", "domain": variant}), 409)
        assert body["existing_id"] == first["id"]
        assert body["errors"][0]["field"] == "domain"
    company(other_api, domain="globex.example")  # another workspace may
    second = company(api, domain="globex2.example")
    r = api.patch(f"/companies/{second['id']}", {"domain": "globex.example"})
    assert assert_problem(r, 409, "domain")["existing_id"] == first["id"]
    # Blank domains never clash.
    company(api, domain="")
    company(api, domain=None)


# --- idempotency ---------------------------------------------------------------------------------


def test_idempotency_key_replays_the_first_result(api):
    body = {"first_name": "Retry", "email": "retry@example.com"}
    key = {"Idempotency-Key": "create-retry-1"}
    first = api.post("/contacts", body, headers=key)
    assert first.status_code == 201
    second = api.post("/contacts", body, headers=key)
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second["Location"] == first["Location"]
    assert second["ETag"] == first["ETag"]
    assert second["Idempotent-Replayed"] == "true"
    assert Person.objects.filter(workspace=api.workspace).count() == 1
    assert AuditEntry.objects.filter(object_id=first.json()["id"]).count() == 1


def test_idempotency_key_with_a_different_body_is_422(api):
    key = {"Idempotency-Key": "k-2"}
    first = api.post("/companies", {"name": "Once"}, headers=key)
    assert first.status_code == 201
    r = api.post("/companies", {"name": "Twice"}, headers=key)
    assert_problem(r, 422, "Idempotency-Key")
    r = api.post("/contacts", {"first_name": "Once"}, headers=key)  # same key, other path
    assert_problem(r, 422, "Idempotency-Key")
    assert list(Company.objects.filter(workspace=api.workspace).values_list("name", flat=True)) == [
        "Once"
    ]


def test_idempotency_keys_are_per_user_and_a_failed_create_is_not_remembered(api, api_as):
    key = {"Idempotency-Key": "shared-key"}
    person(api, email="taken@example.com")
    r = api.post("/contacts", {"email": "taken@example.com"}, headers=key)
    assert_problem(r, 409)
    r = api.post("/contacts", {"email": "free@example.com"}, headers=key)
    assert r.status_code == 201  # the failure did not use the key up
    colleague = api_as(Role.MEMBER)
    r2 = colleague.post("/contacts", {"email": "free2@example.com"}, headers=key)
    assert r2.status_code == 201 and r2.json()["id"] != r.json()["id"]
    assert_problem(
        api.post("/contacts", {"first_name": "A"}, headers={"Idempotency-Key": "k" * 256}),
        422,
        "Idempotency-Key",
    )


# --- links: company, owner, tags ------------------------------------------------------------------


def test_linking_a_person_to_a_company(api):
    org = company(api)
    created = person(api, company=org["id"])
    assert created["company"] == org["id"]
    r = api.patch(f"/contacts/{created['id']}", {"company": None})
    assert r.json()["company"] is None
    r = api.patch(f"/contacts/{created['id']}", {"company": org["id"]})
    assert r.json()["company"] == org["id"]


def test_linking_to_another_workspaces_company_is_422_and_does_not_leak(api, other_api):
    theirs = company(other_api, name="Secret Corp")
    missing = str(uuid.uuid4())
    r1 = api.post("/contacts", {"first_name": "A", "company": theirs["id"]})
    r2 = api.post("/contacts", {"first_name": "A", "company": missing})
    b1, b2 = assert_problem(r1, 422, "company"), assert_problem(r2, 422, "company")
    assert b1 == b2  # an existing foreign company reads exactly like a missing one
    assert "Secret" not in r1.content.decode()
    assert not Person.objects.filter(workspace=api.workspace).exists()
    mine = person(api)
    assert_problem(api.patch(f"/contacts/{mine['id']}", {"company": theirs["id"]}), 422, "company")


def test_linking_to_a_deleted_company_is_422(api):
    org = company(api)
    api.delete(f"/companies/{org['id']}")
    assert_problem(api.post("/contacts", {"first_name": "A", "company": org["id"]}), 422, "company")


def test_assigning_an_owner(api, api_as, other_api):
    colleague = api_as(Role.MEMBER)
    created = person(api, owner=str(colleague.user.pk))
    assert created["owner"] == str(colleague.user.pk)
    r = api.patch(f"/contacts/{created['id']}", {"owner": None})
    assert r.json()["owner"] is None
    for stranger in (str(other_api.user.pk), str(uuid.uuid4())):
        assert_problem(api.patch(f"/contacts/{created['id']}", {"owner": stranger}), 422, "owner")
        assert_problem(api.post("/companies", {"name": "X", "owner": stranger}), 422, "owner")
    assert api.get(f"/contacts/{created['id']}").json()["owner"] is None


def test_tags_are_set_and_replaced(api):
    created = person(api, tags=["b", "A", "a", " c "])
    assert created["tags"] == ["A", "b", "c"]  # case-insensitive de-duplication, trimmed
    r = api.patch(f"/contacts/{created['id']}", {"title": "untouched tags"})
    assert r.json()["tags"] == ["A", "b", "c"]
    r = api.patch(f"/contacts/{created['id']}", {"tags": ["z"]})
    assert r.json()["tags"] == ["z"]
    assert r.json()["version"] == 3
    r = api.patch(f"/contacts/{created['id']}", {"tags": []})
    assert r.json()["tags"] == []
    org = company(api, tags=["Partner"])
    other = person(api, tags=["partner"])  # an existing tag is reused, whatever its case
    assert org["tags"] == ["Partner"] and other["tags"] == ["Partner"]
    entries = AuditEntry.objects.filter(object_id=other["id"]).count()
    r = api.patch(f"/contacts/{other['id']}", {"tags": ["PARTNER"]})  # the same tag: no change
    assert r.json()["tags"] == ["Partner"] and r.json()["version"] == 1
    assert AuditEntry.objects.filter(object_id=other["id"]).count() == entries
    created_entry = AuditEntry.objects.get(object_id=other["id"])
    assert created_entry.changes["tags"]["after"] == ["Partner"]  # what is stored, not typed


# --- filters -----------------------------------------------------------------------------------


def listed(api, path: str, **params) -> list[str]:
    return ids(all_pages(api, path, {"limit": 500, **params}))


def test_person_filters(api, api_as):
    colleague = api_as(Role.MEMBER)
    org = company(api)
    ada = person(
        api,
        first_name="Ada",
        last_name="Lovelace",
        email="Ada@Math.example",
        title="Analyst",
        phone="+44 20 7946 0958",
        company=org["id"],
        owner=str(api.user.pk),
        lifecycle_stage="customer",
        source="referral",
        tags=["VIP"],
        address={"city": "London", "region": "England", "postal_code": "SW1", "country": "GB"},
    )
    bob = person(
        api,
        first_name="Bob",
        last_name="Babbage",
        email="bob@engine.example",
        title="Engineer",
        owner=str(colleague.user.pk),
        lifecycle_stage="lead",
        source="web",
        tags=["engine"],
        address={"city": "Paris", "country": "FR"},
    )
    cy = person(api, first_name="Cy", last_name="Unowned", email="cy@example.com")
    everyone = {ada["id"], bob["id"], cy["id"]}
    assert set(listed(api, "/contacts")) == everyone

    cases = {
        "email": [("ADA@math.EXAMPLE", {ada["id"]}), ("nobody@example.com", set())],
        "first_name": [("ada", {ada["id"]})],
        "last_name": [("BABBAGE", {bob["id"]})],
        "title": [("analyst", {ada["id"]})],
        "company": [(org["id"], {ada["id"]}), (str(uuid.uuid4()), set())],
        "owner": [
            ("me", {ada["id"]}),
            ("none", {cy["id"]}),
            (str(colleague.user.pk), {bob["id"]}),
        ],
        "tag": [("vip", {ada["id"]}), ("ENGINE", {bob["id"]}), ("none-such", set())],
        "lifecycle_stage": [("customer", {ada["id"]}), ("lead", {bob["id"], cy["id"]})],
        "source": [("web", {bob["id"]})],
        "city": [("london", {ada["id"]}), ("Paris", {bob["id"]})],
        "region": [("england", {ada["id"]})],
        "postal_code": [("sw1", {ada["id"]})],
        "country": [("gb", {ada["id"]}), ("FR", {bob["id"]}), ("DE", set())],
        "phone": [("+442079460958", {ada["id"]}), ("+44 20 7946 0958", {ada["id"]})],
        "q": [
            ("lovelace", {ada["id"]}),
            ("engine.example", {bob["id"]}),
            ("Cy", {cy["id"]}),
            ("+44 20 7946 0958", {ada["id"]}),
            ("zzzzzz", set()),
        ],
    }
    for name, checks in cases.items():
        for value, expected in checks:
            assert set(listed(api, "/contacts", **{name: value})) == expected, (name, value)
    # filters combine with AND
    assert listed(api, "/contacts", country="GB", tag="vip", owner="me") == [ada["id"]]
    assert listed(api, "/contacts", country="GB", tag="engine") == []


def test_time_filters(api):
    old = person(api)
    new = person(api)
    past = timezone.now() - dt.timedelta(days=30)
    Person.objects.filter(pk=old["id"]).update(created_at=past, updated_at=past)
    cut = (timezone.now() - dt.timedelta(days=1)).isoformat()
    assert listed(api, "/contacts", updated_after=cut) == [new["id"]]
    assert listed(api, "/contacts", updated_before=cut) == [old["id"]]
    assert listed(api, "/contacts", created_after=cut) == [new["id"]]
    assert listed(api, "/contacts", created_before=cut) == [old["id"]]
    # an edit moves a record into ?updated_after=
    api.patch(f"/contacts/{old['id']}", {"title": "Touched"})
    assert set(listed(api, "/contacts", updated_after=cut)) == {old["id"], new["id"]}
    org = company(api)
    Company.objects.filter(pk=org["id"]).update(updated_at=past)
    assert listed(api, "/companies", updated_before=cut) == [org["id"]]
    assert listed(api, "/companies", updated_after=cut) == []


def test_company_filters(api, api_as):
    colleague = api_as(Role.MEMBER)
    acme = company(
        api,
        name="Acme",
        domain="acme.example",
        industry="Anvils",
        employees=50,
        owner=str(api.user.pk),
        tags=["partner"],
        phone="+1 202 555 0143",
        address={"city": "Tucson", "region": "AZ", "postal_code": "85701", "country": "US"},
    )
    globex = company(
        api,
        name="Globex",
        domain="globex.example",
        industry="Energy",
        employees=5000,
        owner=str(colleague.user.pk),
        address={"city": "Springfield", "country": "US"},
    )
    lone = company(api, name="Lone", domain="", employees=None)
    cases = {
        "name": [("acme", {acme["id"]}), ("GLOBEX", {globex["id"]})],
        "domain": [
            ("acme.example", {acme["id"]}),
            ("https://www.ACME.example/", {acme["id"]}),
            ("nope.example", set()),
        ],
        "industry": [("energy", {globex["id"]})],
        "employees_min": [("100", {globex["id"]}), ("50", {acme["id"], globex["id"]})],
        "employees_max": [("50", {acme["id"]})],
        "owner": [("me", {acme["id"]}), ("none", {lone["id"]})],
        "tag": [("PARTNER", {acme["id"]})],
        "city": [("tucson", {acme["id"]})],
        "region": [("az", {acme["id"]})],
        "postal_code": [("85701", {acme["id"]})],
        "country": [("us", {acme["id"], globex["id"]})],
        "phone": [("(202) 555-0143", {acme["id"]})],
        "q": [("globex", {globex["id"]}), ("acme.exa", {acme["id"]}), ("anvil", {acme["id"]})],
    }
    for name, checks in cases.items():
        for value, expected in checks:
            assert set(listed(api, "/companies", **{name: value})) == expected, (name, value)


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/contacts", {"owner": "someone"}, "owner"),
        ("/contacts", {"company": "acme"}, "company"),
        ("/contacts", {"lifecycle_stage": "champion"}, "lifecycle_stage"),
        ("/contacts", {"updated_after": "last tuesday"}, "updated_after"),
        ("/contacts", {"country": "GBR"}, "country"),
        ("/contacts", {"q": "x" * 101}, "q"),
        ("/companies", {"employees_min": "-1"}, "employees_min"),
        ("/companies", {"employees_max": "lots"}, "employees_max"),
        ("/contacts", {"limit": "501"}, "limit"),
        ("/contacts", {"limit": "0"}, "limit"),
        ("/companies", {"limit": "100000"}, "limit"),
        ("/contacts", {"sort": "phone"}, "sort"),
        ("/contacts", {"sort": "--email"}, "sort"),
        ("/companies", {"sort": "employees"}, "sort"),
        ("/contacts", {"city": "nul\x00byte"}, "city"),
        ("/companies", {"name": "\x00"}, "name"),
        ("/contacts", {"q": "\x00abc"}, "q"),
    ],
)
def test_invalid_list_parameters_are_422(api, path, params, field):
    person(api)
    assert_problem(api.get(path, params), 422, field)


def test_filters_ignore_other_workspaces(api, other_api):
    theirs = person(other_api, email="x@example.com", tags=["vip"])
    person(api, tags=["vip"])
    for params in ({"email": "x@example.com"}, {"tag": "vip"}, {"q": "example"}, {}):
        assert theirs["id"] not in listed(api, "/contacts", **params)


# --- sorting and keyset pagination ------------------------------------------------------------


def sort_key(field: str):
    return lambda row: (row[field] or "", row["id"])


def expected_order(rows: list[dict], sort: str) -> list[str]:
    field = sort.lstrip("-")
    return ids(sorted(rows, key=sort_key(field), reverse=sort.startswith("-")))


@pytest.fixture
def many_people(api):
    """23 people with many ties on first name, last name and timestamps."""
    rows = []
    firsts = ["anna", "bert", "carl"]
    lasts = ["mayer", "mayer", "zeller", "adler"]
    for i in range(23):
        rows.append(
            person(
                api,
                first_name=firsts[i % 3],
                last_name=lasts[i % 4],
                email=f"p{i:02d}@sort.example" if i % 5 else None,
            )
        )
    # Ties on the timestamps too: groups of records created in the same instant.
    base = timezone.now() - dt.timedelta(hours=1)
    for i, row in enumerate(rows):
        moment = base + dt.timedelta(seconds=i // 4)
        Person.objects.filter(pk=row["id"]).update(created_at=moment, updated_at=moment)
    return rows


@pytest.mark.parametrize(
    "sort",
    [
        "created_at",
        "-created_at",
        "updated_at",
        "-updated_at",
        "first_name",
        "-first_name",
        "last_name",
        "-last_name",
        "email",
        "-email",
    ],
)
def test_keyset_pagination_walks_every_row_once_in_order(api, many_people, sort):
    person(make_api_client(Role.OWNER), first_name="anna")  # noise in another workspace
    full = all_pages(api, "/contacts", {"sort": sort, "limit": 500})
    assert len(full) == 23
    field = sort.lstrip("-")
    if field in ("created_at", "updated_at"):
        rows = [row | {field: parse_time(row[field]).isoformat()} for row in full]
        assert ids(full) == expected_order(rows, sort)
    else:
        assert ids(full) == expected_order(full, sort)
    paged = all_pages(api, "/contacts", {"sort": sort, "limit": 7})
    assert ids(paged) == ids(full)
    assert len(set(ids(paged))) == 23


def test_default_sort_is_newest_first(api):
    rows = [person(api) for _ in range(3)]
    assert listed(api, "/contacts") == [r["id"] for r in reversed(rows)]


@pytest.mark.parametrize(
    "sort", ["name", "-name", "domain", "-domain", "created_at", "-updated_at"]
)
def test_company_sorts_and_pages(api, sort):
    for i in range(10):
        company(api, name=f"org{i % 4}", domain=f"d{i:02d}.example" if i % 3 else "")
    full = all_pages(api, "/companies", {"sort": sort, "limit": 500})
    paged = all_pages(api, "/companies", {"sort": sort, "limit": 3})
    assert ids(paged) == ids(full)
    assert len(set(ids(full))) == 10
    if sort.lstrip("-") in ("name", "domain"):
        assert ids(full) == expected_order(full, sort)


def test_pagination_shape_and_limit(api):
    for _ in range(5):
        person(api)
    r = api.get("/contacts", {"limit": 2})
    body = r.json()
    assert len(body["results"]) == 2 and isinstance(body["next"], str)
    r = api.get("/contacts", {"limit": 5})
    assert r.json()["next"] is None
    r = api.get("/contacts", {"limit": 500})
    assert r.status_code == 200


def _cursor(payload) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


U = "5d05aabb-f0b0-4c1f-a077-db05f8be981a"
T = {"dt": "2024-01-01T00:00:00+00:00"}


@pytest.mark.parametrize(
    ("sort", "cursor"),
    [
        ("-created_at", "garbage"),
        ("-created_at", "!!!"),
        ("-created_at", _cursor(["-created_at"])),
        ("-created_at", _cursor({"a": 1})),
        ("-created_at", _cursor(["-created_at", "yesterday", U])),
        ("-created_at", _cursor(["-created_at", {"dt": "not a time"}, U])),
        ("-created_at", _cursor(["-created_at", {"x": 1}, U])),
        ("-created_at", _cursor(["-created_at", 12, U])),
        ("-created_at", _cursor(["-created_at", T, "not-a-uuid"])),
        ("-created_at", _cursor(["-created_at", T, 5])),
        ("last_name", _cursor(["last_name", 12, U])),
        ("last_name", _cursor(["last_name", None, U])),
        ("last_name", _cursor(["last_name", ["a"], U])),
        ("last_name", _cursor(["last_name", "nul\x00", U])),
        ("last_name", _cursor(["-created_at", T, U])),  # made for another sort
    ],
)
def test_an_invalid_cursor_is_422(api, sort, cursor):
    person(api)
    assert_problem(api.get("/contacts", {"cursor": cursor, "sort": sort}), 422, "cursor")


def test_a_cursor_is_bound_to_its_sort(api):
    for _ in range(3):
        person(api)
    nxt = api.get("/contacts", {"limit": 1, "sort": "last_name"}).json()["next"]
    assert_problem(api.get("/contacts", {"cursor": nxt, "sort": "first_name"}), 422, "cursor")
    assert api.get("/contacts", {"cursor": nxt, "sort": "last_name"}).status_code == 200


# --- audit ---------------------------------------------------------------------------------


def test_every_write_records_one_audit_entry_with_actor_changes_and_request_id(api):
    def entries(object_id):
        return list(AuditEntry.objects.filter(object_id=object_id).order_by("created_at"))

    r = api.post(
        "/contacts",
        {"first_name": "Ada", "email": "ada@example.com", "tags": ["vip"]},
        headers={"X-Request-ID": "req-create-1"},
    )
    assert r["X-Request-ID"] == "req-create-1"
    pid = r.json()["id"]
    (created,) = entries(pid)
    assert created.action == "contact.created"
    assert created.workspace_id == api.workspace.pk
    assert created.actor_kind == "token"
    assert created.actor_user_id == api.user.pk
    assert created.actor_token is not None and created.actor_token.user_id == api.user.pk
    assert created.request_id == "req-create-1"
    assert created.source == "api"
    assert created.object_type == "contacts.person"
    assert created.changes["first_name"] == {"before": None, "after": "Ada"}
    assert created.changes["email"] == {"before": None, "after": "ada@example.com"}
    assert created.changes["tags"] == {"before": None, "after": ["vip"]}

    api.patch(
        f"/contacts/{pid}",
        {"title": "Countess", "tags": ["vip", "math"]},
        headers={"X-Request-ID": "req-update-2"},
    )
    _, updated = entries(pid)
    assert updated.action == "contact.updated"
    assert updated.request_id == "req-update-2"
    assert updated.changes == {
        "title": {"before": "", "after": "Countess"},
        "tags": {"before": ["vip"], "after": ["math", "vip"]},
    }

    api.delete(f"/contacts/{pid}", headers={"X-Request-ID": "req-delete-3"})
    *_, deleted = entries(pid)
    assert len(entries(pid)) == 3
    assert deleted.action == "contact.deleted"
    assert deleted.request_id == "req-delete-3"
    assert deleted.changes["deleted_at"]["before"] is None


def test_failed_writes_record_nothing(api, api_as):
    created = person(api)
    n = AuditEntry.objects.count()
    api.post("/contacts", {"email": "bad"})
    api.patch(f"/contacts/{created['id']}", {"email": "bad"})
    api.patch(f"/contacts/{created['id']}", {"title": "x"}, headers={"If-Match": '"9"'})
    api_as(Role.READ_ONLY).delete(f"/contacts/{created['id']}")
    assert AuditEntry.objects.count() == n


def test_company_writes_are_audited(api):
    r = api.post(
        "/companies",
        {"name": "Acme", "annual_revenue": {"amount": "10.00", "currency": "EUR"}},
        headers={"X-Request-ID": "co-1"},
    )
    cid = r.json()["id"]
    api.patch(f"/companies/{cid}", {"employees": 5})
    api.delete(f"/companies/{cid}")
    rows = list(AuditEntry.objects.filter(object_id=cid).order_by("created_at"))
    assert [e.action for e in rows] == ["company.created", "company.updated", "company.deleted"]
    assert rows[0].request_id == "co-1"
    assert rows[0].changes["annual_revenue"] == {"before": None, "after": "10.00"}
    assert rows[1].changes == {"employees": {"before": None, "after": 5}}
    assert rows[1].request_id and rows[1].request_id != "co-1"  # a fresh id per request


def test_an_unsafe_request_id_is_replaced(api):
    r = api.post("/contacts", {"first_name": "A"}, headers={"X-Request-ID": "bad id\u00e9<script>"})
    rid = r["X-Request-ID"]
    assert rid != "bad id\u00e9<script>" and rid.isalnum()
    assert AuditEntry.objects.get(object_id=r.json()["id"]).request_id == rid


@pytest.mark.parametrize("path", ["/contacts", "/companies"])
def test_history_lists_the_records_changes_newest_first(api, path):
    make = person if path == "/contacts" else company
    created = make(api)
    api.patch(f"{path}/{created['id']}", {"tags": ["x"]}, headers={"X-Request-ID": "hist-1"})
    api.patch(f"{path}/{created['id']}", {"tags": ["y"]})
    other = make(api)
    r = api.get(f"{path}/{created['id']}/history")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"results", "next"}
    rows = body["results"]
    kind = "contact" if path == "/contacts" else "company"
    assert [e["action"] for e in rows] == [f"{kind}.updated", f"{kind}.updated", f"{kind}.created"]
    assert all(e["object_id"] == created["id"] for e in rows)
    assert other["id"] not in {e["object_id"] for e in rows}
    first_update = rows[1]
    assert set(first_update) == {
        "id",
        "created_at",
        "action",
        "actor",
        "object_type",
        "object_id",
        "object_repr",
        "changes",
        "request_id",
        "source",
    }
    assert first_update["actor"] == {
        "kind": "token",
        "user": str(api.user.pk),
        "label": f"{api.user.email} (API token tests)",
    }
    assert first_update["changes"] == {"tags": {"before": [], "after": ["x"]}}
    assert first_update["request_id"] == "hist-1"
    paged = all_pages(api, f"{path}/{created['id']}/history", {"limit": 1})
    assert ids(paged) == ids(rows)


def test_audit_log_is_for_owners_and_admins(api, api_as, other_api):
    person(api)
    person(other_api)
    for role in (Role.OWNER, Role.ADMIN):
        r = api_as(role).get("/audit")
        assert r.status_code == 200, role
        assert r.json()["results"]
        assert {e["object_id"] for e in r.json()["results"]}.isdisjoint(
            {e.object_id for e in AuditEntry.objects.filter(workspace=other_api.workspace)}
        )
    for role in (Role.MANAGER, Role.MEMBER, Role.READ_ONLY):
        assert_problem(api_as(role).get("/audit"), 403)
    assert_problem(Client().get("/api/v1/audit"), 401)


def test_audit_log_filters(api, api_as):
    member = api_as(Role.MEMBER)
    mine = person(api)
    theirs = person(member)
    org = company(api)
    log = "/audit"

    def entry_ids(**params):
        return [
            (e["action"], e["object_id"]) for e in all_pages(api, log, {"limit": 500, **params})
        ]

    by_member = entry_ids(actor=str(member.user.pk))
    assert by_member == [("contact.created", theirs["id"])]
    people = entry_ids(object_type="contacts.person")
    assert {oid for _, oid in people} >= {mine["id"], theirs["id"]}
    assert org["id"] not in {oid for _, oid in people}
    assert entry_ids(action="company.created") == [("company.created", org["id"])]
    later = (timezone.now() + dt.timedelta(minutes=5)).isoformat()
    earlier = (timezone.now() - dt.timedelta(minutes=5)).isoformat()
    assert entry_ids(since=later) == []
    assert ("company.created", org["id"]) in entry_ids(since=earlier)
    assert entry_ids(until=earlier) == []
    assert_problem(api.get(log, {"since": "soon"}), 422, "since")
    assert_problem(api.get(log, {"actor": "bob"}), 422, "actor")
    assert_problem(api.get(log, {"limit": 501}), 422, "limit")
    assert_problem(api.get(log, {"cursor": "nope"}), 422, "cursor")
    paged = all_pages(api, log, {"limit": 2})
    assert ids(paged) == ids(all_pages(api, log, {"limit": 500}))


# --- search -------------------------------------------------------------------------------------


def search(api, q: str, **params) -> list[dict]:
    r = api.get("/search", {"q": q, **params})
    assert r.status_code == 200, r.content
    body = r.json()
    assert set(body) == {"results", "next"}
    return body["results"]


def test_search_finds_people_and_companies(api, other_api):
    ada = person(
        api,
        first_name="Ada",
        last_name="Lovelace",
        email="ada.king@analytical.example",
        phone="+442079460958",
    )
    acme = company(api, name="Acme Anvils", domain="acme-anvils.example")
    twin = person(other_api, first_name="Ada", last_name="Lovelace", email="ada@other.example")
    other_org = company(other_api, name="Acme Anvils", domain="acme-anvils.example")
    theirs = {twin["id"], other_org["id"]}

    checks = [
        ("Lovelace", ada["id"]),
        ("lovlace", ada["id"]),  # a typo
        ("ada lovelace", ada["id"]),
        ("ada.king@analytical.example", ada["id"]),
        ("ADA.KING@", ada["id"]),
        ("+44 20 7946 0958", ada["id"]),  # another phone format
        ("+44 (20) 7946-0958", ada["id"]),
        ("acme-anvils.example", acme["id"]),
        ("Acme", acme["id"]),
        ("anvls", acme["id"]),
    ]
    for q, expected in checks:
        found = search(api, q)
        assert expected in ids(found), (q, found)
        assert theirs.isdisjoint(ids(found)), q
    hit = next(h for h in search(api, "lovelace") if h["id"] == ada["id"])
    assert set(hit) == {"type", "id", "title", "subtitle", "score", "url"}
    assert hit["type"] == "person" and hit["title"] == "Ada Lovelace"
    assert hit["url"] == f"/people/{ada['id']}"
    assert [h["type"] for h in search(api, "acme", type="company")] == ["company"]
    assert all(h["type"] == "person" for h in search(api, "ada", type="person"))


def test_search_forgets_deleted_and_follows_edits(api):
    ada = person(api, first_name="Ada", last_name="Quixotic")
    assert ada["id"] in ids(search(api, "quixotic"))
    api.patch(f"/contacts/{ada['id']}", {"last_name": "Zanzibar"})
    assert ada["id"] not in ids(search(api, "quixotic"))
    assert ada["id"] in ids(search(api, "zanzibar"))
    api.delete(f"/contacts/{ada['id']}")
    assert ada["id"] not in ids(search(api, "zanzibar"))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"q": "ada", "limit": 51}, "limit"),
        ({"q": "ada", "type": "ticket"}, "type"),
    ],
)
def test_invalid_search_parameters_are_422(api, params, field):
    assert_problem(api.get("/search", params), 422, field)


@pytest.mark.parametrize(
    "q",
    ["a", "ad", '"', '""', "*", "a OR b", "NEAR(", "%", "_", "\\", "   ", "'", "lo\x00ve", "\t"],
)
def test_search_survives_odd_queries(api, q):
    ada = person(api, first_name="Ada", last_name="Lovelace")
    found = search(api, q)
    assert all(hit["id"] == ada["id"] for hit in found)
    if "\x00" not in q and "\t" not in q:
        assert api.get("/contacts", {"q": q}).status_code == 200


def test_search_treats_control_characters_as_blanks(api):
    ada = person(api, first_name="Ada", last_name="Lovelace")
    assert ada["id"] in ids(search(api, "ada\x00lovelace"))


# --- errors outside the routes ---------------------------------------------------------------


def test_unknown_api_paths_and_methods_answer_problem_json(api):
    body = assert_problem(api.get("/nothing-here"), 404)
    assert "/api/v1/docs" in body["detail"]
    r = api.client.put("/api/v1/contacts", data=b"{}", content_type="application/json")
    assert_problem(r, 405)
    assert "GET" in r["Allow"] and "POST" in r["Allow"]
    created = person(api)
    r = api.client.put(f"/api/v1/contacts/{created['id']}", data=b"{}")
    assert_problem(r, 405)
    assert "PATCH" in r["Allow"]


def test_a_crash_answers_problem_json_500(api, monkeypatch):
    from rapport.contacts import selectors

    def boom(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "person_list", boom)
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {api.token}")
    r = client.get("/api/v1/contacts")
    body = assert_problem(r, 500)
    assert "boom" not in r.content.decode()  # no internals leak
    assert body["title"] == "Internal Server Error"
    assert r["X-Request-ID"]


def test_audit_and_history_query_counts_do_not_grow_with_rows(api):
    from rapport.testing.suites import count_queries

    created = person(api)
    api.get("/audit")  # warm up: the token's last_used_at is written once
    for i in range(2):
        api.patch(f"/contacts/{created['id']}", {"title": f"t{i}"})
    few_log, r1, _ = count_queries(lambda: api.get("/audit", {"limit": 500}))
    few_hist, h1, _ = count_queries(lambda: api.get(f"/contacts/{created['id']}/history"))
    for i in range(20):
        api.patch(f"/contacts/{created['id']}", {"title": f"u{i}"})
    many_log, r2, sql = count_queries(lambda: api.get("/audit", {"limit": 500}))
    many_hist, h2, _ = count_queries(lambda: api.get(f"/contacts/{created['id']}/history"))
    assert len(r2.json()["results"]) == len(r1.json()["results"]) + 20
    assert len(h2.json()["results"]) == len(h1.json()["results"]) + 20
    assert many_log == few_log, "\n".join(sql)
    assert many_hist == few_hist


@pytest.mark.parametrize("path", ["/contacts", "/companies", "/audit"])
def test_time_filters_take_any_offset_and_refuse_out_of_range(api, path):
    person(api)
    company(api)
    name = "since" if path == "/audit" else "updated_after"
    # Python accepts offsets up to ±23:59, PostgreSQL only ±15:59: the instant is what counts.
    r = api.get(path, {name: "2000-05-08T10:26:50-17:23"})
    assert r.status_code == 200, r.content
    assert len(r.json()["results"]) >= 1
    r = api.get(path, {name: "2000-05-08T10:26:50"})  # naive: read as UTC
    assert r.status_code == 200
    assert_problem(api.get(path, {name: "0001-01-01T00:00:00+05:00"}), 422, name)


def test_a_cursor_with_an_exotic_offset_is_read_as_its_instant(api):
    rows = [person(api) for _ in range(3)]
    cursor = _cursor(["-created_at", {"dt": "2999-01-01T00:00:00-20:00"}, U])
    r = api.get("/contacts", {"cursor": cursor})
    assert r.status_code == 200
    assert set(ids(r.json()["results"])) == {row["id"] for row in rows}
    cursor = _cursor(["-created_at", {"dt": "0001-01-01T00:00:00+05:00"}, U])
    assert_problem(api.get("/contacts", {"cursor": cursor}), 422, "cursor")


def test_tags_in_any_script_and_case(api):
    names = ["Über", "été", "İstanbul", "ΣΊΣΥΦΟΣ", "ǅ", "ß", "東京", "ﬁ"]
    first = person(api, tags=names)
    assert sorted(t.lower() for t in first["tags"]) == sorted(n.lower() for n in names)
    variants = ["über", "ÉTÉ", "i̇stanbul", "σίσυφος", "ǆ", "SS", "東京", "FI"]
    second = person(api, tags=variants)
    assert len(second["tags"]) == len(variants)
    r = api.patch(f"/contacts/{first['id']}", {"tags": [*variants, *names]})
    assert r.status_code == 200, r.content
    # Whatever the database's idea of case, the same list twice is one set of tags.
    again = api.patch(f"/contacts/{first['id']}", {"tags": [*variants, *names]})
    assert again.json()["tags"] == r.json()["tags"]
    assert again.json()["version"] == r.json()["version"]
    assert {"vip"} <= set(person(api, tags=["vip", "VIP", "Vip"])["tags"])
