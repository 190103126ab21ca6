"""Mark unanswered calls missed, expire tokens left from earlier days, text the tokens
that came near the front of the line, move hub-and-spoke cases that waited past
their state's time to the state's overflow, and make the audit trail's coming monthly
partitions (hourly).

Reads never write: a waiting room shows a passed call window as missed, and this records
it (ends the consultation as a no-show and frees the doctor). Claims mark near-turn tokens
at most once a second per OPD and process; this catches up the rest. Run once (cron) or
with ``--loop SECONDS``; ``make run`` starts it with ``--loop 5`` beside the server.
It lives in ``hwc``, the highest of the apps whose timed transitions it runs (a missed
call ends a consultation; an overflow moves a hub-and-spoke case).
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from sanjeevani.audit.partitions import ensure_audit_partitions
from sanjeevani.consultations.services import expire_unanswered_calls
from sanjeevani.hwc.routing import overflow_waiting_cases
from sanjeevani.queueing.services import catch_up_near_turn, expire_stale_tickets

PARTITIONS_EVERY_SECONDS = 3600


class Command(BaseCommand):
    help = (
        "Mark unanswered calls missed, expire old tokens, text tokens near the front, "
        "overflow hub-and-spoke cases that waited too long."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--loop",
            type=float,
            metavar="SECONDS",
            help="Repeat every SECONDS until stopped (Ctrl-C).",
        )

    def handle(self, *args, loop: float | None = None, **options) -> None:
        partitions_due = 0.0
        while True:
            if time.monotonic() >= partitions_due:
                # Next months' audit partitions (PostgreSQL), so that a deployment without
                # the daily timer has them too; hourly is plenty and each check is cheap.
                made = ensure_audit_partitions()
                partitions_due = time.monotonic() + PARTITIONS_EVERY_SECONDS
                if made:
                    self.stdout.write(f"audit partitions created: {', '.join(made)}")
            missed = expire_unanswered_calls()
            stale = expire_stale_tickets()
            # Before the near-turn pass, so that a case moved to the overflow is told in
            # this run, not the next.
            overflowed = overflow_waiting_cases()
            near = catch_up_near_turn()
            if missed or stale or near or overflowed or options["verbosity"] > 1:
                self.stdout.write(
                    f"{missed} call(s) marked missed, {stale} old token(s) expired, "
                    f"{near} told their turn is near, {overflowed} case(s) overflowed"
                )
            if not loop:
                return
            try:
                time.sleep(loop)
            except KeyboardInterrupt:
                return
