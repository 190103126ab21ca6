"""Store the PDF of every prescription that has none for its status.

Run once after upgrading to a release that keeps PDFs (downloads render the missing ones
meanwhile, without storing them), and whenever the log says a render failed at issue.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from sanjeevani.prescriptions.documents import store_missing_pdfs


class Command(BaseCommand):
    help = "Render and store the PDF of every prescription that has none for its status."

    def handle(self, *args, **options) -> None:
        stored = store_missing_pdfs()
        self.stdout.write(f"{stored} prescription PDF(s) stored")
