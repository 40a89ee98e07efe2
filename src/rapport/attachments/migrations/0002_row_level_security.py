"""Row-level security on the attachments table (PostgreSQL only; see tenancy/rls.py)."""

from django.db import migrations

from rapport.tenancy.rls import migration_operation


class Migration(migrations.Migration):
    dependencies = [
        ("attachments", "0001_initial"),
        ("tenancy", "0003_row_level_security"),
    ]

    operations = [migration_operation(["attachments_attachment"])]
