"""Row-level security on every workspace table (PostgreSQL only; see rapport.tenancy.rls).

Apps adding workspace tables later add their own migration calling the same helpers.
"""

from django.db import migrations

from rapport.tenancy.rls import FUNCTION_SQL, disable_sql, enable_sql

TABLES = [
    "contacts_person",
    "contacts_company",
    "core_tag",
    "core_idempotencyrecord",
    "search_searchentry",
    "audit_auditentry",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION_SQL)
    for table in TABLES:
        for sql in enable_sql(table):
            schema_editor.execute(sql)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        for sql in disable_sql(table):
            schema_editor.execute(sql)
    schema_editor.execute("DROP FUNCTION IF EXISTS rapport_workspace_visible(uuid)")


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0002_initial"),
        ("contacts", "0002_initial"),
        ("core", "0002_initial"),
        ("search", "0003_search_backends"),
        ("audit", "0002_initial"),
    ]

    operations = [migrations.RunPython(forward, backward)]
