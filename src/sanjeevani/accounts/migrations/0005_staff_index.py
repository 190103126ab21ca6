"""The staff accounts' partial index (``user_staff``), for the administration's search by name
at national size; built concurrently on PostgreSQL (``sanjeevani.config.concurrent_indexes``)."""

from django.db import migrations, models

from sanjeevani.config.concurrent_indexes import add_indexes


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("accounts", "0004_device_tokens")]

    operations = [
        add_indexes(
            "accounts",
            "User",
            models.Index(
                condition=~models.Q(role="patient"), fields=["username"], name="user_staff"
            ),
        )
    ]
