"""Mark unanswered calls missed and expire tokens left from earlier days.

Claims and waiting-room reads already expire calls as they go; this keeps the queue right
when nobody is looking. Run once (cron) or with ``--loop SECONDS``.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from sanjeevani.queueing.services import expire_stale_tickets, expire_unanswered_calls


class Command(BaseCommand):
    help = "Mark unanswered calls missed and expire tokens from earlier days."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--loop",
            type=float,
            metavar="SECONDS",
            help="Repeat every SECONDS until stopped (Ctrl-C).",
        )

    def handle(self, *args, loop: float | None = None, **options) -> None:
        while True:
            missed = expire_unanswered_calls()
            stale = expire_stale_tickets()
            if missed or stale or options["verbosity"] > 1:
                self.stdout.write(f"{missed} call(s) marked missed, {stale} old token(s) expired")
            if not loop:
                return
            try:
                time.sleep(loop)
            except KeyboardInterrupt:
                return
