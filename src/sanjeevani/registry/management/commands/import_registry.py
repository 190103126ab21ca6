"""Load facilities, hub-spoke links, online OPDs and doctors from one CSV file."""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sanjeevani.accounts.services import set_password_path
from sanjeevani.registry.importing import MAX_COMMAND_ROWS
from sanjeevani.registry.services import import_registry_csv


class Command(BaseCommand):
    help = (
        "Import the registry from a CSV file (format: docs/registry-import.md). Every row is "
        "checked first; with any bad row nothing is written and each is reported by line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the CSV file")
        parser.add_argument(
            "--as",
            dest="username",
            help="import as this administrator (a state administrator may load only their "
            "state); default: the operator at the shell, with national reach",
        )
        parser.add_argument(
            "--check", action="store_true", help="only check the file; write nothing"
        )

    def handle(self, *args, file: Path, username: str | None, check: bool, **options) -> None:
        self._started = time.monotonic()
        actor = self._actor(username)
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from exc
        try:
            result = import_registry_csv(
                data,
                actor,
                dry_run=check,
                max_rows=MAX_COMMAND_ROWS,
                progress=self._progress,
            )
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        if not result.ok:
            for error in result.errors:
                self.stderr.write(f"{file.name}: {error}")
            raise CommandError(
                f"{len(result.errors)} problem(s) in {file.name}; nothing was written."
            )
        self.stdout.write(self.style.SUCCESS(result.summary()))
        if result.doctors_without_password:
            self.stdout.write(
                f"{len(result.doctors_without_password)} new doctor account(s) have no "
                "password yet. Send each their one-time link to choose one:"
            )
            for user in get_user_model().objects.filter(
                username__in=result.doctors_without_password
            ):
                link = settings.PUBLIC_BASE_URL.rstrip("/") + set_password_path(user)
                self.stdout.write(f"  {user.username}: {link}")

    def _progress(self, message: str) -> None:
        """What the import is doing, with the time since the command started, on stderr."""
        elapsed = time.monotonic() - self._started
        self.stderr.write(f"[{elapsed:7.1f} s] {message}")
        self.stderr.flush()

    def _actor(self, username: str | None):
        """The named administrator, or None: the operator at the shell, with national reach."""
        if not username:
            return None
        actor = get_user_model().objects.filter(username=username).first()
        if actor is None:
            raise CommandError(f"no user named {username!r}")
        return actor
