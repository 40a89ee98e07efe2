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
    job = ExportJob.objects.create(
        workspace=workspace,
        status=JobStatus.QUEUED,
        object_type="person",
        file_format="csv",
        created_by=owner.user if owner else None,
        created_by_kind="user" if owner else "system",
    )
    started = time.perf_counter()
    exports.export_run(job.pk)
    seconds = time.perf_counter() - started
    job.refresh_from_db()
    raw_started = time.perf_counter()
    wid = workspace.pk.hex if connection.vendor == "sqlite" else workspace.pk
    with connection.cursor() as cur:
        cur.execute(
            "SELECT p.first_name, p.last_name, p.email, p.phone, p.title, c.name "
            "FROM contacts_person p LEFT JOIN contacts_company c ON c.id = p.company_id "
            "WHERE p.workspace_id = %s AND p.deleted_at IS NULL",
            [wid],
        )
        raw_rows = 0
        while chunk := cur.fetchmany(5000):
            raw_rows += len(chunk)
    raw_s = time.perf_counter() - raw_started
    job.file.delete(save=False)
    say(
        f"export: {job.processed:,} people to CSV in {seconds:.1f} s "
        f"({job.processed / seconds:,.0f} rows/s); raw read {raw_s:.1f} s"
    )
    return {
        "rows": job.processed,
        "rows_per_s": round(job.processed / seconds),
        "raw_rows_per_s": round(raw_rows / raw_s) if raw_s else 0,
        "ratio_to_raw": round(seconds / raw_s, 1) if raw_s else 0,
        "status": job.status,
        "peak_rss_mb": round(_rss()[1], 1),
    }
