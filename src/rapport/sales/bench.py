"""The sales phase of ``rapport bench``: 1,000,000 deals in 5 pipelines on the bench workspace,
then the board, a move, the forecast of a year by owner, the sales dashboard and the deals API
next to the raw SQL.

Seeding (``seed``) adds to the workspace ``rapport.core.bench`` seeded (it needs its members,
people and companies) with the same technique as the other phases: deterministic rows streamed
in big batches (``executemany`` on SQLite, ``COPY`` on PostgreSQL) with the sales tables'
secondary indexes and constraints dropped and built again in one pass, in one transaction. Only
the five pipelines (and their stages) go through ``services.pipeline_create``. The data set:

- ``EXTRA_MEMBERS`` more members (50 in all) own the deals, skewed (``r() ** 1.4``); 3 % have
  no owner;
- the first pipeline ("New business") holds ``count // 10`` (100,000) live **open** deals, the
  board's big case, plus its closed and trashed ones; the others share the rest, 65 % open;
- open deals sit mostly in the early stages (40/28/20/12 %); 30 % of all deals are won or lost
  with ``closed_at`` and, when lost, a lost reason (some with a note);
- amounts are skewed (300 to a few million, 4 % without an amount) in USD (the workspace base,
  60 %), EUR (28 %) and GBP (12 %), with monthly exchange rates over four years;
- close dates span three years (two back, one ahead); ``stage_entered_at`` and
  ``last_interaction_at`` are spread (15 % never had an interaction: stalled deals);
- 75 % of the deals have a company, 60 % have people (1–3, the first one working at the deal's
  company), 8 % have tags; 1 % are in the trash;
- stage history: one row per stage the deal went through, 1–4 per deal (open deals: every stage
  up to the current one; won and lost: 1–3 open stages, then the closing one), the open row
  without ``left_at``;
- a yearly quota per member for the current year.

Deals get no search entries (the search bench covers search; a deal moved by the bench is
indexed by the service as usual).

Measuring (``measure``) sends real requests through the WSGI application like the other phases
(session cookie for pages, bearer token for the API), calls the services and selectors
directly where there is no page yet, and times hand-written SQL returning the same rows on a
warm connection.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import connection, transaction

from rapport.contacts.models import Company, Person
from rapport.core.actors import Actor, ActorKind, Role
from rapport.core.bench import (
    BASE_TIME,
    BATCH,
    BENCH_SEED,
    SOURCES,
    Encoder,
    Figure,
    Loader,
    _bulk_mode,
    _check_columns,
    _say_default,
    _table,
    _uuid4_int,
    bench_workspace,
)
from rapport.core.models import Tag
from rapport.tenancy.models import Membership, Workspace
from rapport.users.models import User

from .models import Deal, DealPerson, ExchangeRate, LostReason, Pipeline, Quota, Stage, StageHistory

MEMBERS_TOTAL = 50  # deal owners (the core bench has 20 members: 30 more join)
PIPELINES = ("New business", "Renewals", "Partners", "Enterprise", "Self-serve upgrades")
BOARD_SHARE = 10  # one deal in ten is an open deal of the first pipeline (the board's case)
OPEN_STAGE_SHARES = (40, 28, 20, 12)  # of the open deals, per open stage
DELETED_SHARE = 0.01
CURRENCIES = (("USD", 60), ("EUR", 28), ("GBP", 12))  # USD is the workspace base
RATES = {"EUR": 1.08, "GBP": 1.27}  # around these, month by month
DEAL_TAGS = ("hot", "renewal", "upsell", "strategic")
PRODUCTS = (
    "Platform licence",
    "Onboarding",
    "Support plan",
    "Expansion",
    "Renewal",
    "Pilot",
    "Training",
    "Integration",
)
NEXT_STEPS = ("Send the proposal", "Book a demo", "Call the CFO", "Security review", "")
LOST_NOTES = ("Went with the incumbent.", "Budget frozen until next year.", "")
DAY = 86_400 * 1_000_000  # micro-seconds
SLOW_MS = 2_000  # a figure slower than this gets fewer runs

DEAL_COLUMNS = (
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
    "name",
    "pipeline_id",
    "stage_id",
    "status",
    "amount",
    "currency",
    "close_date",
    "owner_id",
    "company_id",
    "next_step",
    "source",
    "lost_reason_id",
    "lost_note",
    "forecast_category",
    "stage_entered_at",
    "closed_at",
    "last_interaction_at",
    "external_id",
)
HISTORY_COLUMNS = (
    "id",
    "workspace_id",
    "deal_id",
    "pipeline_id",
    "stage_id",
    "stage_name",
    "stage_type",
    "entered_at",
    "left_at",
    "duration_seconds",
    "actor_kind",
    "actor_id",
)
DEAL_PERSON_COLUMNS = ("id", "workspace_id", "deal_id", "person_id", "role")
DEAL_TAG_COLUMNS = ("deal_id", "tag_id")
ROLES = ("decision_maker", "champion", "influencer", "economic_buyer", "user", "")


def _deal_tags_table() -> str:
    return Deal._meta.get_field("tags").remote_field.through._meta.db_table  # type: ignore[union-attr]


def _tables() -> list[str]:
    return [
        _table(Deal),
        _table(DealPerson),
        _table(StageHistory),
        _deal_tags_table(),
    ]


# --- sizes and the cast ---------------------------------------------------------------------


def sizes(count: int) -> dict[str, int]:
    """How many deals of each kind in the board pipeline for ``count`` deals."""
    board_open = count // BOARD_SHARE
    return {
        "board_open": board_open,
        "board_closed": count * 43 // 1000,
        "board_deleted": count // 1000,
    }


@dataclass
class StageInfo:
    id: str  # encoded
    pk: uuid.UUID
    name: str
    type: str
    probability: int


@dataclass
class PipelineInfo:
    id: str
    pk: uuid.UUID
    name: str
    open: list[StageInfo]
    won: StageInfo
    lost: StageInfo


@dataclass
class SalesCast:
    workspace_id: str
    owner_id: str  # the workspace owner (encoded)
    members: list[str]  # encoded user ids of the deal owners
    pipelines: list[PipelineInfo]
    lost_reasons: list[str]
    tags: dict[str, str]
    # (person, company) of live people with a company: a deal's people and company.
    contacts: list[tuple[str, str]]
    loners: list[str]  # live people without a company
    today: dt.date
    now_micros: int  # start of today, micro-seconds after BASE_TIME


def _owner_membership(ws: Workspace) -> Membership:
    membership = (
        Membership.objects.filter(workspace=ws, role=Role.OWNER.value)
        .select_related("user")
        .order_by("user__email")
        .first()
    )
    if membership is None:
        raise RuntimeError("The bench workspace has no owner: seed it again (rapport bench).")
    return membership


def owner_actor(ws: Workspace) -> Actor:
    return Actor(
        kind=ActorKind.USER, workspace=ws, role=Role.OWNER, user=_owner_membership(ws).user
    )


def _ensure_members(ws: Workspace) -> list[uuid.UUID]:
    """Members enough to own the deals (``MEMBERS_TOTAL``); idempotent."""
    have = Membership.objects.filter(workspace=ws).count()
    if have < MEMBERS_TOTAL:
        emails = [f"bench{i:02d}@bench.example" for i in range(MEMBERS_TOTAL)]
        existing = set(User.objects.filter(email__in=emails).values_list("email", flat=True))
        users = []
        for i, email in enumerate(emails):
            if email not in existing:
                user = User(email=email, full_name=f"Bench Member {i:02d}")
                user.set_unusable_password()
                users.append(user)
        User.objects.bulk_create(users)
        members = set(Membership.objects.filter(workspace=ws).values_list("user__email", flat=True))
        Membership.objects.bulk_create(
            Membership(workspace=ws, user=u, role=Role.MEMBER.value)
            for u in User.objects.filter(email__in=emails).order_by("email")
            if u.email not in members
        )
    return list(
        Membership.objects.filter(workspace=ws)
        .order_by("user__email")
        .values_list("user_id", flat=True)[:MEMBERS_TOTAL]
    )


def _pipeline_infos(ws: Workspace, enc: Encoder) -> list[PipelineInfo]:
    infos = []
    for pipeline in Pipeline.objects.filter(workspace=ws, name__in=PIPELINES).order_by("position"):
        stages = [
            StageInfo(enc.uuid(s.pk.int), s.pk, s.name, s.type, s.probability)
            for s in Stage.objects.filter(pipeline=pipeline).order_by("position")
        ]
        infos.append(
            PipelineInfo(
                id=enc.uuid(pipeline.pk.int),
                pk=pipeline.pk,
                name=pipeline.name,
                open=[s for s in stages if s.type == "open"],
                won=next(s for s in stages if s.type == "won"),
                lost=next(s for s in stages if s.type == "lost"),
            )
        )
    return infos


def _today_micros(enc: Encoder) -> tuple[dt.date, int]:
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today.date(), (today - BASE_TIME) // dt.timedelta(microseconds=1)


def board_pipeline(ws: Workspace) -> Pipeline | None:
    return Pipeline.objects.filter(workspace=ws, name=PIPELINES[0]).first()


def _prepare(ws: Workspace, enc: Encoder, say) -> SalesCast:
    """Members, pipelines (through the service), lost reasons, tags, rates and quotas."""
    from . import services

    member_ids = _ensure_members(ws)
    actor = owner_actor(ws)
    if not Pipeline.objects.filter(workspace=ws, name=PIPELINES[0]).exists():
        for name in PIPELINES:
            services.pipeline_create(
                actor=actor, data={"name": name, "stages": services.DEFAULT_STAGES}
            )
    if not LostReason.objects.filter(workspace=ws).exists():
        for reason in services.DEFAULT_LOST_REASONS:
            services.lost_reason_create(actor=actor, name=reason)
    existing_tags = set(Tag.objects.filter(workspace=ws).values_list("name", flat=True))
    Tag.objects.bulk_create(Tag(workspace=ws, name=n) for n in DEAL_TAGS if n not in existing_tags)
    today, now_micros = _today_micros(enc)
    _rates_and_quotas(ws, actor, member_ids, today)
    people = Person.objects.filter(workspace=ws, deleted_at__isnull=True).order_by("pk")
    contacts = [
        (enc.uuid(p.int), enc.uuid(c.int))
        for p, c in people.filter(company__isnull=False).values_list("pk", "company_id")[:300_000]
    ]
    loners = [
        enc.uuid(p.int) for p in people.filter(company__isnull=True).values_list("pk", flat=True)
    ][:50_000]
    if not contacts:
        raise RuntimeError("The bench workspace has no people with a company: seed it first.")
    return SalesCast(
        workspace_id=enc.uuid(ws.pk.int),
        owner_id=enc.uuid(actor.user.pk.int),  # type: ignore[union-attr]
        members=[enc.uuid(pk.int) for pk in member_ids],
        pipelines=_pipeline_infos(ws, enc),
        lost_reasons=[
            enc.uuid(pk.int)
            for pk in LostReason.objects.filter(workspace=ws)
            .order_by("position", "name")
            .values_list("pk", flat=True)
        ],
        tags={
            t.name: enc.uuid(t.pk.int) for t in Tag.objects.filter(workspace=ws, name__in=DEAL_TAGS)
        },
        contacts=contacts,
        loners=loners,
        today=today,
        now_micros=now_micros,
    )


def _rates_and_quotas(ws: Workspace, actor: Actor, members: list[uuid.UUID], today) -> None:
    """Monthly EUR and GBP rates over four years and this year's quota per member (bulk: the
    services would add an audit entry per row, and nothing here is measured)."""
    from decimal import Decimal

    from rapport.core.bulk import insert_values

    now = dt.datetime.now(dt.UTC)
    user = actor.user.pk  # type: ignore[union-attr]
    stamp = (now, now, "user", user, "user", user)
    stamped: tuple[str, ...] = ("created_at", "updated_at", "created_by_kind", "created_by_id")
    stamped += ("updated_by_kind", "updated_by_id")
    if not ExchangeRate.objects.filter(workspace=ws).exists():
        rng = random.Random(BENCH_SEED * 7)
        rows = []
        for currency, around in RATES.items():
            for months in range(48):
                year, month = divmod(today.year * 12 + today.month - 1 - 40 + months, 12)
                rate = Decimal(f"{around * (0.93 + rng.random() * 0.14):.6f}")
                day = dt.date(year, month + 1, 1)
                rows.append((uuid.uuid4(), ws.pk, *stamp, "USD", currency, rate, day))
        insert_values(
            ExchangeRate,
            ("id", "workspace_id", *stamped, "base", "currency", "rate", "valid_from"),
            rows,
        )
    start = dt.date(today.year, 1, 1)
    if not Quota.objects.filter(workspace=ws, period="year", start=start).exists():
        quotas = [
            (uuid.uuid4(), ws.pk, *stamp, pk, "year", start, Decimal(600_000 + 40_000 * i), "USD")
            for i, pk in enumerate(members)
        ]
        insert_values(
            Quota,
            ("id", "workspace_id", *stamped, "user_id", "period", "start", "amount", "currency"),
            quotas,
        )


# --- the generator ----------------------------------------------------------------------------


def _weighted(pairs) -> list[Any]:
    out: list[Any] = []
    for name, share in pairs:
        out.extend([name] * share)
    return out


def _plan(count: int, rng: random.Random) -> Iterator[tuple[int, str, bool]]:
    """(pipeline index, status, deleted) for each deal: the board pipeline's first."""
    s = sizes(count)
    r = rng.random
    for _ in range(s["board_open"]):
        yield 0, "open", False
    for _ in range(s["board_deleted"]):
        yield 0, "open", True
    for _ in range(s["board_closed"]):
        yield 0, "won" if r() < 0.45 else "lost", False
    for _ in range(count - s["board_open"] - s["board_deleted"] - s["board_closed"]):
        x = r()
        status = "open" if x < 0.65 else "won" if x < 0.82 else "lost"
        yield 1 + int(r() * 4), status, r() < DELETED_SHARE


def deal_rows(
    cast: SalesCast, count: int, enc: Encoder, seed: int = BENCH_SEED
) -> Iterator[tuple[tuple, list[tuple], list[tuple], list[tuple]]]:
    """(deal row, history rows, deal-person rows, tag rows) for each deal."""
    rng = random.Random(seed * 53 + 5)
    r = rng.random
    ws = cast.workspace_id
    members = cast.members
    n_members = len(members)
    currencies = _weighted(CURRENCIES)
    open_stage_of = _weighted((i, share) for i, share in enumerate(OPEN_STAGE_SHARES))
    contacts, loners = cast.contacts, cast.loners
    n_contacts, n_loners = len(contacts), len(loners)
    tags = [cast.tags[name] for name in DEAL_TAGS if name in cast.tags]
    reasons = cast.lost_reasons
    now = cast.now_micros
    today_ordinal = cast.today.toordinal()
    base_ordinal = BASE_TIME.date().toordinal()
    creator = cast.owner_id
    uid = enc.uuid
    when = enc.time
    for i, (p, status, deleted) in enumerate(_plan(count, rng)):
        pipeline = cast.pipelines[p]
        deal_id = uid(_uuid4_int(rng))
        owner = members[int(n_members * r() ** 1.4)] if r() < 0.97 else None
        # The path through the stages: history rows (stage, entered) oldest first.
        if status == "open":
            current = open_stage_of[int(r() * len(open_stage_of))]
            path = pipeline.open[: current + 1]
            entered = now - int(r() ** 2 * 240 * DAY) - int(r() * DAY)
            close_day = today_ordinal - 45 + int(r() * 410)
            closed_at = None
        else:
            opened = 1 + int(r() * 3)
            path = [*pipeline.open[:opened], pipeline.won if status == "won" else pipeline.lost]
            close_day = today_ordinal - 1 - int(r() * 730)
            entered = (close_day - base_ordinal) * DAY + int((8 + r() * 10) * 3600 * 1_000_000)
            closed_at = entered
        stage = path[-1]
        # Earlier stays: 2 to 40 days each, going back from the current one.
        times = [entered]
        for _ in path[:-1]:
            times.append(times[-1] - int((2 + r() * 38) * DAY))
        times.reverse()
        created = times[0] - int(r() * 3 * DAY)
        history = []
        for k, (st, at) in enumerate(zip(path, times, strict=True)):
            last = k == len(path) - 1
            left = None if last else times[k + 1]
            history.append(
                (
                    uid(_uuid4_int(rng)),
                    ws,
                    deal_id,
                    pipeline.id,
                    st.id,
                    st.name,
                    st.type,
                    when(at),
                    None if left is None else when(left),
                    None if left is None else (left - at) // 1_000_000,
                    "user",
                    owner,
                )
            )
        last_interaction = None
        if r() < 0.85:
            end = now if closed_at is None else closed_at
            last_interaction = end - int(r() ** 1.5 * max(end - created, DAY))
        updated = max(entered, last_interaction or 0)
        if r() < 0.04:
            amount, currency = None, ""
        else:
            amount = f"{10 ** (2.5 + r() ** 2.2 * 4):.2f}"
            currency = currencies[int(r() * len(currencies))]
        people: list[str] = []
        company = None
        if r() < 0.75:
            person, company = contacts[int(n_contacts * r() ** 1.3)]
            if r() < 0.8:
                people.append(person)
                for _ in range(int(r() * 3)):
                    other = contacts[int(n_contacts * r())][0]
                    if other not in people:
                        people.append(other)
        elif n_loners and r() < 0.4:
            people.append(loners[int(n_loners * r())])
        deal_people = [
            (uid(_uuid4_int(rng)), ws, deal_id, person, ROLES[int(r() * len(ROLES))])
            for person in people
        ]
        deal_tags = [(deal_id, tags[int(r() * len(tags))])] if tags and r() < 0.08 else []
        lost_reason = lost_note = None
        if status == "lost":
            lost_reason = reasons[int(len(reasons) * r() ** 1.5)] if reasons else None
            lost_note = LOST_NOTES[int(r() * len(LOST_NOTES))]
        override = ""
        if status == "open" and r() < 0.03:
            override = "commit" if r() < 0.5 else "best_case"
        row = (
            deal_id,
            ws,
            when(created),
            when(updated),
            "user",
            creator,
            "user",
            owner or creator,
            len(path) + (last_interaction is not None),
            when(updated + DAY) if deleted else None,
            creator if deleted else None,
            "{}",
            f"{PRODUCTS[int(r() * len(PRODUCTS))]} #{i + 1}",
            pipeline.id,
            stage.id,
            status,
            amount,
            currency,
            dt.date.fromordinal(close_day).isoformat() if r() < 0.97 or closed_at else None,
            owner,
            company,
            NEXT_STEPS[int(r() * len(NEXT_STEPS))] if status == "open" else "",
            SOURCES[int(r() * len(SOURCES))],
            lost_reason,
            lost_note or "",
            override,
            when(entered),
            None if closed_at is None else when(closed_at),
            None if last_interaction is None else when(last_interaction),
            "",
        )
        yield row, history, deal_people, deal_tags


# --- seeding ------------------------------------------------------------------------------


@dataclass
class SeedReport:
    vendor: str
    deals: int
    history: int
    deal_people: int
    deal_tags: int
    seconds: float
    stages: dict[str, float] = field(default_factory=dict)
    reused: bool = False


def _count_deals(ws: Workspace) -> int:
    return Deal.objects.filter(workspace=ws).count()


def has_sales(ws: Workspace, count: int) -> bool:
    return (
        _count_deals(ws) == count
        and Pipeline.objects.filter(workspace=ws, name__in=PIPELINES).count() == len(PIPELINES)
        and StageHistory.objects.filter(workspace=ws).exists() == (count > 0)
    )


def wipe_sales(workspace_id: Any, say: Callable[[str], None] = _say_default) -> None:
    """Removes a workspace's deals (and their people, history and tags), pipelines, lost
    reasons, rates and quotas with raw deletes (the ORM's cascade would load a million rows)."""
    from rapport.search.models import SearchEntry

    started = time.perf_counter()
    deals = _table(Deal)
    with connection.cursor() as cur:
        cur.execute(f"SELECT 1 FROM {deals} WHERE workspace_id = %s LIMIT 1", [workspace_id])
        had_deals = cur.fetchone() is not None
        cur.execute(
            f"DELETE FROM {_deal_tags_table()} WHERE deal_id IN "
            f"(SELECT id FROM {deals} WHERE workspace_id = %s)",
            [workspace_id],
        )
        cur.execute(
            f"DELETE FROM {SearchEntry._meta.db_table} WHERE workspace_id = %s "
            "AND object_type = 'sales.deal'",
            [workspace_id],
        )
        tables = [DealPerson, StageHistory, Deal, Stage, Pipeline, LostReason, ExchangeRate, Quota]
        for table in map(_table, tables):
            cur.execute(f"DELETE FROM {table} WHERE workspace_id = %s", [workspace_id])
    if had_deals:
        say(f"removed the bench deals in {time.perf_counter() - started:.1f} s")


def _stream(rows, loaders: list[Loader], say) -> None:
    batches: list[list[tuple]] = [[] for _ in loaders]
    started = time.perf_counter()
    for count, (row, history, people, tags) in enumerate(rows, 1):
        batches[0].append(row)
        batches[1].extend(history)
        batches[2].extend(people)
        batches[3].extend(tags)
        if len(batches[0]) >= BATCH:
            for loader, batch in zip(loaders, batches, strict=True):
                loader.write(batch)
                batch.clear()
            if count % 200_000 == 0:
                say(f"  {count:,} deals in {time.perf_counter() - started:.0f} s")
    for loader, batch in zip(loaders, batches, strict=True):
        loader.write(batch)


def seed(
    count: int,
    *,
    seed: int = BENCH_SEED,
    reuse: bool = False,
    say: Callable[[str], None] = _say_default,
) -> SeedReport:
    """Adds ``count`` deals to the bench workspace (replacing the sales data there)."""
    vendor = connection.vendor
    ws = bench_workspace()
    if ws is None:
        raise RuntimeError("No bench workspace: seed the people first (rapport bench).")
    if reuse and has_sales(ws, count):
        say(f"reusing the bench deals ({count:,})")
        return SeedReport(vendor, count, 0, 0, 0, 0.0, reused=True)
    for model, columns in (
        (Deal, DEAL_COLUMNS),
        (StageHistory, HISTORY_COLUMNS),
        (DealPerson, DEAL_PERSON_COLUMNS),
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
            cur.execute("PRAGMA cache_size = -2000000")
            cur.execute("PRAGMA journal_mode = DELETE")
            cur.execute("PRAGMA threads = 2")
    try:
        with transaction.atomic():
            wipe_sales(enc.uuid(ws.pk.int), say)
            stage = time.perf_counter()
            cast = _prepare(ws, enc, say)
            stages["prepare"] = time.perf_counter() - stage
            loaders = [
                Loader(_table(Deal), DEAL_COLUMNS),
                Loader(_table(StageHistory), HISTORY_COLUMNS),
                Loader(_table(DealPerson), DEAL_PERSON_COLUMNS),
                Loader(_deal_tags_table(), DEAL_TAG_COLUMNS),
            ]
            with _bulk_mode(_tables(), say):
                stage = time.perf_counter()
                _stream(deal_rows(cast, count, enc, seed), loaders, say)
                stages["load deals"] = time.perf_counter() - stage
                say(
                    f"loaded {loaders[0].rows:,} deals, {loaders[1].rows:,} stage history rows, "
                    f"{loaders[2].rows:,} deal people, {loaders[3].rows:,} deal tags "
                    f"in {stages['load deals']:.1f} s"
                )
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
            for table in [*_tables(), _table(Stage), _table(Pipeline)]:
                if vendor == "postgresql":
                    cur.execute(f'VACUUM ANALYZE "{table}"')
                else:
                    cur.execute("PRAGMA analysis_limit = 2000")
                    cur.execute(f'ANALYZE "{table}"')
        stages["analyze"] = time.perf_counter() - stage
    total = time.perf_counter() - started
    say(f"deals seeded in {total:.1f} s")
    return SeedReport(
        vendor, loaders[0].rows, loaders[1].rows, loaders[2].rows, loaders[3].rows, total, stages
    )


# --- measuring ----------------------------------------------------------------------------


@dataclass
class Report:
    vendor: str
    database: str
    deals: int
    board_open: int
    interactions: int
    runs: int
    figures: list[Figure]
    peak_rss_mb: float
    rss_mb: float
    load: tuple[float, float] = (0.0, 0.0)
    cpus: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["figures"] = [f.summary() for f in self.figures]
        return data


def _reverse(name: str, **kwargs) -> str | None:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        return None


class _Raw:
    """Hand-written SQL doing what each figure's code does (same rows, same aggregates)."""

    def __init__(self, ws: Workspace):
        self.vendor = connection.vendor
        self.enc = Encoder(self.vendor)
        self.ws = self.enc.uuid(ws.pk.int)
        self.deal = _table(Deal)
        self.stage = _table(Stage)
        self.history = _table(StageHistory)
        self.cols = ", ".join(f'd."{f.column}"' for f in Deal._meta.concrete_fields)
        self.adapt = connection.ops.adapt_datetimefield_value

    def id(self, value: uuid.UUID) -> Any:
        return value.hex if self.vendor == "sqlite" else value

    def fetch(self, sql: str, params: list) -> list:
        with connection.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def _in(self, values: list) -> str:
        return ", ".join(["%s"] * len(values)) or "NULL"

    def _rates(self) -> list:
        return self.fetch(
            f"SELECT currency, valid_from, rate FROM {_table(ExchangeRate)} "
            "WHERE workspace_id = %s AND base = 'USD' ORDER BY currency, valid_from",
            [self.ws],
        )

    # the board

    def board_totals(self, stage_ids: list) -> list:
        """Count and amount per open stage and currency: the covering totals index."""
        ids = [self.id(s) for s in stage_ids]
        return self.fetch(
            f"SELECT stage_id, currency, COUNT(*), SUM(amount) FROM {self.deal} "
            f"WHERE workspace_id = %s AND deleted_at IS NULL AND stage_id IN ({self._in(ids)}) "
            "GROUP BY stage_id, currency",
            [self.ws, *ids],
        )

    def column(self, stage_id: uuid.UUID, after=None, limit: int = 20) -> list:
        """One page of a column: newest in the stage first, with owner and company."""
        where, params = "", []
        if after is not None:
            where = "AND (d.stage_entered_at, d.id) < (%s, %s)"
            params = [self.adapt(after[0]), self.id(after[1])]
        return self.fetch(
            f"SELECT {self.cols}, u.full_name, c.name FROM {self.deal} d "
            "LEFT JOIN users_user u ON u.id = d.owner_id "
            f"LEFT JOIN {_table(Company)} c ON c.id = d.company_id "
            "WHERE d.workspace_id = %s AND d.stage_id = %s AND d.deleted_at IS NULL "
            f"{where} ORDER BY d.stage_entered_at DESC, d.id DESC LIMIT {limit + 1}",
            [self.ws, self.id(stage_id), *params],
        )

    def board(self, pipeline_id: uuid.UUID, stage_ids: list) -> None:
        self.fetch(
            f"SELECT * FROM {self.stage} WHERE pipeline_id = %s ORDER BY position",
            [self.id(pipeline_id)],
        )
        self._rates()
        self.board_totals(stage_ids)
        for stage_id in stage_ids:
            self.column(stage_id)

    def _stages(self, pipeline_id: uuid.UUID) -> list:
        return self.fetch(
            f"SELECT * FROM {self.stage} WHERE pipeline_id = %s ORDER BY position, name",
            [self.id(pipeline_id)],
        )

    def board_page(self, pipeline_id: uuid.UUID) -> list:
        """What the board page reads: the pipelines, the stages, the totals per stage and
        currency of the pipeline's deals, the rates."""
        self.fetch(
            f"SELECT * FROM {_table(Pipeline)} WHERE workspace_id = %s ORDER BY position, name",
            [self.ws],
        )
        stages = [r[0] for r in self._stages(pipeline_id)]
        rows = self.fetch(
            f"SELECT stage_id, currency, COUNT(*), SUM(amount) FROM {self.deal} "
            f"WHERE workspace_id = %s AND deleted_at IS NULL AND stage_id IN ({self._in(stages)}) "
            "GROUP BY stage_id, currency",
            [self.ws, *stages],
        )
        self._rates()
        return rows

    def column_page(self, stage_id: uuid.UUID, pipeline_id: uuid.UUID, after=None) -> list:
        """A column's cards: the stage, the pipeline's stages (the move menu), 20 cards."""
        self.fetch(
            f"SELECT * FROM {self.stage} WHERE id = %s AND workspace_id = %s",
            [self.id(stage_id), self.ws],
        )
        self._stages(pipeline_id)
        return self.column(stage_id, after)

    # a move

    def move(self, deal_id: uuid.UUID, stage: StageInfo, pipeline_id: uuid.UUID) -> None:
        """The writes of a move, in one transaction: lock the deal, close its open history
        row, open the next one, update the deal."""
        now = dt.datetime.now(dt.UTC)
        at = self.adapt(now)
        pk = self.id(deal_id)
        lock = " FOR UPDATE" if self.vendor == "postgresql" else ""
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                f"SELECT id, stage_id, version FROM {self.deal} WHERE id = %s "
                f"AND workspace_id = %s AND deleted_at IS NULL{lock}",
                [pk, self.ws],
            )
            _id, _stage, version = cur.fetchone()
            cur.execute(
                f"SELECT id, entered_at FROM {self.history} WHERE deal_id = %s "
                "AND left_at IS NULL ORDER BY entered_at DESC LIMIT 1",
                [pk],
            )
            row = cur.fetchone()
            if row is not None:
                cur.execute(
                    f"UPDATE {self.history} SET left_at = %s, duration_seconds = %s WHERE id = %s",
                    [at, 0, row[0]],
                )
            cur.execute(
                f'INSERT INTO {self.history} ({", ".join(HISTORY_COLUMNS)}) '
                f"VALUES ({self._in(list(HISTORY_COLUMNS))})",
                [self.enc.uuid(uuid.uuid4().int), self.ws, pk, self.id(pipeline_id),
                 self.id(stage.pk), stage.name, stage.type, at, None, None, "user", None],
            )  # fmt: skip
            cur.execute(
                f"UPDATE {self.deal} SET stage_id = %s, pipeline_id = %s, status = %s, "
                "stage_entered_at = %s, closed_at = NULL, version = %s, updated_at = %s "
                "WHERE id = %s",
                [self.id(stage.pk), self.id(pipeline_id), stage.type, at, version + 1, at, pk],
            )

    # the forecast of a year by owner

    def forecast(self, start: dt.date, end: dt.date) -> None:
        since = self.adapt(dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC))
        until = self.adapt(dt.datetime.combine(end, dt.time.min, tzinfo=dt.UTC))
        self.fetch(
            f"SELECT id, probability, forecast_category FROM {self.stage} WHERE workspace_id = %s",
            [self.ws],
        )
        group = "d.owner_id, d.status, d.forecast_category, d.stage_id, d.currency"
        live = "d.workspace_id = %s AND d.deleted_at IS NULL"
        self.fetch(  # the deals with a close date in the year
            f"SELECT {group}, SUM(d.amount), COUNT(*) FROM {self.deal} d WHERE {live} "
            "AND d.close_date >= %s AND d.close_date < %s AND d.status IN ('open', 'won') "
            f"GROUP BY {group}",
            [self.ws, start, end],
        )
        self.fetch(  # and those won in it without one
            f"SELECT {group}, SUM(d.amount), COUNT(*) FROM {self.deal} d WHERE {live} "
            "AND d.status = 'won' AND d.closed_at >= %s AND d.closed_at < %s "
            f"AND d.close_date IS NULL GROUP BY {group}",
            [self.ws, since, until],
        )
        self._rates()
        self.fetch(
            f"SELECT user_id, start, amount, currency FROM {_table(Quota)} "
            "WHERE workspace_id = %s AND period = 'year' AND start = %s",
            [self.ws, start],
        )
        self.fetch(
            "SELECT u.id, u.full_name, u.email FROM users_user u JOIN tenancy_membership m "
            "ON m.user_id = u.id WHERE m.workspace_id = %s",
            [self.ws],
        )

    # the dashboard

    def _cycle(self) -> str:
        if self.vendor == "postgresql":
            return "EXTRACT(EPOCH FROM (d.closed_at - d.created_at))"
        return "(julianday(d.closed_at) - julianday(d.created_at)) * 86400"

    def _month(self) -> str:
        if self.vendor == "postgresql":
            return "date_trunc('month', d.closed_at)"
        return "strftime('%%Y-%%m', d.closed_at)"

    def dashboard(self, now: dt.datetime, days: int = 90, stalled_days: int = 14) -> None:
        since = self.adapt(now - dt.timedelta(days=days))
        cutoff = self.adapt(now - dt.timedelta(days=stalled_days))
        live = "d.workspace_id = %s AND d.deleted_at IS NULL"
        closed = f"{live} AND d.status IN ('won', 'lost') AND d.closed_at >= %s"
        won = f"{live} AND d.status = 'won' AND d.closed_at >= %s"
        lost = f"{live} AND d.status = 'lost' AND d.closed_at >= %s"
        cycle = self._cycle()
        self.fetch(
            "SELECT s.id, s.pipeline_id, p.position, p.name, s.position, s.name "
            f"FROM {self.stage} s JOIN {_table(Pipeline)} p ON p.id = s.pipeline_id "
            "WHERE s.workspace_id = %s",
            [self.ws],
        )
        self._rates()
        # every closed-deal figure from one grouped pass: per pipeline, status, currency, lost
        # reason, month of closing and cycle bucket
        buckets = " ".join(
            f"WHEN {cycle} <= {limit * 86400} THEN {i}"
            for i, limit in enumerate((7, 30, 60, 90, 180))
        )
        self.fetch(
            f"SELECT d.pipeline_id, d.status, d.currency, d.lost_reason_id, {self._month()} AS m, "
            f"CASE {buckets} ELSE 5 END AS b, COUNT(*), COUNT(d.amount), SUM(d.amount), "
            f"SUM({cycle}) FROM {self.deal} d WHERE {closed} "
            "GROUP BY d.pipeline_id, d.status, d.currency, d.lost_reason_id, m, b",
            [self.ws, since],
        )
        self.fetch(f"SELECT id, name FROM {_table(LostReason)} WHERE workspace_id = %s", [self.ws])
        n = self.fetch(f"SELECT COUNT(*) FROM {self.deal} d WHERE {won}", [self.ws, since])[0][0]
        if n:
            self.fetch(
                f"SELECT {cycle} AS c FROM {self.deal} d WHERE {won} ORDER BY c, d.id "
                f"LIMIT {2 - n % 2} OFFSET {(n - 1) // 2}",
                [self.ws, since],
            )
        for which in (won, lost):  # the stages the won, then the lost deals went through
            self.fetch(
                f"SELECT h.stage_id, COUNT(DISTINCT h.deal_id) FROM {self.history} h "
                "WHERE h.stage_type = 'open' AND h.deal_id IN "
                f"(SELECT d.id FROM {self.deal} d WHERE {which}) GROUP BY h.stage_id",
                [self.ws, since],
            )
        silent = "COALESCE(d.last_interaction_at, d.stage_entered_at)"
        stalled = (
            "(d.last_interaction_at < %s OR (d.last_interaction_at IS NULL "
            "AND d.stage_entered_at < %s))"
        )
        self.fetch(  # open and stalled deals per stage, one pass
            f"SELECT d.stage_id, COUNT(*), SUM(CASE WHEN {stalled} THEN 1 ELSE 0 END) "
            f"FROM {self.deal} d WHERE {live} AND d.status = 'open' GROUP BY d.stage_id",
            [cutoff, cutoff, self.ws],
        )
        self.fetch(
            f"SELECT {self.cols}, s.name, u.full_name, {silent} AS silent FROM {self.deal} d "
            f"JOIN {self.stage} s ON s.id = d.stage_id LEFT JOIN users_user u "
            f"ON u.id = d.owner_id WHERE {live} AND d.status = 'open' AND {silent} < %s "
            "ORDER BY silent, d.id LIMIT 10",
            [self.ws, cutoff],
        )
        self.fetch(
            f"SELECT id, name FROM {_table(Pipeline)} WHERE workspace_id = %s "
            "ORDER BY position, name",
            [self.ws],
        )

    # the API

    def _related(self) -> str:
        return (
            f"SELECT {self.cols}, s.name, p.name, u.full_name, c.name, r.name "
            f"FROM {self.deal} d JOIN {self.stage} s ON s.id = d.stage_id "
            f"JOIN {_table(Pipeline)} p ON p.id = d.pipeline_id "
            "LEFT JOIN users_user u ON u.id = d.owner_id "
            f"LEFT JOIN {_table(Company)} c ON c.id = d.company_id "
            f"LEFT JOIN {_table(LostReason)} r ON r.id = d.lost_reason_id "
        )

    def _extras(self, ids: list) -> None:
        self.fetch(
            f"SELECT l.deal_id, t.id, t.name FROM {_deal_tags_table()} l JOIN {_table(Tag)} t "
            f"ON t.id = l.tag_id WHERE l.deal_id IN ({self._in(ids)})",
            ids,
        )
        self.fetch(
            f"SELECT id, deal_id, person_id, role FROM {_table(DealPerson)} "
            f"WHERE deal_id IN ({self._in(ids)}) ORDER BY id",
            ids,
        )

    def deal_page(self) -> list:
        rows = self.fetch(
            f"{self._related()} WHERE d.workspace_id = %s AND d.deleted_at IS NULL "
            "ORDER BY d.created_at DESC, d.id DESC LIMIT 51",
            [self.ws],
        )
        self._extras([r[0] for r in rows[:50]])
        return rows

    def deal_get(self, pk: uuid.UUID) -> list:
        rows = self.fetch(
            f"{self._related()} WHERE d.id = %s AND d.workspace_id = %s AND d.deleted_at IS NULL",
            [self.id(pk), self.ws],
        )
        self._extras([r[0] for r in rows])
        return rows


def _board_orm(actor: Actor, pipeline: Pipeline, open_stages: list[Stage]) -> list:
    """What the board's first render reads, through the ORM (used while ``sales.board`` has
    no view): the stages, the rates, count and amount per open stage and currency, converted
    with their weighted amount, and the first 20 cards of every open column."""
    from django.db.models import Count, Sum

    from .money import Rates

    stages = list(Stage.objects.filter(pipeline=pipeline).order_by("position"))
    deals = Deal.objects.visible_to(actor)
    rates = Rates(actor.workspace)
    sums: dict[Any, dict[str, Any]] = {}
    for row in (
        deals.filter(stage__in=[s.pk for s in open_stages])
        .values("stage_id", "currency")
        .annotate(n=Count("id"), amount=Sum("amount"))
        .order_by()
    ):
        sums.setdefault(row["stage_id"], {})[row["currency"]] = row["amount"]
    today = dt.date.today()
    totals = [rates.total(sums.get(s.pk, {}), today) for s in stages]
    columns = [_column_orm(deals, s) for s in open_stages]
    return [totals, columns]


def _column_orm(deals, stage: Stage, after=None, limit: int = 20) -> list:
    from django.db.models import Q

    qs = deals.filter(stage=stage)
    if after is not None:  # as core.pagination.after_cursor writes it (a range, then the tie)
        qs = qs.filter(stage_entered_at__lte=after[0]).filter(
            Q(stage_entered_at__lt=after[0]) | Q(stage_entered_at=after[0], pk__lt=after[1])
        )
    return list(
        qs.select_related("owner", "company").order_by("-stage_entered_at", "-id")[: limit + 1]
    )


def _timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def measure(
    *,
    runs: int = 15,
    warmup: int = 2,
    only: set[str] | None = None,
    say: Callable[[str], None] = _say_default,
) -> Report:
    """Times every sales figure ``runs`` times through the app and as raw SQL."""
    from rapport.activities.bench import _Caller, _session_cookie
    from rapport.activities.models import Activity
    from rapport.core.bench import (
        _keep_connections,
        _load_average,
        _QueryCounter,
        _rss_mb,
    )
    from rapport.users.services import token_create, token_revoke

    from . import services
    from .dashboard import dashboard
    from .forecast import forecast

    ws = bench_workspace()
    if ws is None:
        raise RuntimeError("No bench workspace: seed it first (rapport bench).")
    pipeline = board_pipeline(ws)
    if pipeline is None:
        raise RuntimeError("No bench deals: seed them first (rapport bench).")
    actor = owner_actor(ws)
    owner = actor.user
    raw = _Raw(ws)
    stages = list(Stage.objects.filter(pipeline=pipeline).order_by("position"))
    open_stages = [s for s in stages if s.type == "open"]
    open_ids = [s.pk for s in open_stages]
    first, second = open_stages[0], open_stages[1]
    live = Deal.objects.filter(workspace=ws, deleted_at__isnull=True)
    board_open = live.filter(pipeline=pipeline, status="open").count()
    deals_total = Deal.objects.filter(workspace=ws).count()
    interactions = Activity.objects.filter(workspace=ws).count()
    notes: list[str] = []
    # Deals a stopped run moved and did not bring back: moved today (seeded rows are older).
    start_of_day = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first_info = StageInfo(raw.enc.uuid(first.pk.int), first.pk, first.name, "open", 0)
    for pk in live.filter(stage=second, updated_at__gte=start_of_day).values_list("pk", flat=True):
        raw.move(pk, first_info, pipeline.pk)
    first_count = live.filter(stage=first).count()
    say(
        f"{deals_total:,} deals; board pipeline {pipeline.name!r}: {board_open:,} open "
        f"({first_count:,} in {first.name!r}); {interactions:,} interactions"
    )
    # Page 2 of the first column: the cursor is the last card of page 1.
    page_one = list(
        live.filter(stage=first).order_by("-stage_entered_at", "-id")
        .values_list("stage_entered_at", "id")[:20]
    )  # fmt: skip
    after = page_one[-1]
    # Deals to move: first-column deals of the board pipeline without required fields to fill.
    movers = list(
        live.filter(stage=first).order_by("pk").values_list("pk", flat=True)[: runs + warmup]
    )
    sample = list(live.order_by("pk").values_list("pk", flat=True)[: runs * 1000 : 1000])
    year = dt.date.today().year
    year_start, year_end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    now = dt.datetime.now(dt.UTC)

    api_token, raw_token = token_create(actor=actor, name="rapport bench sales")
    caller = _Caller(raw_token)
    page_caller = _Caller(raw_token, _session_cookie(owner, ws))

    def http(c: _Caller, path: str, query: str = "") -> Callable[[int], float]:
        def call(i: int) -> float:
            elapsed, status, body = c(path, query)
            if status != 200:
                raise RuntimeError(f"{path}?{query} answered {status}: {body[:300]!r}")
            return elapsed

        return call

    def timed(fn: Callable[[int], Any]) -> Callable[[int], float]:
        return lambda i: _timed(lambda: fn(i))

    # (figure, app call -> ms, raw call)
    figures: list[tuple[Figure, Callable[[int], float], Callable[[int], Any]]] = []
    board_url = _reverse("sales:board_pipeline", pipeline_id=pipeline.pk)
    column_url = _reverse("sales:board_column", stage_id=first.pk)
    if board_url and column_url:
        # The page renders the columns with their totals; each column's cards come lazily.
        from rapport.core.pagination import encode_cursor

        from .board import COLUMN_SORT

        twentieth = live.filter(stage=first).order_by("-stage_entered_at", "-id")[19]
        cursor = encode_cursor(COLUMN_SORT, twentieth)
        figures += [
            (
                Figure("board", f"board page, {board_open:,} open deals (GET {board_url})", 200),
                http(page_caller, board_url),
                lambda i: raw.board_page(pipeline.pk),
            ),
            (
                Figure(
                    "board_column",
                    f"column {first.name!r} ({first_count:,} deals), first 20 cards",
                    200,
                ),
                http(page_caller, column_url),
                lambda i: raw.column_page(first.pk, pipeline.pk),
            ),
            (
                Figure("board_column_more", f"column {first.name!r}, next 20 (cursor)", 200),
                http(page_caller, column_url, f"cursor={cursor}"),
                lambda i: raw.column_page(first.pk, pipeline.pk, after),
            ),
        ]
    else:
        notes.append(
            "board: no `sales:board_pipeline` view; timed the ORM reads the board needs "
            "(stages, rates, totals per stage and currency converted, first 20 cards per column)"
        )
        figures += [
            (
                Figure("board", f"board reads, {board_open:,} open deals (ORM, no view)", 200),
                timed(lambda i: _board_orm(actor, pipeline, open_stages)),
                lambda i: raw.board(pipeline.pk, open_ids),
            ),
            (
                Figure("board_column", f"column {first.name!r} page 2 (ORM, no view)", 200),
                timed(lambda i: _column_orm(Deal.objects.visible_to(actor), first, after)),
                lambda i: raw.column(first.pk, after),
            ),
        ]
    figures.append(
        (
            Figure("move", f"services.deal_move ({first.name} → {second.name})", 1000),
            timed(
                lambda i: services.deal_move(
                    actor=actor, deal_id=movers[i % len(movers)], stage=str(second.pk)
                )
            ),
            # The same deals moved back by the raw writes.
            lambda i: raw.move(movers[i % len(movers)], first_info, pipeline.pk),
        )
    )
    forecast_query = f"period=year&start={year_start}&periods=1&group_by=owner"
    figures.append(
        (
            Figure("forecast_api", f"GET /api/v1/forecast?{forecast_query}", 1000),
            http(caller, "/api/v1/forecast", forecast_query),
            lambda i: raw.forecast(year_start, year_end),
        )
    )
    forecast_url = _reverse("sales:forecast")
    if forecast_url:
        figures.append(
            (
                Figure("forecast_page", f"forecast page, year by owner (GET {forecast_url})", 1000),
                http(page_caller, forecast_url, forecast_query),
                lambda i: raw.forecast(year_start, year_end),
            )
        )
    else:
        notes.append("forecast: no `sales:forecast` page yet; timed forecast() and the API")
        figures.append(
            (
                Figure("forecast", "forecast(period=year, group_by=owner)", 1000),
                timed(
                    lambda i: forecast(
                        actor=actor, period="year", start=year_start, group_by="owner"
                    )
                ),
                lambda i: raw.forecast(year_start, year_end),
            )
        )
    dashboard_url = _reverse("sales:dashboard")
    if dashboard_url:
        figures.append(
            (
                Figure("dashboard", f"sales dashboard page (GET {dashboard_url})", 1000),
                http(page_caller, dashboard_url, ""),
                lambda i: raw.dashboard(now),
            )
        )
    else:
        notes.append("dashboard: no `sales:dashboard` page yet; timed dashboard()")
        figures.append(
            (
                Figure("dashboard", "dashboard() (90 days, stalled 14 days)", 1000),
                timed(lambda i: dashboard(actor=actor, now=now)),
                lambda i: raw.dashboard(now),
            )
        )
    figures.append(
        (
            Figure("deal_list", "GET /api/v1/deals?limit=50", 25),
            http(caller, "/api/v1/deals", "limit=50"),
            lambda i: raw.deal_page(),
        )
    )
    if sample:
        figures.append(
            (
                Figure("deal_get", "GET /api/v1/deals/{id}", 25),
                lambda i: http(caller, f"/api/v1/deals/{sample[i % len(sample)]}")(i),
                lambda i: raw.deal_get(sample[i % len(sample)]),
            )
        )

    if only:
        figures = [f for f in figures if f[0].key in only]
    load_before = _load_average()
    try:
        with _keep_connections():
            # A figure whose warm-up takes seconds gets fewer runs (a fifth, at least 3).
            counts: dict[str, int] = {}
            for figure, app, _raw in figures:
                elapsed = 0.0
                for k in range(warmup):
                    elapsed = app(runs + k)
                counts[figure.key] = runs if elapsed < SLOW_MS else max(3, runs // 5)
                say(f"  {figure.label}: {elapsed:.0f} ms (warm-up)")
            for i in range(runs):
                for figure, app, _raw in figures:
                    if i < counts[figure.key]:
                        figure.api_ms.append(app(i))
            for figure, app, _raw in figures:
                if figure.key == "move":  # back first: a move to where it is changes nothing
                    raw.move(movers[0], first_info, pipeline.pk)
                counter = _QueryCounter()
                with connection.execute_wrapper(counter):
                    app(0)
                figure.queries = counter.count
            for figure, _app, raw_call in figures:
                for k in range(warmup):
                    raw_call(runs + k)
                for i in range(counts[figure.key]):
                    started = time.perf_counter()
                    raw_call(i)
                    figure.raw_ms.append((time.perf_counter() - started) * 1000)
                say(f"  {figure.label}: raw {figure.raw_median:.1f} ms, app {figure.median:.1f} ms")
    finally:
        token_revoke(actor=actor, token_id=api_token.pk)
        # Put the moved deals back where they were (the raw moves did; this is a safety net).
        back = list(live.filter(pk__in=movers, stage=second).values_list("pk", flat=True))
        for pk in back:
            raw.move(pk, first_info, pipeline.pk)
    rss, peak = _rss_mb()
    return Report(
        vendor=connection.vendor,
        database=str(connection.settings_dict.get("NAME")),
        deals=deals_total,
        board_open=board_open,
        interactions=interactions,
        runs=runs,
        figures=[f for f, _a, _r in figures],
        peak_rss_mb=round(peak, 1),
        rss_mb=round(rss, 1),
        load=(load_before, _load_average()),
        cpus=os.cpu_count() or 0,
        notes=notes,
    )


def render(report: Report, console=None) -> None:
    from rapport.core.bench import print_figures

    console = print_figures(
        f"Sales bench on {report.vendor} — {report.deals:,} deals ({report.board_open:,} open "
        f"on the board), {report.interactions:,} interactions, {report.runs} runs (ms)",
        report.figures,
        console,
    )
    for note in report.notes:
        console.print(f"note: {note}")
    console.print(
        f"peak RSS of the measuring process: {report.peak_rss_mb:.0f} MB; {report.cpus} CPUs, "
        f"load average {report.load[0]:.2f} before, {report.load[1]:.2f} after"
    )


def run_phase(phase: str, opts: dict[str, Any], stdout) -> None:
    """The ``rapport bench`` children: ``sales-seed`` seeds, ``sales`` measures."""
    from pathlib import Path

    import orjson
    from django.conf import settings

    if phase == "sales-seed":
        report = seed(opts["deals"], reuse=opts["reuse"], say=stdout.write)
        if not report.reused:
            stdout.write(
                f"{report.deals:,} deals, {report.history:,} stage history rows, "
                f"{report.deal_people:,} deal people, {report.deal_tags:,} deal tags; "
                + ", ".join(f"{k} {v:.1f} s" for k, v in report.stages.items())
            )
        return
    result = measure(runs=opts["runs"], warmup=opts["warmup"], say=stdout.write)
    render(result)
    path = Path(settings.DATA_DIR) / f"bench-sales-{connection.vendor}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2))
    stdout.write(f"figures written to {path}")
