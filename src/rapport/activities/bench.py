"""The interactions phase of ``rapport bench``: 10,000,000 interactions on the bench workspace,
then the timeline, My work, record page and ingest figures next to the raw SQL.

Seeding (``seed``) adds to the workspace ``rapport.core.bench`` seeded (it needs its people and
companies) with the same technique: deterministic rows streamed in big batches (``executemany``
on SQLite, ``COPY`` on PostgreSQL) with the tables' secondary indexes and constraints dropped
and built again in one pass, in one transaction. The data is skewed on purpose, because the
interesting pages are the big ones:

- a few people (``HEAVY_PEOPLE``) with ``HEAVY_SIZE`` (50,000) interactions each from 2M
  interactions on (one in ``_heavy_every(count)`` each; fewer below);
- one company with ``BIG_COMPANY_PEOPLE`` people (people without a company are moved into the
  biggest one until it has them) whose people get 2 % of the other interactions;
- 6.5 % logged on a company directly; the rest on a sample of people, skewed (``r() ** 2``);
- one person's interactions also show on their company's timeline through ``rollup`` rows,
  written exactly as ``services._write_targets`` writes them;
- the owner has 10,000 open tasks (My work), other members some, the busiest person a few.

Measuring (``measure``) sends real requests through the WSGI application exactly like
``rapport.core.bench.measure`` (bearer token, every middleware), the record page with a
session cookie, and times hand-written SQL returning the same rows on a warm connection.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from django.db import DatabaseError, connection, transaction

from rapport.contacts.models import Company, Person
from rapport.core.actors import Actor, ActorKind, Role
from rapport.core.bench import (
    BATCH,
    BENCH_SEED,
    DELETED_SHARE,
    Encoder,
    Figure,
    Loader,
    WsgiCaller,
    _bulk_mode,
    _check,
    _check_columns,
    _keep_connections,
    _load_average,
    _QueryCounter,
    _rows,
    _rss_mb,
    _say_default,
    _table,
    _uuid4_int,
    bench_workspace,
    print_figures,
)
from rapport.tenancy.models import Membership, Workspace

from .models import Activity, ActivityTarget, Task, TaskTarget

HEAVY_PEOPLE = 4  # the busiest people
HEAVY_SIZE = 50_000  # their interactions each
BIG_COMPANY_PEOPLE = 1_000
BIG_COMPANY_SHARE = 0.02  # of the other interactions: for the big company's people
COMPANY_SHARE = 0.065  # logged on a company directly
POOL = 300_000  # people who have interactions (a sample of the live people, by id)
MY_OPEN_TASKS = 10_000  # the owner's open tasks at 10M interactions
SPAN = dt.timedelta(days=4 * 365)  # interactions of the four years up to the seeding day
INGEST_CHANNEL = "bench-ingest"  # interactions the ingest figure writes (and removes)
SLOW_BATCH_MS = 5_000

TYPES = (  # type, share in %
    ("email", 40),
    ("call", 20),
    ("note", 15),
    ("meeting", 10),
    ("chat", 7),
    ("sms", 3),
    ("social", 3),
    ("visit", 2),
)
CHANNELS = {"email": "gmail", "call": "aircall", "chat": "intercom", "sms": "twilio"}
SUBJECTS = {
    "email": ("Re: proposal", "Pricing question", "Invoice", "Follow-up", "Meeting notes"),
    "call": ("Discovery call", "Check-in", "Renewal call", "Support call"),
    "note": ("", "Met at the fair", "Budget approved", "Prefers e-mail"),
    "meeting": ("Quarterly review", "Demo", "Kick-off", "Workshop"),
    "chat": ("", "Website chat"),
    "sms": ("",),
    "social": ("", "LinkedIn message"),
    "visit": ("Site visit", "Office visit"),
}
BODIES = (
    "Thanks for the call today, sending the details as promised.",
    "Asked about the enterprise plan and SSO; wants a quote by Friday.",
    "Discussed the roll-out to the second team. Next step: a demo for finance.",
    "Left a voicemail.",
    "Can we move our meeting to next week? Something came up.",
    "Signed the renewal for another year.",
    "",
)
TASK_TITLES = (
    "Call back",
    "Send the quote",
    "Follow up on the demo",
    "Prepare the renewal",
    "Check the invoice",
    "Book a meeting",
    "Send the contract",
)
PRIORITIES = ("low", "normal", "normal", "normal", "high", "urgent")

ACTIVITY_COLUMNS = (
    "id",
    "workspace_id",
    "created_at",
    "updated_at",
    "created_by_kind",
    "created_by_id",
    "updated_by_kind",
    "updated_by_id",
    "version",
    "deleted_at",
    "deleted_by_id",
    "type",
    "occurred_at",
    "subject",
    "body",
    "body_html",
    "direction",
    "channel",
    "external_id",
    "author_id",
    "data",
    "pinned",
)
TARGET_COLUMNS = (
    "id",
    "workspace_id",
    "activity_id",
    "target_type",
    "target_id",
    "rollup",
    "occurred_at",
    "activity_type",
)
TASK_COLUMNS = (
    *ACTIVITY_COLUMNS[:11],
    "title",
    "description",
    "due_at",
    "remind_at",
    "reminded_at",
    "priority",
    "status",
    "assignee_id",
    "rrule",
    "completed_at",
    "activity_id",
    "previous_id",
    "linked",
)
TASK_TARGET_COLUMNS = ("id", "workspace_id", "task_id", "target_type", "target_id", "created_at")
TABLES = [_table(Activity), _table(ActivityTarget), _table(Task), _table(TaskTarget)]


def _heavy_every(count: int) -> int:
    """One interaction in this many is a busiest person's: 200 at 10M, 40 at 2M (each has
    ``HEAVY_SIZE``), 20 below (a tiny data set is not all theirs)."""
    return max(20, min(200, count // HEAVY_SIZE))


def _links() -> Any:
    """``ActivityTarget.objects`` (typed loosely: the django-stubs plugin sometimes resolves
    the workspace manager against the abstract base and rejects the link fields)."""
    return ActivityTarget.objects


def _sizes(count: int) -> dict[str, int]:
    """How many of each kind for ``count`` interactions (the shares of the 10M data set)."""
    my_open = min(MY_OPEN_TASKS, max(10, count // 200))
    return {
        "heavy_each": len(range(0, count, _heavy_every(count))),
        "my_open": my_open,
        "my_done": my_open // 2,
        "other_tasks": max(20, count // 200),
        "busiest_tasks": min(100, max(4, count // 1000)),
    }


# --- who is who ---------------------------------------------------------------------------


@dataclass
class Cast:
    """The records and members the data set is built around (encoded ids)."""

    workspace_id: str
    owner_id: str  # the workspace owner: My work's user
    members: list[str]
    heavy: list[str]  # the busiest people, busiest first
    heavy_companies: list[str]  # their companies
    big_company: str
    big_people: list[str]
    pool: list[tuple[str, str | None]]  # (person, company) of the people with interactions
    companies: list[str]  # companies of the pool (for interactions logged on a company)


def _encoded(value) -> str:
    """An id as the database column holds it (SQLite: hex; PostgreSQL: hyphenated)."""
    return value if isinstance(value, str) else str(value)


def _owner(ws: Workspace) -> Membership:
    membership = (
        Membership.objects.filter(workspace=ws, role=Role.OWNER.value)
        .select_related("user")
        .order_by("user__email")
        .first()
    )
    if membership is None:
        raise RuntimeError("The bench workspace has no owner: seed it again (rapport bench).")
    return membership


def _big_company(ws: Workspace, enc: Encoder, *, prepare: bool, say) -> tuple[str, list[str]]:
    """The company with the most live people, given ``BIG_COMPANY_PEOPLE`` of them (a tenth
    of the people in a smaller workspace): the core generator's biggest has about 430, so live
    people without a company (the first by id) join it. Idempotent: a second run finds it full
    and moves nobody."""
    live = Person.objects.filter(workspace=ws, deleted_at__isnull=True)
    from django.db.models import Count

    top = (
        live.filter(company__isnull=False)
        .values("company_id")
        .annotate(n=Count("id"))
        .order_by("-n", "company_id")
        .first()
    )
    if top is None:
        raise RuntimeError("The bench workspace has no company with people: seed it first.")
    company_id = top["company_id"]
    wanted = min(BIG_COMPANY_PEOPLE, live.count() // 10)
    missing = wanted - top["n"]
    if missing > 0:
        if not prepare:
            raise RuntimeError(f"No company with {wanted:,} people: seed the interactions first.")
        movers = list(
            live.filter(company__isnull=True).order_by("pk").values_list("pk", flat=True)[:missing]
        )
        Person.objects.filter(pk__in=movers).update(company_id=company_id)
        say(f"moved {len(movers):,} people without a company into the biggest company")
    people = live.filter(company_id=company_id).order_by("pk").values_list("pk", flat=True)
    return enc.uuid(company_id.int), [enc.uuid(p.int) for p in people[:wanted]]


def cast_of(ws: Workspace, enc: Encoder, *, prepare: bool = False, say=_say_default) -> Cast:
    owner = _owner(ws)
    members = [
        enc.uuid(pk.int)
        for pk in Membership.objects.filter(workspace=ws)
        .order_by("user__email")
        .values_list("user_id", flat=True)
    ]
    big_company, big_people = _big_company(ws, enc, prepare=prepare, say=say)
    big = set(big_people)
    live = Person.objects.filter(workspace=ws, deleted_at__isnull=True).count()
    every = max(1, -(-live // POOL))
    # Measuring needs only the busiest people, found among the first rows by id: reading the
    # million (100 MB of tuples) would show in the measuring process's peak RSS.
    limit = "" if prepare else f"LIMIT {every * 20_000}"
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT id, company_id FROM {_table(Person)} "
            f"WHERE workspace_id = %s AND deleted_at IS NULL ORDER BY id {limit}",
            [enc.uuid(ws.pk.int)],
        )
        rows = cur.fetchall()
    pool = [
        (_encoded(p), _encoded(c) if c is not None else None)
        for p, c in rows[::every]
        if _encoded(p) not in big
    ]
    del rows
    # The busiest people work at a company (their interactions roll up), not the big one.
    heavy = [(p, c) for p, c in pool if c is not None and c != big_company][:HEAVY_PEOPLE]
    if len(heavy) < HEAVY_PEOPLE:
        raise RuntimeError("Too few people with a company for the busiest people: seed more.")
    heavy_set = {p for p, _c in heavy}
    pool = [(p, c) for p, c in pool if p not in heavy_set]
    companies = sorted({c for _p, c in pool if c is not None})
    return Cast(
        workspace_id=enc.uuid(ws.pk.int),
        owner_id=enc.uuid(owner.user_id.int),
        members=members,
        heavy=[p for p, _c in heavy],
        heavy_companies=[c for _p, c in heavy if c is not None],
        big_company=big_company,
        big_people=big_people,
        pool=pool,
        companies=companies,
    )


# --- the generator ------------------------------------------------------------------------


def _weighted_types() -> list[str]:
    out: list[str] = []
    for name, share in TYPES:
        out.extend([name] * share)
    return out


def _end_micros(enc: Encoder) -> int:
    """Micro-seconds from the encoder's base time to the start of today (UTC): the 90-day
    figures of a record page then count rows, as they would in a live CRM."""
    from rapport.core.bench import BASE_TIME

    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (today - BASE_TIME) // dt.timedelta(microseconds=1)


def activity_rows(
    cast: Cast, count: int, enc: Encoder, seed: int = BENCH_SEED
) -> Iterator[tuple[tuple, list[tuple]]]:
    """(interaction row, its target rows) for ``count`` interactions, oldest first."""
    rng = random.Random(seed * 31 + 11)
    r = rng.random
    kinds = _weighted_types()
    n_kinds = len(kinds)
    subjects = SUBJECTS
    bodies = BODIES
    members = cast.members
    n_members = len(members)
    pool = cast.pool
    n_pool = len(pool)
    companies = cast.companies
    n_companies = len(companies)
    heavy = cast.heavy
    n_heavy = len(heavy)
    big_people = cast.big_people
    n_big = len(big_people)
    company_of = {p: c for p, c in pool}
    company_of.update({p: cast.big_company for p in big_people})
    company_of.update(zip(heavy, cast.heavy_companies, strict=True))
    ws = cast.workspace_id
    end = _end_micros(enc)
    span = SPAN // dt.timedelta(microseconds=1)
    start = end - span
    step = max(span // max(count, 1), 1)
    every = _heavy_every(count)
    durations = [orjson.dumps({"duration_s": 30 + 45 * k}).decode() for k in range(40)]
    for i in range(count):
        slot = i % every
        people: list[str]
        company = None
        if slot < n_heavy:
            people = [heavy[slot]]
        elif (roll := r()) < BIG_COMPANY_SHARE and n_big:
            people = [big_people[int(r() * n_big)]]
        elif roll < BIG_COMPANY_SHARE + COMPANY_SHARE and n_companies:
            people = []
            company = companies[int(r() * n_companies)]
        else:
            index = int(n_pool * r() ** 2)
            people = [pool[index][0]]
        kind = kinds[int(r() * n_kinds)]
        if kind == "meeting" and people and r() < 0.3:
            colleague = pool[int(r() * n_pool)][0]  # a second attendee
            if colleague != people[0]:
                people.append(colleague)
        at = enc.time(start + i * step + int(r() * step))
        author = members[int(r() * n_members)]
        deleted = r() < DELETED_SHARE
        options = subjects[kind]
        activity_id = enc.uuid(_uuid4_int(rng))
        row = (
            activity_id,
            ws,
            at,
            at,
            "user",
            author,
            "user",
            author,
            1,
            at if deleted else None,
            author if deleted else None,
            kind,
            at,
            options[int(r() * len(options))],
            bodies[int(r() * len(bodies))] if kind != "note" else bodies[i % 6],
            "",
            ("inbound" if r() < 0.5 else "outbound") if kind in CHANNELS else "",
            CHANNELS.get(kind, ""),
            "",
            author,
            durations[int(r() * 40)] if kind == "call" else "{}",
            False,
        )
        links = []
        direct = set(people)
        if company is not None:
            direct.add(company)
            links.append(
                (enc.uuid(_uuid4_int(rng)), ws, activity_id, "company", company, False, at, kind)
            )
        for person in people:
            links.append(
                (enc.uuid(_uuid4_int(rng)), ws, activity_id, "person", person, False, at, kind)
            )
        rolled: set[str] = set()
        for person in people:
            parent = company_of.get(person)
            if parent is not None and parent not in direct and parent not in rolled:
                rolled.add(parent)
                links.append(
                    (enc.uuid(_uuid4_int(rng)), ws, activity_id, "company", parent, True, at, kind)
                )
        yield row, [] if deleted else links  # a deleted interaction has no links (services)


def task_rows(
    cast: Cast, count: int, enc: Encoder, seed: int = BENCH_SEED
) -> Iterator[tuple[tuple, list[tuple]]]:
    """(task row, its target rows): the owner's open and done tasks, other members' tasks and
    a few on the busiest person."""
    rng = random.Random(seed * 31 + 13)
    r = rng.random
    sizes = _sizes(count)
    ws = cast.workspace_id
    end = _end_micros(enc)
    day = 86_400 * 1_000_000
    pool = cast.pool
    n_pool = len(pool)
    others = cast.members[1:] or cast.members
    plan: list[tuple[str, str, str | None]] = []  # (assignee, status, forced target)
    plan += [(cast.owner_id, "open", None)] * sizes["my_open"]
    plan += [(cast.owner_id, "done", None)] * sizes["my_done"]
    for _ in range(sizes["other_tasks"]):
        roll = r()
        status = "done" if roll < 0.6 else "open" if roll < 0.95 else "cancelled"
        plan.append((others[int(r() * len(others))], status, None))
    if cast.heavy:
        for k in range(sizes["busiest_tasks"]):
            assignee = cast.members[int(r() * len(cast.members))]
            plan.append((assignee, "open" if k % 3 == 0 else "done", cast.heavy[0]))
    for assignee, status, target in plan:
        created = end - int(r() * 365 * day)
        due = None if r() < 0.1 else created + int((7 + r() * 120) * day)
        if status == "open" and due is not None and r() < 0.5:
            due = end + int(r() * 365 * day)  # half the open tasks are still ahead
        completed = created + int(r() * 30 * day) if status == "done" else None
        deleted = r() < DELETED_SHARE
        created_at = enc.time(created)
        task_id = enc.uuid(_uuid4_int(rng))
        if target is None and r() < 0.8:
            target = pool[int(r() * n_pool)][0]
        row = (
            task_id,
            ws,
            created_at,
            enc.time(completed) if completed else created_at,
            "user",
            cast.owner_id,
            "user",
            assignee,
            2 if completed else 1,
            created_at if deleted else None,
            cast.owner_id if deleted else None,
            TASK_TITLES[int(r() * len(TASK_TITLES))],
            "",
            enc.time(due) if due is not None else None,
            None,
            None,
            PRIORITIES[int(r() * len(PRIORITIES))],
            status,
            assignee,
            "",
            enc.time(completed) if completed else None,
            None,
            None,
            target is not None,
        )
        links = []
        if target is not None:
            links.append((enc.uuid(_uuid4_int(rng)), ws, task_id, "person", target, created_at))
        yield row, links


# --- seeding ------------------------------------------------------------------------------


@dataclass
class SeedReport:
    vendor: str
    activities: int
    targets: int
    tasks: int
    task_targets: int
    seconds: float
    stages: dict[str, float] = field(default_factory=dict)
    reused: bool = False


def _count(model, ws: Workspace) -> int:
    return model.objects.filter(workspace=ws).count()


def has_activities(ws: Workspace, count: int) -> bool:
    expected = sum(_sizes(count)[k] for k in ("my_open", "my_done", "other_tasks", "busiest_tasks"))
    return _count(Activity, ws) == count and _count(Task, ws) == expected


def wipe_activities(workspace_id: Any, say: Callable[[str], None] = _say_default) -> None:
    """Removes a workspace's interactions and tasks with raw deletes (millions of rows: the
    ORM's cascade would load them). When the workspace holds every row of the four tables,
    they are emptied whole (SQLite's truncate optimisation, TRUNCATE on PostgreSQL)."""
    started = time.perf_counter()
    tables = [_table(TaskTarget), _table(Task), _table(ActivityTarget), _table(Activity)]
    with connection.cursor() as cur:
        present, alone = [], True
        for table in tables:
            cur.execute(f"SELECT 1 FROM {table} WHERE workspace_id = %s LIMIT 1", [workspace_id])
            if cur.fetchone() is not None:
                present.append(table)
            cur.execute(
                f"SELECT 1 FROM {table} WHERE workspace_id < %s OR workspace_id > %s LIMIT 1",
                [workspace_id, workspace_id],
            )
            alone = alone and cur.fetchone() is None
        if not present:
            return
        if alone and connection.vendor == "postgresql":
            try:  # refused when another table refers to these: then row by row
                with transaction.atomic():
                    cur.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables))
                present = []
            except DatabaseError:
                pass
        # Tasks of other workspaces never follow up these interactions (links stay inside a
        # workspace), so the deletes below break no reference.
        for table in present:
            if alone:
                cur.execute(f'DELETE FROM "{table}"')
            else:
                cur.execute(f'DELETE FROM "{table}" WHERE workspace_id = %s', [workspace_id])
    say(f"removed the bench interactions and tasks in {time.perf_counter() - started:.1f} s")


def _stream(rows, main: Loader, links: Loader, say: Callable[[str], None]) -> None:
    batch: list[tuple] = []
    link_batch: list[tuple] = []
    started = time.perf_counter()
    for row, row_links in rows:
        batch.append(row)
        link_batch.extend(row_links)
        if len(batch) >= BATCH:
            main.write(batch)
            links.write(link_batch)
            batch.clear()
            link_batch.clear()
            if main.rows % 1_000_000 == 0:  # a 10M load takes a while: show it moving
                say(f"  {main.rows:,} rows in {time.perf_counter() - started:.0f} s")
    main.write(batch)
    links.write(link_batch)


def seed(
    count: int,
    *,
    seed: int = BENCH_SEED,
    reuse: bool = False,
    say: Callable[[str], None] = _say_default,
) -> SeedReport:
    """Adds ``count`` interactions and their tasks to the bench workspace (replacing any)."""
    vendor = connection.vendor
    ws = bench_workspace()
    if ws is None:
        raise RuntimeError("No bench workspace: seed the people first (rapport bench).")
    if reuse and has_activities(ws, count):
        say(f"reusing the bench interactions ({count:,})")
        return SeedReport(vendor, count, 0, 0, 0, 0.0, reused=True)
    for model, columns in (
        (Activity, ACTIVITY_COLUMNS),
        (ActivityTarget, TARGET_COLUMNS),
        (Task, TASK_COLUMNS),
        (TaskTarget, TASK_TARGET_COLUMNS),
    ):
        _check_columns(model, columns)
    enc = Encoder(vendor)
    started = time.perf_counter()
    stages: dict[str, float] = {}
    sqlite_pragmas = vendor == "sqlite" and not connection.in_atomic_block
    if sqlite_pragmas:
        with connection.cursor() as cur:  # as in rapport.core.bench.seed: for the load only
            cur.execute("PRAGMA foreign_keys = OFF")
            cur.execute("PRAGMA synchronous = OFF")
            # 3 GB: the random uuid primary keys of 30M rows are inserted into B-trees.
            cur.execute("PRAGMA cache_size = -3000000")
            cur.execute("PRAGMA journal_mode = DELETE")
            cur.execute("PRAGMA threads = 2")
    try:
        with transaction.atomic():
            wipe_activities(enc.uuid(ws.pk.int), say)
            stage = time.perf_counter()
            cast = cast_of(ws, enc, prepare=True, say=say)
            stages["cast"] = time.perf_counter() - stage
            say(
                f"{len(cast.pool):,} people with interactions, busiest {cast.heavy[:1]}, "
                f"company of {len(cast.big_people):,} people {cast.big_company}"
            )
            activities = Loader(_table(Activity), ACTIVITY_COLUMNS)
            links = Loader(_table(ActivityTarget), TARGET_COLUMNS)
            tasks = Loader(_table(Task), TASK_COLUMNS)
            task_links = Loader(_table(TaskTarget), TASK_TARGET_COLUMNS)
            with _bulk_mode(TABLES, say):
                stage = time.perf_counter()
                _stream(activity_rows(cast, count, enc, seed), activities, links, say)
                stages["load interactions"] = time.perf_counter() - stage
                say(
                    f"loaded {activities.rows:,} interactions and {links.rows:,} links "
                    f"in {stages['load interactions']:.1f} s"
                )
                stage = time.perf_counter()
                _stream(task_rows(cast, count, enc, seed), tasks, task_links, say)
                stages["load tasks"] = time.perf_counter() - stage
                say(f"loaded {tasks.rows:,} tasks in {stages['load tasks']:.1f} s")
                stage = time.perf_counter()
            stages["indexes"] = time.perf_counter() - stage
    finally:
        if sqlite_pragmas:
            with connection.cursor() as cur:
                cur.execute("PRAGMA journal_mode = WAL")
                cur.execute("PRAGMA foreign_keys = ON")
                cur.execute("PRAGMA synchronous = NORMAL")
    if not connection.in_atomic_block:
        stage = time.perf_counter()
        with connection.cursor() as cur:
            for table in TABLES:
                if vendor == "postgresql":
                    cur.execute(f'VACUUM ANALYZE "{table}"')
                else:
                    # Statistics tell SQLite that the workspace index selects everything and
                    # the timeline index a few rows; sampled, so seconds, not minutes.
                    cur.execute("PRAGMA analysis_limit = 2000")
                    cur.execute(f'ANALYZE "{table}"')
        stages["analyze"] = time.perf_counter() - stage
    total = time.perf_counter() - started
    say(f"interactions seeded in {total:.1f} s")
    return SeedReport(
        vendor, activities.rows, links.rows, tasks.rows, task_links.rows, total, stages
    )


# --- measuring ----------------------------------------------------------------------------


@dataclass
class Throughput:
    key: str
    label: str
    batch: int  # interactions per request (or per service call)
    api_ms: list[float] = field(default_factory=list)  # per batch
    raw_ms: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def per_second(self) -> float:
        import statistics

        return self.batch * 1000 / statistics.median(self.api_ms)

    @property
    def raw_per_second(self) -> float:
        import statistics

        return self.batch * 1000 / statistics.median(self.raw_ms)

    def summary(self) -> dict[str, Any]:
        import statistics

        return {
            "key": self.key,
            "label": self.label,
            "batch": self.batch,
            "median_ms": round(statistics.median(self.api_ms), 3),
            "p95_ms": round(Figure._p95(self.api_ms), 3),
            "raw_median_ms": round(statistics.median(self.raw_ms), 3),
            "per_second": round(self.per_second, 1),
            "raw_per_second": round(self.raw_per_second, 1),
            "ratio": round(self.raw_per_second / self.per_second, 2),
            "note": self.note,
        }


@dataclass
class Report:
    vendor: str
    database: str
    activities: int
    links: int
    tasks: int
    runs: int
    figures: list[Figure]
    ingest: Throughput | None
    peak_rss_mb: float
    rss_mb: float
    load: tuple[float, float] = (0.0, 0.0)
    cpus: int = 0
    python: str = sys.version.split()[0]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["figures"] = [f.summary() for f in self.figures]
        data["ingest"] = self.ingest.summary() if self.ingest else None
        return data


class _Caller(WsgiCaller):
    """``WsgiCaller`` with a session cookie (the HTML record page) and POST bodies."""

    def __init__(self, token: str, cookie: str = ""):
        super().__init__(token)
        self.cookie = cookie
        self.method = "GET"
        self.body = b""
        self.extra: dict[str, str] = {}

    def environ(self, path: str, query: str) -> dict[str, Any]:
        env = super().environ(path, query)
        env["REQUEST_METHOD"] = self.method
        env.update(self.extra)
        if self.method == "POST":
            env["CONTENT_TYPE"] = "application/json"
            env["CONTENT_LENGTH"] = str(len(self.body))
            env["wsgi.input"] = io.BytesIO(self.body)
        if self.cookie:
            env.pop("HTTP_AUTHORIZATION")
            env["HTTP_COOKIE"] = self.cookie
            env["HTTP_ACCEPT"] = "text/html"
        return env

    def post(self, path: str, payload: Any, headers: dict[str, str] | None = None):
        self.method, self.body, self.extra = "POST", orjson.dumps(payload), headers or {}
        try:
            return self(path)
        finally:
            self.method, self.body, self.extra = "GET", b"", {}


def _session_cookie(user, ws: Workspace) -> str:
    """A signed-in session in the bench workspace, as the browser would carry it."""
    from django.conf import settings
    from django.test import Client

    from rapport.tenancy.selectors import SESSION_KEY

    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = str(ws.pk)
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


class _RawTimeline:
    """Hand-written SQL returning the same rows as the API and the page."""

    def __init__(self, ws: Workspace):
        self.vendor = connection.vendor
        self.enc = Encoder(self.vendor)
        self.ws = self.enc.uuid(ws.pk.int)
        self.activity = _table(Activity)
        self.link = _table(ActivityTarget)
        self.task = _table(Task)
        self.task_link = _table(TaskTarget)
        self.cols = ", ".join(f'a."{f.column}"' for f in Activity._meta.concrete_fields)
        self.task_cols = ", ".join(f't."{f.column}"' for f in Task._meta.concrete_fields)

    def id(self, value: uuid.UUID) -> Any:
        return value.hex if self.vendor == "sqlite" else value

    def fetch(self, sql: str, params: list) -> list:
        with connection.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def _in(self, values: list) -> str:
        return ", ".join(["%s"] * len(values)) or "NULL"

    def page(self, kind: str, target: uuid.UUID, after=None, limit: int = 50) -> list:
        """One timeline page: the link rows by the timeline index, then the interactions with
        their authors and their direct targets (three statements, like the selector)."""
        where, params = "", []
        if after is not None:
            # A row value: both databases seek the timeline index to it.
            where = "AND (l.occurred_at, l.activity_id) < (%s, %s)"
            moment = connection.ops.adapt_datetimefield_value(after[0])
            params = [moment, self.id(after[1])]
        rows = self.fetch(
            f"SELECT l.occurred_at, l.activity_id FROM {self.link} l "
            f"JOIN {self.activity} a ON a.id = l.activity_id "
            "WHERE l.workspace_id = %s AND l.target_type = %s AND l.target_id = %s "
            f"AND a.deleted_at IS NULL {where} "
            f"ORDER BY l.occurred_at DESC, l.activity_id DESC LIMIT {limit + 1}",
            [self.ws, kind, self.id(target), *params],
        )
        ids = [pk for _at, pk in rows[:limit]]
        self.fetch(
            f"SELECT {self.cols}, u.* FROM {self.activity} a "
            f"LEFT JOIN users_user u ON u.id = a.author_id WHERE a.id IN ({self._in(ids)})",
            ids,
        )
        self.fetch(
            f"SELECT activity_id, target_type, target_id FROM {self.link} "
            f"WHERE activity_id IN ({self._in(ids)}) AND NOT rollup",
            ids,
        )
        return rows

    def my_work(self, user_id: uuid.UUID) -> list:
        """The first page of a user's open tasks by due date: the index range of the dated
        ones (the page is full before the undated ones would come), plus their targets."""
        rows = self.fetch(
            f"SELECT {self.task_cols} FROM {self.task} t WHERE t.workspace_id = %s "
            "AND t.assignee_id = %s AND t.status = 'open' AND t.deleted_at IS NULL "
            "AND t.due_at IS NOT NULL ORDER BY t.due_at, t.id LIMIT 51",
            [self.ws, self.id(user_id)],
        )
        ids = [r[0] for r in rows[:50]]
        self.fetch(
            f"SELECT task_id, target_type, target_id FROM {self.task_link} "
            f"WHERE task_id IN ({self._in(ids)})",
            ids,
        )
        return rows

    def record_page(self, person_id: uuid.UUID, since: dt.datetime, now: dt.datetime) -> None:
        """What the person page shows: the person, the first timeline page (30), the last
        interaction, counts by type over 90 days, the next open task and the open count."""
        person_cols = ", ".join(f'p."{f.column}"' for f in Person._meta.concrete_fields)
        pid = self.id(person_id)
        self.fetch(
            f"SELECT {person_cols}, c.name FROM {_table(Person)} p LEFT JOIN {_table(Company)} c "
            "ON c.id = p.company_id WHERE p.id = %s AND p.workspace_id = %s "
            "AND p.deleted_at IS NULL",
            [pid, self.ws],
        )
        self.page("person", person_id, limit=30)
        adapt = connection.ops.adapt_datetimefield_value
        self.fetch(
            f"SELECT l.activity_id FROM {self.link} l JOIN {self.activity} a "
            "ON a.id = l.activity_id WHERE l.workspace_id = %s AND l.target_type = 'person' "
            "AND l.target_id = %s AND a.deleted_at IS NULL AND l.occurred_at <= %s "
            "ORDER BY l.occurred_at DESC, l.activity_id DESC LIMIT 1",
            [self.ws, pid, adapt(now)],
        )
        self.fetch(
            f"SELECT l.activity_type, COUNT(*) FROM {self.link} l JOIN {self.activity} a "
            "ON a.id = l.activity_id WHERE l.workspace_id = %s AND l.target_type = 'person' "
            "AND l.target_id = %s AND a.deleted_at IS NULL AND l.occurred_at >= %s "
            "GROUP BY l.activity_type",
            [self.ws, pid, adapt(since)],
        )
        open_tasks = (
            f"FROM {self.task} t JOIN {self.task_link} k ON k.task_id = t.id "
            "WHERE t.workspace_id = %s AND t.deleted_at IS NULL AND t.status = 'open' "
            "AND k.target_type = 'person' AND k.target_id = %s"
        )
        self.fetch(
            f"SELECT {self.task_cols} {open_tasks} "
            "ORDER BY t.due_at IS NULL, t.due_at, t.id LIMIT 1",
            [self.ws, pid],
        )
        self.fetch(f"SELECT COUNT(*) {open_tasks}", [self.ws, pid])

    def ingest(self, items: list[tuple[str, str]], enc: Encoder) -> None:
        """The bare minimum of an ingest: find each sender by e-mail, write the interaction,
        its person link and its company rollup, in one transaction."""
        emails = [email for email, _ext in items]
        found = {
            e: (p, c)
            for p, c, e in self.fetch(
                f"SELECT id, company_id, email FROM {_table(Person)} WHERE workspace_id = %s "
                # The partial unique index's condition, written as its definition writes it:
                # SQLite uses a partial index only when the query states it literally.
                "AND deleted_at IS NULL AND NOT (email = '') "
                f"AND email IN ({self._in(emails)})",
                [self.ws, *emails],
            )
        }
        now = dt.datetime.now(dt.UTC)
        at = connection.ops.adapt_datetimefield_value(now)
        activities, links = [], []
        for email, external_id in items:
            person, company = found[email]
            pk = enc.uuid(uuid.uuid4().int)
            activities.append(
                (pk, self.ws, at, at, "system", None, "system", None, 1, None, None, "email",
                 at, "Bench ingest", "Hello", "", "inbound", INGEST_CHANNEL, external_id,
                 None, "{}", False)
            )  # fmt: skip
            links.append((enc.uuid(uuid.uuid4().int), self.ws, pk, "person", person, False, at,
                          "email"))  # fmt: skip
            if company is not None:
                links.append((enc.uuid(uuid.uuid4().int), self.ws, pk, "company", company, True,
                              at, "email"))  # fmt: skip
        with transaction.atomic(), connection.cursor() as cur:
            for table, columns, rows in (
                (self.activity, ACTIVITY_COLUMNS, activities),
                (self.link, TARGET_COLUMNS, links),
            ):
                cols = ", ".join(f'"{c}"' for c in columns)
                marks = ", ".join(["%s"] * len(columns))
                cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)


def remove_ingested(ws: Workspace) -> int:
    """Deletes what the ingest figure wrote (so ``--reuse`` finds the seeded count again)."""
    from rapport.audit.models import AuditEntry

    ids = list(
        Activity.objects.filter(workspace=ws, channel=INGEST_CHANNEL)
        .exclude(external_id="")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        AuditEntry.objects.filter(workspace=ws, object_id__in=[str(pk) for pk in chunk]).delete()
        _links().filter(activity_id__in=chunk).delete()
        Activity.objects.filter(pk__in=chunk).delete()
    return len(ids)


def _ingest_route_exists() -> bool:
    from .api import ingest_router

    return bool(ingest_router.path_operations)


def measure(
    *,
    runs: int = 30,
    warmup: int = 3,
    ingest_batch: int = 100,
    say: Callable[[str], None] = _say_default,
) -> Report:
    """Times every interactions figure ``runs`` times through the app and as raw SQL."""
    from rapport.activities import selectors
    from rapport.users.services import token_create, token_revoke

    ws = bench_workspace()
    if ws is None:
        raise RuntimeError("No bench workspace: seed it first (rapport bench).")
    enc = Encoder(connection.vendor)
    owner = _owner(ws).user
    actor = Actor(kind=ActorKind.USER, workspace=ws, role=Role.OWNER, user=owner)
    cast = cast_of(ws, enc)
    busiest = uuid.UUID(cast.heavy[0])
    big_company = uuid.UUID(cast.big_company)
    api_token, raw_token = token_create(actor=actor, name="rapport bench interactions")
    caller = _Caller(raw_token)
    page_caller = _Caller(raw_token, _session_cookie(owner, ws))
    raw = _RawTimeline(ws)
    busiest_links = _links().filter(target_id=busiest).count()
    company_links = _links().filter(target_id=big_company).count()
    open_count = Task.objects.filter(
        workspace=ws, assignee=owner, status="open", deleted_at__isnull=True
    ).count()
    say(
        f"busiest person {busiest}: {busiest_links:,} interactions; company {big_company}"
        f" ({len(cast.big_people):,} people): {company_links:,} on its timeline; "
        f"{open_count:,} open tasks for {owner.email}"
    )

    # The deep page: the cursor the API gives after following 100 pages of the busiest person.
    # (A smaller data set ends sooner: the last page that has a next one.)
    cursor = ""
    pages = 0
    with _keep_connections():
        while pages < 100:
            query = "limit=50" + (f"&cursor={cursor}" if cursor else "")
            _ms, status, body = caller("/api/v1/activities", f"target={busiest}&{query}")
            if status != 200:
                raise RuntimeError(f"timeline page {pages + 1} answered {status}: {body[:300]!r}")
            following = orjson.loads(body)["next"]
            if following is None:
                break
            cursor, pages = following, pages + 1
    if not cursor:
        raise RuntimeError("The busiest person's timeline has one page: seed more interactions.")
    deep_after = selectors._decode(cursor)
    # And one built at the oldest end of the history (90 % of the way down).
    position = max(0, int(busiest_links * 0.9) - 1)
    oldest_row = (
        _links()
        .filter(
            workspace=ws,
            target_type="person",
            target_id=busiest,
            activity__deleted_at__isnull=True,
        )
        .order_by("-occurred_at", "-activity_id")
        .values_list("occurred_at", "activity_id")[position : position + 1]
    )
    oldest = next(iter(oldest_row))
    oldest_cursor = selectors._encode(*oldest)
    now = dt.datetime.now(dt.UTC)
    since = now - dt.timedelta(days=90)

    figures: list[tuple[Figure, Callable[[int], tuple[str, str]], Callable[[int], Any]]] = [
        (
            Figure(
                "timeline_busiest",
                f"GET /activities?target=<busiest person> ({busiest_links:,} interactions)",
                25,
            ),
            lambda i: ("/api/v1/activities", f"target={busiest}&limit=50"),
            lambda i: raw.page("person", busiest),
        ),
        (
            Figure(
                "timeline_company",
                f"GET /activities?target=<company of {len(cast.big_people):,} people> "
                f"({company_links:,})",
                25,
            ),
            lambda i: ("/api/v1/activities", f"target={big_company}&limit=50"),
            lambda i: raw.page("company", big_company),
        ),
        (
            Figure(
                "timeline_deep",
                f"GET /activities?target=<busiest>&cursor=… (page {pages + 1}, followed)",
                25,
            ),
            lambda i: ("/api/v1/activities", f"target={busiest}&limit=50&cursor={cursor}"),
            lambda i: raw.page("person", busiest, deep_after),
        ),
        (
            Figure(
                "timeline_oldest",
                f"GET /activities?target=<busiest>&cursor=… (row {position + 1:,})",
                25,
            ),
            lambda i: ("/api/v1/activities", f"target={busiest}&limit=50&cursor={oldest_cursor}"),
            lambda i: raw.page("person", busiest, oldest),
        ),
        (
            Figure("my_work", f"GET /tasks?assignee=me&status=open ({open_count:,} open)", 25),
            lambda i: ("/api/v1/tasks", "assignee=me&status=open&limit=50"),
            lambda i: raw.my_work(owner.pk),
        ),
        (
            Figure("person_page", "GET /people/<busiest>/ (HTML record page)", 25),
            lambda i: (f"/people/{busiest}/", ""),
            lambda i: raw.record_page(busiest, since, now),
        ),
    ]
    callers = [caller] * 5 + [page_caller]
    load_before = _load_average()
    ingest: Throughput | None = None
    try:
        with _keep_connections():
            for (figure, request, _raw), call in zip(figures, callers, strict=True):
                for i in range(warmup):
                    _check(figure, *call(*request(i)))
            for i in range(runs):
                for (figure, request, _raw), call in zip(figures, callers, strict=True):
                    elapsed, status, body = call(*request(i))
                    _check(figure, elapsed, status, body)
                    figure.api_ms.append(elapsed)
            for (figure, request, _raw), call in zip(figures, callers, strict=True):
                counter = _QueryCounter()
                with connection.execute_wrapper(counter):
                    _elapsed, _status, body = call(*request(0))
                figure.queries = counter.count
                if call is caller:
                    figure.rows = _rows(body)
                else:
                    figure.rows = 1
                    figure.note = f"{len(body) / 1024:.0f} KB of HTML"
            for figure, _request, raw_call in figures:
                for i in range(warmup):
                    raw_call(i)
                for i in range(runs):
                    started = time.perf_counter()
                    raw_call(i)
                    figure.raw_ms.append((time.perf_counter() - started) * 1000)
            ingest = _measure_ingest(ws, actor, caller, raw, enc, runs, ingest_batch, say)
    finally:
        token_revoke(actor=actor, token_id=api_token.pk)
        removed = remove_ingested(ws)
        if removed:
            say(f"removed the {removed:,} interactions the ingest figure wrote")
    rss, peak = _rss_mb()
    return Report(
        vendor=connection.vendor,
        database=str(connection.settings_dict.get("NAME")),
        activities=_count(Activity, ws),
        links=_count(ActivityTarget, ws),
        tasks=_count(Task, ws),
        runs=runs,
        figures=[f for f, _r, _s in figures],
        ingest=ingest,
        peak_rss_mb=round(peak, 1),
        rss_mb=round(rss, 1),
        load=(load_before, _load_average()),
        cpus=os.cpu_count() or 0,
    )


def _senders(ws: Workspace, count: int) -> list[str]:
    """E-mail addresses of live people, spread over the workspace (the channel's senders)."""
    from rapport.core.bench import _spread_ids

    ids = _spread_ids(Person, ws, count)
    return list(Person.objects.filter(pk__in=ids).exclude(email="").values_list("email", flat=True))


def _measure_ingest(
    ws: Workspace,
    actor: Actor,
    caller: _Caller,
    raw: _RawTimeline,
    enc: Encoder,
    runs: int,
    batch: int,
    say: Callable[[str], None],
) -> Throughput:
    """Interactions per second through ``POST /activities/ingest`` (``batch`` items a request,
    each naming its sender by e-mail), or through ``services.activity_create`` one call per
    interaction when the endpoint is not there. A batch slower than ``SLOW_BATCH_MS`` is cut
    to a tenth (and fewer runs), so a slow path is reported instead of stalling the bench."""
    from . import services

    senders = _senders(ws, batch)
    runs = max(3, runs // 3)
    endpoint = _ingest_route_exists()
    people = dict(Person.objects.filter(workspace=ws, email__in=senders).values_list("email", "pk"))

    def send(run: int, emails: list[str]) -> float:
        items = [(email, f"bench-{run}-{k}") for k, email in enumerate(emails)]
        if not endpoint:
            started = time.perf_counter()
            for email, external_id in items:
                services.activity_create(
                    actor=actor,
                    data={
                        "type": "email",
                        "subject": "Bench ingest",
                        "body": "Hello",
                        "direction": "inbound",
                        "channel": INGEST_CHANNEL,
                        "external_id": external_id,
                        "targets": [{"type": "person", "id": str(people[email])}],
                    },
                    source="api",
                )
            return (time.perf_counter() - started) * 1000
        payload = {
            "items": [
                {
                    "type": "email",
                    "subject": "Bench ingest",
                    "body": "Hello",
                    "direction": "inbound",
                    "channel": INGEST_CHANNEL,
                    "external_id": external_id,
                    "from": {"email": email},
                }
                for email, external_id in items
            ],
            "create_unknown": False,
        }
        elapsed, status, body = caller.post("/api/v1/activities/ingest", payload)
        if status != 200:
            raise RuntimeError(f"ingest answered {status}: {body[:500]!r}")
        if {r["status"] for r in orjson.loads(body)["results"]} != {"created"}:
            raise RuntimeError(f"ingest items were not all created: {body[:500]!r}")
        return elapsed

    label = (
        "POST /activities/ingest ({n} items a request)"
        if endpoint
        else "services.activity_create (one call per interaction, {n} a run)"
    )
    note = "" if endpoint else "POST /activities/ingest is not in the API yet: the service path"
    warm = send(-1, senders)
    if warm > SLOW_BATCH_MS:
        senders = senders[: max(1, len(senders) // 10)]
        runs = 3
        note = (note + "; " if note else "") + (
            f"a {batch}-item batch took {warm / 1000:.1f} s: measured with {len(senders)} items"
        )
        say(f"ingest is slow ({warm / 1000:.1f} s for {batch} items): measuring smaller batches")
    figure = Throughput("ingest", label.format(n=len(senders)), len(senders), note=note)
    for run in range(runs):
        figure.api_ms.append(send(run, senders))
    for run in range(-1, runs):
        items = [(email, f"bench-raw-{run}-{k}") for k, email in enumerate(senders)]
        started = time.perf_counter()
        raw.ingest(items, enc)
        if run >= 0:
            figure.raw_ms.append((time.perf_counter() - started) * 1000)
    say(f"ingest: {figure.per_second:,.0f} interactions/s ({figure.label})")
    return figure


# --- output -------------------------------------------------------------------------------


def render(report: Report, console=None) -> None:
    console = print_figures(
        f"Rapport interactions bench on {report.vendor} — {report.activities:,} interactions, "
        f"{report.links:,} timeline links, {report.tasks:,} tasks, {report.runs} runs "
        "(server time, ms)",
        report.figures,
        console,
    )
    if report.ingest is not None:
        s = report.ingest.summary()
        console.print(
            f"ingest — {s['label']}: {s['per_second']:,.0f} interactions/s "
            f"(median {s['median_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms per {s['batch']}); "
            f"raw SQL {s['raw_per_second']:,.0f}/s ({s['ratio']:.1f}× faster)"
            + (f" — {s['note']}" if s["note"] else "")
        )
    console.print(
        f"peak RSS of the measuring process: {report.peak_rss_mb:.0f} MB; {report.cpus} CPUs, "
        f"load average {report.load[0]:.2f} before, {report.load[1]:.2f} after"
    )


def run_phase(phase: str, opts: dict[str, Any], stdout) -> None:
    """The ``rapport bench`` children: ``activities-seed`` seeds, ``activities`` measures (in
    a process of its own, so its peak RSS is the one of a process that only served requests)."""
    from pathlib import Path

    from django.conf import settings

    if phase == "activities-seed":
        report = seed(opts["activities"], reuse=opts["reuse"], say=stdout.write)
        if not report.reused:
            stdout.write(
                f"{report.activities:,} interactions, {report.targets:,} timeline links, "
                f"{report.tasks:,} tasks, {report.task_targets:,} task links; "
                + ", ".join(f"{k} {v:.1f} s" for k, v in report.stages.items())
            )
        return
    result = measure(runs=opts["runs"], warmup=opts["warmup"], say=stdout.write)
    render(result)
    path = Path(settings.DATA_DIR) / f"bench-activities-{connection.vendor}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2))
    stdout.write(f"figures written to {path}")
