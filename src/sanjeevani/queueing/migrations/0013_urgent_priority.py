"""Urgent hub-and-spoke cases (danger signs recorded at the health centre)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("queueing", "0012_ticket_queue_required_claim_by_queue")]

    operations = [
        migrations.AlterField(
            model_name="ticket",
            name="priority",
            field=models.PositiveSmallIntegerField(
                choices=[
                    (0, "Head of queue (returning after a drop or a missed call)"),
                    (1, "Urgent (danger signs recorded at the health centre)"),
                    (5, "Follow-up"),
                    (10, "Normal"),
                ],
                default=10,
            ),
        ),
    ]
