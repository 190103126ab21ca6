"""Every ticket waits in a queue (0011 gave each its queue), and the claim is keyed on queues:
version 4 of the claim function takes a doctor's ordered list of queues
(``queueing/sql/claim_next_ticket/v4.sql``)."""

import django.db.models.deletion
from django.db import migrations, models

from sanjeevani.queueing.sql import InstallSQL


class Migration(migrations.Migration):
    dependencies = [("queueing", "0011_queue")]

    operations = [
        migrations.AlterField(
            model_name="ticket",
            name="queue",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="tickets",
                to="queueing.queue",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("status", "waiting")),
                fields=["queue", "priority", "queued_at"],
                name="ticket_queue_waiting_idx",
            ),
        ),
        InstallSQL("claim_next_ticket", 4, reverse_version=3),
    ]
