"""Smoke test of the interactions phase of `rapport bench` at a tiny size: the seeded rows are
what the services would write, and the machinery produces every figure."""

from __future__ import annotations

import io
import uuid

import pytest
from django.db import connection
from rich.console import Console

from rapport.activities import bench
from rapport.activities.models import Activity, ActivityTarget, Task, TaskTarget
from rapport.contacts.models import Company, Person
from rapport.core import bench as core_bench
from rapport.core import targets

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

INTERACTIONS = 12_000  # the busiest person gets 600: twelve timeline pages


def _refs(links) -> set[tuple[str, uuid.UUID, bool]]:
    return {(link.target_type, link.target_id, link.rollup) for link in links}


def test_seed_then_measure_every_figure():
    messages: list[str] = []
    core_bench.seed(400, 40, say=messages.append)
    ws = core_bench.bench_workspace()
    report = bench.seed(INTERACTIONS, say=messages.append)
    assert not report.reused
    sizes = bench._sizes(INTERACTIONS)
    tasks = sizes["my_open"] + sizes["my_done"] + sizes["other_tasks"] + sizes["busiest_tasks"]
    assert Activity.objects.filter(workspace=ws).count() == INTERACTIONS == report.activities
    assert Task.objects.filter(workspace=ws).count() == tasks == report.tasks
    assert ActivityTarget.objects.filter(workspace=ws).count() == report.targets
    assert TaskTarget.objects.filter(workspace=ws).count() == report.task_targets

    enc = core_bench.Encoder(connection.vendor)
    cast = bench.cast_of(ws, enc)
    busiest = uuid.UUID(cast.heavy[0])
    # (600 interactions; the 1 % in the trash have no links, as the services leave them)
    live_links = ActivityTarget.objects.filter(target_id=busiest).count()
    deleted = Activity.objects.filter(
        workspace=ws, deleted_at__isnull=False, author__isnull=False
    ).count()
    assert sizes["heavy_each"] == 600 and 560 <= live_links < 600 and deleted > 0
    big = Company.objects.get(pk=uuid.UUID(cast.big_company))
    live = Person.objects.filter(workspace=ws, deleted_at__isnull=True).count()
    assert len(cast.big_people) == live // 10  # a tenth of the people below 10,000
    assert Person.objects.filter(company=big, deleted_at__isnull=True).count() >= live // 10
    owner = bench._owner(ws).user
    assert Task.objects.filter(assignee=owner, status="open").count() == sizes["my_open"]

    # Every interaction's links are what services._write_targets writes for its direct
    # records: the people and companies, plus the people's companies as rollups.
    live = Activity.objects.filter(workspace=ws, deleted_at__isnull=True)
    for activity in live.order_by("pk")[:300]:
        links = list(activity.targets.all())
        direct = [
            targets.ref_of(
                Person.objects.get(pk=link.target_id)
                if link.target_type == "person"
                else Company.objects.get(pk=link.target_id)
            )
            for link in links
            if not link.rollup
        ]
        expected = {(r.type, r.id, False) for r in direct} | {
            (r.type, r.id, True) for r in targets.rollups(direct)
        }
        assert _refs(links) == expected, activity.pk
        assert {(link.occurred_at, link.activity_type) for link in links} == {
            (activity.occurred_at, activity.type)
        }

    assert bench.seed(INTERACTIONS, reuse=True, say=messages.append).reused
    # The API reads the seeded timeline: the busiest person's newest live interaction first.
    newest = (
        Activity.objects.filter(targets__target_id=busiest, deleted_at__isnull=True)
        .order_by("-occurred_at", "-id")
        .first()
    )

    result = bench.measure(runs=3, warmup=1, say=messages.append)
    assert [f.key for f in result.figures] == [
        "timeline_busiest",
        "timeline_company",
        "timeline_deep",
        "timeline_oldest",
        "my_work",
        "person_page",
    ]
    for figure in result.figures:
        assert len(figure.api_ms) == 3 and len(figure.raw_ms) == 3, figure.key
        assert figure.median > 0 and figure.p95 >= figure.median, figure.key
        assert figure.raw_median > 0 and figure.queries > 0 and figure.rows > 0, figure.key
    assert result.figures[0].rows == 50 and result.figures[4].rows == 50
    assert result.ingest is not None and result.ingest.per_second > 0
    assert result.ingest.raw_per_second > 0
    # What the ingest figure wrote is gone again, so --reuse finds the seeded data.
    assert Activity.objects.filter(workspace=ws).count() == INTERACTIONS
    assert not Activity.objects.filter(channel=bench.INGEST_CHANNEL).exists()
    assert bench.has_activities(ws, INTERACTIONS)
    assert newest is not None
    out = io.StringIO()
    bench.render(result, Console(file=out, width=220))
    assert "busiest person" in out.getvalue() and "interactions/s" in out.getvalue()
    assert result.as_dict()["ingest"]["per_second"] > 0

    # Seeding the people again wipes the interactions with the workspace.
    core_bench.seed(100, 10, say=messages.append)
    assert not Activity.objects.exists() and not Task.objects.exists()
    assert not ActivityTarget.objects.exists() and not TaskTarget.objects.exists()


def test_generator_is_deterministic():
    enc = core_bench.Encoder("sqlite")
    people = [(f"{n:032x}", f"{n % 7:032x}" if n % 3 else None) for n in range(1, 500)]
    cast = bench.Cast(
        workspace_id="w" * 32,
        owner_id="o" * 32,
        members=["o" * 32, "m" * 32],
        heavy=["h" * 32],
        heavy_companies=["c" * 32],
        big_company="b" * 32,
        big_people=[f"{n:031x}b" for n in range(20)],
        pool=people,
        companies=sorted({c for _p, c in people if c}),
    )
    first = [row for row, _links in bench.activity_rows(cast, 1000, enc)]
    again = [row for row, _links in bench.activity_rows(cast, 1000, enc)]
    assert first == again
    assert [row[12] for row in first] == sorted(row[12] for row in first)  # oldest first
    heavy = [
        links
        for _row, links in bench.activity_rows(cast, 1000, enc)
        if any(link[4] == "h" * 32 for link in links)
    ]
    assert len(heavy) == 50  # one in twenty below 1M
    assert all(("c" * 32, True) in {(link[4], link[5]) for link in links} for links in heavy)
