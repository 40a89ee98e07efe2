"""PostgreSQL row-level security on the team tables (see rapport/tenancy/rls.py)."""

from django.db import migrations

from rapport.tenancy.rls import migration_operation


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0005_record_access_teams")]

    operations = [migration_operation(["tenancy_team", "tenancy_teammember"])]
