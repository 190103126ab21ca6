"""On PostgreSQL, ``audit_auditevent`` becomes ``PARTITION BY RANGE (at)``: one partition
per month (UTC) from the oldest row's month to three months ahead, and a DEFAULT partition
so that an insert never fails; the rows are copied in this migration. SQLite keeps the
plain table. The layout and its upkeep: ``sanjeevani.audit.partitions``.

The primary key in the database becomes ``(id, at)`` (a partitioned table's unique keys
must hold the partition key); Django keeps ``id`` as the model's primary key, and a uuid4
is unique without a constraint across partitions. The other indexes are made again, with
their names, as partitioned indexes. The column order is kept (``LIKE``), so the SQL that
inserts ``jsonb_populate_record(NULL::audit_auditevent, ...)`` rows sees the same row type.
"""

import datetime as dt

from django.db import migrations

from sanjeevani.audit import partitions

TABLE = partitions.TABLE
OLD = f"{TABLE}_unpartitioned"
PKEY = f"{TABLE}_pkey"


def _index_definitions(cursor) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname <> %s "
        "AND schemaname = current_schema() ORDER BY indexname",
        [TABLE, PKEY],
    )
    return cursor.fetchall()


def _rebuild(cursor, *, partitioned: bool) -> None:
    """Copy the table into a new one of the other kind, under its name and index names."""
    definitions = _index_definitions(cursor)
    cursor.execute(f'LOCK TABLE "{TABLE}" IN ACCESS EXCLUSIVE MODE')
    cursor.execute(f'ALTER TABLE "{TABLE}" RENAME TO "{OLD}"')
    for name, _definition in definitions:
        cursor.execute(f'DROP INDEX "{name}"')
    cursor.execute(f'ALTER TABLE "{OLD}" DROP CONSTRAINT "{PKEY}"')
    suffix = " PARTITION BY RANGE (at)" if partitioned else ""
    cursor.execute(
        f'CREATE TABLE "{TABLE}" (LIKE "{OLD}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS){suffix}'
    )
    if partitioned:
        cursor.execute(f'SELECT min(at) FROM "{OLD}"')
        oldest = cursor.fetchone()[0]
        today = dt.datetime.now(dt.UTC).date()
        month = partitions.month_start(oldest.astimezone(dt.UTC).date() if oldest else today)
        last = partitions.add_months(partitions.month_start(today), 3)
        while month <= last:
            partitions.create_month(cursor, month)
            month = partitions.add_months(month, 1)
        partitions.create_default(cursor)
    cursor.execute(f'INSERT INTO "{TABLE}" SELECT * FROM "{OLD}"')
    cursor.execute(f'DROP TABLE "{OLD}"')
    key = "(id, at)" if partitioned else "(id)"
    cursor.execute(f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{PKEY}" PRIMARY KEY {key}')
    for _name, definition in definitions:
        cursor.execute(definition)


def partition(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if not partitions.is_partitioned(cursor):
            _rebuild(cursor, partitioned=True)


def unpartition(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if partitions.is_partitioned(cursor):
            _rebuild(cursor, partitioned=False)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_request_id")]

    operations = [migrations.RunPython(partition, unpartition, elidable=False)]
