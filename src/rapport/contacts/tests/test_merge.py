"""Merging people and companies: picks, unions, moves, redirects, audit, atomicity, roles."""

from __future__ import annotations

import uuid

import pytest

from rapport.audit.models import AuditEntry
from rapport.contacts import dedupe, merging, services
from rapport.contacts.models import (
    Company,
    DuplicatePair,
    MergeRedirect,
    OtherIdentifier,
    Person,
)
from rapport.core.actors import Role
from rapport.core.errors import NotFound, PermissionDenied, ValidationFailed
from rapport.search.models import SearchEntry
from rapport.testing.factories import MembershipFactory, actor_for

pytestmark = pytest.mark.django_db


def person(actor, **data):
    data.setdefault("first_name", uuid.uuid4().hex[:8])
    return services.person_create(actor=actor, data=data)


def company(actor, **data):
    data.setdefault("name", f"Company {uuid.uuid4().hex[:6]}")
    return services.company_create(actor=actor, data=data)


def as_role(actor, role: Role):
    membership = MembershipFactory(workspace=actor.workspace, role=role.value)
    return actor_for(membership)


@pytest.fixture
def pair(actor):
    acme = company(actor, name="Acme")
    into = person(
        actor,
        first_name="Ada",
        last_name="Lovelace",
        email="ada@acme.example",
        phone="+442079460958",
        title="",
        tags=["vip"],
        company=str(acme.pk),
    )
    from_ = person(
        actor,
        first_name="Augusta",
        last_name="Lovelace",
        email="augusta@home.example",
        phone="+442079460959",
        title="Countess",
        tags=["math", "VIP"],
        address={"city": "London"},
    )
    return into, from_


def test_fields_default_to_the_survivor_else_the_other(actor, pair):
    into, from_ = pair
    merged = merging.person_merge(actor=actor, into_id=into.pk, from_id=from_.pk)
    assert merged.pk == into.pk
    assert merged.first_name == "Ada"  # the survivor had one
    assert merged.title == "Countess"  # the survivor had none
    assert merged.city == "London"
    assert merged.email == "ada@acme.example"
    assert merged.version == into.version + 1
    assert not Person.objects.filter(pk=from_.pk).exists()


def test_fields_picked_from_either_record(actor, pair):
    into, from_ = pair
    merged = merging.person_merge(
        actor=actor,
        into_id=into.pk,
        from_id=from_.pk,
        fields={"first_name": "from", "email": "from", "company": "from", "title": "into"},
    )
    assert merged.first_name == "Augusta"
    assert merged.email == "augusta@home.example"  # the loser's unique email, taken over
    assert merged.company_id is None
    assert merged.title == ""


def test_tags_and_custom_values_are_united_and_identifiers_kept(actor, pair):
    into, from_ = pair
    Person.objects.filter(pk=into.pk).update(custom={"a": 1, "both": "into"})
    Person.objects.filter(pk=from_.pk).update(custom={"b": 2, "both": "from"})
    merged = merging.person_merge(
        actor=actor, into_id=into.pk, from_id=from_.pk, fields={"phone": "from"}
    )
    assert sorted(t.name for t in merged.tags.all()) == ["math", "vip"]
    assert merged.custom == {"a": 1, "b": 2, "both": "into"}
    assert merged.phone == "+442079460959"
    kept = {(i.kind, i.value) for i in OtherIdentifier.objects.filter(person=merged)}
    assert kept == {("email", "augusta@home.example"), ("phone", "+442079460958")}
    # Kept emails are searchable and still block a new person with the same address.
    entry = SearchEntry.objects.get(object_id=merged.pk)
    assert "augusta@home.example" in entry.text
    assert not SearchEntry.objects.filter(object_id=from_.pk).exists()
    from rapport.core.errors import Duplicate

    with pytest.raises(Duplicate) as exc:
        person(actor, email="Augusta@home.example")
    assert exc.value.existing_id == str(merged.pk)


def test_custom_conflicts_can_prefer_the_merged_record(actor, pair):
    into, from_ = pair
    Person.objects.filter(pk=into.pk).update(custom={"both": "into"})
    Person.objects.filter(pk=from_.pk).update(custom={"both": "from"})
    merged = merging.person_merge(
        actor=actor, into_id=into.pk, from_id=from_.pk, fields={"custom": "from"}
    )
    assert merged.custom == {"both": "from"}


def test_one_audit_entry_with_before_after_and_the_merged_id(actor, pair):
    into, from_ = pair
    before = AuditEntry.objects.count()
    merging.person_merge(actor=actor, into_id=into.pk, from_id=from_.pk, source="api")
    assert AuditEntry.objects.count() == before + 1
    entry = AuditEntry.objects.latest("created_at")
    assert entry.action == "contact.merged"
    assert entry.object_id == str(into.pk)
    assert entry.source == "api"
    assert entry.changes["merged_from"] == {"before": None, "after": str(from_.pk)}
    assert entry.changes["title"] == {"before": "", "after": "Countess"}
    assert entry.changes["tags"] == {"before": ["vip"], "after": ["math", "vip"]}
    assert entry.changes["other_emails"]["after"] == ["augusta@home.example"]


def test_redirects_follow_chains(actor, pair):
    into, from_ = pair
    third = person(actor, first_name="Third")
    merging.person_merge(actor=actor, into_id=into.pk, from_id=from_.pk)
    merging.person_merge(actor=actor, into_id=third.pk, from_id=into.pk)
    for old in (from_.pk, into.pk):
        assert merging.redirect_for(actor=actor, object_type="person", old_id=old) == third.pk
    assert MergeRedirect.objects.filter(new_id=third.pk).count() == 2
    with pytest.raises(NotFound, match="already merged"):
        merging.person_merge(actor=actor, into_id=third.pk, from_id=from_.pk)


def test_a_company_merge_moves_its_people_and_keeps_domains(actor):
    acme = company(actor, name="ACME", domain="acme.com", tags=["key"])
    old = company(actor, name="Acme Inc", domain="acme.de", phone="+12025550143")
    staff = [person(actor, company=str(old.pk)) for _ in range(3)]
    gone = person(actor, company=str(old.pk))
    services.person_delete(actor=actor, person_id=gone.pk)  # in the trash: moves too
    preview = merging.preview(actor=actor, object_type="company", into_id=acme.pk, from_id=old.pk)
    assert preview.moves == [("people", 3)]
    assert preview.kept == ["+12025550143", "acme.de"]
    merged = merging.company_merge(actor=actor, into_id=acme.pk, from_id=old.pk)
    assert merged.phone == "+12025550143"
    assert set(Person.objects.filter(company=acme).values_list("pk", flat=True)) == {
        p.pk for p in [*staff, gone]
    }
    assert {(i.kind, i.value) for i in merged.other_identifiers.all()} == {("domain", "acme.de")}
    entry = AuditEntry.objects.latest("created_at")
    assert entry.action == "company.merged"
    assert entry.changes["moved_people"] == {"before": None, "after": 4}
    assert not Company.objects.filter(pk=old.pk).exists()


def test_merging_closes_the_loser_pairs_and_rechecks_the_survivor(actor):
    a = person(actor, phone="+442079460958")
    b = person(actor, phone="+442079460958")
    c = person(actor, phone="+442079460958")
    assert DuplicatePair.objects.count() == 3
    merging.person_merge(actor=actor, into_id=a.pk, from_id=b.pk)
    remaining = list(DuplicatePair.objects.all())
    assert [(p.person_a_id, p.person_b_id) for p in remaining] == [dedupe.ordered(a.pk, c.pk)]


def test_a_registered_mover_runs_and_a_failure_changes_nothing(actor, pair, monkeypatch):
    into, from_ = pair
    calls = []

    def mover(*, actor, loser, survivor):
        calls.append((loser.pk, survivor.pk))
        raise RuntimeError("the deals app fell over")

    monkeypatch.setattr(merging, "_MOVERS", list(merging._MOVERS))
    merging.register_mover("person", mover, label="deals", count=lambda loser: 7)
    preview = merging.preview(actor=actor, object_type="person", into_id=into.pk, from_id=from_.pk)
    assert preview.moves == [("deals", 7)]
    audit_before = AuditEntry.objects.count()
    snapshot = {p.pk: (p.version, p.first_name, p.title) for p in Person.objects.all()}
    with pytest.raises(RuntimeError):
        merging.person_merge(actor=actor, into_id=into.pk, from_id=from_.pk)
    assert calls == [(from_.pk, into.pk)]
    assert {p.pk: (p.version, p.first_name, p.title) for p in Person.objects.all()} == snapshot
    assert not MergeRedirect.objects.exists()
    assert AuditEntry.objects.count() == audit_before
    assert SearchEntry.objects.filter(object_id=from_.pk).exists()


def test_invalid_merges(actor, pair):
    into, from_ = pair
    with pytest.raises(ValidationFailed) as exc:
        merging.person_merge(actor=actor, into_id=into.pk, from_id=into.pk)
    assert exc.value.errors[0].field == "from"
    with pytest.raises(ValidationFailed) as exc:
        merging.person_merge(
            actor=actor, into_id=into.pk, from_id=from_.pk, fields={"nope": "from", "email": "x"}
        )
    assert {e.field for e in exc.value.errors} == {"fields.nope", "fields.email"}
    with pytest.raises(NotFound):
        merging.person_merge(actor=actor, into_id=into.pk, from_id=uuid.uuid4())
    other = actor_for(MembershipFactory())
    theirs = person(other)
    with pytest.raises(NotFound):
        merging.person_merge(actor=actor, into_id=into.pk, from_id=theirs.pk)
    with pytest.raises(NotFound):
        merging.person_merge(actor=other, into_id=theirs.pk, from_id=into.pk)
    assert Person.objects.filter(pk__in=[into.pk, from_.pk, theirs.pk]).count() == 3


@pytest.mark.parametrize(
    "role, owns_loser, allowed",
    [
        (Role.READ_ONLY, False, False),
        (Role.MEMBER, False, False),  # may not delete a colleague's record
        (Role.MEMBER, True, True),
        (Role.MANAGER, False, True),
        (Role.ADMIN, False, True),
    ],
)
def test_merge_needs_write_and_delete_rights_on_the_loser(actor, role, owns_loser, allowed):
    someone = as_role(actor, role)
    into = person(actor)
    from_ = person(someone if owns_loser and role != Role.READ_ONLY else actor)
    if allowed:
        merging.person_merge(actor=someone, into_id=into.pk, from_id=from_.pk)
        assert not Person.objects.filter(pk=from_.pk).exists()
    else:
        with pytest.raises(PermissionDenied):
            merging.person_merge(actor=someone, into_id=into.pk, from_id=from_.pk)
        assert Person.objects.filter(pk=from_.pk).exists()
