"""``manage.py restore_backup --from FOLDER``: restore into a fresh database and prove it
(docs/backups.md). ``--verify-only`` checks an already restored database."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sanjeevani.backups.archive import BackupError, restore_backup, verify_backup_restored


class Command(BaseCommand):
    help = (
        "Restore a backup folder into the configured (empty) database and MEDIA_ROOT (the "
        "signing key must be back in place first), then check counts, signatures and "
        "files against its manifest."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--from", dest="folder", required=True, type=Path)
        parser.add_argument(
            "--verify-only",
            action="store_true",
            help="do not restore; check the configured database against the manifest",
        )

    def handle(self, *args, folder: Path, verify_only: bool, **options) -> None:
        try:
            check = verify_backup_restored(folder) if verify_only else restore_backup(folder)
        except (BackupError, FileNotFoundError) as error:
            raise CommandError(str(error)) from error
        for line in check.lines():
            self.stdout.write(line)
        if not check.ok:
            raise CommandError("The restored data does not match the backup.")
