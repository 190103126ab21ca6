"""The audit trail's monthly partitions on PostgreSQL (migration 0005 makes the table
partitioned; SQLite keeps one plain table and every function here does nothing there).

``audit_auditevent`` is ``PARTITION BY RANGE (at)`` with one partition per calendar month
in UTC, ``audit_auditevent_y2026m12`` holding ``[2026-12-01, 2027-01-01)``, and a DEFAULT
partition, ``audit_auditevent_default``, so that an insert never fails for want of its
month. Housekeeping creates the months ahead (``ensure_audit_partitions``); the archive
command (``manage.py archive_audit``) exports and drops whole months older than the
retention period, the one way audit rows ever leave the database.

The database's primary key is ``(id, at)``, because a partitioned table's unique
constraints must contain the partition key; Django still sees ``id`` as the primary key.
``id`` is a random uuid4 (122 random bits) made by the application or ``gen_random_uuid()``,
so it is unique without a constraint across partitions.
"""

# Table names here are constants or made by partition_name; values go as parameters.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction

from sanjeevani.config.prepared_statements import client_bound_cursor

TABLE = "audit_auditevent"
DEFAULT_PARTITION = f"{TABLE}_default"
#: Any constant: two housekeeping loops on two hosts create months one at a time.
_LOCK_KEY = 7_150_015


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def partition_name(month: dt.date) -> str:
    return f"{TABLE}_y{month.year:04d}m{month.month:02d}"


def month_of_partition(name: str) -> dt.date | None:
    """The month a partition's name stands for; None for the DEFAULT one or another table."""
    prefix = f"{TABLE}_y"
    if not name.startswith(prefix) or len(name) != len(prefix) + 7:
        return None
    try:
        return dt.date(int(name[len(prefix) : len(prefix) + 4]), int(name[-2:]), 1)
    except ValueError:
        return None


def bounds(month: dt.date) -> tuple[str, str]:
    """The month's range as UTC timestamps, whatever the session's time zone."""
    return f"{month:%Y-%m-%d} 00:00:00+00", f"{add_months(month, 1):%Y-%m-%d} 00:00:00+00"


def is_partitioned(cursor) -> bool:
    cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)", [TABLE])
    return cursor.fetchone() is not None


def monthly_partitions(cursor) -> list[tuple[dt.date, str]]:
    """The month partitions attached to the audit table, oldest first."""
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(%s)",
        [TABLE],
    )
    months = [(month_of_partition(name), name) for (name,) in cursor.fetchall()]
    return sorted((month, name) for month, name in months if month is not None)


def create_month(cursor, month: dt.date) -> bool:
    """Attach ``month``'s partition if missing; True if it was made. Rows of that month
    already in the DEFAULT partition (written before the month was made) are moved into it
    in the same transaction, since PostgreSQL refuses to attach over them."""
    name = partition_name(month)
    cursor.execute("SELECT to_regclass(%s)", [name])
    if cursor.fetchone()[0] is not None:
        return False
    low, high = bounds(month)
    cursor.execute(f'CREATE TABLE "{name}" (LIKE "{TABLE}" INCLUDING DEFAULTS)')
    cursor.execute("SELECT to_regclass(%s)", [DEFAULT_PARTITION])
    if cursor.fetchone()[0] is not None:
        cursor.execute(
            f'WITH moved AS (DELETE FROM "{DEFAULT_PARTITION}" WHERE at >= %s AND at < %s '
            f'RETURNING *) INSERT INTO "{name}" SELECT * FROM moved',
            [low, high],
        )
    with client_bound_cursor() as ddl:  # DDL takes no server-side parameters
        ddl.execute(
            f'ALTER TABLE "{TABLE}" ATTACH PARTITION "{name}" FOR VALUES FROM (%s) TO (%s)',
            [low, high],
        )
    return True


def create_default(cursor) -> None:
    cursor.execute(
        f'CREATE TABLE IF NOT EXISTS "{DEFAULT_PARTITION}" PARTITION OF "{TABLE}" DEFAULT'
    )


def ensure_audit_partitions(months_ahead: int = 3, *, today: dt.date | None = None) -> list[str]:
    """Make the partitions of this month and the next ``months_ahead`` (and the DEFAULT
    one) if missing, and of any month whose rows wait in the DEFAULT one; the names made.
    Idempotent and cheap when there is nothing to do: run daily (``audit_partitions``).
    Does nothing on a database without partitions."""
    if connection.vendor != "postgresql":
        return []
    first = month_start(today or dt.datetime.now(dt.UTC).date())
    made: list[str] = []
    with transaction.atomic(), connection.cursor() as cursor:
        if not is_partitioned(cursor):
            return []
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        create_default(cursor)
        wanted = {add_months(first, step) for step in range(months_ahead + 1)}
        for month in sorted(wanted | set(months_waiting_in_default(cursor))):
            if create_month(cursor, month):
                made.append(partition_name(month))
    return made


def months_waiting_in_default(cursor) -> list[dt.date]:
    """Months with rows in the DEFAULT partition (written while their month had no
    partition, e.g. when the daily run stopped for a while); usually none, so cheap."""
    cursor.execute(
        f"SELECT DISTINCT date_trunc('month', at AT TIME ZONE 'UTC')::date "
        f'FROM "{DEFAULT_PARTITION}"'
    )
    return [month for (month,) in cursor.fetchall()]
