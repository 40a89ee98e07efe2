"""Row-level security on the import and export tables (PostgreSQL only; see tenancy/rls.py).

Issues and imported-record rows carry no workspace: they are read only through their job.
"""

from django.db import migrations

from rapport.tenancy.rls import disable_sql, enable_sql

TABLES = ["imports_importjob", "imports_importmapping", "imports_exportjob", "imports_bulkjob"]


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
        ("imports", "0001_initial"),
        ("tenancy", "0003_row_level_security"),
    ]

    operations = [migrations.RunPython(forward, backward)]
