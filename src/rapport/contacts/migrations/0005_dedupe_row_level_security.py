"""Row-level security on the dedupe and merge tables (PostgreSQL only; see rapport.tenancy.rls)."""

from django.db import migrations

from rapport.tenancy.rls import disable_sql, enable_sql

TABLES = [
    "contacts_otheridentifier",
    "contacts_duplicatepair",
    "contacts_mergeredirect",
    "contacts_duplicatescan",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        for sql in enable_sql(table):
            schema_editor.execute(sql)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        for sql in disable_sql(table):
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0004_dedupe"),
        ("tenancy", "0003_row_level_security"),  # creates rapport_workspace_visible()
    ]

    operations = [migrations.RunPython(forward, backward)]
