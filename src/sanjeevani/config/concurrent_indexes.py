"""Indexes on the large tables (patients, accounts), added and dropped without locking them:
on PostgreSQL they are built ``CONCURRENTLY`` (so outside a transaction; the migration says
``atomic = False``), because on a deployment with millions of rows a build takes a while
and registrations and sign-ins go on meanwhile. A run that was interrupted keeps the
indexes it finished and drops an invalid one to build it again. (Django's
``AddIndexConcurrently`` is PostgreSQL-only; SQLite, the default, gets a plain index.)
"""

from __future__ import annotations

from django.db import migrations, models


def add_indexes(
    app_label: str, model_name: str, *indexes: models.Index
) -> migrations.SeparateDatabaseAndState:
    def create(apps, schema_editor) -> None:
        model = apps.get_model(app_label, model_name)
        for index in indexes:
            if schema_editor.connection.vendor != "postgresql":
                schema_editor.add_index(model, index)
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
                schema_editor.remove_index(model, index, concurrently=True)
            schema_editor.add_index(model, index, concurrently=True)

    def drop(apps, schema_editor) -> None:
        model = apps.get_model(app_label, model_name)
        for index in indexes:
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.remove_index(model, index, concurrently=True)
            else:
                schema_editor.remove_index(model, index)

    return migrations.SeparateDatabaseAndState(
        state_operations=[
            migrations.AddIndex(model_name=model_name.lower(), index=i) for i in indexes
        ],
        database_operations=[migrations.RunPython(create, drop, elidable=False)],
    )


def drop_column_index(app_label: str, model_name: str, column: str) -> migrations.RunPython:
    """Drop the index Django made for one column by itself (its name is generated), for a
    field that now says ``db_index=False``; the reverse builds it again."""

    def index_names(schema_editor, model) -> list[str]:
        return schema_editor._constraint_names(model, [column], index=True, unique=False)

    def drop(apps, schema_editor) -> None:
        model = apps.get_model(app_label, model_name)
        concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
        for name in index_names(schema_editor, model):
            schema_editor.execute(
                f"DROP INDEX{concurrently} IF EXISTS {schema_editor.quote_name(name)}"
            )

    def create(apps, schema_editor) -> None:
        model = apps.get_model(app_label, model_name)
        if index_names(schema_editor, model):
            return
        concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
        name = schema_editor._create_index_name(model._meta.db_table, [column])
        schema_editor.execute(
            f"CREATE INDEX{concurrently} {schema_editor.quote_name(name)} ON "
            f"{schema_editor.quote_name(model._meta.db_table)} "
            f"({schema_editor.quote_name(column)})"
        )

    return migrations.RunPython(drop, create, elidable=False)
