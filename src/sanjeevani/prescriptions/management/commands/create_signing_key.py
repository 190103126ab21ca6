from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sanjeevani.prescriptions.signing import generate_key_file


class Command(BaseCommand):
    help = (
        "Create the Ed25519 prescription signing key at SIGNING_KEY_FILE (mode 0600). "
        "Production refuses to create one on the fly, so run this once per deployment."
    )

    def handle(self, *args, **options):
        path = settings.SIGNING_KEY_FILE
        if path.exists():
            raise CommandError(f"{path} already exists; refusing to overwrite a signing key.")
        generate_key_file(path)
        self.stdout.write(f"Signing key written to {path}. Keep it out of backups of the DB.")
