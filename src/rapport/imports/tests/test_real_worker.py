"""Imports on a real Celery worker over a real Redis broker, and a worker killed mid-import.

These start separate processes (the harness, ``celery worker``) against a database of their
own, exactly as a deployment runs: nothing is shared with the test process but the
environment. They need Redis on 127.0.0.1:6379; CI has it, a laptop without it skips them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.slow

REDIS = ("127.0.0.1", 6379)


def _redis_up() -> bool:
    try:
        socket.create_connection(REDIS, timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture
def install(tmp_path: Path):
    """The environment of a throw-away install: its own database, queue and folders."""
    if not _redis_up():
        if os.environ.get("CI"):
            pytest.fail("Redis is not running on 127.0.0.1:6379")
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    name = f"rapport_worker_{uuid.uuid4().hex[:10]}"
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    if on_postgres:
        import psycopg

        base = settings.DATABASES["default"]
        user, host = base["USER"] or "postgres", base["HOST"] or "127.0.0.1"
        admin = f"postgresql://{user}@{host}:{base['PORT'] or 5432}"
        with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"{admin}/{name}"
    else:
        url = f"sqlite:///{tmp_path / 'rapport.sqlite3'}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "rapport.config.settings",
        "DATABASE_URL": url,
        "RAPPORT_DATA_DIR": str(tmp_path / "var"),
        "RAPPORT_MEDIA_ROOT": str(tmp_path / "media"),
        "RAPPORT_CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "RAPPORT_CELERY_QUEUE": name,
        "RAPPORT_JOB_STALL_SECONDS": "3",
        "RAPPORT_IMPORT_CHUNK_ROWS": "100",
        "PYTHONPATH": str(Path(settings.BASE_DIR).parent),
    }
    yield {"env": env, "url": url, "queue": name, "tmp": tmp_path}
    if on_postgres:
        import psycopg

        with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _harness(install, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "rapport.imports.tests.worker_harness", *args],
        env=install["env"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()[-1]


def _worker(install, log_name: str) -> subprocess.Popen:
    celery = str(Path(sys.executable).with_name("celery"))
    log = (install["tmp"] / log_name).open("w")
    return subprocess.Popen(
        [
            celery,
            "-A",
            "rapport.config",
            "worker",
            "--pool",
            "solo",
            "-Q",
            install["queue"],
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env=install["env"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _processed(install, job_id: str) -> tuple[str, int]:
    """Reads the job's progress straight from its database (no Django in between)."""
    if install["url"].startswith("sqlite"):
        conn = sqlite3.connect(install["url"].removeprefix("sqlite:///"), timeout=10)
        try:
            row = conn.execute(
                "SELECT status, processed FROM imports_importjob WHERE id = ?",
                (uuid.UUID(job_id).hex,),
            ).fetchone()
        finally:
            conn.close()
    else:
        import psycopg

        with psycopg.connect(install["url"]) as conn:
            row = conn.execute(
                "SELECT status, processed FROM imports_importjob WHERE id = %s", (job_id,)
            ).fetchone()
    return row[0], row[1]


def _wait(install, job_id: str, until, timeout: float = 120) -> tuple[str, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = _processed(install, job_id)
        if until(*state):
            return state
        time.sleep(0.1)
    log = "\n".join(p.read_text()[-2000:] for p in install["tmp"].glob("*.log"))
    raise AssertionError(f"timed out at {state}; worker logs:\n{log}")


def _stop(worker: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, sig)
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(5)


def test_an_import_runs_on_a_real_worker_over_redis(install):
    job_id = _harness(install, "setup", "500")
    worker = _worker(install, "worker.log")
    try:
        _wait(install, job_id, lambda status, _n: status in ("succeeded", "failed"))
    finally:
        _stop(worker)
    outcome = json.loads(_harness(install, "report", job_id))
    assert outcome["status"] == "succeeded", outcome
    assert (outcome["processed"], outcome["created"], outcome["rejected"]) == (500, 500, 0)
    assert outcome["people"] == 500 and outcome["audited"] == 500


def test_a_killed_worker_import_finishes_with_every_row_exactly_once(install):
    rows = 6000
    job_id = _harness(install, "setup", str(rows))
    first = _worker(install, "first.log")
    try:
        # Kill it for good (SIGKILL: no clean shutdown, no ack) once a few chunks are in.
        status, _done = _wait(install, job_id, lambda _s, n: n >= 300)
    finally:
        _stop(first, signal.SIGKILL)
    status, done_at_kill = _processed(install, job_id)
    assert status == "running" and 0 < done_at_kill < rows, (status, done_at_kill)

    second = _worker(install, "second.log")
    try:
        time.sleep(3.5)  # the first worker's heartbeat goes stale
        assert int(_harness(install, "resume")) == 1
        _wait(install, job_id, lambda s, _n: s in ("succeeded", "failed"), timeout=180)
    finally:
        _stop(second)
    outcome = json.loads(_harness(install, "report", job_id))
    bad_rows = rows // 1000  # every thousandth row has a broken email
    assert outcome["status"] == "succeeded", outcome
    assert outcome["attempts"] == 2
    assert outcome["processed"] == rows
    assert outcome["created"] == outcome["people"] == rows - bad_rows
    assert outcome["rejected"] == outcome["issues"] == bad_rows
    assert outcome["repeated_emails"] == []
    assert outcome["imported_records"] == outcome["audited"] == rows - bad_rows
