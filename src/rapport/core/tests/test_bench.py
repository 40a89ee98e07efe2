"""Smoke test of `rapport bench` at a tiny size: the machinery produces every figure."""

from __future__ import annotations

import io

import phonenumbers
import pytest
from rich.console import Console

from rapport.contacts.models import Company, Person
from rapport.core import bench
from rapport.search import services as search_services
from rapport.search.models import SearchEntry
from rapport.search.selectors import search
from rapport.tenancy.models import Membership
from rapport.users.models import ApiToken

pytestmark = pytest.mark.django_db


def test_seed_then_measure_every_figure():
    messages: list[str] = []
    report = bench.seed(200, 30, say=messages.append)
    assert not report.reused
    ws = bench.bench_workspace()
    assert Person.objects.filter(workspace=ws).count() == 200
    assert Company.objects.filter(workspace=ws).count() == 30
    assert Membership.objects.filter(workspace=ws).count() == bench.MEMBERS
    live = Person.objects.filter(workspace=ws, deleted_at__isnull=True)
    live_companies = Company.objects.filter(workspace=ws, deleted_at__isnull=True)
    assert SearchEntry.objects.filter(workspace=ws).count() == (
        live.count() + live_companies.count()
    )
    assert report.search_entries == live.count() + live_companies.count()

    # The bulk rows are what the services would have written for the same records.
    for record in [*live.order_by("created_at")[:25], *live_companies[:10]]:
        entry = SearchEntry.objects.get(object_id=record.pk)
        expected = search_services._entry(record)
        assert (entry.title, entry.subtitle, entry.text) == (
            expected.title,
            expected.subtitle,
            expected.text,
        )
        assert phonenumbers.is_valid_number(phonenumbers.parse(record.phone)), record.phone
        assert record.email if isinstance(record, Person) else record.domain
    person = live.order_by("created_at")[7]
    actor = bench.Actor(
        kind=bench.ActorKind.SYSTEM, workspace=ws, role=bench.Role.OWNER, name="test"
    )
    # The full-text index was rebuilt (SQLite) / indexes rebuilt (PostgreSQL): search works.
    assert search(actor=actor, q=person.email)[0].object_id == person.pk
    assert Person.objects.filter(workspace=ws, tags__name="vip").exists()

    assert bench.seed(200, 30, reuse=True, say=messages.append).reused

    result = bench.measure(runs=3, warmup=1, say=messages.append)
    keys = [f.key for f in result.figures]
    assert keys == [
        "contact_get",
        "contact_list",
        "contact_list_deep",
        "contact_filter_country",
        "contact_filter_owner",
        "contact_filter_tag",
        "company_get",
        "company_list",
        "search_typo",
        "search_email",
        "search_first_name",
    ]
    for figure in result.figures:
        assert len(figure.api_ms) == 3 and len(figure.raw_ms) == 3, figure.key
        assert figure.median > 0 and figure.p95 >= figure.median, figure.key
        assert figure.raw_median > 0 and figure.ratio > 0, figure.key
        assert figure.queries > 0, figure.key
        assert figure.rows > 0, figure.key
    assert result.peak_rss_mb > 0
    assert result.people == 200 and result.companies == 30
    # The bench's own token is revoked when it is done.
    assert not ApiToken.objects.filter(workspace=ws, revoked_at__isnull=True).exists()
    out = io.StringIO()
    bench.render(result, Console(file=out, width=200))
    assert "GET /contacts/{id}" in out.getvalue()
    assert result.as_dict()["figures"][0]["key"] == "contact_get"

    # Other sizes replace the workspace (the old one is wiped first).
    assert not bench.seed(120, 12, reuse=True, say=messages.append).reused
    ws = bench.bench_workspace()
    assert Person.objects.filter(workspace=ws).count() == 120
    assert Company.objects.filter(workspace=ws).count() == 12
    assert not Person.objects.exclude(workspace=ws).exists()
    assert SearchEntry.objects.count() == SearchEntry.objects.filter(workspace=ws).count()
    person = Person.objects.filter(workspace=ws, deleted_at__isnull=True).first()
    assert (
        search(
            actor=bench.Actor(
                kind=bench.ActorKind.SYSTEM, workspace=ws, role=bench.Role.OWNER, name="test"
            ),
            q=person.email,
        )[0].object_id
        == person.pk
    )


def test_generator_is_deterministic():
    pools = bench.build_pools()
    ctx = bench.Context(
        workspace_id="w" * 32,
        owner_ids=["o" * 32, "p" * 32],
        tag_ids={n: n for n, _ in bench.PERSON_TAGS + bench.COMPANY_TAGS},
        enc=bench.Encoder("sqlite"),
    )
    first = [row for row, _tags, _entry in bench.company_rows(ctx, pools, 50)]
    again = [row for row, _tags, _entry in bench.company_rows(ctx, bench.build_pools(), 50)]
    assert first == again
    companies = [(row[0], row[21], pools[0][0]) for row in first]
    people = list(bench.person_rows(ctx, pools, 300, companies))
    assert people == list(bench.person_rows(ctx, pools, 300, companies))
    emails = [row[22] for row, _tags, _entry in people]
    assert len(set(emails)) == len(emails)
    times = [row[2] for row, _tags, _entry in people]
    assert times == sorted(times)
