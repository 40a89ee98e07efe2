"""PostgreSQL only: row-level security on the definitions table (see tenancy/rls.py), and GIN
indexes on the people's and companies' ``custom`` column for the custom field filters
(``custom @> '{"key": value}'``; ``jsonb_path_ops`` serves exactly containment)."""

from django.db import migrations

from rapport.tenancy.rls import disable_sql, enable_sql

TABLES = ["customization_customfield"]
GIN = {
    "contacts_person": "contacts_person_custom_gin",
    "contacts_company": "contacts_company_custom_gin",
}


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        for sql in enable_sql(table):
            schema_editor.execute(sql)
    for table, index in GIN.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {index} ON {table} USING gin (custom jsonb_path_ops)"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in GIN.values():
        schema_editor.execute(f"DROP INDEX IF EXISTS {index}")
    for table in TABLES:
        for sql in disable_sql(table):
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("customization", "0001_initial"),
        ("contacts", "0002_initial"),
        ("tenancy", "0003_row_level_security"),
    ]

    operations = [migrations.RunPython(forward, backward)]
