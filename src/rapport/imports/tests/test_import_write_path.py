"""What the import throughput work must not change: rows, search hits, audit entries and the
connection's settings come out as before, whatever the shortcuts on the way."""

from __future__ import annotations

import gc

import pytest
from django.db import connection

from rapport.audit.models import AuditEntry
from rapport.contacts.batch import ImportMode, _Blank, rows_for, write_batch
from rapport.contacts.models import Person
from rapport.core.bulk import _SQLITE_MAX_PARAMS, bulk_writing, insert_values
from rapport.imports import services
from rapport.imports.models import ImportedRecord, ImportIssue
from rapport.search.models import SearchEntry
from rapport.search.selectors import search
from rapport.testing.factories import PersonFactory

from .helpers import csv_bytes, upload

pytestmark = pytest.mark.django_db


def test_a_blank_record_is_the_constructors_record_with_its_own_id_and_custom(actor):
    blank = _Blank(Person, actor.workspace)
    a, b = blank(), blank()
    built = Person(workspace=actor.workspace)
    skip = {"_state", "id", "custom"}
    assert {k: v for k, v in a.__dict__.items() if k not in skip} == {
        k: v for k, v in built.__dict__.items() if k not in skip
    }
    assert a.pk != b.pk and a.pk is not None
    assert a.custom == {} and a.custom is not b.custom
    assert a._state.adding and a.workspace == actor.workspace  # no query: cached


def test_one_chunk_larger_than_a_statement_is_written_whole(actor):
    """Multi-row INSERTs are split to stay under the database's parameter limit."""
    n = _SQLITE_MAX_PARAMS // 6 + 7  # search entries have six columns: two statements
    people = [{"first_name": f"Ünï{i}", "email": f"p{i}@example.com"} for i in range(n)]
    results = write_batch(
        actor=actor, object_type="person", rows=rows_for(people), match_on="email"
    )
    assert {r.status for r in results} == {"created"}
    assert SearchEntry.objects.filter(workspace=actor.workspace).count() == n
    assert [h.title for h in search(actor=actor, q=f"p{n - 1}@example.com")] == [f"Ünï{n - 1}"]


def test_an_upsert_writes_only_what_changed_and_search_follows(actor):
    person = PersonFactory(
        actor=actor, first_name="Ada", last_name="Lovelace", email="ada@example.com"
    )
    Person.objects.filter(pk=person.pk).update(city="Paris")  # not in the rows below
    results = write_batch(
        actor=actor,
        object_type="person",
        rows=rows_for(
            [
                {"email": "ada@example.com", "first_name": "Augusta", "title": "Countess"},
                {"email": "new@example.com", "first_name": "<script>x</script>"},
            ]
        ),
        mode=ImportMode.UPSERT,
        match_on="email",
        source="import:write-path",
    )
    assert [r.status for r in results] == ["updated", "created"]
    person.refresh_from_db()
    assert (person.first_name, person.title, person.city) == ("Augusta", "Countess", "Paris")
    assert person.version == 2
    entry = AuditEntry.objects.get(action="contact.updated", object_id=str(person.pk))
    assert set(entry.changes) == {"first_name", "title"}
    assert [h.title for h in search(actor=actor, q="augusta")] == ["Augusta Lovelace"]
    entry_text = SearchEntry.objects.get(object_id=person.pk).text
    assert entry_text.startswith("augusta lovelace") and "countess" in entry_text
    assert [h.title for h in search(actor=actor, q="<script>")] == ["<script>x</script>"]


def test_insert_values_of_one_row_and_of_none(actor):
    assert insert_values(ImportedRecord, ("job_id", "object_id", "created"), []) == 0


@pytest.mark.skipif(connection.vendor != "sqlite", reason="a SQLite connection setting")
def test_bulk_writing_puts_the_checkpoint_setting_back():
    def pages():
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint")
            return cursor.fetchone()[0]

    before = pages()
    with bulk_writing():
        assert pages() == 10_000
    assert pages() == before
    with pytest.raises(RuntimeError), bulk_writing():
        raise RuntimeError("a failed chunk")
    assert pages() == before


def test_an_import_leaves_the_garbage_collector_as_it_found_it(actor, settings):
    settings.IMPORT_CHUNK_ROWS = 2
    frozen = gc.get_freeze_count()
    rows = [["First Name", "Email"]] + [[f"A{i}", f"a{i}@example.com"] for i in range(5)]
    job = services.import_upload(actor=actor, upload=upload(csv_bytes(rows)), object_type="person")
    services.import_start(actor=actor, job_id=job.pk, enqueue=False)
    done = services.import_run(job.pk)
    assert done is not None and done.created_count == 5
    assert gc.get_freeze_count() == frozen


def test_lines_and_reasons_survive_chunks_of_any_size(actor, settings):
    """Chunk boundaries change nothing: every row's line, outcome and reason are reported."""
    settings.IMPORT_CHUNK_ROWS = 3
    rows = [["First Name", "Email", "Phone"]]
    for i in range(10):
        email = "not an email" if i % 4 == 1 else f"r{i}@example.com"
        rows.append([f"R{i}", email, "12" if i == 6 else "+1 202 555 0199"])
    job = services.import_upload(actor=actor, upload=upload(csv_bytes(rows)), object_type="person")
    services.import_configure(
        actor=actor,
        job_id=job.pk,
        columns={"0": "first_name", "1": "email", "2": "phone"},
        match_on="email",
    )
    services.import_start(actor=actor, job_id=job.pk, enqueue=False)
    done = services.import_run(job.pk)
    assert done is not None and (done.created_count, done.rejected_count) == (6, 4)
    issues = list(ImportIssue.objects.filter(job=done).order_by("line"))
    assert [(i.line, i.errors[0]["field"]) for i in issues] == [
        (3, "email"),
        (7, "email"),
        (8, "phone"),
        (11, "email"),
    ]
    assert ImportedRecord.objects.filter(job=done).count() == 6
    sources = AuditEntry.objects.filter(action="contact.created", source=done.source)
    assert sources.count() == 6
