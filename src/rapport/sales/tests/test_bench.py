"""Smoke test of the sales phase of `rapport bench` at a tiny size: the seeded deals are
consistent (status, stages, history, money) and the machinery produces every figure."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from django.db.models import Count, Q
from rich.console import Console

from rapport.core import bench as core_bench
from rapport.sales import bench
from rapport.sales.models import Deal, DealPerson, ExchangeRate, Pipeline, Quota, StageHistory

pytestmark = [pytest.mark.django_db]

DEALS = 3_000


def test_seed_then_measure_every_figure():
    messages: list[str] = []
    core_bench.seed(300, 40, say=messages.append)
    ws = core_bench.bench_workspace()
    report = bench.seed(DEALS, say=messages.append)
    assert not report.reused and report.deals == DEALS
    assert Deal.objects.filter(workspace=ws).count() == DEALS
    assert StageHistory.objects.filter(workspace=ws).count() == report.history
    assert DealPerson.objects.filter(workspace=ws).count() == report.deal_people > 0
    assert Pipeline.objects.filter(workspace=ws).count() == len(bench.PIPELINES)
    assert ExchangeRate.objects.filter(workspace=ws).count() == 96
    assert Quota.objects.filter(workspace=ws).count() == bench.MEMBERS_TOTAL

    # The board's pipeline holds a tenth of the deals as live open deals.
    board = bench.board_pipeline(ws)
    live = Deal.objects.filter(workspace=ws, deleted_at__isnull=True)
    assert live.filter(pipeline=board, status="open").count() == DEALS // bench.BOARD_SHARE
    # Status follows the stage; closed deals have closed_at, lost ones a reason; money has a
    # currency; each deal has 1-4 history rows, exactly one without left_at, in its stage.
    assert not live.exclude(status=models_f("stage__type")).exists()
    assert not live.filter(status__in=["won", "lost"], closed_at__isnull=True).exists()
    assert not live.filter(status="open", closed_at__isnull=False).exists()
    assert not live.filter(status="lost", lost_reason__isnull=True).exists()
    assert not live.filter(amount__isnull=False, currency="").exists()
    assert set(live.exclude(currency="").values_list("currency", flat=True)) == {
        "USD",
        "EUR",
        "GBP",
    }
    rows = Counter(StageHistory.objects.filter(workspace=ws).values_list("deal_id", flat=True))
    assert len(rows) == DEALS and set(rows.values()) <= {1, 2, 3, 4}
    current = (
        StageHistory.objects.filter(workspace=ws)
        .values("deal_id")
        .annotate(n=Count("id", filter=Q(left_at__isnull=True)))
    )
    assert {r["n"] for r in current} == {1}
    sample = live.order_by("pk")[:50]
    for deal in sample:
        last = StageHistory.objects.filter(deal=deal).order_by("entered_at").last()
        assert last.stage_id == deal.stage_id and last.left_at is None
        assert last.entered_at == deal.stage_entered_at

    assert bench.seed(DEALS, reuse=True, say=messages.append).reused
    assert bench.has_sales(ws, DEALS)

    first = board.stages.order_by("position").first()
    in_first = live.filter(stage=first).count()
    result = bench.measure(runs=2, warmup=1, say=messages.append)
    keys = [f.key for f in result.figures]
    assert keys[0] == "board"
    assert {"board_column", "move", "dashboard", "deal_list", "deal_get"} <= set(keys)
    assert any(k.startswith("forecast") for k in keys)
    for figure in result.figures:
        assert len(figure.api_ms) == 2 and len(figure.raw_ms) == 2, figure.key
        assert figure.median > 0 and figure.raw_median > 0 and figure.queries > 0, figure.key
    # The moved deals are back in the first column (the raw moves put them back).
    assert live.filter(stage=first).count() == in_first
    assert live.filter(pipeline=board, status="open").count() == DEALS // bench.BOARD_SHARE
    out = io.StringIO()
    bench.render(result, Console(file=out, width=220))
    assert "Sales bench" in out.getvalue()
    assert result.as_dict()["figures"][0]["key"] == "board"

    # Seeding the people again removes the deals with the workspace (raw deletes).
    core_bench.seed(100, 10, say=messages.append)
    assert not Deal.objects.exists() and not StageHistory.objects.exists()


def models_f(name: str):
    from django.db.models import F

    return F(name)


def test_generator_is_deterministic():
    enc = core_bench.Encoder("sqlite")
    stage = bench.StageInfo
    pipelines = [
        bench.PipelineInfo(
            id=f"{p:032x}",
            pk=None,  # type: ignore[arg-type]
            name=f"P{p}",
            open=[stage(f"{p}{s:031x}", None, f"S{s}", "open", 10 * s) for s in range(4)],  # type: ignore[arg-type]
            won=stage(f"{p}{'w' * 31}", None, "Won", "won", 100),  # type: ignore[arg-type]
            lost=stage(f"{p}{'l' * 31}", None, "Lost", "lost", 0),  # type: ignore[arg-type]
        )
        for p in range(5)
    ]
    import datetime as dt

    cast = bench.SalesCast(
        workspace_id="w" * 32,
        owner_id="o" * 32,
        members=["o" * 32, "m" * 32],
        pipelines=pipelines,
        lost_reasons=["r" * 32],
        tags={"hot": "t" * 32},
        contacts=[(f"{n:032x}", f"{n % 7:032x}") for n in range(1, 300)],
        loners=["x" * 32],
        today=dt.date(2026, 6, 1),
        now_micros=(dt.datetime(2026, 6, 1, tzinfo=dt.UTC) - core_bench.BASE_TIME)
        // dt.timedelta(microseconds=1),
    )
    first = list(bench.deal_rows(cast, 500, enc))
    again = list(bench.deal_rows(cast, 500, enc))
    assert first == again
    statuses = Counter((row[13], row[15]) for row, _h, _p, _t in first)
    assert statuses[(pipelines[0].id, "open")] == 500 // bench.BOARD_SHARE
    for row, history, people, _tags in first:
        assert 1 <= len(history) <= 4
        assert history[-1][4] == row[14] and history[-1][8] is None  # open row = current stage
        assert len(set(people)) == len(people)
