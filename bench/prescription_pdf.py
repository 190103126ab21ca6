"""Prescriptions rendered to PDF per second, English and Hindi, with a warm renderer.

Sets Django up on a scratch SQLite database under var/ (created and migrated here), issues
one prescription in each language through the real service, then renders each N times.
Target: at least 10 prescriptions per second per core. One process renders on one core.
Also prints what a download costs now that the PDF is stored at issue (no render).
For a breakdown of one render, run it under cProfile:

    .venv/bin/python -m cProfile -s cumulative bench/prescription_pdf.py 20 | head -60

    .venv/bin/python bench/prescription_pdf.py [N]
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
SCRATCH = ROOT / "var" / "bench-prescription-pdf.sqlite3"
for suffix in ("", "-wal", "-shm"):
    Path(f"{SCRATCH}{suffix}").unlink(missing_ok=True)
os.environ["DATABASE_URL"] = f"sqlite:///{SCRATCH}"
os.environ.pop("REDIS_URL", None)
os.environ.setdefault("SIGNING_KEY_FILE", str(Path(tempfile.mkdtemp()) / "bench-key.pem"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanjeevani.config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402
from pypdf import PdfReader  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from sanjeevani.accounts.models import Role, User  # noqa: E402
from sanjeevani.consultations.models import Consultation  # noqa: E402
from sanjeevani.patients.models import Patient  # noqa: E402
from sanjeevani.prescriptions import rendering, services  # noqa: E402
from sanjeevani.prescriptions.models import Medicine  # noqa: E402
from sanjeevani.registry.models import DoctorProfile, State  # noqa: E402

PASSWORD = "bench doctor password 1"


def setup_prescriptions():
    call_command("migrate", verbosity=0)
    state, _ = State.objects.get_or_create(code="BX", defaults={"name": "Bench State"})
    doctor_user = User.objects.create_user(
        "bench-doctor",
        password=PASSWORD,
        first_name="Kavya",
        last_name="Raghunathan",
        role=Role.DOCTOR,
    )
    doctor = DoctorProfile.objects.create(
        user=doctor_user,
        registration_number="KMC-123456",
        council="Karnataka Medical Council",
        qualification="MBBS, MD (General Medicine)",
        contact_phone="+91 80 2345 6789",
        contact_email="dr.kavya@phc-hunsur.example",
    )
    account = User.objects.create_user("+919800000001", mobile="+919800000001")
    patient = Patient.objects.create(
        account=account,
        name="सीता राम वर्मा (Sita Ram Verma)",
        age_years=54,
        sex="F",
        state=state,
        address="12 Gandhi Road, Hunsur, Mysuru district",
    )
    # The room's observed mode, confirmed by the doctor (when that field exists).
    confirmed = {"mode_confirmed_at": timezone.now()}
    if not hasattr(Consultation, "mode_confirmed_at"):
        confirmed = {}

    def consultation():
        return Consultation.objects.create(
            **confirmed,
            service_line="opd",
            patient=patient,
            doctor=doctor,
            status="in_progress",
            mode="video",
            had_video=True,
            started_at=timezone.now(),
            identity_confirmed_at=timezone.now(),
            identity_method="Name, age and address asked; Aadhaar card seen on video",
            confirmed_age_years=54,
            complaints="Increased thirst and frequent urination for 3 months; tiredness.",
            findings="Alert; no pedal oedema; peripheral pulses felt; feet: no ulcers.",
            vitals={
                "pulse": 84,
                "bp_systolic": 148,
                "bp_diastolic": 92,
                "temperature_c": 36.8,
                "spo2": 98,
                "weight_kg": 71.5,
                "glucose_mg_dl": 212,
            },
            diagnoses=[
                {"code": "E11.9", "label": "Type 2 diabetes mellitus without complications"},
                {"code": "I10", "label": "Essential (primary) hypertension"},
            ],
        )

    def item(name, strength, dose, frequency, duration, quantity, instructions=""):
        medicine = Medicine.objects.filter(generic_name=name, strength=strength).first()
        return {
            "medicine": medicine,
            "dose": dose,
            "frequency": frequency,
            "duration": duration,
            "quantity": quantity,
            "instructions": instructions,
        }

    items = [
        item(
            "metformin", "500 mg", "1 tablet", "twice a day", "30 days", "60 tablets", "after meals"
        ),
        item("amlodipine", "5 mg", "1 tablet", "once a day", "30 days", "30 tablets", "morning"),
        item(
            "atorvastatin", "10 mg", "1 tablet", "once a day", "30 days", "30 tablets", "at night"
        ),
        item(
            "paracetamol",
            "500 mg",
            "1 tablet",
            "when needed, up to 3 a day",
            "5 days",
            "15 tablets",
        ),
    ]
    made = {}
    for language in ("en", "hi"):
        made[language] = services.issue_prescription(
            doctor_user,
            consultation(),
            items,
            investigations="HbA1c, fasting lipid profile, serum creatinine",
            advice="Walk 30 minutes a day; reduce salt and sugar; check blood pressure weekly.",
            follow_up_on=timezone.localdate() + timezone.timedelta(days=30),
            language=language,
            password=PASSWORD,
        )
    return made


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    prescriptions = setup_prescriptions()
    t0 = time.perf_counter()
    rendering.warm_up()
    first = {lang: rendering.render_prescription_pdf(p) for lang, p in prescriptions.items()}
    print(f"warm-up (fonts, first render of each language): {time.perf_counter() - t0:.2f} s")
    pages = {lang: len(PdfReader(io.BytesIO(pdf)).pages) for lang, pdf in first.items()}
    print(
        f"PDF sizes: en {len(first['en']) / 1024:.0f} KiB ({pages['en']} page), "
        f"hi {len(first['hi']) / 1024:.0f} KiB ({pages['hi']} page)"
    )
    text = " ".join(PdfReader(io.BytesIO(first["hi"])).pages[0].extract_text().split())
    exact = "सीता राम वर्मा" in text and "दवाइयाँ" in text
    print(f"Hindi text layer extracts as printed: {'yes' if exact else 'NO'}")
    print(
        f"{n} renders per language, one process (one core); load average {os.getloadavg()[0]:.1f}"
    )
    for language, prescription in prescriptions.items():
        timings, cpu_start = [], time.process_time()
        for _ in range(n):
            start = time.perf_counter()
            rendering.render_prescription_pdf(prescription)
            timings.append(time.perf_counter() - start)
        cpu = (time.process_time() - cpu_start) / n
        mean = statistics.mean(timings)
        p95 = sorted(timings)[max(0, int(len(timings) * 0.95) - 1)]
        verdict = "meets" if 1 / cpu >= 10 else "MISSES"
        print(
            f"  {language}: wall {1 / mean:5.1f}/s (mean {mean * 1000:5.1f} ms, median "
            f"{statistics.median(timings) * 1000:5.1f} ms, p95 {p95 * 1000:5.1f} ms); "
            f"CPU {cpu * 1000:5.1f} ms per render = {1 / cpu:5.1f}/s per core "
            f"({verdict} the 10/s per core target)"
        )
    # What a download costs now: the PDF stored at issue, read back (no render).
    for language, prescription in prescriptions.items():
        start = time.process_time()
        for _ in range(n):
            services.pdf_for(prescription)
        cpu = (time.process_time() - start) / n
        print(f"  {language}: download from storage {cpu * 1000:5.2f} ms CPU (no render)")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{SCRATCH}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
