"""The contacts sections of the person and company pages: key facts (with tags and custom
fields) and the related people and companies. Registered from ``ContactsConfig.ready``;
activities, files, tasks (and later deals, tickets, campaigns) register theirs the same way."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from rapport.core.actors import Actor
from rapport.core.policy import can_write
from rapport.ui import sections

from . import selectors

COMPANY_PEOPLE_SHOWN = 25
COLLEAGUES_SHOWN = 6


def person_facts(request: HttpRequest, actor: Actor, person) -> dict[str, Any]:
    return {"person": person}


def company_facts(request: HttpRequest, actor: Actor, company) -> dict[str, Any]:
    return {"company": company}


def company_people(request: HttpRequest, actor: Actor, company) -> dict[str, Any]:
    return {
        "company": company,
        "people": selectors.company_people(
            actor=actor, company=company, limit=COMPANY_PEOPLE_SHOWN
        ),
        "title_count": company.people_count,
        "people_url": reverse("contacts:person_list") + f"?company={company.pk}",
        "add_person_url": reverse("contacts:person_create") + f"?company={company.pk}",
        "can_write": can_write(actor),
    }


def person_related(request: HttpRequest, actor: Actor, person) -> dict[str, Any] | None:
    """The person's company and a few colleagues there (none: nothing to show)."""
    company = person.company
    if company is None or company.deleted_at is not None:
        return None
    colleagues = list(
        selectors.people(actor)
        .filter(company_id=company.pk)
        .exclude(pk=person.pk)
        .only("id", "first_name", "last_name", "title", "company_id")
        .order_by("last_name", "first_name", "id")[: COLLEAGUES_SHOWN + 1]
    )
    return {
        "company": company,
        "colleagues": colleagues[:COLLEAGUES_SHOWN],
        "more_colleagues": len(colleagues) > COLLEAGUES_SHOWN,
        "people_url": reverse("contacts:person_list") + f"?company={company.pk}",
    }


def register() -> None:
    sections.register(
        "person",
        sections.Section(
            key="facts",
            title="About",
            template="contacts/partials/person_facts.html",
            context=person_facts,
            order=10,
            column="side",
        ),
    )
    sections.register(
        "person",
        sections.Section(
            key="related",
            title="Company and colleagues",
            template="contacts/sections/person_related.html",
            context=person_related,
            order=40,
            column="side",
        ),
    )
    sections.register(
        "company",
        sections.Section(
            key="facts",
            title="About",
            template="contacts/partials/company_facts.html",
            context=company_facts,
            order=10,
            column="side",
        ),
    )
    sections.register(
        "company",
        sections.Section(
            key="people",
            title="People",
            template="contacts/sections/company_people.html",
            context=company_people,
            order=40,
            column="side",
        ),
    )
