from django.core.management.base import BaseCommand, CommandError

from sanjeevani.prescriptions.doctor_keys import rotate_doctor_key
from sanjeevani.registry.models import DoctorProfile


class Command(BaseCommand):
    help = (
        "Retire a doctor's prescription signing key and make a new one. Prescriptions signed "
        "with the retired key keep verifying. Use it when a key may be exposed or after the "
        "platform SECRET_KEY was replaced without keeping the old one in SECRET_KEY_FALLBACKS."
    )

    def add_arguments(self, parser):
        parser.add_argument("registration_number", help="The doctor's registration number")
        parser.add_argument("--council", default="", help="Registering council, if ambiguous")
        parser.add_argument("--reason", default="", help="Recorded in the audit log")

    def handle(self, *args, **options):
        doctors = DoctorProfile.objects.filter(
            registration_number__iexact=options["registration_number"].strip()
        )
        if options["council"]:
            doctors = doctors.filter(council__iexact=options["council"].strip())
        found = list(doctors[:2])
        if not found:
            raise CommandError("No doctor has that registration number (and council).")
        if len(found) > 1:
            raise CommandError("Several doctors have that number; give --council as well.")
        key = rotate_doctor_key(None, found[0], reason=options["reason"] or "management command")
        self.stdout.write(f"{found[0]}: new key {key.key_id}; the old key is retired.")
