"""Global search: typo-tolerant matching of people and companies by name, email, phone, domain.

PostgreSQL: a tsvector match and a substring match (GIN indexes) first; pg_trgm word
similarity for typos when exact matches do not fill the page.
SQLite: an FTS5 trigram index; an exact substring match first, then, for typos, rows sharing the
query's rarer trigrams, re-ranked with rapidfuzz. Both answer the same ``SearchHit`` list; an
email, phone or domain found exactly is answered without look-alikes. Why it is built this way
(and what it costs over a million records): docs/performance.md.
"""

from __future__ import annotations

import heapq
import math
import re
import uuid
from dataclasses import dataclass

from django.db import connection
from django.db.models.expressions import RawSQL
from rapidfuzz import fuzz

from rapport.core.actors import Actor

from .models import SearchEntry

MAX_QUERY = 100
FUZZY_CANDIDATES = 300
MIN_FUZZY_SCORE = 60


@dataclass(frozen=True)
class SearchHit:
    object_type: str
    object_id: uuid.UUID
    title: str
    subtitle: str
    score: float

    @property
    def kind(self) -> str:
        return KINDS.get(self.object_type, self.object_type)


# Hit kinds by indexed model (the record pages and API speak of "person", "deal", ...).
KINDS = {
    "contacts.person": "person",
    "contacts.company": "company",
    "sales.deal": "deal",
    "sales.lead": "lead",
}


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def normalize_query(q: str) -> str:
    # Control characters end an FTS5 string early (NUL: "unterminated string") and PostgreSQL
    # refuses NUL in text: they are blanks to a search.
    q = " ".join(_CONTROL.sub(" ", q or "").lower().split())[:MAX_QUERY]
    # A phone typed with spaces or dashes matches its E.164 form.
    if re.fullmatch(r"[+\d][\d\s().-]{5,}", q):
        q = re.sub(r"[\s().-]", "", q)
    return q


def search(
    *, actor: Actor, q: str, limit: int = 20, types: list[str] | None = None
) -> list[SearchHit]:
    q = normalize_query(q)
    if not q:
        return []
    limit = max(1, min(limit, 50))
    if connection.vendor == "postgresql":
        rows = _search_postgres(actor.workspace.pk, q, limit * 2, types)
    else:
        rows = _search_sqlite(actor.workspace.pk, q, limit * 2, types)
    hits = _visible(actor, [SearchHit(*row) for row in rows])
    hits.sort(key=lambda h: -h.score)
    return hits[:limit]


def _visible(actor: Actor, hits: list[SearchHit]) -> list[SearchHit]:
    """Drops the hits the actor may not open: records of models that honour ownership (deals,
    under the record access setting) are checked through ``visible_to``, one query per such
    model among the hits. A search never shows what the record page would refuse."""
    from django.apps import apps

    by_type: dict[str, list[uuid.UUID]] = {}
    for hit in hits:
        by_type.setdefault(hit.object_type, []).append(hit.object_id)
    hidden: set[tuple[str, uuid.UUID]] = set()
    for object_type, ids in by_type.items():
        try:
            model = apps.get_model(object_type)
        except (LookupError, ValueError):
            continue
        if not getattr(model, "OWNER_ACCESS", False):
            continue
        seen = set(model.objects.visible_to(actor).filter(pk__in=ids).values_list("pk", flat=True))
        hidden.update((object_type, pk) for pk in ids if pk not in seen)
    return [h for h in hits if (h.object_type, h.object_id) not in hidden]


def _type_clause(types: list[str] | None, column: str, params: list) -> str:
    if not types:
        return ""
    params.extend(types)
    return f" AND {column} IN ({', '.join(['%s'] * len(types))})"


def _identifier(q: str) -> bool:
    """An email, a phone number or a domain: one token that names one record."""
    return " " not in q and ("@" in q or "." in q or (q.lstrip("+").isdigit() and len(q) >= 6))


def _search_postgres(workspace_id, q: str, limit: int, types):
    """Exact matches first, typos only when they do not fill the page.

    pg_trgm reads the index entries of every trigram of the query, and a trigram found in most
    rows (".ex" of a domain, "joh") has a million of them: the typo operator over a whole email
    took seconds, over "john" one. An email, phone or domain found as a word (tsvector index,
    one entry per word) is answered from that alone; other queries whose exact matches (word or
    substring) fill the page skip the typo operator; the rest run the one query that also finds
    typos, as before.
    """
    table = SearchEntry._meta.db_table
    score = "100 * GREATEST(word_similarity(%s, text), similarity(title, %s))"

    def run(condition: str, condition_params: list, cap: int) -> list:
        params: list = [q, q, workspace_id, *condition_params]
        type_sql = _type_clause(types, "object_type", params)
        params.append(cap)
        sql = f"""
            SELECT object_type, object_id, title, subtitle, {score} AS score
            FROM {table}
            WHERE workspace_id = %s AND ({condition}) {type_sql}
            ORDER BY score DESC
            LIMIT %s
        """
        with connection.cursor() as cur:
            cur.execute(sql, params)
            return [(r[0], r[1], r[2], r[3], float(r[4] or 0)) for r in cur.fetchall()]

    words = "to_tsvector('simple', text) @@ plainto_tsquery('simple', %s)"
    like = f"%{_like_escape(q)}%"
    if _identifier(q):
        # strpos (not indexed) keeps only rows holding the query as typed, like LIKE does.
        found = run(f"{words} AND strpos(text, %s) > 0", [q, q], limit)
        if found:
            return found
    # A bounded set of exact matches (no ORDER BY over all of them: "john" has 35,000).
    params: list = [q, q, workspace_id, like, q]
    type_sql = _type_clause(types, "object_type", params)
    params.append(limit * EXACT_POOL)
    with connection.cursor() as cur:
        cur.execute(
            f"""
            SELECT object_type, object_id, title, subtitle, score FROM (
                SELECT object_type, object_id, title, subtitle, {score} AS score
                FROM {table}
                WHERE workspace_id = %s AND (text LIKE %s OR {words}) {type_sql}
                LIMIT %s
            ) exact ORDER BY score DESC
            """,
            params,
        )
        exact = [(r[0], r[1], r[2], r[3], float(r[4] or 0)) for r in cur.fetchall()]
    if len(exact) >= limit:
        return exact[:limit]
    with connection.cursor() as cur:
        # pg_trgm's default (0.6) misses one-letter typos in short words; 0.4 still prunes.
        cur.execute("SET pg_trgm.word_similarity_threshold = 0.4")
    return run(f"text LIKE %s OR %s <%% text OR {words}", [like, q, q], limit)


def _like_escape(q: str) -> str:
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _fts_phrase(q: str) -> str:
    return '"' + q.replace('"', '""') + '"'


# SQLite search over FTS5 trigrams. Ranking with FTS5's bm25 makes FTS5 count, for every phrase
# of the query, every row that contains it: over a million rows a query sharing a common trigram
# ("exa", " he") took seconds. So nothing here asks FTS5 for its rank: each trigram's rows are
# counted up to GRAM_CAP (counting stops there); a trigram with more rows is "common" and, as
# in bm25 where its weight is next to nothing, it does not choose typo candidates.
GRAM_CAP = 4000
MAX_GRAMS = 10  # trigrams probed per query (evenly spread over a long query)
EXACT_POOL = 4  # exact matches read per hit wanted, then ordered like bm25 would
ANCHORED = 300  # typo candidates per intact word of a multi-word query
FETCH_CHUNK = 300


def _trigrams(q: str, most: int = MAX_GRAMS) -> list[str]:
    grams = list(dict.fromkeys(q[i : i + 3] for i in range(len(q) - 2)))
    if len(grams) > most:
        step = (len(grams) - 1) / (most - 1)
        grams = [grams[round(i * step)] for i in range(most)]
    return grams


def _search_sqlite(workspace_id, q: str, limit: int, types):
    table = SearchEntry._meta.db_table
    ws = workspace_id.hex if isinstance(workspace_id, uuid.UUID) else workspace_id
    rows: dict = {}
    params: list

    def fetch(ids: list[int], want: int, check=None) -> list:
        """The workspace's entries among ``ids`` (in that order), up to ``want`` of them."""
        found: list = []
        for start in range(0, len(ids), FETCH_CHUNK):
            chunk = ids[start : start + FETCH_CHUNK]
            chunk_params: list = [*chunk, ws]
            type_sql = _type_clause(types, "object_type", chunk_params)
            with connection.cursor() as cur:
                cur.execute(
                    f"SELECT id, object_type, object_id, title, subtitle, text FROM {table} "
                    f"WHERE id IN ({', '.join(['%s'] * len(chunk))}) AND +workspace_id = %s"
                    f"{type_sql}",
                    chunk_params,
                )
                by_id = {r[0]: r[1:] for r in cur.fetchall()}
            for rowid in chunk:
                row = by_id.get(rowid)
                if row is not None and (check is None or check(row)):
                    found.append(row)
                    if len(found) >= want:
                        return found
        return found

    def match_rowids(match: str, cap: int) -> list[int]:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT rowid FROM search_fts WHERE search_fts MATCH %s ORDER BY rowid DESC "
                "LIMIT %s",
                [match, cap],
            )
            return [r[0] for r in cur.fetchall()]

    def add(found, exact: bool):
        for object_type, object_id, title, subtitle, text in found:
            key = (object_type, object_id)
            if key in rows:
                continue
            score = max(fuzz.WRatio(q, title.lower()), fuzz.partial_ratio(q, text))
            if exact:
                score = max(score, 90.0)
            elif score < MIN_FUZZY_SCORE:
                continue
            oid = object_id if isinstance(object_id, uuid.UUID) else uuid.UUID(str(object_id))
            rows[key] = (object_type, oid, title, subtitle, float(score))

    if len(q) < 3:
        # Trigrams need three characters: short queries match the start of a title.
        params = [ws, _like_escape(q) + "%"]
        type_sql = _type_clause(types, "object_type", params)
        params.append(limit)
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT object_type, object_id, title, subtitle, text FROM {table} "
                f"WHERE workspace_id = %s AND lower(title) LIKE %s ESCAPE '\\' {type_sql} "
                "ORDER BY title LIMIT %s",
                params,
            )
            add(cur.fetchall(), exact=True)
        return list(rows.values())

    def count(match: str, cap: int) -> int:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM (SELECT 1 FROM search_fts WHERE search_fts MATCH %s "
                "LIMIT %s)",
                [match, cap],
            )
            return cur.fetchone()[0]

    def phrase_matches(want: int) -> list:
        params = [_fts_phrase(q), ws]
        type_sql = _type_clause(types, "e.object_type", params)
        params.append(want)
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT e.object_type, e.object_id, e.title, e.subtitle, e.text "
                f"FROM search_fts JOIN {table} e ON e.id = search_fts.rowid "
                f"WHERE search_fts MATCH %s AND e.workspace_id = %s {type_sql} "
                "ORDER BY search_fts.rowid DESC LIMIT %s",
                params,
            )
            return cur.fetchall()

    counts = {g: count(_fts_phrase(g), GRAM_CAP) for g in _trigrams(q)}
    rare = [g for g, n in counts.items() if n < GRAM_CAP]
    if len(rare) < 2:
        # The spread sample was mostly common trigrams ("example", digits): two rare ones
        # narrow an exact match down to a few rows, so look for them among the others.
        for gram in _trigrams(q, MAX_GRAMS * 3):
            if gram not in counts:
                counts[gram] = count(_fts_phrase(gram), GRAM_CAP)
                if counts[gram] < GRAM_CAP:
                    rare.append(gram)
                    if len(rare) >= 2:
                        break

    # 1. Exact: the text contains the query. Such a row contains each of its trigrams: when
    # the rare ones narrow the rows down to a few, those are checked here; otherwise FTS5 finds
    # the phrase (newest first: LIMIT stops it early). The newest matches are then ordered as
    # bm25 orders one phrase: more occurrences, then shorter text, first.
    pool = limit * EXACT_POOL
    narrowed = match_rowids(" AND ".join(map(_fts_phrase, rare)), FETCH_CHUNK + 1) if rare else []
    if rare and len(narrowed) <= FETCH_CHUNK:
        exact = fetch(narrowed, pool, check=lambda row: q in row[4])
    else:
        exact = phrase_matches(pool)
    exact.sort(key=lambda row: (-row[4].count(q), len(row[4])))
    add(exact[:limit], exact=True)
    if rows and _identifier(q):
        return list(rows.values())  # an email, phone or domain found as typed: no look-alikes

    # 2. Typos: rows sharing the query's rare trigrams, the rarest counting most, plus, for
    # several words, rows holding one word as typed and a trigram of another word; rapidfuzz
    # scores them all.
    if len(rows) < limit:
        # A typo makes trigrams no row has (rare, but useless): count every trigram so that
        # the rare ones the typo left intact are found too.
        for gram in _trigrams(q, MAX_GRAMS * 3):
            if gram not in counts:
                counts[gram] = count(_fts_phrase(gram), GRAM_CAP)
        rare = [g for g, n in counts.items() if n < GRAM_CAP]
        score: dict[int, float] = {}
        for gram in rare:
            weight = math.log(1 + GRAM_CAP / max(counts[gram], 1))
            for rowid in match_rowids(_fts_phrase(gram), GRAM_CAP):
                score[rowid] = score.get(rowid, 0.0) + weight
        ranked = heapq.nlargest(FUZZY_CANDIDATES, score, key=lambda r: (score[r], r))
        words = [w for w in dict.fromkeys(q.split()) if len(w) >= 3]
        anchored: list[int] = []
        for word in words if len(words) > 1 else []:
            others = {g for w in words if w != word for g in _trigrams(f" {w} ")} - {" "}
            match = f"{_fts_phrase(word)} AND ({' OR '.join(map(_fts_phrase, sorted(others)))})"
            anchored += match_rowids(match, ANCHORED)
        candidates = list(dict.fromkeys([*anchored, *ranked]))
        add(fetch(candidates, len(candidates)), exact=False)
    return list(rows.values())


def text_match_ids(workspace, object_type: str, q: str) -> RawSQL:
    """Ids of records whose indexed text contains ``q``: the list filter ``?q=``."""
    table = SearchEntry._meta.db_table
    q = normalize_query(q)
    ws = workspace.pk
    if connection.vendor == "sqlite" and len(q) >= 3:
        return RawSQL(  # noqa: S611 (parameterised)  # noqa: S611 (parameterised)
            f"SELECT e.object_id FROM search_fts JOIN {table} e ON e.id = search_fts.rowid "
            "WHERE search_fts MATCH %s AND e.workspace_id = %s AND e.object_type = %s",
            (_fts_phrase(q), ws.hex, object_type),
        )
    ws_param = ws.hex if connection.vendor == "sqlite" else ws
    return RawSQL(  # noqa: S611 (parameterised)
        f"SELECT object_id FROM {table} WHERE workspace_id = %s AND object_type = %s "
        "AND text LIKE %s ESCAPE '\\'",
        (ws_param, object_type, f"%{_like_escape(q)}%"),
    )
