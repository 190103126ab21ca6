"""A district's patients, newest first, for the duplicate check before a centre registers a
walk-in (``hwc.selectors._names_to_compare``): it reads the district's newest 5,000 through
this index instead of sorting the whole district.

On PostgreSQL it is built ``CONCURRENTLY`` (so outside a transaction): on a deployment with
millions of patients the build takes a while, and registrations go on meanwhile. A run that
was interrupted keeps the index it finished and drops an invalid one to build it again.
"""

from django.db import migrations, models

INDEXES = [models.Index(fields=["district", "-created_at"], name="patient_district_newest")]


def create_indexes(apps, schema_editor) -> None:
    patient = apps.get_model("patients", "Patient")
    for index in INDEXES:
        if schema_editor.connection.vendor != "postgresql":
            schema_editor.add_index(patient, index)
            continue
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)",
                [index.name],
            )
            found = cursor.fetchone()
        if found and found[0]:
            continue  # built by an earlier run that stopped after it
        if found:
            schema_editor.remove_index(patient, index, concurrently=True)
        schema_editor.add_index(patient, index, concurrently=True)


def drop_indexes(apps, schema_editor) -> None:
    patient = apps.get_model("patients", "Patient")
    concurrently = schema_editor.connection.vendor == "postgresql"
    for index in INDEXES:
        if concurrently:
            schema_editor.remove_index(patient, index, concurrently=True)
        else:
            schema_editor.remove_index(patient, index)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("patients", "0004_assisted_action")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(model_name="patient", index=index) for index in INDEXES
            ],
            database_operations=[
                migrations.RunPython(create_indexes, drop_indexes, elidable=False)
            ],
        )
    ]
