"""Writing a backup folder and restoring one into a fresh database.

The manifest is counted in the same snapshot the dump is taken from (PostgreSQL: an
exported snapshot that pg_dump reuses), so "counts match" means exactly that even while
the platform is busy. Stored files are copied after the dump: they are written once and
never changed, so the copy holds at least what the dump refers to.

The platform's signing key is not in the folder: a stolen backup must not be able to sign
prescriptions. The manifest names the key's id, and a restore refuses to start until the
key, kept apart, is back in place (docs/backups.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import tarfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from sanjeevani.prescriptions import signing

from .manifest import RestoreCheck, check_restore, take_manifest

DATABASE_DUMP = "database.dump"
SQLITE_COPY = "database.sqlite3"
MEDIA_ARCHIVE = "media.tar.gz"
MANIFEST = "manifest.json"
CHECKSUMS = "SHA256SUMS"


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says what to do."""


def _libpq_env() -> dict[str, str]:
    """pg_dump and pg_restore reach the database Django uses, password out of argv. A host
    or port left empty is left to libpq's own environment, as Django's connection leaves
    it: with PGHOST/PGPORT naming every node and PGTARGETSESSIONATTRS=read-write (the
    Patroni set-up of docs/deployment.md) they follow the primary too."""
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(PGDATABASE=db["NAME"], PGUSER=db.get("USER") or "")
    if db.get("HOST"):
        env["PGHOST"] = db["HOST"]
    if db.get("PORT"):
        env["PGPORT"] = str(db["PORT"])
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return env


def _run(command: list[str]) -> None:
    done = subprocess.run(command, env=_libpq_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[-2000:]}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _dump_database(folder: Path) -> dict[str, Any]:
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            (snapshot,) = cursor.fetchone()
            manifest = take_manifest()
            _run(
                [
                    "pg_dump",
                    "--format=custom",
                    "--no-owner",
                    f"--snapshot={snapshot}",
                    f"--file={folder / DATABASE_DUMP}",
                ]
            )
        return manifest
    if connection.vendor == "sqlite":
        # The transaction takes SQLite's write lock (IMMEDIATE): nothing changes between
        # the count and the copy, which a second connection reads (WAL lets it).
        with transaction.atomic():
            manifest = take_manifest()
            source = sqlite3.connect(connection.settings_dict["NAME"])
            target = sqlite3.connect(folder / SQLITE_COPY)
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
        return manifest
    raise BackupError(f"Backups support PostgreSQL and SQLite, not {connection.vendor}.")


def write_backup(folder: Path) -> dict[str, Any]:
    """Dump, media, manifest and checksums into ``folder`` (new or empty), readable only by
    its owner: it holds patients' records."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"{folder} is not empty: back up into a new folder.")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    old_umask = os.umask(0o077)
    try:
        manifest = _dump_database(folder)
        media = Path(settings.MEDIA_ROOT)
        with tarfile.open(folder / MEDIA_ARCHIVE, "w:gz") as archive:
            if media.exists():
                archive.add(media, arcname=".")
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != CHECKSUMS)
        (folder / CHECKSUMS).write_text(
            "".join(f"{_sha256(p)}  {p.relative_to(folder)}\n" for p in files)
        )
    finally:
        os.umask(old_umask)
    return manifest


def _check_checksums(folder: Path) -> None:
    sums = folder / CHECKSUMS
    if not sums.exists():
        raise BackupError(f"{folder} has no {CHECKSUMS}: it is not a complete backup.")
    for line in sums.read_text().splitlines():
        expected, name = line.split("  ", 1)
        path = folder / name
        if not path.exists() or _sha256(path) != expected:
            raise BackupError(f"{name} in {folder} is missing or damaged (checksum differs).")


def _restore_database(folder: Path) -> None:
    if connection.introspection.table_names():
        raise BackupError(
            f"The database {connection.settings_dict['NAME']} already has tables: restore "
            "into a fresh, empty database (createdb) and point DATABASE_URL at it."
        )
    if connection.vendor == "postgresql":
        dump = folder / DATABASE_DUMP
        if not dump.exists():
            raise BackupError(f"{folder} holds no PostgreSQL dump ({DATABASE_DUMP}).")
        connection.close()
        _run(
            [
                "pg_restore",
                "--no-owner",
                "--exit-on-error",
                "--single-transaction",
                f"--dbname={connection.settings_dict['NAME']}",
                str(dump),
            ]
        )
        return
    copy = folder / SQLITE_COPY
    if not copy.exists():
        raise BackupError(f"{folder} holds no SQLite copy ({SQLITE_COPY}).")
    connection.ensure_connection()
    source = sqlite3.connect(copy)
    try:
        source.backup(connection.connection)
    finally:
        source.close()


def _check_key(manifest: dict[str, Any]) -> None:
    """The key is restored by hand from where it is kept; without it every prescription
    would read as altered, so nothing is restored until it is the backup's key."""
    key_file = Path(settings.SIGNING_KEY_FILE)
    wanted = manifest["signing_key_id"]
    if not key_file.exists():
        raise BackupError(
            f"No signing key at {key_file}: put back the platform key with id {wanted} "
            "(kept apart from the backups) and restore again."
        )
    signing._load_private_key.cache_clear()
    if signing.key_id() != wanted:
        raise BackupError(
            f"The signing key at {key_file} has id {signing.key_id()}; this backup's "
            f"prescriptions were signed with {wanted}: put that key back and restore again."
        )


def restore_backup(folder: Path) -> RestoreCheck:
    """Restore ``folder`` into the (empty) configured database and its media into
    MEDIA_ROOT, then check the result against the manifest."""
    folder = Path(folder)
    _check_checksums(folder)
    _check_key(json.loads((folder / MANIFEST).read_text()))
    _restore_database(folder)
    media = Path(settings.MEDIA_ROOT)
    media.mkdir(parents=True, exist_ok=True)
    with tarfile.open(folder / MEDIA_ARCHIVE, "r:gz") as archive:
        archive.extractall(media, filter="data")
    return verify_backup_restored(folder)


def verify_backup_restored(folder: Path) -> RestoreCheck:
    """The check alone, for a database restored by other means (e.g. point-in-time)."""
    manifest = json.loads((Path(folder) / MANIFEST).read_text())
    signing._load_private_key.cache_clear()
    return check_restore(manifest)
