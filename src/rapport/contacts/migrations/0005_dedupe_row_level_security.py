"""Row-level security on the dedupe and merge tables (PostgreSQL only; see rapport.tenancy.rls)."""

from django.db import migrations

from rapport.tenancy.rls import migration_operation

TABLES = [
    "contacts_otheridentifier",
    "contacts_duplicatepair",
    "contacts_mergeredirect",
    "contacts_duplicatescan",
]


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0004_dedupe"),
        ("tenancy", "0003_row_level_security"),  # creates rapport_workspace_visible()
    ]

    operations = [migration_operation(TABLES)]
