"""Row-level security on the import and export tables (PostgreSQL only; see tenancy/rls.py).

Issues and imported-record rows carry no workspace: they are read only through their job.
"""

from django.db import migrations

from rapport.tenancy.rls import migration_operation

TABLES = ["imports_importjob", "imports_importmapping", "imports_exportjob", "imports_bulkjob"]


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0001_initial"),
        ("tenancy", "0003_row_level_security"),
    ]

    operations = [migration_operation(TABLES)]
