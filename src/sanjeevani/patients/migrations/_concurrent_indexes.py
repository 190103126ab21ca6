"""Indexes on the patient table, added without locking it: on PostgreSQL they are built
``CONCURRENTLY`` (so outside a transaction; the migration says ``atomic = False``), because
on a deployment with millions of patients a build takes a while and registrations go on
meanwhile. A run that was interrupted keeps the indexes it finished and drops an invalid
one to build it again. (Django's ``AddIndexConcurrently`` is PostgreSQL-only; SQLite, the
default, gets a plain index.)

The leading underscore keeps Django's migration loader from reading this as a migration.
"""

from __future__ import annotations

from django.db import migrations, models


def add_patient_indexes(*indexes: models.Index) -> migrations.SeparateDatabaseAndState:
    def create(apps, schema_editor) -> None:
        patient = apps.get_model("patients", "Patient")
        for index in indexes:
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
                continue
            if found:
                schema_editor.remove_index(patient, index, concurrently=True)
            schema_editor.add_index(patient, index, concurrently=True)

    def drop(apps, schema_editor) -> None:
        patient = apps.get_model("patients", "Patient")
        for index in indexes:
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.remove_index(patient, index, concurrently=True)
            else:
                schema_editor.remove_index(patient, index)

    return migrations.SeparateDatabaseAndState(
        state_operations=[migrations.AddIndex(model_name="patient", index=i) for i in indexes],
        database_operations=[migrations.RunPython(create, drop, elidable=False)],
    )
