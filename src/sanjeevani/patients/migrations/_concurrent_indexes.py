"""Indexes on the patient table, added and dropped without locking it: on PostgreSQL they are built
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


def drop_patient_column_index(column: str) -> migrations.RunPython:
    """Drop the index Django made for one column by itself (its name is generated), for a
    field that now says ``db_index=False``; the reverse builds it again."""

    def index_names(schema_editor, patient) -> list[str]:
        return schema_editor._constraint_names(patient, [column], index=True, unique=False)

    def drop(apps, schema_editor) -> None:
        patient = apps.get_model("patients", "Patient")
        concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
        for name in index_names(schema_editor, patient):
            schema_editor.execute(
                f"DROP INDEX{concurrently} IF EXISTS {schema_editor.quote_name(name)}"
            )

    def create(apps, schema_editor) -> None:
        patient = apps.get_model("patients", "Patient")
        if index_names(schema_editor, patient):
            return
        concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
        name = schema_editor._create_index_name(patient._meta.db_table, [column])
        schema_editor.execute(
            f"CREATE INDEX{concurrently} {schema_editor.quote_name(name)} ON "
            f"{schema_editor.quote_name(patient._meta.db_table)} "
            f"({schema_editor.quote_name(column)})"
        )

    return migrations.RunPython(drop, create, elidable=False)
