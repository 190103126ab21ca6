"""A district's patients, newest first, for the duplicate check before a centre registers a
walk-in (``hwc.selectors._names_to_compare``): it reads the district's newest 5,000 through
this index instead of sorting the whole district. Built without locking the table
(``_concurrent_indexes``)."""

from django.db import migrations, models

from ._concurrent_indexes import add_patient_indexes


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("patients", "0004_assisted_action")]

    operations = [
        add_patient_indexes(
            models.Index(fields=["district", "-created_at"], name="patient_district_newest")
        )
    ]
