"""Inserting many rows fast: one prepared INSERT run with executemany.

Django's ``bulk_create`` compiles a new multi-row statement for every few dozen rows (SQLite
allows 999 parameters per statement) and spends most of an import's time doing so. Here the
statement is built once and the database driver repeats it; values still go through each
field's ``pre_save`` and ``get_db_prep_save``, so they are stored exactly as ``save()`` would
store them. Signals are not sent (as with ``bulk_create``); nothing in Rapport listens to them.

Two shortcuts keep the per-value cost low, both giving what ``get_db_prep_save`` would give:
text and whole-number fields pass text and ints through as they are (their preparation is the
identity for those), and UUIDs (primary keys and foreign keys to them) become the driver's
form directly. ``insert_values`` writes plain tuples, without building a model instance per
row (a model's ``__init__`` costs more than preparing its values): audit entries, search
entries and link rows are written that way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from django.db import connections, models, router

_TEXT = {models.CharField, models.TextField}
_WHOLE = {
    models.IntegerField,
    models.BigIntegerField,
    models.SmallIntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.PositiveBigIntegerField,
}


def _preparer(field: models.Field, connection) -> Callable[[Any], Any]:
    """value -> database value, as ``field.get_db_prep_save(value, connection)``. Only the
    exact field classes below take a shortcut; any subclass may prepare differently."""
    generic = field.get_db_prep_save
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    kind = type(target)
    if kind in _TEXT:  # text (and None) is prepared as itself
        return lambda v: v if v is None or v.__class__ is str else generic(v, connection)
    if kind in _WHOLE:
        return lambda v: v if v is None or v.__class__ is int else generic(v, connection)
    if kind is models.BooleanField:
        return lambda v: v if v is None or v.__class__ is bool else generic(v, connection)
    if kind is models.DateTimeField and connection.vendor == "sqlite" and _utc(connection):
        # SQLite stores naive UTC text: what Django's adapter makes of an aware UTC datetime
        return lambda v: (
            str(v.replace(tzinfo=None))
            if v.__class__ is dt.datetime and v.tzinfo is dt.UTC
            else generic(v, connection)
        )
    if kind is models.UUIDField:
        if connection.features.has_native_uuid_field:
            return lambda v: v if v is None or v.__class__ is uuid.UUID else generic(v, connection)
        return lambda v: (
            None if v is None else v.hex if v.__class__ is uuid.UUID else generic(v, connection)
        )
    return lambda v: generic(v, connection)


def _utc(connection) -> bool:
    return connection.timezone is dt.UTC


def _insert_sql(connection, model: type[models.Model], fields: Sequence[models.Field]) -> str:
    quote = connection.ops.quote_name
    return "INSERT INTO {} ({}) VALUES ({})".format(
        quote(model._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )


def _insertable(model: type[models.Model]) -> list[Any]:
    return [
        f
        for f in model._meta.concrete_fields
        if not (isinstance(f, models.AutoField | models.BigAutoField) and f.primary_key)
    ]


# PostgreSQL runs each statement of an executemany on its own (parse, plan, row-level security
# check per row). Sent as one array per column and spread by unnest(), a whole batch is one
# statement: two to three times faster than executemany (COPY would be faster still, but the
# row-level security policies refuse COPY FROM for the application's role). Not for JSON
# columns: quoting JSON documents into an array literal costs more than it saves.
_PG_ROWS_PER_STATEMENT = 5_000


def _as_arrays(connection, fields: Sequence[models.Field], rows: list) -> bool:
    return (
        connection.vendor == "postgresql"
        and len(rows) > 1
        and not any(isinstance(f, models.JSONField) for f in fields)
    )


def _pg_arrays(connection, fields: Sequence[models.Field], rows: list) -> tuple[str, list]:
    """``unnest(%s::type[], ...)`` and its parameters (one list per column) for ``rows``."""
    types = [f.db_type(connection) for f in fields]
    sql = "unnest({})".format(", ".join(f"%s::{t}[]" for t in types))
    return sql, [list(column) for column in zip(*rows, strict=True)]


# SQLite runs each statement of an executemany on its own, and the search index's FTS5
# triggers pay for every statement (FTS5 flushes its pending terms at each statement's
# savepoint: a segment per row, then merges). One multi-row VALUES statement per chunk fires
# the same triggers inside one statement: about three times cheaper for search entries.
_SQLITE_MAX_PARAMS = 30_000


def _sqlite_max_params(connection) -> int:
    import sqlite3

    connection.ensure_connection()
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return min(limit, _SQLITE_MAX_PARAMS)


def _run_values(cursor, connection, head: str, width: int, rows: list) -> None:
    per_statement = max(1, _sqlite_max_params(connection) // width)
    one = "({})".format(", ".join(["%s"] * width))
    for start in range(0, len(rows), per_statement):
        part = rows[start : start + per_statement]
        cursor.execute(
            f"{head} VALUES {', '.join([one] * len(part))}", [v for row in part for v in row]
        )


def _run_insert(connection, model, fields: Sequence[models.Field], rows: list) -> None:
    quote = connection.ops.quote_name
    head = "INSERT INTO {} ({})".format(
        quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields)
    )
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite" and len(rows) > 1:
            _run_values(cursor, connection, head, len(fields), rows)
            return
        if not _as_arrays(connection, fields, rows):
            cursor.executemany(_insert_sql(connection, model, fields), rows)
            return
        for start in range(0, len(rows), _PG_ROWS_PER_STATEMENT):
            source, params = _pg_arrays(
                connection, fields, rows[start : start + _PG_ROWS_PER_STATEMENT]
            )
            cursor.execute(f"{head} SELECT * FROM {source}", params)


def insert_many(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    if not objs:
        return
    alias = router.db_for_write(model)
    connection = connections[alias]
    fields = _insertable(model)
    # (field, attname, preparer, needs pre_save): pre_save matters for fields that fill
    # themselves in (auto_now dates, files); the rest read the attribute.
    plan = [
        (f, f.attname, _preparer(f, connection), type(f).pre_save is not models.Field.pre_save)
        for f in fields
    ]
    rows = []
    for obj in objs:
        values = obj.__dict__
        rows.append(
            [
                prep(f.pre_save(obj, True) if own or name not in values else values[name])
                for f, name, prep, own in plan
            ]
        )
    _run_insert(connection, model, fields, rows)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = alias


def insert_values(
    model: type[models.Model], names: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Inserts rows given as tuples of Python values for the fields ``names`` (attribute names:
    ``workspace_id``, not ``workspace``), prepared per field as ``save()`` would; fields left
    out take their default. Answers how many rows were written."""
    alias = router.db_for_write(model)
    connection = connections[alias]
    by_name = {f.attname: f for f in _insertable(model)} | {f.name: f for f in _insertable(model)}
    fields = [by_name[n] for n in names]
    rest = [f for f in _insertable(model) if f not in fields]
    defaults = []
    for f in rest:
        if not f.has_default() and not f.null:
            raise ValueError(f"{model.__name__}.{f.name} needs a value")
        defaults.append((_preparer(f, connection), f))
    preps = [_preparer(f, connection) for f in fields]
    width = len(preps)
    prepared = []
    for row in rows:
        values = [preps[i](row[i]) for i in range(width)]
        values.extend(prep(f.get_default()) for prep, f in defaults)
        prepared.append(values)
    if prepared:
        _run_insert(connection, model, [*fields, *rest], prepared)
    return len(prepared)


def update_many(model: type[models.Model], objs: Sequence[models.Model], fields) -> None:
    """``UPDATE ... SET <fields> WHERE pk = ...`` for each object: one executemany on SQLite,
    one ``UPDATE ... FROM unnest(...)`` on PostgreSQL.

    (``bulk_update`` builds one CASE WHEN per field and row, which costs more than the
    update itself for thousands of rows.)
    """
    if not objs:
        return
    alias = router.db_for_write(model)
    connection = connections[alias]
    meta = model._meta
    concrete: list[Any] = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    pk: Any = meta.pk
    plan = [
        (f, f.attname, _preparer(f, connection), type(f).pre_save is not models.Field.pre_save)
        for f in concrete
    ]
    prep_pk = _preparer(pk, connection)
    rows = []
    for obj in objs:
        values = obj.__dict__
        row = [
            prep(f.pre_save(obj, False) if own or name not in values else values[name])
            for f, name, prep, own in plan
        ]
        row.append(prep_pk(obj.pk))
        rows.append(row)
    table, pk_column = quote(meta.db_table), quote(pk.column)
    with connection.cursor() as cursor:
        if not _as_arrays(connection, concrete, rows):
            sql = "UPDATE {} SET {} WHERE {} = %s".format(
                table, ", ".join(f"{quote(f.column)} = %s" for f in concrete), pk_column
            )
            cursor.executemany(sql, rows)
            return
        names = ", ".join([*(f"c{i}" for i in range(len(concrete))), "pk"])
        assignments = ", ".join(f"{quote(f.column)} = v.c{i}" for i, f in enumerate(concrete))
        for start in range(0, len(rows), _PG_ROWS_PER_STATEMENT):
            source, params = _pg_arrays(
                connection, [*concrete, pk], rows[start : start + _PG_ROWS_PER_STATEMENT]
            )
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM {source} AS v({names}) "
                f"WHERE {table}.{pk_column} = v.pk",
                params,
            )


# SQLite copies the write-ahead log back into the database (a checkpoint, with its fsync)
# whenever the log passes 1,000 pages: an import chunk writes more than that, so every commit
# paid a checkpoint. While bulk writing, the connection lets the log grow ten times larger.
_BULK_WAL_PAGES = 10_000


@contextlib.contextmanager
def bulk_writing(using: str = "default") -> Iterator[None]:
    """Database settings for a long run of bulk writes on this connection (SQLite: fewer
    checkpoints), put back afterwards."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        (before,) = cursor.fetchone()
        cursor.execute(f"PRAGMA wal_autocheckpoint = {_BULK_WAL_PAGES}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint = {int(before)}")
