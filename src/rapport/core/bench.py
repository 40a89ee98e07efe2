"""`rapport bench`: seed a large workspace fast, then time the API against the raw database.

Seeding (``seed``) writes a deterministic data set straight into the tables, bypassing the
services on purpose: a million service calls would take an hour, and what is measured here is
reading. It streams rows in batches (``executemany`` on SQLite, ``COPY`` on PostgreSQL) with the
tables' secondary indexes, foreign keys and the SQLite FTS triggers dropped, and builds them again
afterwards in one pass (``CREATE INDEX`` sorts once instead of a million random inserts; FTS5
``rebuild`` indexes the search table in one go). Everything happens in one transaction, so a
failure leaves the schema exactly as it was. The search rows match what
``rapport.search.services`` would write for the same records (the smoke test checks it).

Measuring (``measure``) sends real requests through the WSGI application (every middleware,
bearer-token auth, the Ninja router, selectors, serialisation), so the time is the server's time
without the network, and times the hand-written SQL that returns the same rows on a warm
connection. ``figure.ratio`` is API time over raw time.

Point the bench at a database of its own: seeding holds table locks for minutes.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import connection, transaction

from rapport.contacts.demo import COUNTRIES, INDUSTRIES, ascii_slug, valid_phone
from rapport.contacts.models import Company, LifecycleStage, Person
from rapport.core.actors import Actor, ActorKind, Role
from rapport.core.models import Tag
from rapport.search.models import SearchEntry
from rapport.tenancy.models import Membership, Workspace
from rapport.users.models import User

BENCH_SLUG = "bench"
BENCH_NAME = "Benchmark"
BENCH_SEED = 1_000_003
MEMBERS = 20
BATCH = 20_000
DELETED_SHARE = 0.01  # soft-deleted rows (in the trash): lists and search must skip them
BASE_TIME = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
SPAN_SECONDS = 4 * 365 * 24 * 3600  # records were created over four years
PERSON_TAGS = (  # name, share of people
    ("vip", 0.04),
    ("newsletter", 0.12),
    ("decision-maker", 0.06),
    ("champion", 0.02),
    ("webinar-attendee", 0.08),
    ("trade-show", 0.05),
    ("churn-risk", 0.03),
    ("beta-tester", 0.01),
)
COMPANY_TAGS = (("key-account", 0.05), ("partner", 0.04), ("reseller", 0.02), ("smb", 0.3))
TITLES = (
    "CEO",
    "CTO",
    "CFO",
    "Founder",
    "VP Sales",
    "Head of Marketing",
    "Account Executive",
    "Sales Manager",
    "Software Engineer",
    "Engineering Manager",
    "Operations Manager",
    "Procurement Manager",
    "Buyer",
    "IT Manager",
    "Controller",
    "Recruiter",
    "Office Manager",
    "Marketing Manager",
)
SOURCES = ("website", "referral", "event", "linkedin", "cold-outreach", "partner", "import")
STAGES = (
    [LifecycleStage.SUBSCRIBER.value] * 10
    + [LifecycleStage.LEAD.value] * 35
    + [LifecycleStage.MARKETING_QUALIFIED.value] * 15
    + [LifecycleStage.SALES_QUALIFIED.value] * 10
    + [LifecycleStage.OPPORTUNITY.value] * 8
    + [LifecycleStage.CUSTOMER.value] * 18
    + [LifecycleStage.EVANGELIST.value] * 2
    + [LifecycleStage.OTHER.value] * 2
)
PERSONAL_DOMAINS = ("example.com", "example.org", "example.net")

PERSON_COLUMNS = (
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
    "custom",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "phone",
    "owner_id",
    "external_id",
    "first_name",
    "last_name",
    "email",
    "title",
    "company_id",
    "lifecycle_stage",
    "source",
)
COMPANY_COLUMNS = (
    *PERSON_COLUMNS[:20],
    "name",
    "domain",
    "industry",
    "employees",
    "annual_revenue",
    "annual_revenue_currency",
)
SEARCH_COLUMNS = ("workspace_id", "object_type", "object_id", "title", "subtitle", "text")
TAG_LINK_COLUMNS = ("{model}_id", "tag_id")


# --- deterministic pools ------------------------------------------------------------------


@dataclass
class CountryPool:
    code: str
    currency: str
    first_names: list[str]
    last_names: list[str]
    places: list[tuple[str, str, str]]  # city, region, postal code
    streets: list[str]
    phone_prefixes: list[str]  # E.164 numbers without their last four digits
    landline_prefixes: list[str]
    company_suffixes: list[str]


def _clean(text: str) -> str:
    """Pool strings go into COPY text format and CSV-like contexts: one line, no tabs."""
    return " ".join(text.replace("\\", "/").split())


def build_pools(seed: int = BENCH_SEED) -> list[tuple[CountryPool, int]]:
    """Names, places and phone prefixes per country, drawn once from seeded Faker instances."""
    from faker import Faker

    rng = random.Random(seed)
    pools = []
    for code, (locale, currency, weight) in COUNTRIES.items():
        fake = Faker(locale)
        fake.seed_instance(seed + sum(map(ord, code)))
        places = []
        for _ in range(300):
            postcode = fake.postcode()
            places.append((_clean(fake.city()), _clean(fake.administrative_unit()), postcode))
        places.sort()  # it_IT's city list is ordered by the hash seed: sort the draws
        suffixes = sorted({_clean(fake.company_suffix()) for _ in range(40)})
        pool = CountryPool(
            code=code,
            currency=currency,
            first_names=[_clean(fake.first_name()) for _ in range(600)],
            last_names=[_clean(fake.last_name()) for _ in range(600)],
            places=[(c, r, _clean(p)) for c, r, p in places],
            streets=[_clean(fake.street_name()) for _ in range(400)],
            phone_prefixes=[valid_phone(rng, code, mobile=True)[:-4] for _ in range(200)],
            landline_prefixes=[valid_phone(rng, code, mobile=False)[:-4] for _ in range(100)],
            company_suffixes=suffixes,
        )
        pools.append((pool, weight))
    return pools


# --- value encoders per database ----------------------------------------------------------


class Encoder:
    """Turns generated values into what the database column takes (SQLite text vs PG types)."""

    def __init__(self, vendor: str):
        self.vendor = vendor
        self._days: dict[int, str] = {}
        self._zone = "" if vendor == "sqlite" else "+00:00"

    def uuid(self, n: int) -> str:
        h = f"{n:032x}"
        if self.vendor == "sqlite":
            return h
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def time(self, micros: int) -> str:
        """BASE_TIME + micros as Django writes it: on SQLite ``str()`` of the naive UTC time
        (no fraction when it is zero), on PostgreSQL the same with its zone."""
        seconds, fraction = divmod(micros, 1_000_000)
        day, seconds = divmod(seconds, 86_400)
        date = self._days.get(day)
        if date is None:
            date = self._days[day] = (BASE_TIME + dt.timedelta(days=day)).date().isoformat()
        hours, seconds = divmod(seconds, 3600)
        minutes, seconds = divmod(seconds, 60)
        frac = f".{fraction:06d}" if fraction else ""
        return f"{date} {hours:02d}:{minutes:02d}:{seconds:02d}{frac}{self._zone}"


_UUID_MASK = (2**128 - 1) & ~((0xF000 << 64) | (0xC000 << 48))
_UUID_BITS = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant


def _uuid4_int(rng: random.Random) -> int:
    return (rng.getrandbits(128) & _UUID_MASK) | _UUID_BITS


def _as_uuid(value: str) -> uuid.UUID:
    return uuid.UUID(value)


# --- the generator ------------------------------------------------------------------------


@dataclass
class Context:
    workspace_id: str
    owner_ids: list[str]  # encoded member user ids; [0] is the workspace owner
    tag_ids: dict[str, str]  # tag name -> encoded id
    enc: Encoder


def _pick_weighted(pools: list[tuple[CountryPool, int]]) -> list[CountryPool]:
    out: list[CountryPool] = []
    for pool, weight in pools:
        out.extend([pool] * weight)
    return out


def _step(count: int) -> int:
    return max(SPAN_SECONDS * 1_000_000 // max(count, 1), 1)


UPDATE_SPREAD = 60 * 24 * 3600 * 1_000_000  # updated up to 60 days after creation


class _Slugs(dict):
    """ascii_slug of names, computed once per name (the pools repeat them a million times)."""

    def __missing__(self, name: str) -> str:
        value = self[name] = ascii_slug(name, sep=".")
        return value


def company_rows(
    ctx: Context, pools, count: int, seed: int = BENCH_SEED
) -> Iterator[tuple[tuple, list[str], tuple | None]]:
    """(company row, tag names, search row or None) for each company, oldest first."""
    rng = random.Random(seed * 31 + 1)
    r = rng.random
    weighted = _pick_weighted(pools)
    enc = ctx.enc
    owners = ctx.owner_ids
    step = _step(count)
    slugs = _Slugs()
    domains: set[str] = set()
    taken: dict[str, int] = {}  # the last number given to each base
    for i in range(count):
        pool = weighted[int(r() * len(weighted))]
        names = pool.last_names
        last = names[int(r() * len(names))]
        if r() < 0.3:
            last = f"{last}-{names[int(r() * len(names))]}"
        suffixes = pool.company_suffixes
        name = f"{last} {suffixes[int(r() * len(suffixes))]}".strip()
        base = slugs[last].replace(".", "-") or "company"
        n = taken.get(base, 0) + 1
        domain = f"{base}.example" if n == 1 else f"{base}-{n}.example"
        while domain in domains:  # "smith-2" may also be the slug of a name
            n += 1
            domain = f"{base}-{n}.example"
        taken[base] = n
        domains.add(domain)
        city, region, postcode = pool.places[int(r() * len(pool.places))]
        prefixes = pool.landline_prefixes
        phone = f"{prefixes[int(r() * len(prefixes))]}{int(r() * 10_000):04d}"
        industry = INDUSTRIES[int(r() * len(INDUSTRIES))]
        employees = int(10 ** (0.7 + r() * 3.6))
        created = i * step + int(r() * step)
        updated = created + int(r() * UPDATE_SPREAD)
        owner = owners[int(r() * len(owners))]
        deleted = r() < DELETED_SHARE
        streets = pool.streets
        row = (
            enc.uuid(_uuid4_int(rng)),
            ctx.workspace_id,
            enc.time(created),
            enc.time(updated),
            "user",
            owners[0],
            "user",
            owner,
            1 + (updated != created),
            enc.time(updated) if deleted else None,
            owner if deleted else None,
            "{}",
            f"{1 + int(r() * 199)} {streets[int(r() * len(streets))]}",
            city,
            region,
            postcode,
            pool.code,
            phone,
            owner,
            "",
            name,
            domain,
            industry,
            employees,
            f"{employees * (60 + int(r() * 200)) * 1000}.00",
            pool.currency,
        )
        search = None
        if not deleted:
            text = " ".join(filter(None, [name, domain, phone, industry, city]))
            search = (
                ctx.workspace_id,
                "contacts.company",
                row[0],
                name[:300],
                domain[:300],
                f"{name} {text}".lower(),
            )
        yield row, [tag for tag, share in COMPANY_TAGS if r() < share], search


def person_rows(
    ctx: Context, pools, count: int, companies: list[tuple[str, str, CountryPool]], seed=BENCH_SEED
) -> Iterator[tuple[tuple, list[str], tuple | None]]:
    """(person row, tag names, search row or None) for each person, oldest first.

    ``companies`` are (encoded id, domain, country pool) of the live companies; 88% of people
    work at one (a few big companies have many people).
    """
    rng = random.Random(seed * 31 + 2)
    r = rng.random
    weighted = _pick_weighted(pools)
    enc = ctx.enc
    owners = ctx.owner_ids
    step = _step(count)
    slugs = _Slugs()
    emails: set[str] = set()
    taken: dict[str, int] = {}
    n_companies = len(companies)
    for i in range(count):
        company = None
        if n_companies and r() < 0.88:
            company = companies[int(n_companies * r() ** 1.6)]
        pool = company[2] if company else weighted[int(r() * len(weighted))]
        first = pool.first_names[int(r() * len(pool.first_names))]
        last = pool.last_names[int(r() * len(pool.last_names))]
        domain = company[1] if company else PERSONAL_DOMAINS[int(r() * 3)]
        local = ".".join(filter(None, (slugs[first], slugs[last]))) or "contact"
        email = f"{local}@{domain}"
        n = taken.get(email, 0) + 1
        if n > 1:
            email = f"{local}{n}@{domain}"
            while email in emails:
                n += 1
                email = f"{local}{n}@{domain}"
        taken[f"{local}@{domain}"] = n
        emails.add(email)
        city, region, postcode = pool.places[int(r() * len(pool.places))]
        prefixes = pool.phone_prefixes
        phone = f"{prefixes[int(r() * len(prefixes))]}{int(r() * 10_000):04d}"
        title = TITLES[int(r() * len(TITLES))]
        created = i * step + int(r() * step)
        updated = created + int(r() * UPDATE_SPREAD)
        owner = owners[int(r() * len(owners))] if r() < 0.95 else None
        deleted = r() < DELETED_SHARE
        streets = pool.streets
        row = (
            enc.uuid(_uuid4_int(rng)),
            ctx.workspace_id,
            enc.time(created),
            enc.time(updated),
            "user",
            owners[0],
            "user",
            owner or owners[0],
            1 + (updated != created),
            enc.time(updated) if deleted else None,
            owners[0] if deleted else None,
            "{}",
            f"{1 + int(r() * 199)} {streets[int(r() * len(streets))]}",
            city,
            region,
            postcode,
            pool.code,
            phone,
            owner,
            "",
            first,
            last,
            email,
            title,
            company[0] if company else None,
            STAGES[int(r() * len(STAGES))],
            SOURCES[int(r() * len(SOURCES))],
        )
        search = None
        if not deleted:
            full_name = f"{first} {last}"
            text = " ".join(filter(None, [first, last, email, phone, title]))
            search = (
                ctx.workspace_id,
                "contacts.person",
                row[0],
                full_name[:300],
                email[:300],
                f"{full_name} {text}".lower(),
            )
        yield row, [tag for tag, share in PERSON_TAGS if r() < share], search


# --- loading ------------------------------------------------------------------------------


def _table(model) -> str:
    return model._meta.db_table


def _m2m_table(model) -> str:
    return model._meta.get_field("tags").remote_field.through._meta.db_table


def _check_columns(model, columns) -> None:
    actual = {f.column for f in model._meta.concrete_fields}
    if set(columns) != actual:
        raise RuntimeError(
            f"bench columns of {model.__name__} are out of date: "
            f"missing {sorted(actual - set(columns))}, unknown {sorted(set(columns) - actual)}"
        )


class Loader:
    """Streams rows into one table: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, table: str, columns: tuple[str, ...]):
        self.table = table
        self.columns = columns
        self.vendor = connection.vendor
        cols = ", ".join(f'"{c}"' for c in columns)
        if self.vendor == "postgresql":
            self.sql = f'COPY "{table}" ({cols}) FROM STDIN'
        else:
            marks = ", ".join("?" * len(columns))
            self.sql = f'INSERT INTO "{table}" ({cols}) VALUES ({marks})'
        self.rows = 0

    def write(self, rows: list[tuple]) -> None:
        if not rows:
            return
        self.rows += len(rows)
        if self.vendor == "postgresql":
            lines = "".join(
                "\t".join("\\N" if v is None else str(v) for v in row) + "\n" for row in rows
            )
            with connection.cursor() as cur, cur.cursor.copy(self.sql) as copy:
                copy.write(lines)
        else:
            connection.connection.executemany(self.sql, rows)


@contextmanager
def _bulk_mode(tables: list[str], say: Callable[[str], None]):
    """Drops the tables' secondary indexes (and FKs/unique constraints on PostgreSQL, the FTS
    triggers on SQLite), yields, then builds them again. Run inside a transaction: DDL is
    transactional on both databases, so an error restores everything."""
    if connection.vendor == "postgresql":
        yield from _bulk_mode_postgres(tables, say)
    else:
        yield from _bulk_mode_sqlite(tables, say)


def _bulk_mode_sqlite(tables, say):
    with connection.cursor() as cur:
        marks = ", ".join(["%s"] * len(tables))
        cur.execute(
            f"SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN ({marks}) "
            "AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type, name",
            tables,
        )
        saved = cur.fetchall()
        for kind, name, _sql in saved:
            cur.execute(f'DROP {kind.upper()} "{name}"')
    fts = SearchEntry._meta.db_table in tables
    yield
    with connection.cursor() as cur:
        started = time.perf_counter()
        for kind, _name, sql in saved:
            if kind == "index":
                cur.execute(sql)
        say(f"indexes built in {time.perf_counter() - started:.1f} s")
        if fts:
            started = time.perf_counter()
            cur.execute("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")
            say(f"full-text index rebuilt in {time.perf_counter() - started:.1f} s")
        for kind, _name, sql in saved:
            if kind == "trigger":
                cur.execute(sql)


def _bulk_mode_postgres(tables, say):
    saved_constraints: list[tuple[str, str, str]] = []
    saved_indexes: list[str] = []
    with connection.cursor() as cur:
        # Deferred foreign-key checks still pending (the workspace and tags just created)
        # would forbid altering the tables they touch: run them now.
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cur.execute("SET LOCAL synchronous_commit = off")
        for table in tables:
            cur.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype IN ('u', 'f') ORDER BY contype, conname",
                [table],
            )
            for name, definition in cur.fetchall():
                saved_constraints.append((table, name, definition))
                cur.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
            cur.execute(
                "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
                "JOIN pg_class i ON i.oid = x.indexrelid "
                "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary ORDER BY i.relname",
                [table],
            )
            for name, definition in cur.fetchall():
                saved_indexes.append(definition)
                cur.execute(f'DROP INDEX "{name}"')
    yield
    with connection.cursor() as cur:
        started = time.perf_counter()
        for definition in saved_indexes:
            cur.execute(definition)
        say(f"indexes built in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        for table, name, definition in saved_constraints:
            cur.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        say(f"constraints checked and restored in {time.perf_counter() - started:.1f} s")


def _load(model, rows, ctx: Context, search: Loader, on_live) -> dict[str, int]:
    """Streams one model's generated rows, its tag links and its search rows in batches."""
    table = Loader(_table(model), PERSON_COLUMNS if model is Person else COMPANY_COLUMNS)
    link_column = TAG_LINK_COLUMNS[0].format(model=model._meta.model_name)
    links = Loader(_m2m_table(model), (link_column, "tag_id"))
    batch: list[tuple] = []
    link_batch: list[tuple] = []
    search_batch: list[tuple] = []

    def flush() -> None:
        table.write(batch)
        links.write(link_batch)
        search.write(search_batch)
        batch.clear()
        link_batch.clear()
        search_batch.clear()

    for row, tag_names, entry in rows:
        batch.append(row)
        for name in tag_names:
            link_batch.append((row[0], ctx.tag_ids[name]))
        if entry is not None:
            search_batch.append(entry)
            if on_live is not None:
                on_live(row)
        if len(batch) >= BATCH:
            flush()
    flush()
    return {str(model._meta.verbose_name_plural): table.rows, "tag links": links.rows}


@dataclass
class SeedReport:
    vendor: str
    people: int
    companies: int
    search_entries: int
    tag_links: int
    seconds: float
    stages: dict[str, float] = field(default_factory=dict)
    reused: bool = False


def _say_default(message: str) -> None:
    print(message, flush=True)


def bench_workspace() -> Workspace | None:
    return Workspace.objects.filter(slug=BENCH_SLUG).first()


def has_data(people: int, companies: int) -> bool:
    ws = bench_workspace()
    if ws is None:
        return False
    return (
        Person.objects.filter(workspace=ws).count() == people
        and Company.objects.filter(workspace=ws).count() == companies
        and SearchEntry.objects.filter(workspace=ws).exists() == (people + companies > 0)
    )


def wipe(say: Callable[[str], None] = _say_default) -> None:
    """Removes the bench workspace and everything in it (with raw deletes: it is large)."""
    ws = bench_workspace()
    if ws is None:
        return
    started = time.perf_counter()
    wid = ws.pk.hex if connection.vendor == "sqlite" else ws.pk
    people, companies = _table(Person), _table(Company)
    search_table = SearchEntry._meta.db_table
    with transaction.atomic():
        if connection.vendor == "sqlite":
            # Without the FTS triggers (one index update per row), then one FTS rebuild.
            with _bulk_mode([search_table], say), connection.cursor() as cur:
                cur.execute(f"DELETE FROM {search_table} WHERE workspace_id = %s", [wid])
        from rapport.activities.bench import wipe_activities
        from rapport.sales.bench import wipe_sales

        wipe_sales(wid, say)  # a million deals: raw deletes as well
        wipe_activities(wid, say)  # raw deletes: the ORM's cascade would load millions of rows
        with connection.cursor() as cur:
            cur.execute(f"DELETE FROM {search_table} WHERE workspace_id = %s", [wid])
            for model, table in ((Person, people), (Company, companies)):
                cur.execute(
                    f"DELETE FROM {_m2m_table(model)} WHERE {model._meta.model_name}_id IN "
                    f"(SELECT id FROM {table} WHERE workspace_id = %s)",
                    [wid],
                )
            cur.execute(f"DELETE FROM {people} WHERE workspace_id = %s", [wid])
            cur.execute(f"DELETE FROM {companies} WHERE workspace_id = %s", [wid])
        users = list(Membership.objects.filter(workspace=ws).values_list("user_id", flat=True))
        ws.delete()
        User.objects.filter(pk__in=users, memberships__isnull=True).delete()
    say(f"removed the previous bench workspace in {time.perf_counter() - started:.1f} s")


def _create_workspace(enc: Encoder) -> Context:
    users = [
        User(email=f"bench{i:02d}@bench.example", full_name=f"Bench Member {i:02d}")
        for i in range(MEMBERS)
    ]
    for user in users:
        user.set_unusable_password()
    existing = {u.email: u for u in User.objects.filter(email__in=[u.email for u in users])}
    User.objects.bulk_create([u for u in users if u.email not in existing])
    users = [existing.get(u.email, u) for u in users]
    ws = Workspace.objects.create(name=BENCH_NAME, slug=BENCH_SLUG)
    Membership.objects.bulk_create(
        Membership(
            workspace=ws,
            user=u,
            role=(Role.OWNER if i == 0 else Role.MANAGER if i < 3 else Role.MEMBER).value,
        )
        for i, u in enumerate(users)
    )
    names = [n for n, _ in PERSON_TAGS] + [n for n, _ in COMPANY_TAGS if n not in dict(PERSON_TAGS)]
    tags = Tag.objects.bulk_create(Tag(workspace=ws, name=n) for n in names)
    return Context(
        workspace_id=enc.uuid(ws.pk.int),
        owner_ids=[enc.uuid(u.pk.int) for u in users],
        tag_ids={t.name: enc.uuid(t.pk.int) for t in tags},
        enc=enc,
    )


def seed(
    people: int,
    companies: int,
    *,
    seed: int = BENCH_SEED,
    reuse: bool = False,
    say: Callable[[str], None] = _say_default,
) -> SeedReport:
    """Creates the bench workspace with ``people`` and ``companies`` (replacing an old one)."""
    vendor = connection.vendor
    if reuse and has_data(people, companies):
        say(f"reusing the bench workspace ({people:,} people, {companies:,} companies)")
        return SeedReport(vendor, people, companies, 0, 0, 0.0, reused=True)
    for model, columns in ((Person, PERSON_COLUMNS), (Company, COMPANY_COLUMNS)):
        _check_columns(model, columns)
    _check_columns(SearchEntry, ("id", *SEARCH_COLUMNS))
    wipe(say)
    started = time.perf_counter()
    stages: dict[str, float] = {}
    enc = Encoder(vendor)
    pools = build_pools(seed)
    stages["pools"] = time.perf_counter() - started
    tables = [
        _table(Company),
        _m2m_table(Company),
        _table(Person),
        _m2m_table(Person),
        SearchEntry._meta.db_table,
    ]
    sqlite_pragmas = vendor == "sqlite" and not connection.in_atomic_block
    if sqlite_pragmas:
        with connection.cursor() as cur:
            # Deferred foreign keys would be re-checked row by row at commit: the generator
            # makes them consistent, and PostgreSQL re-validates them as a whole below.
            cur.execute("PRAGMA foreign_keys = OFF")
            cur.execute("PRAGMA synchronous = OFF")
            cur.execute("PRAGMA cache_size = -1000000")
            # One big transaction in WAL mode writes every new page twice (WAL, then the
            # checkpoint); a rollback journal keeps only the few pages that existed before.
            # SQLite keeps WAL when another connection has the file open.
            cur.execute("PRAGMA journal_mode = DELETE")
            cur.execute("PRAGMA threads = 2")  # CREATE INDEX sorts with a helper thread
    loaded: dict[str, int] = {}
    try:
        with transaction.atomic():
            ctx = _create_workspace(enc)
            search = Loader(SearchEntry._meta.db_table, SEARCH_COLUMNS)
            with _bulk_mode(tables, say):
                live_companies: list[tuple[str, str, CountryPool]] = []
                pool_of = {p.code: p for p, _ in pools}

                def keep_company(row: tuple) -> None:
                    live_companies.append((row[0], row[21], pool_of[row[16]]))

                for model, rows, on_live in (
                    (Company, lambda: company_rows(ctx, pools, companies, seed), keep_company),
                    (Person, lambda: person_rows(ctx, pools, people, live_companies, seed), None),
                ):
                    stage = time.perf_counter()
                    result = _load(model, rows(), ctx, search, on_live)
                    name = str(model._meta.verbose_name_plural)
                    loaded[name] = result[name]
                    loaded["tag links"] = loaded.get("tag links", 0) + result["tag links"]
                    stages[f"load {name}"] = time.perf_counter() - stage
                    say(f"loaded {loaded[name]:,} {name} in {stages[f'load {name}']:.1f} s")
                stage = time.perf_counter()
            stages["indexes"] = time.perf_counter() - stage
    finally:
        if sqlite_pragmas:
            with connection.cursor() as cur:
                cur.execute("PRAGMA journal_mode = WAL")
                cur.execute("PRAGMA foreign_keys = ON")
                cur.execute("PRAGMA synchronous = NORMAL")
    if not connection.in_atomic_block:
        analyze_started = time.perf_counter()
        with connection.cursor() as cur:
            if vendor == "postgresql":
                for table in tables:
                    cur.execute(f'VACUUM ANALYZE "{table}"')
            else:
                cur.execute("PRAGMA optimize")
        stages["analyze"] = time.perf_counter() - analyze_started
    total = time.perf_counter() - started
    say(f"seeded in {total:.1f} s")
    return SeedReport(
        vendor, people, companies, search.rows, loaded.get("tag links", 0), total, stages
    )


# --- measuring ----------------------------------------------------------------------------


@dataclass
class Figure:
    key: str
    label: str
    budget_ms: float
    api_ms: list[float] = field(default_factory=list)
    raw_ms: list[float] = field(default_factory=list)
    queries: int = 0
    rows: int = 0
    note: str = ""

    @staticmethod
    def _p95(values: list[float]) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]

    @property
    def median(self) -> float:
        return statistics.median(self.api_ms)

    @property
    def p95(self) -> float:
        return self._p95(self.api_ms)

    @property
    def raw_median(self) -> float:
        return statistics.median(self.raw_ms)

    @property
    def raw_p95(self) -> float:
        return self._p95(self.raw_ms)

    @property
    def ratio(self) -> float:
        return self.median / self.raw_median if self.raw_median else float("inf")

    @property
    def met(self) -> bool:
        return self.p95 <= self.budget_ms

    def summary(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "budget_ms": self.budget_ms,
            "median_ms": round(self.median, 3),
            "p95_ms": round(self.p95, 3),
            "raw_median_ms": round(self.raw_median, 3),
            "raw_p95_ms": round(self.raw_p95, 3),
            "ratio": round(self.ratio, 2),
            "queries": self.queries,
            "rows": self.rows,
            "met": self.met,
            "note": self.note,
        }


@dataclass
class BenchReport:
    vendor: str
    database: str
    people: int
    companies: int
    runs: int
    figures: list[Figure]
    peak_rss_mb: float
    rss_mb: float
    python: str = sys.version.split()[0]
    seed: dict | None = None
    # 1-minute load average before and after measuring: the machine may be shared.
    load: tuple[float, float] = (0.0, 0.0)
    cpus: int = 0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["figures"] = [f.summary() for f in self.figures]
        return data


def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB."""
    try:
        with open("/proc/self/status") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
    except OSError:  # not Linux: the peak only
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak_mb = peak / 1024 / (1024 if sys.platform == "darwin" else 1)
        return peak_mb, peak_mb


class WsgiCaller:
    """Calls the WSGI application the way a server does and times it."""

    def __init__(self, token: str):
        # The application the server runs, with its start-up tuning (config/wsgi.py).
        from rapport.config.wsgi import application

        self.app = application
        self.token = token

    def environ(self, path: str, query: str) -> dict[str, Any]:
        return {
            "REQUEST_METHOD": "GET",
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1:8000",
            "HTTP_ACCEPT": "application/json",
            "HTTP_AUTHORIZATION": f"Bearer {self.token}",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }

    def __call__(self, path: str, query: str = "") -> tuple[float, int, bytes]:
        status: list[str] = []

        def start_response(s, headers, exc_info=None):
            status.append(s)

        env = self.environ(path, query)
        started = time.perf_counter()
        result = self.app(env, start_response)
        try:
            body = b"".join(result)
        finally:
            result.close()
        elapsed = (time.perf_counter() - started) * 1000
        return elapsed, int(status[0].split()[0]), body


@contextmanager
def _keep_connections():
    """In a test transaction the per-request close of the connection would end the test's
    transaction (the test client does the same); a real server closes it, so we do too."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    if not connection.in_atomic_block:
        yield
        return
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


class _QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _typo(word: str) -> str:
    """Swaps two letters in the middle: the classic fat-finger typo."""
    if len(word) < 4:
        return word + word[-1]
    i = len(word) // 2
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


class _Raw:
    """Hand-written SQL that returns the same rows as each API call."""

    def __init__(self, workspace: Workspace):
        self.vendor = connection.vendor
        self.enc = Encoder(self.vendor)
        self.ws = self.enc.uuid(workspace.pk.int)
        self.person = _table(Person)
        self.company = _table(Company)
        self.person_cols = ", ".join(f'p."{f.column}"' for f in Person._meta.concrete_fields)
        self.company_cols = ", ".join(f'c."{f.column}"' for f in Company._meta.concrete_fields)

    def id(self, value: uuid.UUID) -> Any:
        return value.hex if self.vendor == "sqlite" else value

    def fetch(self, sql: str, params: list) -> list:
        with connection.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def tags(self, model, ids: list) -> list:
        if not ids:
            return []
        column = f"{model._meta.model_name}_id"
        marks = ", ".join(["%s"] * len(ids))
        return self.fetch(
            f"SELECT l.{column}, t.name FROM {_m2m_table(model)} l JOIN {_table(Tag)} t "
            f"ON t.id = l.tag_id WHERE l.{column} IN ({marks})",
            ids,
        )

    def get(self, model, pk: uuid.UUID) -> list:
        table, cols, alias = (
            (self.person, self.person_cols, "p")
            if model is Person
            else (self.company, self.company_cols, "c")
        )
        rows = self.fetch(
            f"SELECT {cols} FROM {table} {alias} WHERE {alias}.id = %s "
            f"AND {alias}.workspace_id = %s AND {alias}.deleted_at IS NULL",
            [self.id(pk), self.ws],
        )
        self.tags(model, [r[0] for r in rows])
        return rows

    def person_page(self, where: str = "", params: list | None = None, model=Person) -> list:
        table, cols, alias = (
            (self.person, self.person_cols, "p")
            if model is Person
            else (self.company, self.company_cols, "c")
        )
        rows = self.fetch(
            f"SELECT {cols} FROM {table} {alias} WHERE {alias}.workspace_id = %s "
            f"AND {alias}.deleted_at IS NULL {where} "
            f"ORDER BY {alias}.created_at DESC, {alias}.id DESC LIMIT 51",
            [self.ws, *(params or [])],
        )
        self.tags(model, [r[0] for r in rows[:50]])
        return rows

    def search(self, q: str) -> list:
        from rapport.search import selectors

        normalized = selectors.normalize_query(q)
        if self.vendor == "postgresql":
            return selectors._search_postgres(_as_uuid(self.ws), normalized, 40, None)
        return selectors._search_sqlite(self.ws, normalized, 40, None)


def _spread_ids(model, workspace, count: int) -> list[uuid.UUID]:
    """``count`` live records spread evenly over the id space (ids are random: a fair sample),
    each found by walking the primary key index from a point (no OFFSET, no other index: with
    a workspace filter in SQL, SQLite would pick the workspace index and scan it)."""
    ids: list[uuid.UUID] = []
    for i in range(count):
        after = model.objects.filter(pk__gte=uuid.UUID(int=(2**128 - 1) * (i + 1) // (count + 1)))
        found = None
        while found is None:
            batch = list(after.order_by("pk").values_list("pk", "workspace_id", "deleted_at")[:200])
            found = next((pk for pk, ws, gone in batch if ws == workspace.pk and not gone), None)
            if len(batch) < 200:
                break
            after = model.objects.filter(pk__gt=batch[-1][0])
        if found is None:  # past the last id: wrap around to the first
            found = (
                model.objects.filter(workspace=workspace, deleted_at__isnull=True)
                .order_by("pk")
                .values_list("pk", flat=True)
                .first()
            )
        if found is not None:
            ids.append(found)
    return ids


def _get(values: list, i: int):
    return values[i % len(values)]


def measure(
    *, runs: int = 30, warmup: int = 3, say: Callable[[str], None] = _say_default
) -> BenchReport:
    """Times every figure ``runs`` times through the API and as raw SQL."""
    from rapport.core.pagination import Sort, encode_cursor
    from rapport.users.services import token_create, token_revoke

    ws = bench_workspace()
    if ws is None:
        raise RuntimeError("No bench workspace: seed it first (rapport bench).")
    owner_membership = (
        Membership.objects.filter(workspace=ws, role=Role.OWNER.value)
        .select_related("user")
        .order_by("user__email")
        .first()
    )
    if owner_membership is None:
        raise RuntimeError("The bench workspace has no owner: seed it again (rapport bench).")
    owner = owner_membership.user
    actor = Actor(kind=ActorKind.USER, workspace=ws, role=Role.OWNER, user=owner)
    api_token, raw_token = token_create(actor=actor, name="rapport bench")
    raw = _Raw(ws)
    live = Person.objects.filter(workspace=ws, deleted_at__isnull=True)
    live_people = live.count()
    all_people = Person.objects.filter(workspace=ws).count()
    all_companies = Company.objects.filter(workspace=ws).count()
    ordered = live.order_by("-created_at", "-id")

    def at(position: int) -> Person:
        # Only columns of the (workspace, created_at, id) index: the OFFSET walks the index
        # alone (once, to build the deep cursor; the API never uses OFFSET).
        return ordered.only("id", "created_at")[max(0, min(position, live_people - 1))]

    person_ids = _spread_ids(Person, ws, runs)
    company_ids = _spread_ids(Company, ws, runs)
    deep_position = min(500_000, live_people // 2)
    sort = Sort("created_at", True)
    deep_row = at(deep_position - 1)
    deep_cursor = encode_cursor(sort, deep_row)
    owner_filter = (
        Membership.objects.filter(workspace=ws)
        .order_by("user__email")
        .values_list("user_id", flat=True)[1:2]
        .first()
    ) or owner.pk
    typo_person = Person.objects.get(pk=_spread_ids(Person, ws, 7)[2])
    typo_query = f"{typo_person.first_name} {_typo(typo_person.last_name)}"
    email_person = Person.objects.get(pk=_spread_ids(Person, ws, 7)[4])
    # A first name alone: thousands of exact matches (a broad query).
    name_query = Person.objects.get(pk=_spread_ids(Person, ws, 7)[0]).first_name
    vip = Tag.objects.get(workspace=ws, name="vip")
    dt_param = connection.ops.adapt_datetimefield_value

    figures: list[tuple[Figure, Callable[[int], tuple[str, str]], Callable[[int], Any]]] = [
        (
            Figure("contact_get", "GET /contacts/{id}", 25),
            lambda i: (f"/api/v1/contacts/{_get(person_ids, i)}", ""),
            lambda i: raw.get(Person, _get(person_ids, i)),
        ),
        (
            Figure("contact_list", "GET /contacts?limit=50 (first page)", 25),
            lambda i: ("/api/v1/contacts", "limit=50"),
            lambda i: raw.person_page(),
        ),
        (
            Figure(
                "contact_list_deep",
                f"GET /contacts?cursor=… (page {deep_position // 50:,})",
                25,
            ),
            lambda i: ("/api/v1/contacts", f"limit=50&cursor={deep_cursor}"),
            lambda i: raw.person_page(
                "AND (p.created_at, p.id) < (%s, %s)",
                [dt_param(deep_row.created_at), raw.id(deep_row.pk)],
            ),
        ),
        (
            Figure("contact_filter_country", "GET /contacts?country=DE", 25),
            lambda i: ("/api/v1/contacts", "limit=50&country=DE"),
            lambda i: raw.person_page("AND p.country = %s", ["DE"]),
        ),
        (
            Figure("contact_filter_owner", "GET /contacts?owner={id}", 25),
            lambda i: ("/api/v1/contacts", f"limit=50&owner={owner_filter}"),
            lambda i: raw.person_page("AND p.owner_id = %s", [raw.id(owner_filter)]),
        ),
        (
            Figure("contact_filter_tag", "GET /contacts?tag=vip", 25),
            lambda i: ("/api/v1/contacts", "limit=50&tag=vip"),
            lambda i: raw.person_page(
                f"AND EXISTS (SELECT 1 FROM {_m2m_table(Person)} l "
                "WHERE l.person_id = p.id AND l.tag_id = %s)",
                [raw.id(vip.pk)],
            ),
        ),
        (
            Figure("company_get", "GET /companies/{id}", 25),
            lambda i: (f"/api/v1/companies/{_get(company_ids, i)}", ""),
            lambda i: raw.get(Company, _get(company_ids, i)),
        ),
        (
            Figure("company_list", "GET /companies?limit=50 (first page)", 25),
            lambda i: ("/api/v1/companies", "limit=50"),
            lambda i: raw.person_page(model=Company),
        ),
        (
            Figure("search_typo", f"GET /search?q={typo_query}", 50),
            lambda i: ("/api/v1/search", _query({"q": typo_query})),
            lambda i: raw.search(typo_query),
        ),
        (
            Figure("search_email", "GET /search?q=<exact email>", 50),
            lambda i: ("/api/v1/search", _query({"q": email_person.email})),
            lambda i: raw.search(email_person.email),
        ),
        (
            Figure("search_first_name", f"GET /search?q={name_query}", 50),
            lambda i: ("/api/v1/search", _query({"q": name_query})),
            lambda i: raw.search(name_query),
        ),
    ]
    load_before = _load_average()
    caller = WsgiCaller(raw_token)
    try:
        with _keep_connections():
            for figure, request, _raw in figures:
                for i in range(warmup):
                    _check(figure, *caller(*request(i)))
            for i in range(runs):
                for figure, request, _raw in figures:
                    elapsed, status, body = caller(*request(i))
                    _check(figure, elapsed, status, body)
                    figure.api_ms.append(elapsed)
            for figure, request, _raw in figures:
                counter = _QueryCounter()
                with connection.execute_wrapper(counter):
                    _elapsed, _status, body = caller(*request(0))
                figure.queries = counter.count
                figure.rows = _rows(body)
            for figure, _request, raw_call in figures:
                for i in range(warmup):
                    raw_call(i)
                for i in range(runs):
                    started = time.perf_counter()
                    raw_call(i)
                    figure.raw_ms.append((time.perf_counter() - started) * 1000)
        found = _search_titles(caller, typo_query)
    finally:
        token_revoke(actor=actor, token_id=api_token.pk)
    figures[8][0].note = (
        "the person is the first hit"
        if found and found[0].lower() == f"{typo_person.first_name} {typo_person.last_name}".lower()
        else f"first hit: {found[0] if found else 'none'}"
    )
    rss, peak = _rss_mb()
    settings_db = connection.settings_dict
    return BenchReport(
        vendor=connection.vendor,
        database=str(settings_db.get("NAME")),
        people=all_people,
        companies=all_companies,
        runs=runs,
        figures=[f for f, _r, _s in figures],
        peak_rss_mb=round(peak, 1),
        rss_mb=round(rss, 1),
        load=(load_before, _load_average()),
        cpus=os.cpu_count() or 0,
    )


def _load_average() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return 0.0


def _query(params: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


def _check(figure: Figure, elapsed: float, status: int, body: bytes) -> None:
    if status != 200:
        raise RuntimeError(f"{figure.label} answered {status}: {body[:500]!r}")


def _rows(body: bytes) -> int:
    import orjson

    data = orjson.loads(body)
    return len(data["results"]) if isinstance(data, dict) and "results" in data else 1


def _search_titles(caller: WsgiCaller, q: str) -> list[str]:
    import orjson

    with _keep_connections():
        _elapsed, _status, body = caller("/api/v1/search", _query({"q": q}))
    return [r["title"] for r in orjson.loads(body)["results"]]


# --- output -------------------------------------------------------------------------------


def print_figures(title: str, figures, console=None):
    """The table of figures every bench phase prints; answers the console it printed to."""
    from rich.console import Console
    from rich.table import Table

    # A log file or pipe gets a wide table instead of rich's default 80 columns.
    console = console or (Console() if sys.stdout.isatty() else Console(width=160))
    table = Table(title=title)
    for name, justify in (
        ("figure", "left"),
        ("median", "right"),
        ("p95", "right"),
        ("raw SQL median", "right"),
        ("ratio", "right"),
        ("queries", "right"),
        ("rows", "right"),
        ("budget p95", "right"),
        ("", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for f in figures:
        table.add_row(
            f.label,
            f"{f.median:.2f}",
            f"{f.p95:.2f}",
            f"{f.raw_median:.2f}",
            f"{f.ratio:.1f}×",
            str(f.queries),
            str(f.rows),
            f"{f.budget_ms:.0f}",
            ("[green]met[/]" if f.met else "[red]MISSED[/]") + (f" — {f.note}" if f.note else ""),
        )
    console.print(table)
    return console


def render(report: BenchReport, console=None) -> None:
    console = print_figures(
        f"Rapport bench on {report.vendor} — {report.people:,} people, "
        f"{report.companies:,} companies, {report.runs} runs (server time, ms)",
        report.figures,
        console,
    )
    console.print(
        f"peak RSS of the measuring process: {report.peak_rss_mb:.0f} MB "
        f"(now {report.rss_mb:.0f} MB; budget 150 MB per web worker); "
        f"{report.cpus} CPUs, load average {report.load[0]:.2f} before, "
        f"{report.load[1]:.2f} after"
    )
