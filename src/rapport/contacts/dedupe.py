"""Duplicate detection for people and companies: rules, scoring, per-record flags, the scan.

Rules (each a reason shown to the user; a pair's score is its strongest rule plus 5 for every
further rule that holds, capped at 100):

people
  * ``same email`` (100): an email, the record's own or one kept from a merge, is shared;
  * ``same phone`` (70): an E.164 phone is shared (a number shared by more than
    ``EXACT_BLOCK_CAP`` people is a switchboard, not evidence, and the scan skips it);
  * ``similar name at the same company`` (0.9 x similarity): the normalised full names are at
    least ``PERSON_NAME_THRESHOLD`` similar (rapidfuzz ``token_sort_ratio``) and both work at
    the same company; with a shared phone the name adds ``similar name`` instead.

companies
  * ``same domain`` (100): a domain, the company's own or one kept from a merge, is shared;
  * ``similar name`` (0.9 x similarity): names without legal forms ("Inc", "GmbH", ...) are at
    least ``COMPANY_NAME_THRESHOLD`` similar and at most one of the two has a domain (two
    different domains say they are two companies); a shared phone adds ``same phone``.

Nothing ever compares every pair. ``flag_record`` (run by the create/update services, in their
transaction) looks candidates up by index: equal emails/phones/domains, the people of the same
company, companies whose name starts alike. ``scan_workspace`` streams the workspace sorted by
blocking keys and compares only inside blocks (docs/architecture.md, "Dedupe and merge").
"""

from __future__ import annotations

import time
import unicodedata
import uuid
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rapidfuzz import fuzz, process

from rapport.core import jobs
from rapport.core.actors import Actor
from rapport.core.errors import NotFound
from rapport.core.pagination import Page, Sort, keyset_page

from .models import (
    Company,
    DuplicatePair,
    DuplicateScan,
    DuplicateStatus,
    IdentifierKind,
    OtherIdentifier,
    Person,
)

PERSON_NAME_THRESHOLD = 85
COMPANY_NAME_THRESHOLD = 90
MIN_SCORE = 60
EXACT_BLOCK_CAP = 25  # more records sharing one phone: a switchboard, skipped
COMMON_NAME_CAP = 10  # more companies sharing one normalised name: a common name, not evidence
FUZZY_BLOCK_CAP = 200  # a bigger block is split by a finer key or compared in a window
WINDOW = 20  # sorted-neighbourhood window inside an oversized block
CANDIDATE_LIMIT = 1000  # flag_record: at most this many colleagues or look-alike companies
BATCH = 1000  # pairs scored and written per transaction in the scan
# Companies bucketed by name in memory at once; a bigger workspace is read in several passes,
# each keeping the blocks of one share of the block keys (the same blocks, a fraction of them).
COMPANY_PASS = 50_000
PROGRESS_EVERY = 20_000  # rows streamed between two progress checkpoints

PERSON = DuplicatePair.PERSON
COMPANY = DuplicatePair.COMPANY

# Legal forms and filler words that say nothing about which company it is.
LEGAL_FORMS = frozenset(
    {
        "inc",
        "incorporated",
        "llc",
        "llp",
        "lp",
        "ltd",
        "limited",
        "plc",
        "corp",
        "corporation",
        "co",
        "company",
        "cie",
        "gmbh",
        "mbh",
        "ag",
        "kg",
        "ohg",
        "ug",
        "ev",
        "eg",
        "se",
        "sa",
        "sas",
        "sarl",
        "sasu",
        "srl",
        "spa",
        "snc",
        "bv",
        "nv",
        "vof",
        "oy",
        "oyj",
        "ab",
        "as",
        "asa",
        "aps",
        "kk",
        "kft",
        "zrt",
        "sro",
        "spzoo",
        "pty",
        "pvt",
        "the",
        "and",
        "und",
        "et",
        "y",
    }
)


# --- normalising and scoring ----------------------------------------------------------------


def normalise(text: str) -> str:
    """Lower-case ASCII words: accents dropped, punctuation to spaces, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join("".join(c if c.isalnum() else " " for c in plain).split())


def person_name_key(first_name: str, last_name: str) -> str:
    return normalise(f"{first_name} {last_name}")


def company_name_key(name: str) -> str:
    words = normalise(name).split()
    kept = [w for w in words if w not in LEGAL_FORMS]
    return " ".join(kept or words)


def company_block_key(name_key: str) -> str:
    """The scan's company block: the first four letters of the name without its legal form."""
    return name_key.replace(" ", "")[:4]


def person_block_key(first_name: str, last_name: str) -> str:
    """A finer people block inside a big company: normalised last name + first initial."""
    return f"{normalise(last_name).replace(' ', '')}|{normalise(first_name)[:1]}"


@dataclass(slots=True)
class Signature:
    """What detection compares of one record (people and companies alike)."""

    id: uuid.UUID
    name: str  # normalised (companies: without legal forms)
    keys: frozenset[str]  # emails (people) or domains (companies), own and kept
    phones: frozenset[str]
    company_id: uuid.UUID | None = None  # people only
    has_domain: bool = False  # companies only


def _similar(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    return fuzz.token_sort_ratio(a, b)


def _combine(scored: list[tuple[int, str]]) -> tuple[int, list[str]] | None:
    if not scored:
        return None
    scored.sort(key=lambda s: -s[0])
    score = min(100, scored[0][0] + 5 * (len(scored) - 1))
    if score < MIN_SCORE:
        return None
    return score, [reason for _, reason in scored]


def score_people(a: Signature, b: Signature) -> tuple[int, list[str]] | None:
    """(score, reasons) when ``a`` and ``b`` look like the same person, else None."""
    scored: list[tuple[int, str]] = []
    if a.keys & b.keys:
        scored.append((100, "same email"))
    same_phone = bool(a.phones & b.phones)
    if same_phone:
        scored.append((70, "same phone"))
    similarity = _similar(a.name, b.name)
    if similarity >= PERSON_NAME_THRESHOLD:
        if a.company_id and a.company_id == b.company_id:
            scored.append((round(similarity * 0.9), "similar name at the same company"))
        elif same_phone:
            scored.append((round(similarity * 0.6), "similar name"))
    return _combine(scored)


def score_companies(a: Signature, b: Signature) -> tuple[int, list[str]] | None:
    """(score, reasons) when ``a`` and ``b`` look like the same company, else None."""
    scored: list[tuple[int, str]] = []
    same_domain = bool(a.keys & b.keys)
    if same_domain:
        scored.append((100, "same domain"))
    if same_domain or not (a.has_domain and b.has_domain):
        similarity = _similar(a.name, b.name)
        if similarity >= COMPANY_NAME_THRESHOLD:
            scored.append((round(similarity * 0.9), "similar name"))
    if scored and a.phones & b.phones:
        scored.append((60, "same phone"))
    return _combine(scored)


SCORERS: dict[str, Callable[[Signature, Signature], tuple[int, list[str]] | None]] = {
    PERSON: score_people,
    COMPANY: score_companies,
}


# --- signatures -----------------------------------------------------------------------------

PERSON_FIELDS = ("id", "email", "phone", "first_name", "last_name", "company_id")
COMPANY_FIELDS = ("id", "name", "domain", "phone")


def _person_signature(row, others: dict[str, set[str]] | None = None) -> Signature:
    pk, email, phone, first, last, company_id = row
    others = others or {}
    return Signature(
        id=pk,
        name=person_name_key(first, last),
        keys=frozenset(filter(None, {email, *others.get("email", ())})),
        phones=frozenset(filter(None, {phone, *others.get("phone", ())})),
        company_id=company_id,
    )


def _company_signature(row, others: dict[str, set[str]] | None = None) -> Signature:
    pk, name, domain, phone = row
    others = others or {}
    return Signature(
        id=pk,
        name=company_name_key(name),
        keys=frozenset(filter(None, {domain, *others.get("domain", ())})),
        phones=frozenset(filter(None, {phone, *others.get("phone", ())})),
        has_domain=bool(domain),
    )


def _owner_field(object_type: str) -> str:
    return "person_id" if object_type == PERSON else "company_id"


def _others_of(object_type: str, ids: Iterable) -> dict[Any, dict[str, set[str]]]:
    """The kept emails/phones/domains of ``ids``: {record id: {kind: values}}."""
    owner = _owner_field(object_type)
    found: dict[Any, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    ids = list(ids)
    if not ids:
        return found
    # By the records alone (see _pairs_of): SQLite would read the workspace's index instead.
    rows = OtherIdentifier.objects.filter(**{f"{owner}__in": ids}).values_list(
        owner, "kind", "value"
    )
    for pk, kind, value in rows:
        found[pk][kind].add(value)
    return found


def signatures(workspace_id, object_type: str, ids: Iterable) -> dict[Any, Signature]:
    """Live records' signatures by id (two queries, whatever the number of ids)."""
    ids = list(ids)
    if not ids:
        return {}
    model, fields, make = _KINDS[object_type]
    rows = list(
        model.objects.filter(
            workspace_id=workspace_id, deleted_at__isnull=True, pk__in=ids
        ).values_list(*fields)
    )
    others = _others_of(object_type, [r[0] for r in rows])
    return {row[0]: make(row, others.get(row[0])) for row in rows}


_KINDS: dict[str, tuple[Any, tuple[str, ...], Callable[..., Signature]]] = {
    PERSON: (Person, PERSON_FIELDS, _person_signature),
    COMPANY: (Company, COMPANY_FIELDS, _company_signature),
}


def object_type_of(obj) -> str:
    return PERSON if isinstance(obj, Person) else COMPANY


# --- writing pairs --------------------------------------------------------------------------


def ordered(a: uuid.UUID, b: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    return (a, b) if a < b else (b, a)


def _pair_row(workspace_id, object_type: str, a, b, score: int, reasons: list[str]):
    first, second = ordered(a, b)
    prefix = "person" if object_type == PERSON else "company"
    return DuplicatePair(
        workspace_id=workspace_id,
        object_type=object_type,
        score=score,
        reasons=reasons,
        **{f"{prefix}_a_id": first, f"{prefix}_b_id": second},
    )


def upsert_pairs(object_type: str, rows: list[DuplicatePair]) -> None:
    """Inserts new pairs, refreshes the score and reasons of known ones; a dismissed pair
    stays dismissed."""
    if not rows:
        return
    prefix = "person" if object_type == PERSON else "company"
    DuplicatePair.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=[f"{prefix}_a", f"{prefix}_b"],
        update_fields=["score", "reasons", "updated_at"],
        batch_size=500,
    )


def _pairs_of(obj, object_type: str):
    """By the record's own columns only (its pairs are in its workspace): with the workspace
    in the query too, SQLite read the workspace's every pair instead of the two indexes."""
    prefix = "person" if object_type == PERSON else "company"
    return DuplicatePair.objects.filter(Q(**{f"{prefix}_a": obj.pk}) | Q(**{f"{prefix}_b": obj.pk}))


# --- one record: called by the create and update services -----------------------------------

# The fields whose change can make or unmake a duplicate.
DETECT_FIELDS = frozenset(
    {"email", "phone", "first_name", "last_name", "company_id", "name", "domain"}
)


def _own_others(obj, object_type: str, created: bool) -> dict[str, set[str]]:
    """The record's kept identifiers; a new record has none (no query). The result is put in
    the prefetch cache, so the search document built next reads it without a query."""
    from django.db.models import prefetch_related_objects

    cache = getattr(obj, "_prefetched_objects_cache", {})
    if created and "other_identifiers" not in cache:
        obj._prefetched_objects_cache = {
            **cache,
            "other_identifiers": OtherIdentifier.objects.none(),
        }
    elif "other_identifiers" not in cache:
        prefetch_related_objects([obj], "other_identifiers")
    found: dict[str, set[str]] = defaultdict(set)
    for identifier in obj.other_identifiers.all():
        found[identifier.kind].add(identifier.value)
    return found


def _candidates(obj, object_type: str, sig: Signature) -> set:
    """Ids of live records that share a blocking key with ``obj`` (indexed look-ups only)."""
    ws = obj.workspace_id
    model = Person if object_type == PERSON else Company
    live = model.objects.filter(workspace_id=ws, deleted_at__isnull=True).exclude(pk=obj.pk)
    key_field = "email" if object_type == PERSON else "domain"
    key_kind = IdentifierKind.EMAIL if object_type == PERSON else IdentifierKind.DOMAIN
    found: set = set()
    # One query per key, not one OR: SQLite uses the partial unique index on email/domain only
    # when the query states its condition (`<> ''`), and an OR across two indexes makes it scan
    # the workspace (two seconds per save at a million people).
    if sig.keys:
        by_key = live.filter(**{f"{key_field}__in": sig.keys}).exclude(**{key_field: ""})
        found.update(by_key.values_list("pk", flat=True)[:CANDIDATE_LIMIT])
    if sig.phones and object_type == PERSON:
        by_phone = live.filter(phone__in=sig.phones)
        found.update(by_phone.values_list("pk", flat=True)[:CANDIDATE_LIMIT])
    if sig.keys or (sig.phones and object_type == PERSON):
        kept = Q()
        if sig.keys:
            kept |= Q(kind=key_kind, value__in=sig.keys)
        if sig.phones and object_type == PERSON:
            kept |= Q(kind=IdentifierKind.PHONE, value__in=sig.phones)
        owner = _owner_field(object_type)
        found.update(
            OtherIdentifier.objects.filter(kept, workspace_id=ws, **{f"{owner}__isnull": False})
            .exclude(**{owner: obj.pk})
            .values_list(owner, flat=True)[:CANDIDATE_LIMIT]
        )
    if sig.name and object_type == PERSON and sig.company_id:
        colleagues = live.filter(company_id=sig.company_id).values_list(
            "pk", "first_name", "last_name"
        )[:CANDIDATE_LIMIT]
        names = {pk: person_name_key(first, last) for pk, first, last in colleagues}
        found.update(_similar_to(sig.name, names, PERSON_NAME_THRESHOLD))
    if sig.name and object_type == COMPANY:
        prefix = obj.name.strip()[:3]
        if prefix:
            if sig.has_domain:  # two different domains are two companies
                live = live.filter(domain="")
            # A range of the (workspace, name, id) index per usual spelling, one query each:
            # SQLite (no statistics) reads an OR of the ranges through the workspace's index,
            # 200,000 companies (60 ms a save).
            names = {}
            for variant in {prefix, prefix.lower(), prefix.upper(), prefix.capitalize()}:
                alike = live.filter(name__gte=variant, name__lt=variant + "\U0010ffff")
                names |= {
                    pk: company_name_key(name)
                    for pk, name in alike.values_list("pk", "name")[:CANDIDATE_LIMIT]
                }
            # A name many companies share is not evidence (as in the scan).
            counts = Counter([*names.values(), sig.name])
            names = {pk: n for pk, n in names.items() if counts[n] <= COMMON_NAME_CAP}
            if counts[sig.name] <= COMMON_NAME_CAP:
                found.update(_similar_to(sig.name, names, COMPANY_NAME_THRESHOLD))
    return found


def _similar_to(name: str, names: dict, threshold: int) -> list:
    if not names:
        return []
    hits = process.extract(
        name, names, scorer=fuzz.token_sort_ratio, score_cutoff=threshold, limit=None
    )
    return [key for _, _, key in hits]


def flag_record(*, obj, created: bool = False, changed: Iterable[str] | None = None) -> int:
    """Flags the open duplicates of ``obj`` (a person or company just written) and forgets
    open pairs it no longer matches; answers how many pairs it holds. Runs inside the
    service's transaction. ``changed``: the fields the update changed (None: all)."""
    object_type = object_type_of(obj)
    others = _own_others(obj, object_type, created)  # also what the search document reads
    if changed is not None:
        names = {c.split(".")[0] for c in changed}
        if not names & DETECT_FIELDS:
            return -1
    _model, fields, make = _KINDS[object_type]
    sig = make(tuple(getattr(obj, f) for f in fields), others)
    ids = _candidates(obj, object_type, sig)
    found = signatures(obj.workspace_id, object_type, ids) if ids else {}
    score = SCORERS[object_type]
    rows = []
    for other in found.values():
        result = score(sig, other)
        if result:
            rows.append(_pair_row(obj.workspace_id, object_type, sig.id, other.id, *result))
    if not created:
        keep = [other for row in rows for other in (row.a_id, row.b_id) if other != obj.pk]
        prefix = "person" if object_type == PERSON else "company"
        stale = _pairs_of(obj, object_type).filter(status=DuplicateStatus.OPEN)
        stale.exclude(Q(**{f"{prefix}_a__in": keep}) | Q(**{f"{prefix}_b__in": keep})).delete()
    upsert_pairs(object_type, rows)
    return len(rows)


# --- the workspace scan ---------------------------------------------------------------------


@dataclass
class ScanResult:
    people: int = 0
    companies: int = 0
    rows_streamed: int = 0
    comparisons: int = 0  # candidate pairs looked at (exact blocks and fuzzy comparisons)
    pairs: int = 0  # pairs written (new or refreshed)
    blocks: int = 0  # blocks with two or more records
    skipped_blocks: int = 0  # exact blocks over EXACT_BLOCK_CAP
    largest_block: int = 0
    removed: int = 0  # open pairs that no longer match
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class _Sink:
    """Collects candidate pairs of one kind, scores them in batches and writes the matches.

    Every pair is looked at once per scan (``seen``), whichever blocks it appears in.
    """

    def __init__(self, workspace_id, object_type: str, result: ScanResult, job, progress):
        self.workspace_id = workspace_id
        self.object_type = object_type
        self.result = result
        self.job = job
        self.progress = progress
        self.pending: set[tuple[uuid.UUID, uuid.UUID]] = set()
        # 32 bytes a pair, not a tuple of two UUID objects (~100 bytes against ~300): a
        # workspace with many shared phones meets hundreds of thousands of candidate pairs.
        self.seen: set[bytes] = set()

    def add(self, a: uuid.UUID, b: uuid.UUID) -> None:
        if a == b:
            return
        pair = ordered(a, b)
        key = pair[0].bytes + pair[1].bytes
        if key in self.seen:
            return
        self.seen.add(key)
        self.pending.add(pair)
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        pending, self.pending = self.pending, set()
        ids = {pk for pair in pending for pk in pair}
        sigs = signatures(self.workspace_id, self.object_type, ids) if ids else {}
        score = SCORERS[self.object_type]
        rows = []
        for a, b in pending:
            if a in sigs and b in sigs:
                result = score(sigs[a], sigs[b])
                if result:
                    rows.append(_pair_row(self.workspace_id, self.object_type, a, b, *result))
        with transaction.atomic():
            upsert_pairs(self.object_type, rows)
            self.result.pairs += len(rows)
            self.progress(force=True)


def _blocks(rows: Iterator[tuple], key_index: int = 0) -> Iterator[list[tuple]]:
    """Consecutive rows with the same key (rows come sorted by it)."""
    block: list[tuple] = []
    current: Any = object()
    for row in rows:
        if row[key_index] != current:
            if len(block) > 1:
                yield block
            block, current = [], row[key_index]
        block.append(row)
    if len(block) > 1:
        yield block


def _exact_block(ids: list, sink: _Sink, result: ScanResult) -> None:
    result.blocks += 1
    result.largest_block = max(result.largest_block, len(ids))
    if len(ids) > EXACT_BLOCK_CAP:
        result.skipped_blocks += 1
        return
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            result.comparisons += 1
            sink.add(a, b)


def _fuzzy_block(
    items: list[tuple[Any, str]], threshold: int, sink: _Sink, result: ScanResult
) -> None:
    """Compares the names of one block: every pair up to FUZZY_BLOCK_CAP records, else each
    record with its WINDOW neighbours in name order (sorted neighbourhood)."""
    items = [item for item in items if item[1]]
    if len(items) < 2:
        return
    result.blocks += 1
    result.largest_block = max(result.largest_block, len(items))
    items.sort(key=lambda item: item[1])
    names = [name for _, name in items]
    small = len(items) <= FUZZY_BLOCK_CAP
    for i, (pk, name) in enumerate(items):
        end = len(items) if small else min(len(items), i + 1 + WINDOW)
        choices = names[i + 1 : end]
        if not choices:
            continue
        result.comparisons += len(choices)
        hits = process.extract(
            name, choices, scorer=fuzz.token_sort_ratio, score_cutoff=threshold, limit=None
        )
        for _, _, index in hits:
            sink.add(pk, items[i + 1 + index][0])


def _kept_blocks(workspace_id, object_type: str, sink: _Sink, result: ScanResult) -> None:
    """Pairs through kept identifiers (few: they come from merges): every kept value against
    the records' own values and the other kept values, batch by batch."""
    owner = _owner_field(object_type)
    model = Person if object_type == PERSON else Company
    own_fields: dict[str, str] = (
        {IdentifierKind.EMAIL.value: "email", IdentifierKind.PHONE.value: "phone"}
        if object_type == PERSON
        else {IdentifierKind.DOMAIN.value: "domain"}
    )
    kept = (
        OtherIdentifier.objects.filter(
            workspace_id=workspace_id, kind__in=list(own_fields), **{f"{owner}__isnull": False}
        )
        .order_by("kind", "value")
        .values_list("kind", "value", owner)
    )
    chunk: list[tuple] = []

    def run(chunk: list[tuple]) -> None:
        holders: dict[tuple[str, str], set] = defaultdict(set)
        by_kind: dict[str, set[str]] = defaultdict(set)
        for kind, value, pk in chunk:
            holders[(kind, value)].add(pk)
            by_kind[kind].add(value)
        for kind, values in by_kind.items():
            column = own_fields[kind]
            rows = model.objects.filter(
                workspace_id=workspace_id, deleted_at__isnull=True, **{f"{column}__in": values}
            ).values_list(column, "pk")
            for value, pk in rows:
                holders[(kind, value)].add(pk)
            more = OtherIdentifier.objects.filter(
                workspace_id=workspace_id, kind=kind, value__in=values
            ).values_list("value", owner)
            for value, pk in more:
                if pk:
                    holders[(kind, value)].add(pk)
        for ids in holders.values():
            if len(ids) > 1:
                _exact_block(sorted(ids), sink, result)

    for row in kept.iterator(chunk_size=2000):
        chunk.append(row)
        if len(chunk) >= 500:
            run(chunk)
            chunk = []
    if chunk:
        run(chunk)


def _people_by_phone(workspace_id, sink: _Sink, result: ScanResult, tick) -> None:
    rows = (
        Person.objects.filter(workspace_id=workspace_id, deleted_at__isnull=True)
        .exclude(phone="")
        .order_by("phone")
        .values_list("phone", "pk")
    )
    for block in _blocks(tick(rows.iterator(chunk_size=5000))):
        _exact_block([pk for _, pk in block], sink, result)


def _people_by_company(workspace_id, sink: _Sink, result: ScanResult, tick) -> None:
    """Colleagues: one block per company; a company bigger than the cap is split by
    normalised last name + first initial."""
    rows = (
        Person.objects.filter(
            workspace_id=workspace_id, deleted_at__isnull=True, company__isnull=False
        )
        .order_by("company_id")
        .values_list("company_id", "pk", "first_name", "last_name")
    )
    for block in _blocks(tick(rows.iterator(chunk_size=5000))):
        if len(block) <= FUZZY_BLOCK_CAP:
            items = [(pk, person_name_key(f, last)) for _, pk, f, last in block]
            _fuzzy_block(items, PERSON_NAME_THRESHOLD, sink, result)
            continue
        sub: dict[str, list[tuple[Any, str]]] = defaultdict(list)
        for _, pk, first, last in block:
            sub[person_block_key(first, last)].append((pk, person_name_key(first, last)))
        for items in sub.values():
            _fuzzy_block(items, PERSON_NAME_THRESHOLD, sink, result)


def _companies_by_name(workspace_id, sink: _Sink, result: ScanResult, tick) -> None:
    """Companies in blocks of the same normalised-name prefix. Only pairs where at least one
    side has no domain can match by name, so a block is compared only when it has such a
    company: each domain-less company against the block."""
    rows = Company.objects.filter(workspace_id=workspace_id, deleted_at__isnull=True).values_list(
        "pk", "name", "domain"
    )
    passes = max(1, -(-rows.count() // COMPANY_PASS))
    for part in range(passes):
        blocks: dict[str, list[tuple[Any, str, bool]]] = defaultdict(list)
        stream = rows.iterator(chunk_size=5000)
        for pk, name, domain in tick(stream) if part == 0 else stream:
            key = company_name_key(name)
            block = company_block_key(key)
            if passes == 1 or zlib.crc32(block.encode()) % passes == part:
                blocks[block].append((pk, key, bool(domain)))
        _compare_company_blocks(blocks, sink, result)
        del blocks


def _compare_company_blocks(
    blocks: dict[str, list[tuple[Any, str, bool]]], sink: _Sink, result: ScanResult
) -> None:
    for items in blocks.values():
        if len(items) < 2 or all(has_domain for _, _, has_domain in items):
            continue
        result.blocks += 1
        result.largest_block = max(result.largest_block, len(items))
        items.sort(key=lambda item: item[1])
        names = [key for _, key, _ in items]
        common = {key for key, n in Counter(names).items() if n > COMMON_NAME_CAP}
        for i, (pk, key, has_domain) in enumerate(items):
            if has_domain or key in common:
                continue
            if len(items) <= FUZZY_BLOCK_CAP:
                lo, hi = 0, len(items)
            else:
                lo, hi = max(0, i - WINDOW), min(len(items), i + 1 + WINDOW)
            choices = {j: names[j] for j in range(lo, hi) if j != i}
            # A pair of two domain-less companies is met twice: count it once.
            result.comparisons += sum(1 for j in choices if items[j][2] or j > i)
            hits = process.extract(
                key,
                choices,
                scorer=fuzz.token_sort_ratio,
                score_cutoff=COMPANY_NAME_THRESHOLD,
                limit=None,
            )
            for _, _, j in hits:
                if names[j] not in common:
                    sink.add(pk, items[j][0])


PHASES: list[tuple[str, str, Callable[..., None]]] = [
    ("people: kept emails and phones", PERSON, lambda ws, s, r, t: _kept_blocks(ws, PERSON, s, r)),
    ("people: same phone", PERSON, _people_by_phone),
    ("people: names at each company", PERSON, _people_by_company),
    ("companies: kept domains", COMPANY, lambda ws, s, r, t: _kept_blocks(ws, COMPANY, s, r)),
    ("companies: names", COMPANY, _companies_by_name),
]


def scan_workspace(workspace, *, job: DuplicateScan | None = None) -> ScanResult:
    """Finds every duplicate pair of the workspace's live people and companies; upserts the
    pairs (dismissed ones stay dismissed) and removes open pairs that no longer match.

    Usable synchronously (the benchmark, ``rapport dedupe scan``) or from the worker task with
    ``job`` (progress and phase checkpoints on the job row; a resumed job skips the phases it
    finished). Cost: O(n log n) to stream the records sorted by blocking key plus the
    comparisons inside blocks, which the caps bound to O(n x (cap or window)); see
    docs/architecture.md.
    """
    started = time.perf_counter()
    since = job.started_at if job is not None and job.started_at else timezone.now()
    ws = workspace.pk
    result = ScanResult()
    people = Person.objects.filter(workspace_id=ws, deleted_at__isnull=True)
    companies = Company.objects.filter(workspace_id=ws, deleted_at__isnull=True)
    result.people = people.count()
    result.companies = companies.count()
    with_company = people.filter(company__isnull=False).count()
    with_phone = people.exclude(phone="").count()
    total = with_phone + with_company + result.companies
    done: list[str] = list(job.phases_done) if job is not None else []
    state = {"last": 0}

    def progress(force: bool = False) -> None:
        if job is None:
            return
        if not force and result.rows_streamed - state["last"] < PROGRESS_EVERY:
            return
        state["last"] = result.rows_streamed
        jobs.checkpoint(
            job,
            processed=min(total, result.rows_streamed),
            total=total,
            comparisons=result.comparisons,
            pairs_found=result.pairs,
        )

    def tick(rows: Iterator) -> Iterator:
        for row in rows:
            result.rows_streamed += 1
            if result.rows_streamed % 5000 == 0:
                progress()
            yield row

    sinks = {kind: _Sink(ws, kind, result, job, progress) for kind in (PERSON, COMPANY)}
    for name, kind, run in PHASES:
        if name in done:
            continue
        phase_started = time.perf_counter()
        if job is not None:
            jobs.checkpoint(job, phase=name, total=total)
        run(ws, sinks[kind], result, tick)
        sinks[kind].flush()
        done.append(name)
        result.phases[name] = round(time.perf_counter() - phase_started, 3)
        if job is not None:
            jobs.checkpoint(job, phases_done=done)
    result.removed, _ = DuplicatePair.objects.filter(
        workspace_id=ws, status=DuplicateStatus.OPEN, updated_at__lt=since
    ).delete()
    result.seconds = round(time.perf_counter() - started, 3)
    if job is not None:
        jobs.checkpoint(
            job,
            processed=total,
            total=total,
            phase="",
            comparisons=result.comparisons,
            pairs_found=result.pairs,
        )
    return result


# --- reads and writes of the duplicates page and API ----------------------------------------


def scan_start(*, actor: Actor) -> DuplicateScan:
    """Queues a workspace scan (or answers the one already queued or running)."""
    from rapport.core.models import JobStatus
    from rapport.core.policy import require_write

    require_write(actor)
    with transaction.atomic():
        running = (
            DuplicateScan.objects.filter(
                workspace=actor.workspace, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
            )
            .order_by("-created_at")
            .first()
        )
        if running is not None:
            return running
        job = DuplicateScan.objects.create(
            workspace=actor.workspace, created_by=actor.user, created_by_kind=actor.kind.value
        )
        jobs.enqueue(job)
    return job


def scan_run(job_id) -> None:
    """The worker's side: claim, scan with checkpoints, finish (``contacts.tasks``)."""
    claimed = jobs.claim(DuplicateScan, job_id)
    if not isinstance(claimed, DuplicateScan):
        return
    job = claimed
    try:
        from rapport.tenancy.models import Workspace

        workspace = Workspace.objects.get(pk=job.workspace_id)
        scan_workspace(workspace, job=job)
    except Exception as exc:
        from rapport.core.models import JobStatus

        jobs.finish(job, JobStatus.FAILED, error=str(exc)[:2000])
        raise
    jobs.finish(job)


def scan_get(*, actor: Actor, scan_id) -> DuplicateScan:
    job = DuplicateScan.objects.visible_to(actor).filter(pk=scan_id).first()
    if job is None:
        raise NotFound("No such scan.")
    return job


def scan_latest(*, actor: Actor) -> DuplicateScan | None:
    return DuplicateScan.objects.visible_to(actor).order_by("-created_at").first()


def _live_pairs(qs, object_type: str | None):
    people = Q(
        object_type=PERSON, person_a__deleted_at__isnull=True, person_b__deleted_at__isnull=True
    )
    companies = Q(
        object_type=COMPANY,
        company_a__deleted_at__isnull=True,
        company_b__deleted_at__isnull=True,
    )
    if object_type == PERSON:
        return qs.filter(people).select_related("person_a__company", "person_b__company")
    if object_type == COMPANY:
        return qs.filter(companies).select_related("company_a", "company_b")
    return qs.filter(people | companies).select_related(
        "person_a__company", "person_b__company", "company_a", "company_b"
    )


def pair_list(*, actor: Actor, object_type: str | None, cursor: str | None, limit: int) -> Page:
    """Open pairs whose records are both live, best score first (keyset pages)."""
    qs = DuplicatePair.objects.visible_to(actor).filter(status=DuplicateStatus.OPEN)
    return keyset_page(
        _live_pairs(qs, object_type),
        sort=Sort("score", descending=True),
        cursor=cursor,
        limit=limit,
    )


def pair_get(*, actor: Actor, pair_id) -> DuplicatePair:
    pair = _live_pairs(DuplicatePair.objects.visible_to(actor), None).filter(pk=pair_id).first()
    if pair is None:
        raise NotFound("No such duplicate pair.")
    return pair


def pairs_for_record(*, actor: Actor, obj, limit: int = 5) -> list[DuplicatePair]:
    """The open pairs a record page mentions ("possible duplicate")."""
    object_type = object_type_of(obj)
    qs = _pairs_of(obj, object_type).filter(workspace=actor.workspace, status=DuplicateStatus.OPEN)
    return list(_live_pairs(qs, object_type).order_by("-score", "id")[:limit])


def pair_dismiss(*, actor: Actor, pair_id, source: str = "") -> DuplicatePair:
    """Marks a pair as not duplicates: later scans keep it dismissed."""
    from rapport.audit.services import record
    from rapport.core.policy import require_write

    from . import events

    with transaction.atomic():
        pair = (
            DuplicatePair.objects.visible_to(actor).select_for_update().filter(pk=pair_id).first()
        )
        if pair is None:
            raise NotFound("No such duplicate pair.")
        require_write(actor)
        if pair.status == DuplicateStatus.DISMISSED:
            return pair_get(actor=actor, pair_id=pair.pk)
        pair.status = DuplicateStatus.DISMISSED
        pair.dismissed_by = actor.user
        pair.save(update_fields=["status", "dismissed_by", "updated_at"])
        record(
            actor=actor,
            action=events.DUPLICATE_DISMISSED,
            obj=pair,
            changes={"status": {"before": "open", "after": "dismissed"}},
            source=source,
        )
    return pair_get(actor=actor, pair_id=pair.pk)


def kept_by(actor: Actor, kind: str, value: str, exclude_id=None):
    """The live record that keeps ``value`` (an email or domain) from a merge, if any: such a
    value is as taken as a record's own (creating it again answers 409 naming that record)."""
    owner = "person" if kind == IdentifierKind.EMAIL else "company"
    qs = OtherIdentifier.objects.filter(
        workspace=actor.workspace,
        kind=kind,
        value=value,
        **{f"{owner}__deleted_at__isnull": True},
    )
    if exclude_id is not None:
        qs = qs.exclude(**{owner: exclude_id})
    return qs.values_list(f"{owner}_id", flat=True).first()
