"""Room on every page of the doctor-presence table for a new version of its rows: each call
and each end of a consultation rewrites a doctor's row, and with space on the same page (and
no index on the columns that change, migration 0008) PostgreSQL does that as a HOT update,
without touching the indexes. PostgreSQL only; SQLite has no such setting."""

from django.db import migrations


def set_fillfactor(apps, schema_editor, value: int | None = 50) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("queueing", "DoctorPresence")._meta.db_table
    if value is None:
        schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)", params=None)
    else:
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {value})", params=None)


def reset_fillfactor(apps, schema_editor) -> None:
    set_fillfactor(apps, schema_editor, None)


class Migration(migrations.Migration):
    dependencies = [("queueing", "0008_presence_status_unindexed")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor, elidable=False)]
