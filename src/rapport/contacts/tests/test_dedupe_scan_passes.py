"""The duplicate scan keeps memory bounded (companies read in passes, compact pair keys) and
finds exactly the same pairs whatever the number of passes."""

from __future__ import annotations

import random
import tracemalloc

import pytest

from rapport.contacts import dedupe
from rapport.contacts.models import Company, DuplicatePair, Person

pytestmark = pytest.mark.django_db

STEMS = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Zoë", "Ünal"]
FORMS = ["", " Inc", " GmbH", " Ltd", " Holdings", " Systems", " & Co"]


def generated(workspace, companies: int = 400, people: int = 1200, seed: int = 3):
    """Look-alike companies (some without a domain), people sharing phones and colleagues
    with near-identical names: every rule of the scan has something to find."""
    rng = random.Random(seed)
    made = [
        Company(
            workspace=workspace,
            name=f"{rng.choice(STEMS)}{rng.randint(0, 60)}{rng.choice(FORMS)}",
            domain="" if rng.random() < 0.5 else f"c{i}.example",
        )
        for i in range(companies)
    ]
    Company.objects.bulk_create(made)
    first = ["Anna", "Ana", "Boris", "Clara", "Klara", "Hugo"]
    last = ["Adler", "Adlers", "Berg", "Castro", "Dahl"]
    Person.objects.bulk_create(
        Person(
            workspace=workspace,
            first_name=rng.choice(first),
            last_name=rng.choice(last),
            email=f"p{i}@example.com",
            phone=f"+4420794{rng.randint(0, 600):05d}",
            company=rng.choice(made) if rng.random() < 0.9 else None,
        )
        for i in range(people)
    )


def snapshot(workspace) -> set:
    rows = DuplicatePair.objects.filter(workspace=workspace).values_list(
        "object_type", "person_a", "person_b", "company_a", "company_b", "score", "reasons"
    )
    return {(*row[:-1], tuple(row[-1])) for row in rows}


def counters(result: dedupe.ScanResult) -> dict:
    return {k: v for k, v in result.as_dict().items() if k not in ("seconds", "phases")}


def test_companies_in_several_passes_give_the_same_pairs_and_counts(actor, monkeypatch):
    generated(actor.workspace)
    one_pass = dedupe.scan_workspace(actor.workspace)
    expected = snapshot(actor.workspace)
    assert one_pass.pairs > 20 and any(t == "company" for t, *_ in expected)
    assert any(t == "person" for t, *_ in expected)

    DuplicatePair.objects.all().delete()
    monkeypatch.setattr(dedupe, "COMPANY_PASS", 37)  # 400 companies: 11 passes
    many_passes = dedupe.scan_workspace(actor.workspace)

    assert snapshot(actor.workspace) == expected
    assert counters(many_passes) == counters(one_pass)


def test_the_company_phase_holds_one_pass_of_companies(actor, monkeypatch):
    generated(actor.workspace, companies=3000, people=0)
    sink = dedupe._Sink(actor.workspace.pk, dedupe.COMPANY, dedupe.ScanResult(), None, _noop)

    def peak(pass_size: int) -> int:
        monkeypatch.setattr(dedupe, "COMPANY_PASS", pass_size)
        tracemalloc.start()
        dedupe._companies_by_name(actor.workspace.pk, sink, dedupe.ScanResult(), iter)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    whole, tenth = peak(10_000), peak(300)
    assert tenth < whole * 0.75, (whole, tenth)


def test_seen_pairs_are_kept_as_32_byte_keys(actor):
    sink = dedupe._Sink(actor.workspace.pk, dedupe.PERSON, dedupe.ScanResult(), None, _noop)
    a, b = Person(workspace=actor.workspace).pk, Person(workspace=actor.workspace).pk
    sink.add(a, b)
    sink.add(b, a)  # the same pair, met again from the other side
    assert len(sink.pending) == 1 and all(len(k) == 32 for k in sink.seen)


def _noop(force: bool = False) -> None:
    return None
