"""Full-text and trigram indexes for global search, per database.

SQLite: an FTS5 table with the trigram tokenizer, an external-content index over
search_searchentry kept in step by triggers. PostgreSQL: pg_trgm GIN indexes for similarity and
substring matches, and a tsvector GIN index for word matches.
"""

from django.db import migrations

SQLITE_FORWARD = [
    """CREATE VIRTUAL TABLE search_fts USING fts5(
           text, content='search_searchentry', content_rowid='id', tokenize='trigram')""",
    """CREATE TRIGGER search_fts_ai AFTER INSERT ON search_searchentry BEGIN
           INSERT INTO search_fts(rowid, text) VALUES (new.id, new.text);
       END""",
    """CREATE TRIGGER search_fts_ad AFTER DELETE ON search_searchentry BEGIN
           INSERT INTO search_fts(search_fts, rowid, text) VALUES ('delete', old.id, old.text);
       END""",
    """CREATE TRIGGER search_fts_au AFTER UPDATE OF text ON search_searchentry BEGIN
           INSERT INTO search_fts(search_fts, rowid, text) VALUES ('delete', old.id, old.text);
           INSERT INTO search_fts(rowid, text) VALUES (new.id, new.text);
       END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS search_fts_au",
    "DROP TRIGGER IF EXISTS search_fts_ad",
    "DROP TRIGGER IF EXISTS search_fts_ai",
    "DROP TABLE IF EXISTS search_fts",
]
POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX search_entry_text_trgm ON search_searchentry USING gin (text gin_trgm_ops)",
    "CREATE INDEX search_entry_title_trgm ON search_searchentry USING gin (title gin_trgm_ops)",
    "CREATE INDEX search_entry_text_tsv ON search_searchentry "
    "USING gin (to_tsvector('simple', text))",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS search_entry_text_tsv",
    "DROP INDEX IF EXISTS search_entry_title_trgm",
    "DROP INDEX IF EXISTS search_entry_text_trgm",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0002_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        )
    ]
