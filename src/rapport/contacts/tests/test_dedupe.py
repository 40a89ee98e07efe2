"""Duplicate detection: the rules, scoring, flags on create/update, and the workspace scan."""

from __future__ import annotations

import itertools
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.contacts import dedupe, services
from rapport.contacts.models import DuplicatePair, DuplicateScan, DuplicateStatus, Person
from rapport.contacts.tasks import scan_duplicates
from rapport.core.actors import Actor
from rapport.core.errors import Duplicate
from rapport.core.models import JobStatus
from rapport.testing.factories import MembershipFactory, actor_for

pytestmark = pytest.mark.django_db

_n = itertools.count()


def person(actor, **data):
    data.setdefault("first_name", uuid.uuid4().hex[:8])  # names nothing else resembles
    data.setdefault("last_name", uuid.uuid4().hex[:8])
    return services.person_create(actor=actor, data=data)


def company(actor, **data):
    data.setdefault("name", f"Company {next(_n)}")
    return services.company_create(actor=actor, data=data)


def pairs(workspace, object_type="person"):
    return list(
        DuplicatePair.objects.filter(workspace=workspace, object_type=object_type).order_by(
            "-score"
        )
    )


def pair_of(a, b) -> DuplicatePair:
    first, second = dedupe.ordered(a.pk, b.pk)
    prefix = "person" if isinstance(a, Person) else "company"
    return DuplicatePair.objects.get(**{f"{prefix}_a": first, f"{prefix}_b": second})


# --- scoring, unit by unit ------------------------------------------------------------------


def sig(**kw):
    base = {"id": None, "name": "", "keys": frozenset(), "phones": frozenset()}
    return dedupe.Signature(**(base | kw))


def test_normalise_folds_accents_case_and_punctuation():
    assert dedupe.normalise("  José   O'Brien-Smith ") == "jose o brien smith"
    assert dedupe.company_name_key("The ACME, Inc.") == "acme"
    assert dedupe.company_name_key("GmbH") == "gmbh"  # nothing but a legal form: keep it


@pytest.mark.parametrize(
    "a, b, expected",
    [
        (sig(keys=frozenset({"a@x.com"})), sig(keys=frozenset({"a@x.com"})), ["same email"]),
        (sig(phones=frozenset({"+1"})), sig(phones=frozenset({"+1"})), ["same phone"]),
        (
            sig(name="jon smith", company_id=1),
            sig(name="john smith", company_id=1),
            ["similar name at the same company"],
        ),
        (sig(name="jon smith", company_id=1), sig(name="john smith", company_id=2), None),
        (sig(name="ann lee", company_id=1), sig(name="bob stone", company_id=1), None),
        (
            sig(name="john smith", phones=frozenset({"+1"})),
            sig(name="john smith", phones=frozenset({"+1"})),
            ["same phone", "similar name"],
        ),
    ],
)
def test_people_rules(a, b, expected):
    result = dedupe.score_people(a, b)
    assert (result[1] if result else None) == expected


def test_scores_order_the_evidence():
    email = dedupe.score_people(sig(keys=frozenset({"a"})), sig(keys=frozenset({"a"})))
    phone = dedupe.score_people(sig(phones=frozenset({"1"})), sig(phones=frozenset({"1"})))
    name = dedupe.score_people(
        sig(name="jon smith", company_id=1), sig(name="john smith", company_id=1)
    )
    both = dedupe.score_people(
        sig(name="john smith", phones=frozenset({"1"}), company_id=1),
        sig(name="john smith", phones=frozenset({"1"}), company_id=1),
    )
    assert email[0] == 100
    assert 60 <= phone[0] < both[0] <= 100
    assert 60 <= name[0] < email[0]
    assert both[1] == ["similar name at the same company", "same phone"]


def test_company_rules():
    same_domain = dedupe.score_companies(
        sig(keys=frozenset({"acme.com"}), has_domain=True),
        sig(keys=frozenset({"acme.com"}), has_domain=True),
    )
    assert same_domain == (100, ["same domain"])
    similar = dedupe.score_companies(
        sig(name="acme widgets"), sig(name="acme widget", has_domain=True)
    )
    assert similar and similar[1] == ["similar name"]
    # Two different domains say two companies, however alike the names.
    assert (
        dedupe.score_companies(
            sig(name="acme", keys=frozenset({"acme.com"}), has_domain=True),
            sig(name="acme", keys=frozenset({"acme.de"}), has_domain=True),
        )
        is None
    )


# --- flags on create and update -------------------------------------------------------------


def test_same_phone_is_flagged_on_create(actor):
    a = person(actor, phone="+44 20 7946 0958")
    b = person(actor, phone="+442079460958")
    pair = pair_of(a, b)
    assert pair.reasons == ["same phone"]
    assert pair.status == DuplicateStatus.OPEN
    assert 0 <= pair.score <= 100


def test_similar_name_at_the_same_company_is_flagged(actor):
    acme = company(actor, name="Acme")
    a = person(actor, first_name="Jonathan", last_name="Smith", company=str(acme.pk))
    b = person(actor, first_name="Jonathon", last_name="Smith", company=str(acme.pk))
    person(actor, first_name="Jonathan", last_name="Smith")  # no company: not flagged
    person(actor, first_name="Maria", last_name="Garcia", company=str(acme.pk))
    assert [(p.person_a_id, p.person_b_id) for p in pairs(actor.workspace)] == [
        dedupe.ordered(a.pk, b.pk)
    ]
    assert pair_of(a, b).reasons == ["similar name at the same company"]


def test_identical_email_is_blocked_not_flagged(actor):
    a = person(actor, email="ada@example.com")
    with pytest.raises(Duplicate) as exc:
        person(actor, email="ADA@example.com")
    assert exc.value.existing_id == str(a.pk)


def test_identical_domain_is_blocked_similar_name_is_flagged(actor):
    acme = company(actor, name="Acme Widgets", domain="acme.com")
    with pytest.raises(Duplicate):
        company(actor, name="Other", domain="https://www.acme.com/")
    other = company(actor, name="ACME Widgets Inc.")  # no domain: may be the same
    assert pair_of(acme, other).reasons == ["similar name"]
    company(actor, name="Acme Widgets GmbH", domain="acme.de")  # other domain: another company
    assert len(pairs(actor.workspace, "company")) == 2  # acme.de is like the domain-less one


def test_no_self_pairs_and_a_pair_is_stored_once(actor):
    a = person(actor, phone="+442079460958")
    services.person_update(actor=actor, person_id=a.pk, data={"title": "CEO"})
    assert pairs(actor.workspace) == []
    b = person(actor, phone="+442079460958")
    services.person_update(actor=actor, person_id=b.pk, data={"first_name": "Bee"})
    services.person_update(actor=actor, person_id=a.pk, data={"first_name": "Ay"})
    assert len(pairs(actor.workspace)) == 1


def test_an_update_that_ends_the_likeness_drops_the_open_pair(actor):
    a = person(actor, phone="+442079460958")
    b = person(actor, phone="+442079460958")
    assert pair_of(a, b)
    services.person_update(actor=actor, person_id=b.pk, data={"phone": "+442079460959"})
    assert pairs(actor.workspace) == []


def test_detection_stays_in_its_workspace(actor):
    other = actor_for(MembershipFactory())
    person(actor, phone="+442079460958", first_name="Mine")
    person(other, phone="+442079460958", first_name="Theirs")
    assert pairs(actor.workspace) == [] and pairs(other.workspace) == []


def test_flagging_a_new_person_costs_a_few_indexed_queries(actor):
    acme = company(actor, name="Acme")
    for _ in range(20):
        person(actor, company=str(acme.pk), phone="+44 20 7946 0001")
    few = Person.objects.filter(workspace=actor.workspace).count()
    with CaptureQueriesContext(connection) as ctx:
        new = person(actor, first_name="Zed", last_name="Zulu", phone="+44 20 7946 0002")
    detection = [q["sql"] for q in ctx.captured_queries if "duplicate" in q["sql"].lower()]
    assert new.pk and few == 20
    assert len(detection) <= 1  # nothing found, nothing written


# --- the scan -------------------------------------------------------------------------------


def _seed(actor, n_companies: int, per_company: int, start: int = 0):
    """n_companies x per_company people with distinct names, plus a few planted duplicates."""
    first = ["Anna", "Boris", "Clara", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jakob"]
    last = ["Adler", "Berg", "Castro", "Dahl", "Eriksen", "Fuchs", "Gomez", "Horvat", "Ito", "Jung"]
    made = []
    for c in range(start, start + n_companies):
        org = company(actor, name=f"Firm {c:03d} Holdings", domain=f"firm{c}.example")
        for i in range(per_company):
            made.append(
                Person(
                    workspace=actor.workspace,
                    first_name=first[i % 10],
                    last_name=f"{last[(i // 10) % 10]}{c}x{i}",
                    email=f"p{c}-{i}@firm{c}.example",
                    phone=f"+4420794{c:02d}{i:03d}",
                    company=org,
                )
            )
    Person.objects.bulk_create(made)  # straight to the table: the scan must find these
    return made


def test_scan_finds_planted_duplicates_without_comparing_all_pairs(actor):
    people = _seed(actor, n_companies=12, per_company=25)  # 300 people
    a, b = people[0], people[1]
    Person.objects.filter(pk=b.pk).update(first_name=a.first_name, last_name=a.last_name + "e")
    c, d = people[40], people[200]  # different companies, same phone
    Person.objects.filter(pk=d.pk).update(phone=c.phone)
    result = dedupe.scan_workspace(actor.workspace)
    n = result.people
    assert n == 300
    assert result.comparisons < n * (n - 1) / 2 / 10, result  # blocking: not every pair
    found = {(p.person_a_id, p.person_b_id): p.reasons for p in pairs(actor.workspace)}
    assert found == {
        dedupe.ordered(a.pk, b.pk): ["similar name at the same company"],
        dedupe.ordered(c.pk, d.pk): ["same phone"],
    }
    assert result.pairs == 2
    # A second scan finds the same pairs again and keeps a dismissed one dismissed.
    DuplicatePair.objects.filter(person_a=min(c.pk, d.pk)).update(status="dismissed")
    again = dedupe.scan_workspace(actor.workspace)
    assert again.pairs == 2
    assert {p.status for p in pairs(actor.workspace)} == {"open", "dismissed"}


def test_scan_comparisons_grow_linearly_not_quadratically(actor):
    _seed(actor, n_companies=4, per_company=25)
    small = dedupe.scan_workspace(actor.workspace)
    _seed(actor, n_companies=12, per_company=25, start=4)
    large = dedupe.scan_workspace(actor.workspace)
    assert large.people == 4 * small.people
    # Quadratic would be 16x; blocks keep it near 4x.
    assert large.comparisons <= 6 * max(small.comparisons, 1), (small, large)


def test_big_blocks_are_split_or_windowed(actor, monkeypatch):
    monkeypatch.setattr(dedupe, "FUZZY_BLOCK_CAP", 10)
    monkeypatch.setattr(dedupe, "WINDOW", 3)
    org = company(actor, name="Mega")
    Person.objects.bulk_create(
        Person(workspace=actor.workspace, first_name="Sam", last_name="Lee", company=org)
        for _ in range(40)
    )
    result = dedupe.scan_workspace(actor.workspace)
    assert result.comparisons <= 40 * 3  # a window, not 40*39/2
    assert result.largest_block == 40


def test_scan_removes_pairs_that_no_longer_match(actor):
    a = person(actor, phone="+442079460958")
    b = person(actor, phone="+442079460958")
    Person.objects.filter(pk=b.pk).update(phone="")  # changed behind the services' back
    result = dedupe.scan_workspace(actor.workspace)
    assert result.removed == 1
    assert pairs(actor.workspace) == []
    assert a.pk


def test_scan_finds_companies_by_name_and_kept_domains(actor):
    acme = company(actor, name="Acme Widgets", domain="acme.com")
    other = company(actor, name="Globex")
    DuplicatePair.objects.all().delete()
    from rapport.contacts.models import OtherIdentifier

    OtherIdentifier.objects.create(
        workspace=actor.workspace, company=other, kind="domain", value="acme.com"
    )
    nameless = company(actor, name="ACME widgets ltd")
    DuplicatePair.objects.all().delete()
    dedupe.scan_workspace(actor.workspace)
    found = {(p.company_a_id, p.company_b_id): p.reasons for p in pairs(actor.workspace, "company")}
    assert found[dedupe.ordered(acme.pk, other.pk)] == ["same domain"]
    assert found[dedupe.ordered(acme.pk, nameless.pk)] == ["similar name"]


def test_scan_stays_in_its_workspace(actor):
    other = actor_for(MembershipFactory())
    _seed(other, n_companies=1, per_company=3)
    theirs = list(Person.objects.filter(workspace=other.workspace))
    Person.objects.filter(pk=theirs[1].pk).update(phone=theirs[0].phone)
    result = dedupe.scan_workspace(actor.workspace)
    assert result.people == 0 and result.pairs == 0
    assert not DuplicatePair.objects.exists()


def test_scan_job_runs_through_the_task_with_progress(actor):
    _seed(actor, n_companies=2, per_company=5)
    people = list(Person.objects.filter(workspace=actor.workspace))
    Person.objects.filter(pk=people[1].pk).update(phone=people[0].phone)
    job = dedupe.scan_start(actor=actor)
    assert dedupe.scan_start(actor=actor).pk == job.pk  # one scan at a time
    scan_duplicates.apply(args=[str(job.pk)])
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.percent == 100
    assert job.pairs_found == 1
    assert len(job.phases_done) == len(dedupe.PHASES)
    assert job.comparisons > 0
    # A redelivered message for a finished job does nothing.
    scan_duplicates.apply(args=[str(job.pk)])
    assert DuplicateScan.objects.get(pk=job.pk).attempts == 1


def test_a_resumed_scan_skips_finished_phases(actor, monkeypatch):
    job = DuplicateScan.objects.create(workspace=actor.workspace, phases_done=[dedupe.PHASES[0][0]])
    ran = []
    monkeypatch.setattr(
        dedupe,
        "PHASES",
        [
            (name, kind, lambda ws, s, r, t, name=name: ran.append(name))
            for name, kind, _ in dedupe.PHASES
        ],
    )
    dedupe.scan_workspace(actor.workspace, job=job)
    assert ran == [name for name, _, _ in dedupe.PHASES][1:]


def test_read_only_cannot_start_a_scan(actor):
    from rapport.core.actors import Role
    from rapport.core.errors import PermissionDenied

    reader = Actor(kind=actor.kind, workspace=actor.workspace, role=Role.READ_ONLY, user=actor.user)
    with pytest.raises(PermissionDenied):
        dedupe.scan_start(actor=reader)


def test_the_dedupe_scan_command(actor):
    from io import StringIO

    from django.core.management import CommandError, call_command

    person(actor, phone="+442079460958")
    person(actor, phone="+442079460958")
    DuplicatePair.objects.all().delete()
    out = StringIO()
    call_command("dedupe", "scan", "--workspace", actor.workspace.slug, stdout=out)
    assert "1 possible duplicate pairs" in out.getvalue()
    assert len(pairs(actor.workspace)) == 1
    with pytest.raises(CommandError):
        call_command("dedupe", "scan", "--workspace", "nope")


def test_a_company_name_many_share_is_not_evidence(actor, monkeypatch):
    monkeypatch.setattr(dedupe, "COMMON_NAME_CAP", 3)
    for i in range(4):
        company(actor, name=f"Smith {['GmbH', 'Ltd', 'Inc', 'AG'][i]}", domain=f"smith{i}.example")
    company(actor, name="Smith")  # no domain, but "smith" is shared by five companies
    company(actor, name="Jones & Partners")
    company(actor, name="Jones and Partners Ltd")
    assert [p.reasons for p in pairs(actor.workspace, "company")] == [["similar name"]]
    DuplicatePair.objects.all().delete()
    dedupe.scan_workspace(actor.workspace)
    assert [p.reasons for p in pairs(actor.workspace, "company")] == [["similar name"]]


def test_dedupe_tables_have_row_level_security():
    if connection.vendor != "postgresql":
        pytest.skip("row-level security is PostgreSQL's")
    tables = [
        "contacts_otheridentifier",
        "contacts_duplicatepair",
        "contacts_mergeredirect",
        "contacts_duplicatescan",
    ]
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_policy p ON p.polrelid = c.oid "
            "WHERE c.relrowsecurity AND p.polname = 'rapport_workspace_wall' "
            "AND c.relname = ANY(%s)",
            [tables],
        )
        assert sorted(r[0] for r in cur.fetchall()) == sorted(tables)
