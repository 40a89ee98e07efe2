"""PostgreSQL row-level security on the sales tables (see rapport/tenancy/rls.py)."""

from django.db import migrations

from rapport.tenancy.rls import migration_operation

TABLES = [
    "sales_pipeline",
    "sales_stage",
    "sales_lostreason",
    "sales_deal",
    "sales_dealperson",
    "sales_stagehistory",
    "sales_exchangerate",
    "sales_quota",
]


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial"), ("tenancy", "0003_row_level_security")]

    operations = [migration_operation(TABLES)]
