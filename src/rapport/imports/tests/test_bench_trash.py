"""Smoke test of the bench's trash figure at a tiny size: it trashes about half the bench
workspace's people, measures, and leaves the workspace as it found it."""

from __future__ import annotations

import pytest

from rapport.contacts.models import Person
from rapport.core import bench
from rapport.imports.bench import bench_trash

pytestmark = pytest.mark.django_db


def test_the_trash_figure_measures_then_puts_everything_back():
    bench.seed(200, 30, say=lambda _message: None)
    live = set(Person.objects.filter(deleted_at__isnull=True).values_list("pk", flat=True))
    said: list[str] = []
    out = bench_trash(said.append, runs=2)
    assert 40 < out["people_in_trash"] < 160  # about half
    assert out["two_pages_ms"] > 0 and out["people_only_ms"] > 0 and out["deleted_by_me_ms"] > 0
    assert out["raw_page_ms"] >= 0
    assert "people in the trash" in said[0]
    assert set(Person.objects.filter(deleted_at__isnull=True).values_list("pk", flat=True)) == live
