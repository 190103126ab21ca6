"""The audit trail partitioned by month on PostgreSQL (migration 0005, ``audit.partitions``)."""

import datetime as dt
import uuid

import pytest
from django.core.management import call_command
from django.db import connection

from sanjeevani.audit import partitions
from sanjeevani.audit.models import AuditEvent
from sanjeevani.audit.services import record_event

pytestmark = pytest.mark.django_db

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (DATABASE_URL=postgres://...): SQLite keeps one plain table",
)


def _partition_of(event_id: uuid.UUID) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM audit_auditevent WHERE id = %s", [event_id]
        )
        return cursor.fetchone()[0]


def _insert_at(at: dt.datetime) -> uuid.UUID:
    event_id = uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditevent (id, at, actor_label, actor_role, action, object_type,"
            " object_id, user_agent, detail) VALUES (%s, %s, '', '', 'test.row', '', '', '', '{}')",
            [event_id, at],
        )
    return event_id


def test_month_arithmetic():
    assert partitions.add_months(dt.date(2026, 12, 1), 1) == dt.date(2027, 1, 1)
    assert partitions.add_months(dt.date(2026, 1, 1), -37) == dt.date(2022, 12, 1)
    assert partitions.partition_name(dt.date(2026, 12, 1)) == "audit_auditevent_y2026m12"
    assert partitions.month_of_partition("audit_auditevent_y2026m12") == dt.date(2026, 12, 1)
    assert partitions.month_of_partition("audit_auditevent_default") is None


@pytest.mark.skipif(
    connection.vendor == "postgresql",
    reason="checks SQLite's plain audit table; on PostgreSQL the partitioned one is tested",
)
def test_sqlite_keeps_the_plain_table():
    assert partitions.ensure_audit_partitions() == []
    event = record_event(None, "patient.view")
    assert AuditEvent.objects.get(pk=event.pk).action == "patient.view"


@needs_postgresql
def test_the_table_is_partitioned_with_the_key_and_indexes():
    with connection.cursor() as cursor:
        assert partitions.is_partitioned(cursor)
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conname = 'audit_auditevent_pkey'"
        )
        assert cursor.fetchone()[0] == "PRIMARY KEY (id, at)"
        cursor.execute(
            "SELECT c.relkind FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = 'audit_audit_patient_141f76_idx'"
        )
        assert cursor.fetchone()[0] == "I"  # a partitioned index
        months = [month for month, _name in partitions.monthly_partitions(cursor)]
    this_month = partitions.month_start(dt.datetime.now(dt.UTC).date())
    assert partitions.add_months(this_month, 3) in months


@needs_postgresql
def test_a_row_goes_to_its_month():
    event = record_event(None, "patient.view", patient_id=uuid.uuid4())
    assert _partition_of(event.pk) == partitions.partition_name(
        partitions.month_start(event.at.astimezone(dt.UTC).date())
    )
    assert AuditEvent.objects.get(pk=event.pk).action == "patient.view"


@needs_postgresql
def test_a_row_without_its_month_waits_in_default_and_moves_when_made():
    far = partitions.add_months(partitions.month_start(dt.datetime.now(dt.UTC).date()), 9)
    event_id = _insert_at(dt.datetime(far.year, far.month, 10, 12, tzinfo=dt.UTC))
    assert _partition_of(event_id) == partitions.DEFAULT_PARTITION
    made = partitions.ensure_audit_partitions(months_ahead=9)
    assert partitions.partition_name(far) in made
    assert _partition_of(event_id) == partitions.partition_name(far)
    assert partitions.ensure_audit_partitions(months_ahead=9) == []


@needs_postgresql
def test_a_month_left_in_default_gets_its_partition_whenever_it_runs():
    month = partitions.add_months(partitions.month_start(dt.datetime.now(dt.UTC).date()), 2)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE "{partitions.partition_name(month)}"')
    event_id = _insert_at(dt.datetime(month.year, month.month, 15, tzinfo=dt.UTC))
    assert _partition_of(event_id) == partitions.DEFAULT_PARTITION
    assert partitions.ensure_audit_partitions(months_ahead=0) == [partitions.partition_name(month)]
    assert _partition_of(event_id) == partitions.partition_name(month)


@needs_postgresql
def test_the_command_makes_the_months_ahead(capsys):
    call_command("audit_partitions", "--months-ahead", "5")
    ahead = partitions.add_months(partitions.month_start(dt.datetime.now(dt.UTC).date()), 5)
    assert partitions.partition_name(ahead) in capsys.readouterr().out
    with connection.cursor() as cursor:
        assert ahead in [month for month, _name in partitions.monthly_partitions(cursor)]


@needs_postgresql
def test_the_database_function_still_writes_audit_rows():
    patient = uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT audit_record_event(NULL, 'system', '', 'test.function', '', '', %s, "
            '\'{"request_id": "r-1"}\'::jsonb, now())',
            [patient],
        )
    row = AuditEvent.objects.get(patient_id=patient)
    assert (row.action, row.request_id) == ("test.function", "r-1")


@needs_postgresql
def test_the_housekeeping_loop_makes_the_coming_months():
    last = partitions.add_months(partitions.month_start(dt.datetime.now(dt.UTC).date()), 3)
    name = partitions.partition_name(last)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {name}")
        assert name not in [n for _m, n in partitions.monthly_partitions(cursor)]
    call_command("queue_housekeeping")
    with connection.cursor() as cursor:
        assert name in [n for _m, n in partitions.monthly_partitions(cursor)]
