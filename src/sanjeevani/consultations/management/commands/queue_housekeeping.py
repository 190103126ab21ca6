"""Mark unanswered calls missed, expire tokens left from earlier days, and text the
tokens that came near the front of the line.

Reads never write: a waiting room shows a passed call window as missed, and this records
it (ends the consultation as a no-show and frees the doctor). Claims mark near-turn tokens
at most once a second per OPD and process; this catches up the rest. Run once (cron) or
with ``--loop SECONDS``; ``make run`` starts it with ``--loop 5`` beside the server.
It lives with the consultations because a missed call ends a consultation.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from sanjeevani.consultations.services import expire_unanswered_calls
from sanjeevani.queueing.services import catch_up_near_turn, expire_stale_tickets


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
