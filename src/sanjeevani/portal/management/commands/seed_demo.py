"""``manage.py seed_demo [--once]``: load the demo states, places, people and a patient family."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sanjeevani.portal.demo import (
    DemoRefused,
    demo_loaded,
    demo_sign_ins,
    refuse_in_production,
    seed_demo,
    sign_in_table,
)


class Command(BaseCommand):
    help = "Create demo hubs, spokes, OPDs, doctors, staff and a patient family (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="Do nothing if the demo data is already there (used by `make run`).",
        )

    def handle(self, *args: Any, once: bool = False, **options: Any) -> None:
        try:
            refuse_in_production()
        except DemoRefused as refusal:
            raise CommandError(str(refusal)) from None
        if once and demo_loaded():
            # Nothing to write; the sign-ins are still printed so `make run` always shows them.
            self.stdout.write("Demo data is already loaded. Demo sign-ins:")
            sign_ins = demo_sign_ins()
        else:
            sign_ins = seed_demo()
            self.stdout.write(self.style.SUCCESS("Demo data is ready. Demo sign-ins:"))
        self.stdout.write(sign_in_table(sign_ins))
        self.stdout.write(
            "Staff sign in at /accounts/staff/; patients at /accounts/otp/ "
            "(the SMS backend prints the code here)."
        )
