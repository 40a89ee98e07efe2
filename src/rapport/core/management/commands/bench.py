"""`rapport bench`: seed a large workspace and time the API against the raw database.

Without DATABASE_URL in the environment the bench uses a database of its own,
``$RAPPORT_DATA_DIR/bench.sqlite3`` (never the app's ``rapport.sqlite3``); with it, it uses that
database. ``--pg URL`` (or BENCH_PG_URL) runs the same bench on PostgreSQL too, creating the
database when it does not exist. Each database is seeded in one child process and measured in
another, so the peak RSS reported is the one of a process that only serves requests.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import orjson
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

PHASES = ("all", "seed", "measure", "data", "activities-seed", "activities", "sales-seed", "sales")


def default_sqlite_path() -> Path:
    return Path(settings.DATA_DIR) / "bench.sqlite3"


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


class Command(BaseCommand):
    help = (
        "Seed a benchmark workspace (default 1,000,000 people and 200,000 companies) and print "
        "median and p95 server time of API reads, lists and search next to the raw SQL."
    )
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("--people", type=int, default=1_000_000)
        parser.add_argument("--companies", type=int, default=200_000)
        parser.add_argument("--runs", type=int, default=30, help="Timed runs per figure")
        parser.add_argument("--warmup", type=int, default=3)
        parser.add_argument(
            "--reuse",
            action="store_true",
            help="Keep the bench workspace when it already holds these sizes (skip seeding)",
        )
        parser.add_argument(
            "--pg",
            default=os.environ.get("BENCH_PG_URL", ""),
            help="Also bench this PostgreSQL database (postgres://user@host:port/name)",
        )
        parser.add_argument(
            "--json",
            default="",
            help="Where to write the figures (default: $RAPPORT_DATA_DIR/bench-<vendor>.json)",
        )
        parser.add_argument(
            "--data-rows",
            type=int,
            default=1_000_000,
            help="Rows of the import benchmark (0 skips the import and export figures)",
        )
        parser.add_argument(
            "--activities",
            type=int,
            default=10_000_000,
            help="Interactions of the timeline benchmark (rapport.activities.bench)",
        )
        parser.add_argument(
            "--skip-activities", action="store_true", help="Skip the interactions figures"
        )
        parser.add_argument(
            "--deals",
            type=int,
            default=1_000_000,
            help="Deals of the sales benchmark (rapport.sales.bench; 0 skips it)",
        )
        parser.add_argument("--data-last", action="store_true", help=argparse.SUPPRESS)
        parser.add_argument("--phase", choices=PHASES, default="all", help=argparse.SUPPRESS)

    def handle(self, *args, phase, **opts):
        if opts["people"] < 1 or opts["companies"] < 0 or opts["runs"] < 1:
            raise CommandError("Use --people >= 1, --companies >= 0 and --runs >= 1.")
        if phase != "all" and not os.environ.get("DATABASE_URL"):
            # The phases run in children pointed at the bench database; without DATABASE_URL a
            # phase would seed the app's own database.
            raise CommandError("--phase is internal: run `rapport bench`.")
        if phase == "seed":
            return self.seed_here(opts)
        if phase == "measure":
            return self.measure_here(opts)
        if phase == "data":
            return self.data_here(opts)
        if phase in ("activities-seed", "activities"):
            from rapport.activities.bench import run_phase

            return run_phase(phase, opts, self.stdout)
        if phase in ("sales-seed", "sales"):
            from rapport.sales.bench import run_phase as run_sales_phase

            return run_sales_phase(phase, opts, self.stdout)
        return self.orchestrate(opts)

    # --- the parent: one child per phase and database ---------------------------------------

    def orchestrate(self, opts):
        targets = []
        if os.environ.get("DATABASE_URL"):
            targets.append(os.environ["DATABASE_URL"])
        else:
            targets.append(f"sqlite:///{default_sqlite_path()}")
        if opts["pg"]:
            targets.append(opts["pg"])
        for url in targets:
            self.stdout.write(self.style.MIGRATE_HEADING(f"== {_redact(url)}"))
            if url == f"sqlite:///{default_sqlite_path()}" and not opts["reuse"]:
                # Our own file: starting afresh is faster than deleting a million rows.
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{default_sqlite_path()}{suffix}").unlink(missing_ok=True)
            common = ["--people", str(opts["people"]), "--companies", str(opts["companies"])]
            env = {**os.environ, "DATABASE_URL": url}
            started = time.perf_counter()
            self._child(["--phase", "seed", *common, *(["--reuse"] if opts["reuse"] else [])], env)
            self.stdout.write(f"seed phase: {time.perf_counter() - started:.1f} s")
            measure = ["--phase", "measure", *common, "--runs", str(opts["runs"])]
            measure += ["--warmup", str(opts["warmup"])]
            if opts["json"] and len(targets) == 1:
                measure += ["--json", opts["json"]]
            # The throttle still runs on every request; only its limit is raised.
            self._child(measure, {**env, "RAPPORT_API_RATE_LIMIT": "1000000/m"})
            if opts["activities"] and not opts["skip_activities"]:
                # Before the data phase: its merges change the people, so a later --reuse
                # seeds everything again.
                activities = [*common, "--activities", str(opts["activities"])]
                reuse = ["--reuse"] if opts["reuse"] else []
                self._child(["--phase", "activities-seed", *activities, *reuse], env)
                runs = ["--runs", str(opts["runs"]), "--warmup", str(opts["warmup"])]
                limit = {"RAPPORT_API_RATE_LIMIT": "1000000/m"}
                self._child(["--phase", "activities", *activities, *runs], {**env, **limit})
            if opts["deals"]:
                # After the interactions (the deals add to the same workspace), before the
                # data phase (its merges change the people).
                deals = [*common, "--deals", str(opts["deals"])]
                reuse = ["--reuse"] if opts["reuse"] else []
                self._child(["--phase", "sales-seed", *deals, *reuse], env)
                runs = ["--runs", str(opts["runs"]), "--warmup", str(opts["warmup"])]
                limit = {"RAPPORT_API_RATE_LIMIT": "1000000/m"}
                self._child(["--phase", "sales", *deals, *runs], {**env, **limit})
            if opts["data_rows"]:
                # A tenth of the rows first, in a process of its own: peak memory must not grow
                # with the file.
                for rows in (opts["data_rows"] // 10, opts["data_rows"]):
                    last = ["--data-last"] if rows == opts["data_rows"] else []
                    self._child(["--phase", "data", *common, "--data-rows", str(rows), *last], env)

    def _child(self, argv: list[str], env: dict[str, str]) -> None:
        self.stdout.flush()
        done = subprocess.run([sys.executable, "-m", "rapport.cli", "bench", *argv], env=env)
        if done.returncode:
            raise CommandError(f"bench {' '.join(argv[:2])} failed (exit {done.returncode})")

    # --- the children ---------------------------------------------------------------------------

    def seed_here(self, opts):
        from django.core.management import call_command
        from django.db import connection

        from rapport.core.bench import seed

        if connection.vendor == "postgresql":
            _create_postgres_database(connection.settings_dict, self.stdout)
        started = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(f"migrated in {time.perf_counter() - started:.1f} s")
        report = seed(opts["people"], opts["companies"], reuse=opts["reuse"], say=self.stdout.write)
        if not report.reused:
            self.stdout.write(
                f"{report.people:,} people, {report.companies:,} companies, "
                f"{report.search_entries:,} search entries, {report.tag_links:,} tag links; "
                + ", ".join(f"{k} {v:.1f} s" for k, v in report.stages.items())
            )

    def measure_here(self, opts):
        from django.db import connection

        from rapport.core.bench import measure, render

        report = measure(runs=opts["runs"], warmup=opts["warmup"], say=self.stdout.write)
        render(report)
        path = Path(opts["json"] or Path(settings.DATA_DIR) / f"bench-{connection.vendor}.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2))
        self.stdout.write(f"figures written to {path}")

    def data_here(self, opts):
        from django.db import connection

        from rapport.imports import bench as data_bench

        rows = opts["data_rows"]
        say = self.stdout.write
        figures = {"vendor": connection.vendor, "import": data_bench.bench_import(rows, say)}
        if opts["data_last"]:
            # Once, after the largest import: these read (and the merges change) the bench
            # workspace, so a later `--reuse` seeds it again.
            figures["export"] = data_bench.bench_export(say)
            figures["custom_filter"] = data_bench.bench_custom_filter(say)
            figures["trash"] = data_bench.bench_trash(say)
            figures["dedupe"] = data_bench.bench_dedupe(say)
            figures["merge"] = data_bench.bench_merge(say)
        path = Path(settings.DATA_DIR) / f"bench-data-{connection.vendor}-{rows}.json"
        path.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
        self.stdout.write(f"figures written to {path}")


def _create_postgres_database(settings_dict, stdout) -> None:
    """Creates the bench database when the server has no database of that name yet."""
    import psycopg
    from psycopg import sql

    params = {
        key.lower(): str(settings_dict[key])
        for key in ("HOST", "PORT", "USER", "PASSWORD")
        if settings_dict.get(key)
    }
    name = settings_dict["NAME"]
    conninfo = psycopg.conninfo.make_conninfo("", dbname="postgres", **params)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            stdout.write(f"created the database {name}")
