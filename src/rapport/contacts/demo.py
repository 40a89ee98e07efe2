"""The demo workspace: a small, realistic and deterministic CRM to try Rapport with.

``demo_install`` creates the workspace ``demo`` with four members and 100 companies and 500
people, once: when the workspace exists it changes nothing. Records are made through the
services (``company_create``/``person_create`` with the owner as actor and ``source="demo"``),
so they are validated, audited and indexed for search exactly like records a user creates.

``generate`` is pure: the same seed gives the same data on every machine with the locked Faker
version. Companies get domains under the reserved ``.example`` top-level domain (RFC 2606) and
people without a company get ``example.com``/``.org``/``.net`` addresses, so nothing a demo
user does (a campaign, a test mail) can ever reach a real mailbox.
"""

from __future__ import annotations

import os
import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from django.contrib.auth.hashers import make_password
from django.db import transaction
from faker import Faker

from rapport.core.actors import Actor, ActorKind, Role
from rapport.tenancy.models import Workspace
from rapport.tenancy.services import member_add, workspace_create
from rapport.users.models import User
from rapport.users.services import user_get_or_create

from . import services
from .models import Company, LifecycleStage, Person

SEED = 20240517
DEMO_SLUG = "demo"
DEMO_NAME = "Demo"
DEFAULT_PASSWORD = "rapport-demo"  # noqa: S105 (the documented demo login)
COMPANY_COUNT = 100
PEOPLE_COUNT = 500
SOURCE = "demo"


@dataclass(frozen=True)
class DemoUser:
    email: str
    full_name: str
    role: Role


OWNER = DemoUser("admin@example.com", "Alex Morgan", Role.OWNER)
TEAMMATES = (
    DemoUser("manager@example.com", "Sam Rivera", Role.MANAGER),
    DemoUser("member@example.com", "Jordan Lee", Role.MEMBER),
    DemoUser("readonly@example.com", "Casey Kim", Role.READ_ONLY),
)
DEMO_USERS = (OWNER, *TEAMMATES)


def demo_password() -> str:
    return os.environ.get("RAPPORT_DEMO_PASSWORD") or DEFAULT_PASSWORD


# --- the generator ------------------------------------------------------------------------

# country -> (Faker locale, currency, weight)
COUNTRIES: dict[str, tuple[str, str, int]] = {
    "US": ("en_US", "USD", 30),
    "GB": ("en_GB", "GBP", 15),
    "DE": ("de_DE", "EUR", 15),
    "FR": ("fr_FR", "EUR", 10),
    "NL": ("nl_NL", "EUR", 6),
    "ES": ("es_ES", "EUR", 6),
    "IT": ("it_IT", "EUR", 5),
    "CA": ("en_CA", "CAD", 5),
    "AU": ("en_AU", "AUD", 4),
    "SE": ("sv_SE", "SEK", 4),
}
INDUSTRIES = (
    "Software",
    "Manufacturing",
    "Retail",
    "Healthcare",
    "Financial services",
    "Logistics",
    "Education",
    "Hospitality",
    "Construction",
    "Media",
    "Energy",
    "Consulting",
    "Real estate",
    "Telecommunications",
    "Food and beverage",
)
SENIORITIES = ("", "", "Senior ", "Junior ", "Lead ")
ROLES_BY_FUNCTION = {
    "Sales": ("Account Executive", "Sales Manager", "Business Development Representative"),
    "Marketing": ("Marketing Manager", "Content Strategist", "Growth Marketer"),
    "Engineering": ("Software Engineer", "Engineering Manager", "Solutions Architect"),
    "Operations": ("Operations Manager", "Office Manager", "Supply Chain Analyst"),
    "Finance": ("Controller", "Financial Analyst", "Accountant"),
    "Procurement": ("Procurement Manager", "Buyer", "Category Manager"),
    "IT": ("IT Manager", "Systems Administrator", "IT Project Manager"),
    "HR": ("HR Business Partner", "Recruiter", "People Operations Manager"),
}
EXECUTIVE_TITLES = (
    "CEO",
    "CTO",
    "CFO",
    "COO",
    "Founder",
    "Managing Director",
    "VP Sales",
    "VP Marketing",
    "Head of Procurement",
    "Head of IT",
)
LIFECYCLE_WEIGHTS = {
    LifecycleStage.SUBSCRIBER: 10,
    LifecycleStage.LEAD: 30,
    LifecycleStage.MARKETING_QUALIFIED: 15,
    LifecycleStage.SALES_QUALIFIED: 10,
    LifecycleStage.OPPORTUNITY: 10,
    LifecycleStage.CUSTOMER: 20,
    LifecycleStage.EVANGELIST: 3,
    LifecycleStage.OTHER: 2,
}
PERSON_SOURCES = (
    "website",
    "referral",
    "event",
    "linkedin",
    "cold-outreach",
    "partner",
    "webinar",
    "inbound-call",
)
PERSON_TAGS = (
    "vip",
    "newsletter",
    "decision-maker",
    "champion",
    "webinar-attendee",
    "trade-show",
    "churn-risk",
    "beta-tester",
)
COMPANY_TAGS = ("key-account", "partner", "reseller", "enterprise", "smb", "churn-risk")
PERSONAL_DOMAINS = ("example.com", "example.org", "example.net")
LEGAL_SUFFIXES = re.compile(
    r"\b(inc|llc|ltd|plc|group|gmbh|ag|kg|co|e\.?v|ohg|mbh|sa|sas|sarl|srl|spa|s\.?p\.?a|s\.?l|"
    r"s\.?a|bv|b\.?v|nv|n\.?v|ab|pty|and|und|et|y|e|&|cie|sons|son|fils|hijos|figli)\b\.?",
    re.IGNORECASE,
)
_ASCII_EXTRA = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "ł": "l"})


@dataclass
class DemoData:
    """API-shaped input for the services; a person's ``company`` is an index into companies."""

    companies: list[dict[str, Any]] = field(default_factory=list)
    people: list[dict[str, Any]] = field(default_factory=list)


def ascii_slug(text: str, sep: str = "-") -> str:
    text = unicodedata.normalize("NFKD", text.translate(_ASCII_EXTRA))
    text = text.encode("ascii", "ignore").decode().lower()
    return sep.join(re.findall(r"[a-z0-9]+", text))


def valid_phone(rng: random.Random, country: str, mobile: bool) -> str:
    """A random number that libphonenumber accepts as valid for ``country``, in E.164."""
    kind = (
        phonenumbers.PhoneNumberType.MOBILE if mobile else phonenumbers.PhoneNumberType.FIXED_LINE
    )
    example = phonenumbers.example_number_for_type(country, kind)
    if example is None:
        raise ValueError(f"libphonenumber has no example number for {country}")
    national = str(example.national_number)
    keep = max(2, len(national) - 7)
    for _ in range(50):
        tail = "".join(str(rng.randrange(10)) for _ in range(len(national) - keep))
        number = phonenumbers.PhoneNumber(
            country_code=example.country_code,
            national_number=int(national[:keep] + tail),
            italian_leading_zero=example.italian_leading_zero,
            number_of_leading_zeros=example.number_of_leading_zeros,
        )
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


def _region(fake: Faker) -> str:
    for name in ("administrative_unit", "state", "province", "county", "region"):
        if hasattr(fake, name):
            return getattr(fake, name)()
    return ""


def _city(fake: Faker, postcode: str) -> str:
    # it_IT's city() draws from a list built from a set (its order changes with the hash seed,
    # so runs would differ); its table of cities by postcode is ordered, and matches the code.
    by_postcode = next(
        (p.cap_city_province for p in fake.providers if hasattr(p, "cap_city_province")), None
    )
    if by_postcode and postcode in by_postcode:
        return fake.random_element(by_postcode[postcode])[0]
    return fake.city()


def _address(fake: Faker, country: str) -> dict[str, str]:
    street = ", ".join(fake.street_address().splitlines())
    postcode = fake.postcode()
    return {
        "street": street,
        "city": _city(fake, postcode),
        "region": _region(fake),
        "postal_code": postcode,
        "country": country,
    }


def _title(rng: random.Random) -> str:
    if rng.random() < 0.15:
        return rng.choice(EXECUTIVE_TITLES)
    function = rng.choice(sorted(ROLES_BY_FUNCTION))
    return rng.choice(SENIORITIES) + rng.choice(ROLES_BY_FUNCTION[function])


def _weighted(rng: random.Random, weights: dict) -> Any:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _unique(name: str, suffix: str, taken: set[str]) -> str:
    """``name + suffix``, or ``name-2 + suffix``, ``name-3 + suffix``... if that is taken."""
    candidate, n = name + suffix, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}{n}{suffix}" if "@" in suffix else f"{name}-{n}{suffix}"
    taken.add(candidate)
    return candidate


def generate(
    owner_ids: Sequence[Any],
    *,
    seed: int = SEED,
    companies: int = COMPANY_COUNT,
    people: int = PEOPLE_COUNT,
) -> DemoData:
    """Deterministic demo records; ``owner_ids`` are the members records may be owned by."""
    rng = random.Random(seed)
    fakers: dict[str, Faker] = {}
    for country, (locale, _currency, _weight) in COUNTRIES.items():
        fake = Faker(locale)
        fake.seed_instance(seed + sum(map(ord, country)))
        fakers[country] = fake
    country_weights = {c: w for c, (_l, _c, w) in COUNTRIES.items()}
    data = DemoData()
    domains: set[str] = set()
    emails: set[str] = set()

    for _ in range(companies):
        country = _weighted(rng, country_weights)
        fake = fakers[country]
        name = fake.company()
        core = ascii_slug(LEGAL_SUFFIXES.sub(" ", name)) or ascii_slug(name) or "company"
        domain = _unique("-".join(core.split("-")[:2]), ".example", domains)
        employees = round(10 ** rng.uniform(0.7, 4.3))
        revenue = employees * rng.randrange(60, 260) * 1000
        data.companies.append(
            {
                "name": name,
                "domain": domain,
                "industry": rng.choice(INDUSTRIES),
                "employees": employees,
                "annual_revenue": {"amount": f"{revenue}.00", "currency": COUNTRIES[country][1]},
                "phone": valid_phone(rng, country, mobile=False),
                "owner": rng.choice(owner_ids) if owner_ids else None,
                "tags": rng.sample(COMPANY_TAGS, k=rng.choices((0, 1, 2), (5, 4, 1))[0]),
                "address": _address(fake, country),
            }
        )

    # A few companies have many contacts, most have a handful (roughly Zipf-like).
    company_weights = [1.0 / (i + 1) ** 0.6 for i in range(companies)]
    for _ in range(people):
        linked = companies > 0 and rng.random() < 0.88
        company_index = (
            rng.choices(range(companies), weights=company_weights)[0] if linked else None
        )
        if company_index is not None:
            company = data.companies[company_index]
            country = company["address"]["country"]
        else:
            company = None
            country = _weighted(rng, country_weights)
        fake = fakers[country]
        first, last = fake.first_name(), fake.last_name()
        domain = company["domain"] if company else rng.choice(PERSONAL_DOMAINS)
        local = ascii_slug(f"{first} {last}", sep=".") or "contact"
        email = _unique(local, f"@{domain}", emails)
        if company is not None and rng.random() < 0.7:
            address = dict(company["address"])  # works at the company's office
        else:
            address = _address(fake, country)
        owner = company["owner"] if company and rng.random() < 0.85 else None
        if owner is None and owner_ids and rng.random() < 0.9:
            owner = rng.choice(owner_ids)
        data.people.append(
            {
                "first_name": first,
                "last_name": last,
                "email": email,
                "phone": valid_phone(rng, country, mobile=True),
                "title": _title(rng),
                "company": company_index,
                "lifecycle_stage": _weighted(rng, LIFECYCLE_WEIGHTS).value,
                "source": rng.choice(PERSON_SOURCES),
                "owner": owner,
                "tags": rng.sample(PERSON_TAGS, k=rng.choices((0, 1, 2), (5, 4, 1))[0]),
                "address": address,
            }
        )
    return data


# --- installing it ------------------------------------------------------------------------


@dataclass
class DemoResult:
    workspace: Workspace
    created: bool
    password: str
    # Accounts that existed before and kept their own password.
    existing_users: list[str] = field(default_factory=list)
    companies: int = 0
    people: int = 0
    interactions: int = 0
    tasks: int = 0


def _demo_user(spec: DemoUser, password_hash: str, existing: list[str]) -> User:
    user = User.objects.filter(email__iexact=spec.email).first()
    if user is not None:
        existing.append(user.email)
        return user
    user = user_get_or_create(email=spec.email, full_name=spec.full_name)
    user.password = password_hash  # one hash for the four accounts: they share the password
    user.save(update_fields=["password"])
    return user


def demo_install(*, password: str | None = None, seed: int = SEED) -> DemoResult:
    """Creates the demo workspace with its members and records, unless it exists already."""
    password = password or demo_password()
    workspace = Workspace.objects.filter(slug=DEMO_SLUG).first()
    if workspace is not None:
        return DemoResult(workspace=workspace, created=False, password=password)
    existing: list[str] = []
    with transaction.atomic():
        password_hash = make_password(password)
        owner = _demo_user(OWNER, password_hash, existing)
        workspace = workspace_create(name=DEMO_NAME, slug=DEMO_SLUG, owner=owner)
        actor = Actor(kind=ActorKind.USER, workspace=workspace, role=Role.OWNER, user=owner)
        members = [owner]
        for spec in TEAMMATES:
            user = _demo_user(spec, password_hash, existing)
            member_add(actor=actor, workspace=workspace, user=user, role=spec.role.value)
            if spec.role.at_least(Role.MEMBER):
                members.append(user)
        data = generate([str(u.pk) for u in members], seed=seed)
        company_ids = [
            services.company_create(actor=actor, data=item, source=SOURCE).pk
            for item in data.companies
        ]
        people = []
        for item in data.people:
            index = item["company"]
            item = item | {"company": None if index is None else str(company_ids[index])}
            person = services.person_create(actor=actor, data=item, source=SOURCE)
            people.append((person.pk, person.email))
        from rapport.activities import demo as activities_demo

        interactions, tasks = activities_demo.install(
            actor=actor, members=[u.pk for u in members], people=people, seed=seed
        )
        from rapport.sales import demo as sales_demo

        sales_demo.install(
            actor=actor, members=[u.pk for u in members], company_ids=company_ids, people=people
        )
    return DemoResult(
        workspace=workspace,
        created=True,
        password=password,
        existing_users=existing,
        companies=Company.objects.filter(workspace=workspace).count(),
        people=Person.objects.filter(workspace=workspace).count(),
        interactions=interactions,
        tasks=tasks,
    )
