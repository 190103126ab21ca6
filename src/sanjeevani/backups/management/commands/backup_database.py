"""``manage.py backup_database --to FOLDER``: a verifiable backup (docs/backups.md)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sanjeevani.backups.archive import BackupError, write_backup


class Command(BaseCommand):
    help = "Dump the database with a manifest of its counts and signatures, and the media."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--to", required=True, type=Path, help="a new or empty folder")

    def handle(self, *args, to: Path, **options) -> None:
        try:
            manifest = write_backup(to)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"Backed up {sum(manifest['counts'].values())} rows, "
            f"{manifest['prescriptions']['count']} prescriptions and {manifest['files']} "
            f"stored files to {to}"
        )
