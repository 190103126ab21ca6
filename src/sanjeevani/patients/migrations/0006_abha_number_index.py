"""A centre finds a walk-in by ABHA number (``hwc.selectors.find_patients``); without an
index every search read the whole patient table. Most patients have none, so only those
with one are indexed. Built without locking the table (``_concurrent_indexes``)."""

from django.db import migrations, models

from ._concurrent_indexes import add_patient_indexes


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("patients", "0005_newest_in_scope_indexes")]

    operations = [
        add_patient_indexes(
            models.Index(
                fields=["abha_number"],
                condition=~models.Q(abha_number=""),
                name="patient_abha_number",
            )
        )
    ]
