"""`rapport demo`: deterministic, idempotent, exact counts, everything made through the services."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys

import phonenumbers
import pytest
from django.core.management import call_command

from rapport.audit.models import AuditEntry
from rapport.contacts import demo
from rapport.contacts.models import Company, Person
from rapport.core.actors import Role
from rapport.core.models import Tag
from rapport.search.models import SearchEntry
from rapport.tenancy.models import Membership, Workspace
from rapport.users.models import User


def run_demo() -> str:
    out = io.StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def snapshot(workspace) -> dict:
    """What must come out the same from two runs (ids and times differ, by design)."""
    people = Person.objects.filter(workspace=workspace).select_related("company", "owner")
    companies = Company.objects.filter(workspace=workspace).select_related("owner")
    return {
        "people": sorted(
            (
                p.email,
                p.first_name,
                p.last_name,
                p.phone,
                p.title,
                p.company.domain if p.company else "",
                p.owner.email if p.owner else "",
                p.lifecycle_stage,
                p.source,
                p.country,
                p.city,
                tuple(sorted(t.name for t in p.tags.all())),
            )
            for p in people.prefetch_related("tags")
        ),
        "companies": sorted(
            (c.domain, c.name, c.phone, c.employees, str(c.annual_revenue), c.owner.email)
            for c in companies
        ),
    }


def reset_demo() -> None:
    """Back to a database without the demo (as fresh as a new one for what demo touches)."""
    Workspace.objects.filter(slug=demo.DEMO_SLUG).delete()
    User.objects.filter(email__in=[u.email for u in demo.DEMO_USERS]).delete()
    Tag.objects.all().delete()


def _digest_in_subprocess(hash_seed: str) -> str:
    code = (
        "import django, hashlib, json; django.setup(); "
        "from rapport.contacts.demo import generate; "
        "d = generate(['o1', 'o2', 'o3']); "
        "print(hashlib.sha256(json.dumps([d.companies, d.people], sort_keys=True)"
        ".encode()).hexdigest())"
    )
    env = {
        **os.environ,
        "PYTHONHASHSEED": hash_seed,
        "DJANGO_SETTINGS_MODULE": os.environ.get(
            "DJANGO_SETTINGS_MODULE", "rapport.config.test_settings"
        ),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_generator_is_deterministic_across_processes():
    data = demo.generate(["o1", "o2", "o3"])
    here = hashlib.sha256(
        json.dumps([data.companies, data.people], sort_keys=True).encode()
    ).hexdigest()
    assert _digest_in_subprocess("1") == here
    assert _digest_in_subprocess("2") == here


def test_generated_data_is_realistic_and_consistent():
    data = demo.generate(["o1", "o2", "o3"])
    assert len(data.companies) == demo.COMPANY_COUNT
    assert len(data.people) == demo.PEOPLE_COUNT
    domains = [c["domain"] for c in data.companies]
    assert len(set(domains)) == len(domains)
    assert all(d.endswith(".example") for d in domains)
    emails = [p["email"] for p in data.people]
    assert len(set(emails)) == len(emails)
    linked = [p for p in data.people if p["company"] is not None]
    assert 0.8 * len(data.people) < len(linked) < len(data.people)
    for person in linked:
        company = data.companies[person["company"]]
        assert person["email"].endswith("@" + company["domain"])
        assert person["address"]["country"] == company["address"]["country"]
    for record in data.companies + data.people:
        number = phonenumbers.parse(record["phone"])
        assert phonenumbers.is_valid_number(number), record["phone"]
        assert phonenumbers.region_code_for_number(number) == record["address"]["country"]
        assert record["owner"] in ("o1", "o2", "o3", None)
    assert {p["source"] for p in data.people} <= set(demo.PERSON_SOURCES)


@pytest.mark.django_db
def test_demo_creates_everything_through_the_services_once(monkeypatch):
    monkeypatch.delenv("RAPPORT_DEMO_PASSWORD", raising=False)
    out = run_demo()
    assert "Sign in as admin@example.com / rapport-demo" in out
    assert "http://" in out
    ws = Workspace.objects.get(slug="demo")
    assert ws.name == "Demo"
    roles = dict(Membership.objects.filter(workspace=ws).values_list("user__email", "role"))
    assert roles == {
        "admin@example.com": Role.OWNER.value,
        "manager@example.com": Role.MANAGER.value,
        "member@example.com": Role.MEMBER.value,
        "readonly@example.com": Role.READ_ONLY.value,
    }
    for email in roles:
        assert User.objects.get(email=email).check_password("rapport-demo")
    assert Company.objects.filter(workspace=ws).count() == 100
    assert Person.objects.filter(workspace=ws).count() == 500
    # Through the services: audited (source "demo") and indexed for search.
    audit = AuditEntry.objects.filter(workspace=ws, source="demo")
    assert audit.filter(action="company.created").count() == 100
    assert audit.filter(action="contact.created").count() == 500
    assert SearchEntry.objects.filter(workspace=ws).count() == 640  # people, companies, deals
    # Owners are writing members, never the read-only user.
    owner_emails = set(
        Person.objects.filter(workspace=ws, owner__isnull=False).values_list(
            "owner__email", flat=True
        )
    )
    assert owner_emails and "readonly@example.com" not in owner_emails
    assert Person.objects.filter(workspace=ws, company__isnull=False).count() > 400

    before = snapshot(ws)
    counts = (AuditEntry.objects.count(), SearchEntry.objects.count(), User.objects.count())
    out = run_demo()
    assert "nothing changed" in out
    assert "Sign in as admin@example.com / rapport-demo" in out
    assert (AuditEntry.objects.count(), SearchEntry.objects.count(), User.objects.count()) == (
        counts
    )
    assert snapshot(ws) == before


@pytest.mark.django_db
def test_two_fresh_runs_give_the_same_data(monkeypatch):
    monkeypatch.setenv("RAPPORT_DEMO_PASSWORD", "another-secret-42")
    out = run_demo()
    assert "Sign in as admin@example.com / another-secret-42" in out
    assert User.objects.get(email="manager@example.com").check_password("another-secret-42")
    first = snapshot(Workspace.objects.get(slug="demo"))
    reset_demo()
    assert not Person.objects.exists()
    run_demo()
    second = snapshot(Workspace.objects.get(slug="demo"))
    assert [p[0] for p in first["people"]] == [p[0] for p in second["people"]]
    assert first == second


@pytest.mark.django_db
def test_an_existing_account_keeps_its_password(monkeypatch):
    monkeypatch.delenv("RAPPORT_DEMO_PASSWORD", raising=False)
    User.objects.create_user(email="member@example.com", password="their-own-pass-1")
    out = run_demo()
    assert "member@example.com existed already" in out
    member = User.objects.get(email="member@example.com")
    assert member.check_password("their-own-pass-1")
    assert Membership.objects.filter(user=member, workspace__slug="demo").exists()
