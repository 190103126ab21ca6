"""Archiving months of the audit trail older than three years (``manage.py archive_audit``)
and checking the archive (``manage.py verify_audit_archive``)."""

import datetime as dt
import gzip
import json
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from sanjeevani.audit import archive, partitions
from sanjeevani.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (DATABASE_URL=postgres://...): the months are partitions only there",
)

OLD = dt.date(2022, 5, 1)


def _old_month_with_rows(count: int) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(count)]
    with connection.cursor() as cursor:
        partitions.create_month(cursor, OLD)
        for day, event_id in enumerate(ids, start=1):
            cursor.execute(
                "INSERT INTO audit_auditevent (id, at, actor_label, actor_role, action,"
                " object_type, object_id, user_agent, detail)"
                " VALUES (%s, %s, 'dr-old', 'doctor', 'patient.view', '', '', '', '{}')",
                [event_id, dt.datetime(2022, 5, day, 9, tzinfo=dt.UTC)],
            )
    return ids


def _attached() -> list[str]:
    with connection.cursor() as cursor:
        return [name for _month, name in partitions.monthly_partitions(cursor)]


def test_the_latest_archivable_month_is_three_years_back():
    assert archive.latest_archivable_month(dt.date(2026, 12, 4)) == dt.date(2023, 11, 1)
    assert archive.latest_archivable_month(dt.date(2026, 12, 31)) == dt.date(2023, 11, 1)


@pytest.mark.skipif(
    connection.vendor == "postgresql",
    reason="checks SQLite's plain audit table; on PostgreSQL the partitioned one is tested",
)
def test_sqlite_is_told_it_needs_postgresql(tmp_path):
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("archive_audit", "--before", "2022-06", "--to", str(tmp_path))


@needs_postgresql
def test_an_old_month_is_archived_verified_and_dropped(tmp_path, capsys):
    ids = _old_month_with_rows(3)
    name = partitions.partition_name(OLD)
    call_command("archive_audit", "--before", "2022-06", "--dry-run")
    assert "2022-05: 3 row(s)" in capsys.readouterr().out
    assert name in _attached()

    call_command("archive_audit", "--before", "2022-06", "--to", str(tmp_path))
    assert "2022-05: 3 row(s) archived" in capsys.readouterr().out
    assert name not in _attached()
    assert not AuditEvent.objects.filter(pk__in=ids).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [name])
        assert cursor.fetchone()[0] is None

    manifest = json.loads((tmp_path / f"{name}.manifest.json").read_text())
    assert manifest["rows"] == 3
    assert manifest["first_at"].startswith("2022-05-01 09:00:00")
    assert manifest["last_at"].startswith("2022-05-03 09:00:00")
    with gzip.open(tmp_path / manifest["file"], "rt") as handle:
        text = handle.read()
    assert all(str(event_id) in text for event_id in ids)

    call_command("verify_audit_archive", str(tmp_path))
    assert "1 archived month(s) verified" in capsys.readouterr().out


@needs_postgresql
def test_a_recent_month_is_refused_naming_the_latest_allowed(tmp_path):
    latest = archive.latest_archivable_month(dt.datetime.now(dt.UTC).date())
    too_young = partitions.add_months(latest, 2)
    before = len(_attached())
    with pytest.raises(
        CommandError, match=f"most recent month that may be archived today is {latest:%Y-%m}"
    ):
        call_command("archive_audit", "--before", f"{too_young:%Y-%m}", "--to", str(tmp_path))
    assert len(_attached()) == before
    assert list(tmp_path.iterdir()) == []


@needs_postgresql
def test_a_tampered_file_fails_verification(tmp_path, capsys):
    _old_month_with_rows(2)
    call_command("archive_audit", "--before", "2022-06", "--to", str(tmp_path))
    path = tmp_path / f"{partitions.partition_name(OLD)}.csv.gz"
    with gzip.open(path, "rt") as handle:
        text = handle.read()
    with gzip.open(path, "wt") as handle:
        handle.write(text.replace("dr-old", "dr-new"))
    with pytest.raises(CommandError, match="1 of 1 archived month"):
        call_command("verify_audit_archive", str(tmp_path))
    assert "SHA-256 differs" in capsys.readouterr().err


@needs_postgresql
def test_a_failed_check_drops_nothing(tmp_path, monkeypatch):
    ids = _old_month_with_rows(2)
    monkeypatch.setattr(archive, "verify_archive", lambda manifest: ["rows differ"])
    with pytest.raises(CommandError, match="nothing dropped: rows differ"):
        call_command("archive_audit", "--before", "2022-06", "--to", str(tmp_path))
    assert partitions.partition_name(OLD) in _attached()
    assert AuditEvent.objects.filter(pk__in=ids).count() == 2
    assert list(tmp_path.iterdir()) == []
