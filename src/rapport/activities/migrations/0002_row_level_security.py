"""PostgreSQL row-level security on the activities tables (see rapport/tenancy/rls.py)."""

from django.db import migrations

from rapport.tenancy.rls import migration_operation

TABLES = [
    "activities_activity",
    "activities_activitytarget",
    "activities_task",
    "activities_tasktarget",
    "activities_calendarfeed",
]


class Migration(migrations.Migration):
    dependencies = [("activities", "0001_initial"), ("tenancy", "0003_row_level_security")]

    operations = [migration_operation(TABLES)]
