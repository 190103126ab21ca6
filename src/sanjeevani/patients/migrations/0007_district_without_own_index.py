"""The patient's district loses the index Django made for it alone: ``patient_district_newest``
(district, newest first; 0005) leads with the same column and serves every query by
district, so the single-column one only cost a write at each registration and about 200 MB
at 10 million patients. Dropped without locking the table (``_concurrent_indexes``)."""

import django.db.models.deletion
from django.db import migrations, models

from ._concurrent_indexes import drop_patient_column_index


class Migration(migrations.Migration):
    atomic = False
    dependencies = [
        ("patients", "0006_abha_number_index"),
        ("registry", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="patient",
                    name="district",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="patients",
                        to="registry.district",
                    ),
                )
            ],
            database_operations=[drop_patient_column_index("district_id")],
        )
    ]
