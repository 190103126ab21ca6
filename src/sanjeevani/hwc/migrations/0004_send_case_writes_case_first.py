"""PostgreSQL: ``hwc_send_case`` v2 writes the case before its ticket, so a draft sent
again is refused by the case's ``client_key`` and ``submit_case`` needs no probe first."""

from django.db import migrations

from sanjeevani.queueing.sql import InstallSQL


class Migration(migrations.Migration):
    dependencies = [("hwc", "0003_send_case_function")]

    operations = [InstallSQL("send_case", 2, app="hwc", reverse_version=1)]
