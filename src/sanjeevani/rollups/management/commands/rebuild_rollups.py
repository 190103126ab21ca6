"""``manage.py rebuild_rollups``: recompute the dashboards' counters from the raw rows
(after a bulk load, or to check the live counting)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from sanjeevani.rollups.rebuild import rebuild_rollups


class Command(BaseCommand):
    help = "Recompute every rollup table from consultations, tickets and prescriptions."

    def handle(self, *args, **options):
        started = time.monotonic()
        rows = rebuild_rollups(progress=lambda line: self.stderr.write(f"  {line}"))
        took = time.monotonic() - started
        summary = ", ".join(f"{name} {count}" for name, count in rows.items())
        self.stdout.write(f"Rollups rebuilt in {took:.1f} s: {summary}")
