"""Make the audit trail's monthly partitions for this month and the next ones (PostgreSQL;
nothing to do on SQLite). Daily from ``deploy/systemd/sanjeevani-audit-partitions.timer``;
idempotent, so running it more often is harmless. Without it, rows of a month with no
partition go to the DEFAULT partition and are moved into the month's partition when it is
made."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from sanjeevani.audit.partitions import ensure_audit_partitions


class Command(BaseCommand):
    help = "Create the audit trail's monthly partitions ahead of time (PostgreSQL)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--months-ahead",
            type=int,
            default=3,
            help="Months after the current one to create (default 3).",
        )

    def handle(self, *args, months_ahead: int, **options) -> None:
        made = ensure_audit_partitions(months_ahead)
        if made or options["verbosity"] > 1:
            self.stdout.write(f"audit partitions created: {', '.join(made) or 'none'}")
