"""Schemathesis over the whole /api/v1 OpenAPI document.

Every documented operation is fuzzed with valid and invalid input, as two users of two
workspaces: an owner of workspace A and a member of workspace B. Path ids are often replaced by
real records of A, so the fuzzed bodies reach the services (not only the 404 path), and B's
calls on them prove the workspace wall. The requests go through ``django.test.Client`` (one
transaction per test, like every other test) and the answers are checked against the document:
no 5xx, documented status codes, content types, headers and response bodies.
"""

from __future__ import annotations

import json
import os
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.transport import Response

from rapport.config.api import api as ninja_api
from rapport.core.actors import Role
from rapport.testing.clients import make_api_client

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
BASE_URL = "http://testserver"
# As served: through JSON (status-code keys become strings).
SPEC = json.loads(json.dumps(ninja_api.get_openapi_schema(path_prefix="/api/v1/")))
OPERATIONS = [
    (method.upper(), path)
    for path, item in SPEC["paths"].items()
    for method in item
    if method in ("get", "post", "put", "patch", "delete")
]
# Bounded for CI; a deeper local hunt: RAPPORT_FUZZ_EXAMPLES=500 RAPPORT_FUZZ_RANDOM=1.
EXAMPLES = int(os.environ.get("RAPPORT_FUZZ_EXAMPLES", "30"))
ID_PARAMS = {"contact_id": "contacts", "company_id": "companies"}


def test_the_served_document_is_the_one_fuzzed(api):
    r = Client().get("/api/v1/openapi.json")
    assert r.status_code == 200
    assert r.json() == SPEC
    assert len(OPERATIONS) >= 13


def send(case, token: str | None) -> Response:
    """Sends a schemathesis case through django.test.Client and wraps the answer for checks.

    ``token`` None sends no Authorization at all; otherwise the token replaces whatever the
    case carries (negative generation likes to drop the required header, which would turn most
    cases into one more 401).
    """
    kwargs = case.as_transport_kwargs(base_url=BASE_URL)
    allowed = {"method", "url", "headers", "params", "data", "json", "cookies"}
    prepared = requests.Request(**{k: v for k, v in kwargs.items() if k in allowed}).prepare()
    prepared.headers.pop("Authorization", None)
    if token is not None:
        prepared.headers["Authorization"] = f"Bearer {token}"
    url = urlsplit(prepared.url)
    headers = dict(prepared.headers)
    content_type = headers.pop("Content-Type", "application/octet-stream")
    headers.pop("Content-Length", None)
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    django_response = Client().generic(
        prepared.method,
        url.path + (f"?{url.query}" if url.query else ""),
        data=body,
        content_type=content_type,
        headers=headers,
    )
    return Response(
        status_code=django_response.status_code,
        headers={name: [value] for name, value in django_response.headers.items()},
        content=django_response.content,
        request=prepared,
        elapsed=0.0,
        verify=True,
    )


# Plausible bodies: mostly valid values with edge cases mixed in, so fuzzing reaches the services'
# success paths too (purely random strings are nearly always a 422 at the first email or phone).
_printable = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=30)
_text = st.one_of(
    st.sampled_from(["", " ", "Ada", "<b>x</b>", "Zoë", "O'Brien", "a" * 150]),
    _printable,
    _printable,
    st.text(max_size=10),  # control characters: a 422
)
_phones = st.one_of(
    st.sampled_from(["", "+44 20 7946 0958", "+1 202-555-0143", "030 901820", "+999", "12"]),
    st.text(max_size=45),
)
_address = st.fixed_dictionaries(
    {},
    optional={
        "street": _text,
        "city": _text,
        "region": _text,
        "postal_code": st.sampled_from(["", "SW1Y 4JH", "1" * 40]),
        "country": st.sampled_from(["", "de", "GB", "XX", "DEU", None]),
    },
)
_tags = st.one_of(
    st.none(),
    st.lists(
        st.one_of(st.sampled_from(["vip", "VIP", "Über", "über", "İ", "ß"]), _text), max_size=4
    ),
)
_common = {
    "phone": st.one_of(st.none(), _phones),
    "tags": _tags,
    "address": st.one_of(st.none(), _address),
    "custom": st.sampled_from([None, {}, {"unknown": 1}]),
}
_amounts = st.one_of(
    st.sampled_from(["0", "1234.5", "1234.50", "1e30", "-1", "0.001", "1E+5", "NaN", "abc"]),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
)
PLAUSIBLE_BODIES = {
    "contacts": st.fixed_dictionaries(
        {"first_name": st.one_of(st.sampled_from(["Ada", "Zoë", "李"]), _text)},
        optional={
            "last_name": _text,
            "email": st.one_of(
                st.none(), st.emails().map(str), st.sampled_from(["seed0@example.com", "x"])
            ),
            "title": _text,
            "lifecycle_stage": st.sampled_from(["lead", "customer", None]),
            "source": _text,
            **_common,
        },
    ),
    "companies": st.fixed_dictionaries(
        {"name": st.one_of(st.sampled_from(["Acme", "Zoë GmbH", "株式会社"]), _text)},
        optional={
            "domain": st.one_of(
                st.none(),
                st.sampled_from(["seed0.example", "https://www.Example.org/x", "bad domain", ""]),
                st.from_regex(r"[a-z0-9-]{1,20}\.[a-z]{2,6}", fullmatch=True),
            ),
            "industry": _text,
            "employees": st.one_of(st.none(), st.integers(min_value=-5, max_value=2**31 + 5)),
            "annual_revenue": st.one_of(
                st.none(),
                st.fixed_dictionaries(
                    {"amount": _amounts, "currency": st.sampled_from(["EUR", "usd", "XXX", ""])}
                ),
            ),
            **_common,
        },
    ),
}


@pytest.fixture
def actors(db):
    a = make_api_client(Role.OWNER)
    b = make_api_client(Role.MEMBER)
    seeds: dict[str, list[str]] = {"contacts": [], "companies": []}
    for i in range(3):
        org = a.post(
            "/companies",
            {
                "name": f"Seed {i}",
                "domain": f"seed{i}.example",
                "annual_revenue": {"amount": "10.00", "currency": "EUR"},
                "tags": ["seed"],
            },
        ).json()
        seeds["companies"].append(org["id"])
        person = a.post(
            "/contacts",
            {"first_name": f"Seed{i}", "email": f"seed{i}@example.com", "company": org["id"]},
        ).json()
        seeds["contacts"].append(person["id"])
    b.post("/contacts", {"first_name": "Bee", "email": "bee@example.com"})
    b.post("/companies", {"name": "Bee Co", "domain": "bee.example"})
    return a, b, seeds


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_conforms_to_the_document(actors, method, path):
    a, b, seeds = actors
    schema = schemathesis.openapi.from_dict(SPEC)
    operation = schema[path][method]
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    collection = path.removeprefix("/api/v1/").split("/")[0]
    if method in ("POST", "PATCH") and collection in PLAUSIBLE_BODIES:
        strategies += 2 * [
            PLAUSIBLE_BODIES[collection].map(
                lambda body: operation.Case(
                    body=body,
                    media_type="application/json",
                    path_parameters={p: seeds[c][0] for p, c in ID_PARAMS.items() if p in path},
                )
            )
        ]
    id_param = next((p for p in ID_PARAMS if "{" + p + "}" in path), None)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=not os.environ.get("RAPPORT_FUZZ_RANDOM"),
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=st.one_of(*strategies),
        seed=st.sampled_from([None, 0, 1, 2]),
        who=st.sampled_from(["a", "a", "b", "b", "anonymous"]),
    )
    def run(case, seed, who):
        uses_a_record = False
        if id_param and seed is not None:
            case.path_parameters[id_param] = seeds[ID_PARAMS[id_param]][seed]
            uses_a_record = True
        token = {"a": a.token, "b": b.token, "anonymous": None}[who]
        response = send(case, token)
        case.validate_response(response, checks=CHECKS)
        if who == "anonymous":
            assert response.status_code == 401
        if who == "b" and uses_a_record:
            # The wall: B never reads, changes or deletes A's records, nor learns they exist.
            assert response.status_code in (400, 404, 422), (response.status_code, response.content)

    run()
