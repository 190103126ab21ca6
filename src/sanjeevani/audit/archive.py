"""Archiving whole months of the audit trail once the retention period has passed: the one
deliberate way audit rows leave the database (the model and its queryset refuse deletes;
this works on partitions in SQL and only through ``manage.py archive_audit``).

The Telemedicine Practice Guidelines 2020 ask for three years, so a month may be archived
once its last day is 36 months old (``AUDIT_RETENTION_MONTHS``). Each month is exported to
``<partition>.csv.gz`` with ``<partition>.manifest.json`` (rows, SHA-256 of the file, first
and last ``at``), the file is read back and checked against the manifest and the partition,
and only then is the partition detached and dropped, all in one transaction per month:
if the export or the check fails, nothing is dropped.
"""

# Table names here come from partitions.partition_name; values go as parameters.
# ruff: noqa: S608

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

from . import partitions

MANIFEST_SUFFIX = ".manifest.json"


class ArchiveError(Exception):
    """An archive refused or failed; the message says why, and nothing was dropped."""


@dataclass(frozen=True)
class ArchivedMonth:
    month: dt.date
    partition: str
    rows: int
    file: Path | None


def retention_months() -> int:
    return int(getattr(settings, "AUDIT_RETENTION_MONTHS", 36))


def latest_archivable_month(today: dt.date) -> dt.date:
    """The youngest month whose every row is at least the retention period old."""
    return partitions.add_months(partitions.month_start(today), -retention_months() - 1)


def parse_month(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise ArchiveError(f"{text!r} is not a month; write it as YYYY-MM, e.g. 2023-11.") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_back(path: Path) -> dict:
    """Rows and first/last ``at`` of an archive file, as read from the file itself."""
    rows, first, last = 0, None, None
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        at = header.index("at")
        for record in reader:
            rows += 1
            if first is None:
                first = record[at]
            last = record[at]
    return {"columns": header, "rows": rows, "first_at": first, "last_at": last}


def verify_archive(manifest_path: Path) -> list[str]:
    """What is wrong with an archived month's file against its manifest ([] if nothing)."""
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as error:
        return [f"{manifest_path.name}: unreadable manifest ({error})"]
    path = manifest_path.parent / manifest.get("file", "")
    if not path.is_file():
        return [f"{manifest_path.name}: {manifest.get('file')!r} is missing"]
    problems = []
    if _sha256(path) != manifest.get("sha256"):
        problems.append(f"{path.name}: SHA-256 differs from the manifest")
    try:
        found = _read_back(path)
    except (OSError, EOFError, ValueError, StopIteration, csv.Error) as error:
        return [*problems, f"{path.name}: unreadable ({error})"]
    for key in ("rows", "first_at", "last_at", "columns"):
        if found[key] != manifest.get(key):
            problems.append(
                f"{path.name}: {key} {found[key]!r}, the manifest says {manifest.get(key)!r}"
            )
    return problems


def months_to_archive(before: dt.date, today: dt.date) -> list[tuple[dt.date, str]]:
    """The attached month partitions older than ``before``; refuses a ``before`` that would
    take a month younger than the retention period."""
    latest = latest_archivable_month(today)
    if before > partitions.add_months(latest, 1):
        raise ArchiveError(
            f"--before {before:%Y-%m} would archive months younger than "
            f"{retention_months()} months (the guidelines' three years): the most recent "
            f"month that may be archived today is {latest:%Y-%m} "
            f"(--before {partitions.add_months(latest, 1):%Y-%m} at the latest)."
        )
    with connection.cursor() as cursor:
        if not partitions.is_partitioned(cursor):
            raise ArchiveError("The audit table is not partitioned (run manage.py migrate).")
        return [(m, name) for m, name in partitions.monthly_partitions(cursor) if m < before]


def count_rows(partition: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{partition}"')
        return cursor.fetchone()[0]


def archive_month(month: dt.date, partition: str, folder: Path) -> ArchivedMonth:
    """Export, check, detach and drop one month partition, in one transaction."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{partition}.csv.gz"
    manifest_path = folder / f"{partition}{MANIFEST_SUFFIX}"
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f'LOCK TABLE "{partition}" IN SHARE MODE')
            cursor.execute(f'SELECT count(*), min(at)::text, max(at)::text FROM "{partition}"')
            rows, first, last = cursor.fetchone()
            with gzip.GzipFile(path, "wb", mtime=0) as out:
                copy_sql = (
                    f'COPY (SELECT * FROM "{partition}" ORDER BY at, id) '
                    "TO STDOUT WITH (FORMAT csv, HEADER)"
                )
                with cursor.cursor.copy(copy_sql) as copy:
                    for block in copy:
                        out.write(block)
            with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
                columns = next(csv.reader(io.StringIO(handle.readline())))
            manifest = {
                "table": partitions.TABLE,
                "partition": partition,
                "month": f"{month:%Y-%m}",
                "file": path.name,
                "rows": rows,
                "sha256": _sha256(path),
                "first_at": first,
                "last_at": last,
                "columns": columns,
                "archived_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
            manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
            problems = verify_archive(manifest_path)
            if problems:
                raise ArchiveError("; ".join(problems))
            cursor.execute(f'ALTER TABLE "{partitions.TABLE}" DETACH PARTITION "{partition}"')
            cursor.execute(f'DROP TABLE "{partition}"')
    except Exception:
        path.unlink(missing_ok=True)
        manifest_path.unlink(missing_ok=True)
        raise
    return ArchivedMonth(month, partition, rows, path)


def rows_in_default_before(before: dt.date) -> int:
    """Rows older than ``before`` left in the DEFAULT partition (written before their month's
    partition existed and never moved); the archive cannot take them by month."""
    low, _high = partitions.bounds(before)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [partitions.DEFAULT_PARTITION])
        if cursor.fetchone()[0] is None:
            return 0
        cursor.execute(
            f'SELECT count(*) FROM "{partitions.DEFAULT_PARTITION}" WHERE at < %s', [low]
        )
        return cursor.fetchone()[0]
