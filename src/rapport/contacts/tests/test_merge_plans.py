"""SQLite keeps no statistics in a Rapport database (nothing runs ANALYZE), so between an
index on the workspace alone and one on the record's own column it may pick the workspace's:
at a million people a company merge read every person of the workspace (400–650 ms instead
of 15–20 ms). These tests look at the plan of every statement a merge and a company save run."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.contacts import merging, services
from rapport.testing.factories import DealFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner without stats"),
]

# Django's index on a foreign key to the workspace: `<app>_<model>_workspace_id_<hash>`.
WORKSPACE_ONLY_INDEX = re.compile(r"USING (?:COVERING )?INDEX \w+_workspace_id_[0-9a-f]{8}\b")


def _plans_reading_a_whole_workspace(queries) -> list[str]:
    found = []
    with connection.cursor() as cur:
        for query in queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
                continue
            cur.execute(f"EXPLAIN QUERY PLAN {sql}")
            plan = " | ".join(row[-1] for row in cur.fetchall())
            if WORKSPACE_ONLY_INDEX.search(plan):
                found.append(f"{plan}\n    {sql[:300]}")
    return found


def test_a_company_merge_reads_no_table_by_the_workspace_alone(actor):
    into = services.company_create(actor=actor, data={"name": "Acme", "domain": "acme.example"})
    loser = services.company_create(actor=actor, data={"name": "Acme Ltd"})
    for n in range(3):
        services.person_create(actor=actor, data={"first_name": f"P{n}", "company": str(loser.pk)})
    DealFactory(actor=actor, company=str(loser.pk))

    with CaptureQueriesContext(connection) as ctx:
        merging.company_merge(actor=actor, into_id=into.pk, from_id=loser.pk)

    assert _plans_reading_a_whole_workspace(ctx.captured_queries) == []


def test_a_person_merge_reads_no_table_by_the_workspace_alone(actor):
    into = services.person_create(actor=actor, data={"first_name": "Ada", "email": "a@x.example"})
    loser = services.person_create(actor=actor, data={"first_name": "Ada", "email": "b@x.example"})

    with CaptureQueriesContext(connection) as ctx:
        merging.person_merge(actor=actor, into_id=into.pk, from_id=loser.pk)

    assert _plans_reading_a_whole_workspace(ctx.captured_queries) == []


def test_saving_a_company_looks_for_look_alikes_through_the_name_index(actor):
    services.company_create(actor=actor, data={"name": "Globex", "domain": "globex.example"})

    with CaptureQueriesContext(connection) as ctx:
        services.company_create(actor=actor, data={"name": "Globex Corp"})

    assert _plans_reading_a_whole_workspace(ctx.captured_queries) == []
