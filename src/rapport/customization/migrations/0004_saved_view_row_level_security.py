"""PostgreSQL only: row-level security on the saved views table (see tenancy/rls.py)."""

from django.db import migrations

from rapport.tenancy.rls import migration_operation

TABLES = ["customization_savedview"]


class Migration(migrations.Migration):
    dependencies = [("customization", "0003_saved_views")]

    operations = [migration_operation(TABLES)]
