"""PostgreSQL: a case is sent in one call of ``hwc_send_case`` (``hwc/sql/send_case/``):
the spoke's lock and next number, the ticket, the case and their audit rows."""

from django.db import migrations

from sanjeevani.queueing.sql import InstallSQL


class Migration(migrations.Migration):
    dependencies = [
        ("hwc", "0002_default_specialty_rules"),
        ("queueing", "0014_ticket_spoke_day_index"),
        ("audit", "0004_request_id"),
    ]

    operations = [InstallSQL("send_case", 1, app="hwc")]
