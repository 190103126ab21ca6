"""Check an audit archive folder: every month's file against its manifest (SHA-256, rows,
first and last ``at``). Needs no database: run it wherever the archive is kept."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sanjeevani.audit.archive import MANIFEST_SUFFIX, verify_archive


class Command(BaseCommand):
    help = "Check the files of an audit archive folder against their manifests."

    def add_arguments(self, parser) -> None:
        parser.add_argument("folder", metavar="FOLDER")

    def handle(self, *args, folder: str, **options) -> None:
        manifests = sorted(Path(folder).glob(f"*{MANIFEST_SUFFIX}"))
        if not manifests:
            raise CommandError(f"No archive manifest in {folder}.")
        failed = 0
        for manifest in manifests:
            problems = verify_archive(manifest)
            if problems:
                failed += 1
                for problem in problems:
                    self.stderr.write(problem)
            else:
                self.stdout.write(f"{manifest.name.removesuffix(MANIFEST_SUFFIX)}: verified")
        if failed:
            raise CommandError(
                f"{failed} of {len(manifests)} archived month(s) failed verification."
            )
        self.stdout.write(f"{len(manifests)} archived month(s) verified")
