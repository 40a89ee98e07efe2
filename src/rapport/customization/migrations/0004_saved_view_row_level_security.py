"""PostgreSQL only: row-level security on the saved views table (see tenancy/rls.py)."""

from django.db import migrations

from rapport.tenancy.rls import disable_sql, enable_sql

TABLES = ["customization_savedview"]


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
    dependencies = [("customization", "0003_saved_views")]

    operations = [migrations.RunPython(forward, backward)]
