"""Apply edits of the reference data files to an existing database."""

from django.core.management.base import BaseCommand
from django.db import transaction

from sanjeevani.registry.reference import load_reference_data


class Command(BaseCommand):
    help = "Load states, districts and specialties from registry/data/*.csv (an upsert)."

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            counts = load_reference_data()
        self.stdout.write(
            f"{counts.states} states and union territories, {counts.districts} districts, "
            f"{counts.specialties} specialties."
        )
