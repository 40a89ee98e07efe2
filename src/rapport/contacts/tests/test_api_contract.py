"""The shared API contract (rapport.testing.suites) applied to people and companies."""

from __future__ import annotations

import pytest

from rapport.testing.suites import ApiContractSuite, Resource

pytestmark = pytest.mark.django_db


def person_payload(client, n: int) -> dict:
    return {
        "first_name": f"Grace{n}",
        "last_name": f"Hopperson{n}",
        "email": f"grace.{n}@navy.example",
        "phone": f"+1 202 555 {n % 10000:04d}",
        "title": "Rear admiral",
        "lifecycle_stage": "customer",
        "source": "conference",
        "owner": str(client.user.pk),
        "tags": ["vip", f"cohort-{n % 3}"],
        "address": {"street": "1 Navy Way", "city": "Arlington", "country": "US"},
    }


def company_payload(client, n: int) -> dict:
    return {
        "name": f"Initech {n}",
        "domain": f"initech{n}.example",
        "industry": "Software",
        "employees": 10 + n,
        "annual_revenue": {"amount": f"{n}000.50", "currency": "EUR"},
        "phone": "+49 30 901820",
        "owner": str(client.user.pk),
        "tags": ["partner", f"tier-{n % 3}"],
        "address": {"city": "Berlin", "country": "DE"},
    }


PEOPLE = Resource(
    path="/contacts",
    object_type="contacts.person",
    payload=person_payload,
    update={"title": "Commodore", "lifecycle_stage": "evangelist", "tags": ["navy"]},
    search_text=lambda body: body["email"],
)

COMPANIES = Resource(
    path="/companies",
    object_type="contacts.company",
    payload=company_payload,
    update={"name": "Initrode", "industry": "Consulting", "tags": ["rival"]},
    search_text=lambda body: body["domain"],
)


class TestPeopleContract(ApiContractSuite):
    resource = PEOPLE


class TestCompaniesContract(ApiContractSuite):
    resource = COMPANIES
