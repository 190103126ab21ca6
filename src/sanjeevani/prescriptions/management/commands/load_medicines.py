from pathlib import Path

from django.core.management.base import BaseCommand

from sanjeevani.prescriptions.catalogue import CATALOGUE_FILE, load_catalogue
from sanjeevani.prescriptions.models import Medicine


class Command(BaseCommand):
    help = "Load or refresh the medicine catalogue from prescriptions/data/medicines.csv."

    def add_arguments(self, parser):
        parser.add_argument("--file", default=str(CATALOGUE_FILE))

    def handle(self, *args, **options):
        created, updated, deactivated = load_catalogue(Medicine, Path(options["file"]))
        self.stdout.write(
            f"Medicines: {created} created, {updated} updated, {deactivated} deactivated."
        )
