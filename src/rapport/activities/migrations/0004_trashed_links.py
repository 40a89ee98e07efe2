"""Deleted interactions keep their links apart, so restoring them puts them back on their
timelines; with row-level security like the other activities tables."""

import django.db.models.deletion
import uuid
from django.db import migrations, models

from rapport.tenancy.rls import migration_operation


class Migration(migrations.Migration):

    dependencies = [
        ('activities', '0003_pinned_index_task_linked'),
        ('tenancy', '0007_workspace_logo'),
    ]

    operations = [
        migrations.CreateModel(
            name='TrashedActivityTarget',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('target_type', models.CharField(max_length=20)),
                ('target_id', models.UUIDField()),
                ('rollup', models.BooleanField(default=False)),
                ('activity', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='trashed_targets', to='activities.activity')),
                ('workspace', models.ForeignKey(editable=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenancy.workspace')),
            ],
            options={
                'indexes': [models.Index(fields=['target_id'], name='trashed_activity_target')],
            },
        ),
        migration_operation(["activities_trashedactivitytarget"]),
    ]
