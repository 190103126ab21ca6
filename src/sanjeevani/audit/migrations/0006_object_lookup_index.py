"""An index for lookups by object (how a consultation ended, the admin's object filter),
found missing by ``bench/audit_at_scale.py``. On PostgreSQL it is a partitioned index, made
on every month partition; ``CREATE INDEX`` blocks writes to the audit table while it
builds, so on a large existing trail run this migration in a quiet hour."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0005_partition_by_month"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["object_id", "-at"], name="audit_object_at_idx"),
        ),
    ]
