"""Mark unanswered calls missed, expire tokens left from earlier days, and text the
tokens that came near the front of the line.

Claims and waiting-room reads already expire calls as they go, and claims mark near-turn
tokens at most once a second per OPD and process; this keeps the queue right when nobody
is looking. Run once (cron) or with ``--loop SECONDS``.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from sanjeevani.queueing.services import (
    catch_up_near_turn,
    expire_stale_tickets,
    expire_unanswered_calls,
)


class Command(BaseCommand):
    help = "Mark unanswered calls missed, expire old tokens, text tokens near the front."

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
            near = catch_up_near_turn()
            if missed or stale or near or options["verbosity"] > 1:
                self.stdout.write(
                    f"{missed} call(s) marked missed, {stale} old token(s) expired, "
                    f"{near} told their turn is near"
                )
            if not loop:
                return
            try:
                time.sleep(loop)
            except KeyboardInterrupt:
                return
