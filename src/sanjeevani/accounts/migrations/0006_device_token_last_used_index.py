"""An index on the device tokens' last use: the purge of idle tokens and the administration's
list (newest use first) read a range of it instead of sorting or scanning every device in
the country. ``last_used_at`` is written at most once per ``API_TOKEN_TOUCH_SECONDS`` per
token, so the index costs few writes. Built concurrently on PostgreSQL
(``sanjeevani.config.concurrent_indexes``)."""

from django.db import migrations, models

from sanjeevani.config.concurrent_indexes import add_indexes


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("accounts", "0005_staff_index")]

    operations = [
        add_indexes(
            "accounts",
            "DeviceToken",
            models.Index(fields=["last_used_at"], name="devicetoken_last_used"),
        )
    ]
