"""Benchmark figures of the customer-data work (``rapport bench`` runs this in its own child).

Import: a generated CSV of N people (names, emails, phones, companies, tags, address) imported
through the real service path (validation, company matching, audit, search index) into a
workspace of its own, then the same file with every title changed (an upsert that updates
each row). Export: the bench workspace's people to CSV through the export path. Each figure is
set beside the raw database doing the bare minimum of the same work.
"""

from __future__ import annotations

import csv
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.files import File
from django.db import connection, transaction

from rapport.core.actors import Actor

IMPORT_SLUG = "bench-import"
_FIRST = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances"]
_LAST = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Allen"]


def _rss() -> tuple[float, float]:
    from rapport.core.bench import _rss_mb

    return _rss_mb()


def _reset_peak() -> float:
    """Starts a new peak-RSS measurement (Linux: ``clear_refs`` 5 resets VmHWM) and returns
    the RSS now, so a figure reports what its own work needed, not the high-water mark of
    the phases before it in this process. Elsewhere the peak stays the process's."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass
    return _rss()[0]


def _raw_rows(sql: str, params: list, size: int) -> int:
    """Reads a query's rows ``size`` at a time through a server-side cursor on PostgreSQL
    (a plain cursor loads the whole result into the client first: 24 MB per 100,000 rows)."""
    rows = 0
    with connection.chunked_cursor() as cur:
        cur.execute(sql, params)
        while chunk := cur.fetchmany(size):
            rows += len(chunk)
    return rows


def write_csv(path: Path, rows: int, *, title: str = "Engineer", seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["First Name", "Last Name", "Email", "Phone Number", "Company Name", "Job Title",
             "City", "Country/Region", "Tags"]
        )  # fmt: skip
        for i in range(rows):
            writer.writerow(
                [
                    rng.choice(_FIRST),
                    rng.choice(_LAST),
                    f"import{i}@bench-import.example",
                    f"+1 202 555 {i % 10000:04d}",
                    f"Import Company {i % max(rows // 20, 1)}",  # twenty people a company
                    title,
                    "Paris",
                    "France",
                    "imported;bench",
                ]
            )


def _fresh_workspace():
    from rapport.contacts.models import Company, Person
    from rapport.core.bench import _m2m_table, _table
    from rapport.tenancy.models import Workspace

    old = Workspace.objects.filter(slug=IMPORT_SLUG).first()
    if old is not None:
        wid = old.pk.hex if connection.vendor == "sqlite" else old.pk
        with transaction.atomic(), connection.cursor() as cur:
            for table in ("search_searchentry", "audit_auditentry"):
                cur.execute(f"DELETE FROM {table} WHERE workspace_id = %s", [wid])
            cur.execute(
                "DELETE FROM imports_importedrecord WHERE job_id IN "
                "(SELECT id FROM imports_importjob WHERE workspace_id = %s)",
                [wid],
            )
            cur.execute(
                "DELETE FROM imports_importissue WHERE job_id IN "
                "(SELECT id FROM imports_importjob WHERE workspace_id = %s)",
                [wid],
            )
            for model in (Person, Company):
                cur.execute(
                    f"DELETE FROM {_m2m_table(model)} WHERE {model._meta.model_name}_id IN "
                    f"(SELECT id FROM {_table(model)} WHERE workspace_id = %s)",
                    [wid],
                )
            cur.execute(f"DELETE FROM {_table(Person)} WHERE workspace_id = %s", [wid])
            cur.execute(f"DELETE FROM {_table(Company)} WHERE workspace_id = %s", [wid])
            old.delete()
    return Workspace.objects.create(name="Bench import", slug=IMPORT_SLUG)


def _import(actor: Actor, path: Path) -> tuple[float, Any]:
    from rapport.imports import services

    started = time.perf_counter()
    with path.open("rb") as handle:
        job = services.import_upload(
            actor=actor,
            upload=File(handle, name=path.name),  # type: ignore[arg-type]
            object_type="person",
        )
    services.import_start(actor=actor, job_id=job.pk, enqueue=False)
    done = services.import_run(job.pk)
    return time.perf_counter() - started, done


def _raw_insert(rows: int) -> float:
    """The database alone: the same number of people rows inserted in batches of 500."""
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "CREATE TEMPORARY TABLE bench_raw_people (id varchar(32), first_name varchar(150), "
            "last_name varchar(150), email varchar(254), phone varchar(32), title varchar(150))"
        )
        batch = []
        for i in range(rows):
            batch.append((f"{i:032x}", "Ada", "Lovelace", f"raw{i}@x.example", "+12025550000", "E"))
            if len(batch) == 500:
                cur.executemany("INSERT INTO bench_raw_people VALUES (%s,%s,%s,%s,%s,%s)", batch)
                batch = []
        if batch:
            cur.executemany("INSERT INTO bench_raw_people VALUES (%s,%s,%s,%s,%s,%s)", batch)
        cur.execute("DROP TABLE bench_raw_people")
    return time.perf_counter() - started


def bench_import(rows: int, say: Callable[[str], None]) -> dict[str, Any]:
    workspace = _fresh_workspace()
    actor = Actor.system(workspace, "bench")
    rss_before = _rss()[1]
    with tempfile.TemporaryDirectory() as tmp:
        first, second = Path(tmp) / "people.csv", Path(tmp) / "people-updated.csv"
        write_csv(first, rows)
        write_csv(second, rows, title="Principal Engineer")
        size_mb = first.stat().st_size / 2**20
        say(f"import: {rows:,} rows, {size_mb:.0f} MB of CSV")
        created_s, job = _import(actor, first)
        say(f"  create: {created_s:.1f} s, {rows / created_s:,.0f} rows/s")
        updated_s, job2 = _import(actor, second)
        say(f"  upsert: {updated_s:.1f} s, {rows / updated_s:,.0f} rows/s")
    peak = _rss()[1]
    raw_s = _raw_insert(rows)
    say(f"  raw insert of the same rows: {raw_s:.1f} s ({rows / raw_s:,.0f} rows/s)")
    return {
        "rows": rows,
        "csv_mb": round(size_mb, 1),
        "create_rows_per_s": round(rows / created_s),
        "upsert_rows_per_s": round(rows / updated_s),
        "created": job.created_count,
        "updated": job2.updated_count,
        "rejected": job.rejected_count + job2.rejected_count,
        "raw_rows_per_s": round(rows / raw_s),
        "ratio_create_to_raw": round(created_s / raw_s, 1),
        "peak_rss_mb": round(peak, 1),
        "rss_before_mb": round(rss_before, 1),
        "budget_rows_per_s": 20_000,
    }


def bench_export(say: Callable[[str], None]) -> dict[str, Any]:
    from rapport.core.bench import bench_workspace
    from rapport.core.models import JobStatus
    from rapport.imports import exports
    from rapport.imports.models import ExportJob

    workspace = bench_workspace()
    if workspace is None:
        return {}
    from rapport.tenancy.models import Membership

    owner = Membership.objects.filter(workspace=workspace, role="owner").first()
    job = ExportJob(
        workspace=workspace,
        status=JobStatus.QUEUED,
        object_type="person",
        file_format="csv",
        created_by=owner.user if owner else None,
        created_by_kind="user" if owner else "system",
    )
    job.save()
    before = _reset_peak()
    started = time.perf_counter()
    exports.export_run(job.pk)
    seconds = time.perf_counter() - started
    growth = _rss()[1] - before
    job.refresh_from_db()
    raw_started = time.perf_counter()
    wid = workspace.pk.hex if connection.vendor == "sqlite" else workspace.pk
    with transaction.atomic():  # a server-side cursor lives in a transaction
        raw_rows = _raw_rows(
            "SELECT p.first_name, p.last_name, p.email, p.phone, p.title, c.name "
            "FROM contacts_person p LEFT JOIN contacts_company c ON c.id = p.company_id "
            "WHERE p.workspace_id = %s AND p.deleted_at IS NULL",
            [wid],
            5000,
        )
    raw_s = time.perf_counter() - raw_started
    job.file.delete(save=False)
    say(
        f"export: {job.processed:,} people to CSV in {seconds:.1f} s "
        f"({job.processed / seconds:,.0f} rows/s, RSS +{growth:.0f} MB); raw read {raw_s:.1f} s"
    )
    return {
        "rows": job.processed,
        "rows_per_s": round(job.processed / seconds),
        "raw_rows_per_s": round(raw_rows / raw_s) if raw_s else 0,
        "ratio_to_raw": round(seconds / raw_s, 1) if raw_s else 0,
        "status": job.status,
        "rss_growth_mb": round(growth, 1),
        "peak_rss_mb": round(_rss()[1], 1),
    }


# --- dedupe, merge and a custom-field filter on the bench workspace ---------------------------


def _bench_owner_actor():
    from rapport.core.actors import ActorKind, Role
    from rapport.core.bench import bench_workspace
    from rapport.tenancy.models import Membership

    workspace = bench_workspace()
    if workspace is None:
        return None
    owner = (
        Membership.objects.filter(workspace=workspace, role=Role.OWNER.value)
        .select_related("user")
        .first()
    )
    return Actor(kind=ActorKind.USER, workspace=workspace, role=Role.OWNER, user=owner.user)


def bench_dedupe(say: Callable[[str], None]) -> dict[str, Any]:
    from rapport.contacts import dedupe

    actor = _bench_owner_actor()
    if actor is None:
        return {}
    before = _reset_peak()
    result = dedupe.scan_workspace(actor.workspace)
    growth = _rss()[1] - before
    raw_started = time.perf_counter()
    wid = actor.workspace.pk.hex if connection.vendor == "sqlite" else actor.workspace.pk
    with transaction.atomic():  # the raw floor: the live people once, in a blocking order
        _raw_rows(
            "SELECT id, phone, company_id, last_name, first_name FROM contacts_person "
            "WHERE workspace_id = %s AND deleted_at IS NULL ORDER BY company_id, last_name",
            [wid],
            10000,
        )
    raw_s = time.perf_counter() - raw_started
    data = result.as_dict()
    say(
        f"dedupe scan: {data['seconds']:.1f} s for {data['people']:,} people and "
        f"{data['companies']:,} companies; {data['comparisons']:,} comparisons, "
        f"{data['pairs']:,} pairs, RSS +{growth:.0f} MB; one sorted read of the people takes "
        f"{raw_s:.1f} s"
    )
    return {
        **data,
        "raw_sorted_read_s": round(raw_s, 2),
        "rss_growth_mb": round(growth, 1),
        "peak_rss_mb": round(_rss()[1], 1),
    }


def bench_merge(say: Callable[[str], None], runs: int = 7) -> dict[str, Any]:
    import statistics

    from rapport.contacts.merging import company_merge, person_merge
    from rapport.contacts.models import Company, Person

    actor = _bench_owner_actor()
    if actor is None:
        return {}
    live = Person.objects.visible_to(actor).exclude(company=None)
    pairs = []
    for company_id in (
        Company.objects.visible_to(actor).order_by("created_at").values_list("pk", flat=True)[:200]
    ):
        ids = list(live.filter(company_id=company_id).values_list("pk", flat=True)[:2])
        if len(ids) == 2:
            pairs.append(ids)
        if len(pairs) == runs:
            break
    person_ms = []
    for into_id, from_id in pairs:
        started = time.perf_counter()
        person_merge(actor=actor, into_id=into_id, from_id=from_id, source="bench")
        person_ms.append((time.perf_counter() - started) * 1000)
    companies = list(
        Company.objects.visible_to(actor)
        .order_by("-created_at")
        .values_list("pk", flat=True)[: runs * 2]
    )
    company_ms = []
    for into_id, from_id in zip(companies[::2], companies[1::2], strict=False):
        started = time.perf_counter()
        company_merge(actor=actor, into_id=into_id, from_id=from_id, source="bench")
        company_ms.append((time.perf_counter() - started) * 1000)
    raw_ms = []
    wid = actor.workspace.pk.hex if connection.vendor == "sqlite" else actor.workspace.pk
    for _ in range(runs):
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                "SELECT id FROM contacts_person WHERE workspace_id = %s AND deleted_at IS NULL "
                "ORDER BY created_at LIMIT 2",
                [wid],
            )
            a, b = (row[0] for row in cur.fetchall())
            cur.execute("UPDATE contacts_person SET version = version + 1 WHERE id = %s", [a])
            cur.execute("DELETE FROM contacts_person_tags WHERE person_id = %s", [b])
            transaction.set_rollback(True)
        raw_ms.append((time.perf_counter() - started) * 1000)
    out = {
        "person_merge_median_ms": round(statistics.median(person_ms), 1) if person_ms else None,
        "company_merge_median_ms": round(statistics.median(company_ms), 1) if company_ms else None,
        "raw_median_ms": round(statistics.median(raw_ms), 2),
        "runs": len(person_ms),
    }
    say(
        f"merge: a person {out['person_merge_median_ms']} ms, a company (moving its people) "
        f"{out['company_merge_median_ms']} ms, median of {len(person_ms)}; raw update+delete "
        f"{out['raw_median_ms']} ms"
    )
    return out


def bench_custom_filter(say: Callable[[str], None], runs: int = 30) -> dict[str, Any]:
    """A people list filtered on a custom select field through the API, beside raw SQL."""
    import statistics

    from rapport.core.bench import WsgiCaller, _keep_connections
    from rapport.customization.models import CustomField
    from rapport.customization.services import field_create
    from rapport.users.services import token_create, token_revoke

    actor = _bench_owner_actor()
    if actor is None:
        return {}
    workspace = actor.workspace
    if not CustomField.objects.filter(workspace=workspace, key="tier", deleted_at=None).exists():
        field_create(
            actor=actor,
            data={
                "object_type": "contacts.person",
                "key": "tier",
                "label": "Tier",
                "type": "select",
                "options": [{"value": v, "label": v.title()} for v in ("gold", "silver", "bronze")],
            },
        )
    wid = workspace.pk.hex if connection.vendor == "sqlite" else workspace.pk
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        # One person in eight is gold, the rest silver (set raw: 1M rows).
        sqlite = connection.vendor == "sqlite"
        first_char = "substr(id, 1, 1)" if sqlite else "left(id::text, 1)"
        cast = "" if sqlite else "::jsonb"
        cur.execute(
            f"UPDATE contacts_person SET custom = (CASE WHEN {first_char} IN ('0', '1') "
            """THEN '{"tier": "gold"}' ELSE '{"tier": "silver"}' END)"""
            f"{cast} WHERE workspace_id = %s",
            [wid],
        )
    if connection.vendor == "postgresql":
        # A million rows changed behind the planner's back: refresh its statistics, as
        # autovacuum would soon do (without them it expects one match and sorts 125,000).
        with connection.cursor() as cur:
            cur.execute("ANALYZE contacts_person")
    say(f"custom filter: tier set on every person in {time.perf_counter() - started:.1f} s")
    api_token, raw_token = token_create(actor=actor, name="rapport bench custom")
    call = WsgiCaller(raw_token)
    api_ms = []
    status = 0
    with _keep_connections():
        for i in range(runs + 3):
            elapsed, status, _body = call("/api/v1/contacts", "custom.tier=gold&limit=50")
            if i >= 3:
                api_ms.append(elapsed)
    token_revoke(actor=actor, token_id=api_token.pk)
    json_value = (
        "json_extract(custom, '$.tier')" if connection.vendor == "sqlite" else "custom->>'tier'"
    )
    raw_ms = []
    for _ in range(runs):
        started = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(
                "SELECT id, first_name, last_name, email FROM contacts_person WHERE "
                f"workspace_id = %s AND deleted_at IS NULL AND {json_value} = 'gold' "
                "ORDER BY created_at DESC, id DESC LIMIT 51",
                [wid],
            )
            cur.fetchall()
        raw_ms.append((time.perf_counter() - started) * 1000)
    api_sorted = sorted(api_ms)
    out = {
        "status": status,
        "median_ms": round(statistics.median(api_ms), 1),
        "p95_ms": round(api_sorted[max(0, round(0.95 * len(api_sorted)) - 1)], 1),
        "raw_median_ms": round(statistics.median(raw_ms), 1),
        "budget_p95_ms": 25,
    }
    out["ratio"] = round(out["median_ms"] / out["raw_median_ms"], 2) if out["raw_median_ms"] else 0
    say(
        f"custom filter: /api/v1/contacts?custom.tier=gold median {out['median_ms']} ms, p95 "
        f"{out['p95_ms']} ms (status {status}); raw {out['raw_median_ms']} ms"
    )
    return out


def bench_trash(say: Callable[[str], None], runs: int = 15) -> dict[str, Any]:
    """The trash list with half the bench workspace's people in it (as after a bulk delete of
    500,000), beside raw SQL. The deletions are made raw and rolled back afterwards."""
    import statistics

    from rapport.contacts import selectors
    from rapport.contacts.filters import TrashFilters

    actor = _bench_owner_actor()
    if actor is None:
        return {}
    wid = actor.workspace.pk.hex if connection.vendor == "sqlite" else actor.workspace.pk
    sqlite = connection.vendor == "sqlite"
    half = "rowid % 2 = 0" if sqlite else "substr(id::text, 1, 1) < '8'"
    now = "datetime('now')" if sqlite else "now()"
    spread = (
        "(abs(random()) % 86400) || ' seconds'"
        if sqlite
        else "make_interval(secs => random() * 86400)"
    )
    deleted_at = f"datetime('now', '-' || {spread})" if sqlite else f"{now} - {spread}"

    def median_ms(fn, places: int = 1) -> float:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            fn()
            times.append((time.perf_counter() - started) * 1000)
        return round(statistics.median(times), places)

    def first_two_pages(**filters) -> None:
        page = selectors.trash_list(
            actor=actor, filters=TrashFilters(**filters), cursor=None, limit=50
        )
        selectors.trash_list(
            actor=actor, filters=TrashFilters(**filters), cursor=page.next_cursor, limit=50
        )

    def raw() -> None:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT id FROM contacts_person WHERE workspace_id = %s AND deleted_at IS NOT NULL "
                "ORDER BY deleted_at DESC, id DESC LIMIT 51",
                [wid],
            )
            cur.fetchall()

    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(
                f"UPDATE contacts_person SET deleted_at = {deleted_at} "
                f"WHERE workspace_id = %s AND deleted_at IS NULL AND {half}",
                [wid],
            )
            trashed = cur.rowcount
            if not sqlite:
                cur.execute("ANALYZE contacts_person")
        out = {
            "people_in_trash": trashed,
            "two_pages_ms": median_ms(first_two_pages),
            "people_only_ms": median_ms(lambda: first_two_pages(type="person")),
            "deleted_by_me_ms": median_ms(lambda: first_two_pages(deleted_by="me")),
            "raw_page_ms": median_ms(raw, places=2),
        }
        transaction.set_rollback(True)
    say(
        f"trash: {trashed:,} people in the trash; its first two pages {out['two_pages_ms']} ms "
        f"(people only {out['people_only_ms']} ms, deleted by me {out['deleted_by_me_ms']} ms); "
        f"raw page {out['raw_page_ms']} ms"
    )
    return out
