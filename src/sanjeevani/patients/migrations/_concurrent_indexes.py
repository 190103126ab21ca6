"""The patient table's index changes (migrations 0005-0007), through
``sanjeevani.config.concurrent_indexes``.

The leading underscore keeps Django's migration loader from reading this as a migration.
"""

from __future__ import annotations

from django.db import migrations, models

from sanjeevani.config.concurrent_indexes import add_indexes, drop_column_index


def add_patient_indexes(*indexes: models.Index) -> migrations.SeparateDatabaseAndState:
    return add_indexes("patients", "Patient", *indexes)


def drop_patient_column_index(column: str) -> migrations.RunPython:
    return drop_column_index("patients", "Patient", column)
