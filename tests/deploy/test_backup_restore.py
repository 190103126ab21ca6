"""The restore drill (issue 15, item 7): back up a database holding signed prescriptions
and stored files, restore it into a fresh database, media folder and key path, and prove
that nothing was lost; then show that the check fails when something was.

The restore runs as an operator would run it, ``manage.py restore_backup`` in another
process pointed at the fresh database, on both SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection

from sanjeevani.audit.models import AuditEvent
from sanjeevani.backups.archive import MEDIA_ARCHIVE, write_backup
from sanjeevani.patients.models import PatientDocument
from sanjeevani.prescriptions import signing
from sanjeevani.prescriptions.models import Prescription
from sanjeevani.prescriptions.signing import canonical_json
from tests.e2e.live import REPO, live_database_url, server_env
from tests.prescriptions.conftest import issue, line
from tests.prescriptions.factories import ConsultationFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def backed_up(settings, tmp_path):
    """A prescription issued through the API (so signed by the platform and the doctor)
    and an uploaded document, then a backup."""
    settings.SIGNING_KEY_FILE = tmp_path / "keys" / "rx.pem"
    settings.MEDIA_ROOT = tmp_path / "media"
    signing._load_private_key.cache_clear()
    call_command("load_medicines", verbosity=0)
    consultation = ConsultationFactory()
    response = issue(consultation, [line("paracetamol")])
    assert response.status_code == 201, response.content
    document = PatientDocument(
        patient=consultation.patient,
        uploaded_by=consultation.patient.account,
        title="Blood sugar report",
        content_type="text/plain",
        size=12,
    )
    document.file.save("report.txt", ContentFile(b"fasting 110\n"), save=False)
    document.save()
    manifest = write_backup(tmp_path / "backup")
    yield tmp_path / "backup", manifest, Prescription.objects.get(pk=response.json()["id"])
    signing._load_private_key.cache_clear()


@pytest.fixture
def fresh(tmp_path):
    """A fresh database (PostgreSQL: a new one beside the test's; SQLite: a new file), an
    empty media folder and no key file: the state of a rebuilt server."""
    if connection.vendor == "postgresql":
        name = f"{connection.settings_dict['NAME']}_restored"
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"')
        url = live_database_url().rsplit("/", 1)[0] + f"/{name}"
    else:
        name = str(tmp_path / "restored.sqlite3")
        url = f"sqlite:///{name}"
    target = {
        "DATABASE_URL": url,
        "MEDIA_ROOT": str(tmp_path / "restored-media"),
        "SIGNING_KEY_FILE": str(tmp_path / "restored-keys" / "rx.pem"),
    }
    yield target, url
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def restore(folder: Path, target: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "restore_backup", "--from", str(folder), *extra],
        cwd=REPO,
        env=server_env(**target),
        capture_output=True,
        text=True,
        timeout=240,
    )


def execute(url: str, sql: str, params: list) -> None:
    """Change the restored database behind the application's back."""
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            db.execute(sql.replace("%s", "?"), params)
        return
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(sql, params)


def test_a_backup_restores_into_a_fresh_database_with_nothing_lost(backed_up, fresh, settings):
    folder, manifest, prescription = backed_up
    target, url = fresh
    assert manifest["prescriptions"]["count"] == 1
    assert manifest["counts"]["audit.auditevent"] == AuditEvent.objects.count() > 0
    assert manifest["files"] == 1

    # The key is kept apart from the backups: without it, nothing is restored.
    refused = restore(folder, target)
    assert refused.returncode != 0
    assert f"put back the platform key with id {manifest['signing_key_id']}" in refused.stderr
    key = Path(target["SIGNING_KEY_FILE"])
    signing.generate_key_file(key)
    refused = restore(folder, target)
    assert refused.returncode != 0
    assert f"were signed with {manifest['signing_key_id']}" in refused.stderr
    key.write_bytes(Path(settings.SIGNING_KEY_FILE).read_bytes())

    done = restore(folder, target)
    assert done.returncode == 0, done.stdout + done.stderr
    print(done.stdout)
    assert "prescriptions verified: 1" in done.stdout
    assert "stored files found: 1 of 1" in done.stdout
    assert done.stdout.strip().endswith("lost: nothing")

    # Restoring twice into the same database is refused before anything is written.
    again = restore(folder, target)
    assert again.returncode != 0
    assert "already has tables" in again.stderr

    # The check can fail: an altered prescription, a lost row and a lost file are named.
    content = dict(prescription.content)
    content["medicines"] = [{**content["medicines"][0], "dose": "10 tablets"}]
    table = Prescription._meta.db_table
    row = prescription.pk.hex if url.startswith("sqlite") else str(prescription.pk)
    execute(
        url,
        f"UPDATE {table} SET content = %s WHERE id = %s",
        [canonical_json(content).decode(), row],
    )
    audit = AuditEvent._meta.db_table
    execute(url, f"DELETE FROM {audit} WHERE id IN (SELECT id FROM {audit} LIMIT 1)", [])
    (stored,) = Path(target["MEDIA_ROOT"]).rglob("*.txt")
    stored.unlink()
    checked = restore(folder, target, "--verify-only")
    assert checked.returncode != 0
    assert f"{prescription.pk}: platform signature" in checked.stdout
    assert "audit.auditevent: " in checked.stdout
    assert "stored files missing (1)" in checked.stdout
    assert "lost: see above" in checked.stdout


def test_a_damaged_backup_is_refused_before_anything_is_restored(backed_up, fresh):
    folder, _manifest, _prescription = backed_up
    target, _url = fresh
    archive = folder / MEDIA_ARCHIVE
    archive.write_bytes(archive.read_bytes()[:-10] + b"0123456789")
    done = restore(folder, target)
    assert done.returncode != 0
    assert f"{MEDIA_ARCHIVE} in {folder} is missing or damaged" in done.stderr
    assert not Path(target["MEDIA_ROOT"]).exists()
