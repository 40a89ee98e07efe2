"""Row-level security on the notification tables (PostgreSQL only; see tenancy/rls.py)."""

from django.db import migrations

from rapport.tenancy.rls import migration_operation

TABLES = ["notifications_notification", "notifications_notificationpreference"]


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("tenancy", "0003_row_level_security"),
    ]

    operations = [migration_operation(TABLES)]
