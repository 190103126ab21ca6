"""``manage.py seed_national --consultations N``: a synthetic country at national scale."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sanjeevani.dashboard.seeding import seed_national


class Command(BaseCommand):
    help = (
        "Build a synthetic but realistic country (36 states and UTs, their districts, "
        "115,234 spokes, 15,731 hubs, 1,152 OPDs, doctors, patients) and N historical "
        "consultations with the dashboard rollups (counted while generating into an empty "
        "database, else rebuilt afterwards). Deterministic for a --seed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--consultations", type=int, required=True, metavar="N")
        parser.add_argument("--seed", type=int, default=1, help="same seed, same data")
        scale = parser.add_mutually_exclusive_group()
        scale.add_argument(
            "--scale-facilities",
            choices=["full", "small"],
            default="full",
            help="full: the national registry (default); small: two states, same proportions",
        )
        scale.add_argument("--small", action="store_true", help="same as --scale-facilities small")
        parser.add_argument(
            "--append",
            action="store_true",
            help="add to a database that already has consultations",
        )
        parser.add_argument(
            "--yes", action="store_true", help="write even though DEBUG is off (production)"
        )
        parser.add_argument(
            "--no-rollups", action="store_true", help="write no rollups (rebuild_rollups later)"
        )

    def handle(self, *args, **options) -> None:
        from sanjeevani.consultations.models import Consultation

        count = options["consultations"]
        if count < 0:
            raise CommandError("--consultations must be 0 or more")
        if (getattr(settings, "PRODUCTION", False) or not settings.DEBUG) and not options["yes"]:
            raise CommandError(
                "This looks like a production database (DEBUG is off): synthetic patients and "
                "consultations would mix with real ones. Add --yes if this is a test database."
            )
        if not options["append"] and Consultation.objects.exists():
            raise CommandError(
                "The database already has consultations; add --append to add synthetic ones "
                "to them (the dashboards will count both)."
            )
        small = options["small"] or options["scale_facilities"] == "small"
        started = time.monotonic()
        report = seed_national(
            count,
            seed=options["seed"],
            small=small,
            stream=self.stderr,
            rollups=not options["no_rollups"],
        )
        if not options["no_rollups"] and not report.rollups:
            mark = time.monotonic()
            rebuild_rollups(self.stderr)
            report.seconds["rollups"] = time.monotonic() - mark
        if report.rollups:
            report.seconds["rollups"] = 0.0  # written with the rows: see "history"
        total = time.monotonic() - started
        times = ", ".join(f"{name} {seconds:,.1f} s" for name, seconds in report.seconds.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {report.consultations:,} consultations and {report.patients:,} "
                f"patients in {total:,.1f} s ({times})"
                + ("; rollups counted while generating." if report.rollups else ".")
            )
        )


def rebuild_rollups(stream) -> None:
    """The rollups recomputed from the rows just written, so the dashboards agree with them."""
    if "rebuild_rollups" not in get_commands():
        raise CommandError(
            "The rows are written, but the rollups could not be rebuilt: the rebuild_rollups "
            "command (app sanjeevani.rollups) is not installed. Run it once it is."
        )
    stream.write("rebuilding the rollups from the raw rows...\n")
    call_command("rebuild_rollups")
