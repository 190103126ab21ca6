"""PostgreSQL: ``hwc_send_case`` v3 counts the ticket in the rollups itself
(``rollups_count_token``), so ``submit_case`` writes a case in one statement."""

from django.db import migrations

from sanjeevani.queueing.sql import InstallSQL


class Migration(migrations.Migration):
    dependencies = [
        ("hwc", "0004_send_case_writes_case_first"),
        ("rollups", "0004_counting_function"),
    ]

    operations = [InstallSQL("send_case", 3, app="hwc", reverse_version=2)]
