"""Export, verify and drop the audit trail's months older than the retention period
(three years): ``manage.py archive_audit --before 2023-12 --to /var/backups/audit-archive``.
PostgreSQL only (the months are partitions there). The rules: ``audit/archive.py``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from sanjeevani.audit import archive


class Command(BaseCommand):
    help = (
        "Archive whole months of the audit trail older than three years: export each to a "
        "gzip CSV with a manifest, check it, then drop the month's partition."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--before",
            required=True,
            metavar="YYYY-MM",
            help="Archive the months before this one.",
        )
        parser.add_argument(
            "--to", metavar="FOLDER", help="Where the files go (required unless --dry-run)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="List the months and their rows only."
        )

    def handle(self, *args, before: str, to: str | None, dry_run: bool, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(
                f"archive_audit needs PostgreSQL, where the audit trail is partitioned by "
                f"month; this database is {connection.vendor}."
            )
        if not dry_run and not to:
            raise CommandError("--to FOLDER is required (or --dry-run).")
        try:
            before_month = archive.parse_month(before)
            months = archive.months_to_archive(before_month, dt.datetime.now(dt.UTC).date())
        except archive.ArchiveError as error:
            raise CommandError(str(error)) from None
        if not months:
            self.stdout.write(f"No month partition before {before_month:%Y-%m}.")
        for month, partition in months:
            if dry_run:
                rows = archive.count_rows(partition)
                self.stdout.write(f"{month:%Y-%m}: {rows} row(s) in {partition} would be archived")
                continue
            try:
                done = archive.archive_month(month, partition, Path(to))
            except Exception as error:
                raise CommandError(
                    f"{month:%Y-%m}: not archived, nothing dropped: {error}"
                ) from error
            self.stdout.write(
                f"{month:%Y-%m}: {done.rows} row(s) archived to {done.file}, {partition} dropped"
            )
        stray = archive.rows_in_default_before(before_month)
        if stray:
            self.stderr.write(
                f"{stray} row(s) older than {before_month:%Y-%m} are in the DEFAULT partition "
                "and were not archived (see docs/deployment.md, Backups and record retention)."
            )
