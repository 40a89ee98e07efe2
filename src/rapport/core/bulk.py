"""Inserting many rows fast: one prepared INSERT run with executemany.

Django's ``bulk_create`` compiles a new multi-row statement for every few dozen rows (SQLite
allows 999 parameters per statement) and spends most of an import's time doing so. Here the
statement is built once and the database driver repeats it; values still go through each
field's ``pre_save`` and ``get_db_prep_save``, so they are stored exactly as ``save()`` would
store them. Signals are not sent (as with ``bulk_create``); nothing in Rapport listens to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections, models, router


def insert_many(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    if not objs:
        return
    alias = router.db_for_write(model)
    connection = connections[alias]
    fields = [
        f
        for f in model._meta.concrete_fields
        if not (isinstance(f, models.AutoField | models.BigAutoField) and f.primary_key)
    ]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(model._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    rows = [[f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields] for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = alias


def update_many(model: type[models.Model], objs: Sequence[models.Model], fields) -> None:
    """``UPDATE ... SET <fields> WHERE pk = ...`` for each object, as one executemany.

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
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        quote(meta.db_table),
        ", ".join(f"{quote(f.column)} = %s" for f in concrete),
        quote(meta.pk.column),  # type: ignore[union-attr]
    )
    pk: Any = meta.pk
    rows = [
        [
            *(f.get_db_prep_save(f.pre_save(obj, False), connection) for f in concrete),
            pk.get_db_prep_save(obj.pk, connection),
        ]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
