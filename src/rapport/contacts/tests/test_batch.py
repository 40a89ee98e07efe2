"""The batch write path imports and bulk work use: same cleaning, one result per row."""

from __future__ import annotations

import pytest

from rapport.audit.models import AuditEntry
from rapport.contacts.batch import ImportMode, rows_for, write_batch
from rapport.contacts.models import Company, Person
from rapport.core.actors import Role
from rapport.core.errors import PermissionDenied
from rapport.search.selectors import search
from rapport.testing.factories import (
    CompanyFactory,
    MembershipFactory,
    PersonFactory,
    actor_for,
)
from rapport.testing.suites import count_queries

pytestmark = pytest.mark.django_db


def people(actor, datas, **kw):
    return write_batch(actor=actor, object_type="person", rows=rows_for(datas), **kw)


def test_creates_valid_rows_and_reports_each_bad_one_by_line(actor):
    results = people(
        actor,
        [
            {"first_name": "Ada", "email": "ADA@example.com", "tags": ["VIP", "vip"]},
            {"first_name": "Bad", "email": "not an email"},
            {"first_name": "", "last_name": ""},
            {"last_name": "Hopper", "phone": "+1 202 555 0199", "address": {"country": "us"}},
        ],
        match_on="email",
    )
    assert [r.status for r in results] == ["created", "rejected", "rejected", "created"]
    assert results[1].line == 2 and results[1].errors[0].field == "email"
    assert results[2].errors[0].field == "first_name"
    ada = Person.objects.get(pk=results[0].id)
    assert ada.email == "ada@example.com" and [t.name for t in ada.tags.all()] == ["VIP"]
    hopper = Person.objects.get(pk=results[3].id)
    assert hopper.phone == "+12025550199" and hopper.country == "US"
    created = AuditEntry.objects.filter(action="contact.created", source="import:t")
    assert created.count() == 0  # no source given
    assert AuditEntry.objects.filter(action="contact.created").count() == 2
    assert [h.title for h in search(actor=actor, q="hopper")] == ["Hopper"]


def test_upsert_by_email_updates_the_match_and_audits_the_change(actor):
    existing = PersonFactory(actor=actor, first_name="Old", email="x@example.com")
    results = people(
        actor,
        [{"email": "X@Example.com", "first_name": "New"}, {"email": "y@example.com"}],
        match_on="email",
        source="import:1",
    )
    assert [r.status for r in results] == ["updated", "created"]
    existing.refresh_from_db()
    assert existing.first_name == "New" and existing.version == 2
    entry = AuditEntry.objects.get(action="contact.updated", object_id=str(existing.pk))
    assert entry.changes == {"first_name": {"before": "Old", "after": "New"}}
    assert entry.source == "import:1"


def test_unchanged_rows_write_nothing(actor):
    PersonFactory(actor=actor, first_name="Same", email="s@example.com")
    [result] = people(actor, [{"email": "s@example.com", "first_name": "Same"}], match_on="email")
    assert result.status == "unchanged"
    assert not AuditEntry.objects.filter(action="contact.updated").exists()


def test_create_only_and_update_only_skip_with_a_reason(actor):
    PersonFactory(actor=actor, email="known@example.com")
    created_only = people(
        actor,
        [{"email": "known@example.com"}, {"email": "new@example.com"}],
        match_on="email",
        mode=ImportMode.CREATE,
    )
    assert [r.status for r in created_only] == ["skipped", "created"]
    update_only = people(
        actor,
        [{"email": "known@example.com", "title": "CTO"}, {"email": "other@example.com"}],
        match_on="email",
        mode=ImportMode.UPDATE,
    )
    assert [r.status for r in update_only] == ["updated", "skipped"]
    assert not Person.objects.filter(email="other@example.com").exists()


def test_the_same_email_twice_in_a_batch_is_rejected_naming_the_first_line(actor):
    results = people(actor, [{"email": "d@example.com"}, {"email": "D@example.com"}])
    assert [r.status for r in results] == ["created", "rejected"]
    assert "line 1" in results[1].message


def test_an_email_taken_by_another_record_is_rejected_not_stolen(actor):
    PersonFactory(actor=actor, email="taken@example.com")
    mine = PersonFactory(actor=actor, email="mine@example.com", external_id="crm-1")
    [result] = people(
        actor, [{"external_id": "crm-1", "email": "taken@example.com"}], match_on="external_id"
    )
    assert result.status == "rejected" and result.errors[0].field == "email"
    mine.refresh_from_db()
    assert mine.email == "mine@example.com"


def test_people_name_their_company_matched_by_domain_then_name_or_created(actor):
    acme = CompanyFactory(actor=actor, name="ACME", domain="acme.example")
    results = people(
        actor,
        [
            {"first_name": "A", "company_domain": "https://www.acme.example/"},
            {"first_name": "B", "company_name": "acme"},
            {"first_name": "C", "company_name": "Initech"},
            {"first_name": "D", "company_name": "Initech"},
            {"first_name": "E", "company_domain": "not a domain!"},
        ],
    )
    assert [r.status for r in results] == ["created"] * 4 + ["rejected"]
    a, b, c, d = (Person.objects.get(pk=r.id) for r in results[:4])
    assert a.company_id == acme.pk and b.company_id == acme.pk
    assert c.company_id == d.company_id and c.company.name == "Initech"
    assert Company.objects.filter(name="Initech").count() == 1
    assert results[4].errors[0].field == "company_domain"


def test_read_only_cannot_write_a_batch(owner):
    reader = actor_for(MembershipFactory(workspace=owner.workspace, role=Role.READ_ONLY.value))
    with pytest.raises(PermissionDenied):
        people(reader, [{"email": "r@example.com"}])


def test_another_workspace_is_never_matched_or_clashed(actor):
    other = actor_for(MembershipFactory())
    PersonFactory(actor=other, email="shared@example.com", first_name="Theirs")
    [result] = people(
        actor, [{"email": "shared@example.com", "first_name": "Mine"}], match_on="email"
    )
    assert result.status == "created"
    assert Person.objects.get(workspace=other.workspace).first_name == "Theirs"


def test_query_count_does_not_grow_with_the_batch(actor):
    def run(n, offset):
        datas = [
            {"first_name": f"P{i}", "email": f"p{offset + i}@example.com", "tags": ["t"]}
            for i in range(n)
        ]
        queries, _, _ = count_queries(lambda: people(actor, datas, match_on="email"))
        return queries

    run(1, 1000)  # creates the tag, which later batches only look up
    # (SQLite splits an INSERT above 999 parameters, so stay within one statement's rows)
    assert run(2, 0) == run(20, 100)
