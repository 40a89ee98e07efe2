"""The OpenAPI document types `custom` for a token's workspace; the registry's text parsing."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from rapport.core.errors import ValidationFailed
from rapport.customization.models import CustomField
from rapport.customization.types import check_pattern, get_type
from rapport.testing.suites import assert_problem

pytestmark = pytest.mark.django_db


def test_openapi_describes_custom_and_types_it_for_a_token(api, other_api):
    api.post(
        "/custom-fields",
        {
            "object_type": "contacts.person",
            "key": "tier",
            "label": "Tier",
            "type": "select",
            "options": [{"label": "Gold"}],
            "required": True,
        },
    )
    anonymous = Client().get("/api/v1/openapi.json").json()
    custom = anonymous["components"]["schemas"]["ContactIn"]["properties"]["custom"]
    assert "/api/v1/custom-fields" in str(custom)
    assert "tier" not in str(custom)

    mine = api.get("/api/v1/openapi.json")
    assert "no-store" in mine["Cache-Control"]
    schemas = mine.json()["components"]["schemas"]
    typed = schemas["ContactIn"]["properties"]["custom"]["anyOf"][0]
    assert typed["properties"]["tier"]["anyOf"][0] == {"type": "string", "enum": ["gold"]}
    assert typed["additionalProperties"] is False
    assert "tier" in schemas["ContactOut"]["properties"]["custom"]["properties"]
    assert schemas["CompanyOut"]["properties"]["custom"]["properties"] == {}

    theirs = other_api.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert theirs["ContactOut"]["properties"]["custom"]["properties"] == {}
    # Sorting by a custom field is declared.
    params = mine.json()["paths"]["/api/v1/contacts"]["get"]["parameters"]
    sort = next(p for p in params if p["name"] == "sort")
    assert "custom" in sort["schema"]["pattern"]


def spec(type_, **extra) -> CustomField:
    return CustomField(key="f", label="F", type=type_, **extra)


OPTIONS = [{"value": "gold", "label": "Gold"}, {"value": "silver", "label": "Silver"}]


@pytest.mark.parametrize(
    ("type_", "extra", "raw", "value", "text"),
    [
        ("boolean", {}, "Yes", True, "yes"),
        ("boolean", {}, "0", False, "no"),
        ("date", {}, "31.12.2024", "2024-12-31", "2024-12-31"),
        ("date", {}, "2024-12-31", "2024-12-31", "2024-12-31"),
        ("datetime", {}, "2024-12-31T10:00:00+01:00", "2024-12-31T09:00:00Z", None),
        ("number", {}, "1,234", 1234, "1234"),
        ("decimal", {}, "12,5", "12.5", "12.5"),
        ("currency", {}, "EUR 1,250.5", {"amount": "1250.50", "currency": "EUR"}, "1250.50 EUR"),
        ("select", {"options": OPTIONS}, "GOLD", "gold", "gold"),
        ("multi_select", {"options": OPTIONS}, "Silver; gold", ["gold", "silver"], "gold; silver"),
        ("url", {}, "example.com/x", "https://example.com/x", None),
        ("text", {}, "  hi  ", "hi", "hi"),
    ],
)
def test_parse_text_and_format_text_round_trip(actor, type_, extra, raw, value, text):
    kind = get_type(type_)
    field = spec(type_, **extra)
    assert kind.parse_text(raw, field, workspace=actor.workspace) == value
    formatted = kind.format_text(value, field)
    if text is not None:
        assert formatted == text
    assert kind.parse_text(formatted, field, workspace=actor.workspace) == value
    assert kind.parse_text("", field, workspace=actor.workspace) is None


def test_parse_errors_name_the_field(actor):
    with pytest.raises(ValidationFailed) as exc:
        get_type("number").parse_text("twelve", spec("number"), workspace=actor.workspace)
    assert exc.value.errors[0].field == "custom.f"


def test_user_reference_parses_a_members_email(actor):
    kind = get_type("user")
    value = kind.parse_text(actor.user.email.upper(), spec("user"), workspace=actor.workspace)
    assert value == str(actor.user_id)


def test_catastrophic_patterns_are_refused_and_allowed_ones_are_fast(api):
    for pattern in ("(a+)+$", "(a*)*b", "(a|a)*c", "(x+x+)+y", r"(\d{1,3})+$"):
        assert check_pattern(pattern), pattern
        r = api.post(
            "/custom-fields",
            {"object_type": "contacts.person", "label": "P", "type": "text", "regex": pattern},
        )
        assert_problem(r, 422, "regex")
    r = api.post(
        "/custom-fields",
        {
            "object_type": "contacts.person",
            "key": "code",
            "label": "Code",
            "type": "text",
            "regex": r"[a-z]+\d*[a-z]*",
        },
    )
    assert r.status_code == 201
    started = time.monotonic()
    r = api.post("/contacts", {"first_name": "X", "custom": {"code": "a" * 250 + "!"}})
    assert_problem(r, 422, "custom.code")
    assert time.monotonic() - started < 2


def test_huge_custom_values_are_refused(api):
    api.post(
        "/custom-fields",
        {"object_type": "contacts.person", "key": "notes", "label": "Notes", "type": "long_text"},
    )
    r = api.post("/contacts", {"first_name": "X", "custom": {"notes": "x" * 10_001}})
    assert_problem(r, 422, "custom.notes")
    r = api.post("/contacts", {"first_name": "X", "custom": {f"k{i}": 1 for i in range(500)}})
    assert_problem(r, 422, "custom.k0")
