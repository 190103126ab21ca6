"""A Hindi-speaking patient's pages, SMS and prescription, through the Django test client.

The OPD pages speak the profile's language (``preferred_language``); the sign-in pages, before
there is a profile, speak the language chosen in the header (the language cookie). Each page's
visible text (text, placeholders, labels, confirmations and the strings the page hands to its
scripts) must hold no English word beyond the data on it and a few names people know.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.urls import reverse

from sanjeevani.accounts.sms import FileOutboxBackend
from sanjeevani.consultations.models import Consultation
from sanjeevani.prescriptions import signing
from sanjeevani.queueing.models import Ticket
from sanjeevani.registry.models import State
from tests.factories import DoctorFactory, OnlineOPDFactory, PatientFactory, StateFactory
from tests.prescriptions.conftest import issue, line
from tests.prescriptions.factories import VideoConsultationFactory

pytestmark = pytest.mark.django_db

#: English that may stand in a Hindi page: abbreviations people know, units, brand names.
ALLOWED = {
    "OPD", "SMS", "OTP", "PDF", "JPEG", "PNG", "MB", "ABHA", "IST", "ICD", "ID", "QR",
    "Ed25519", "ms", "kbit", "abdm", "name", "min", "Dr",
    "English",  # the language switcher names each language in its own script
}  # fmt: skip
#: The words the brief names, checked by name so that a failure reads plainly.
ENGLISH_UI_WORDS = ("Waiting", "Token", "Cancel", "Join", "Doctor", "Your", "Sign", "Send")
ATTRIBUTES = {"placeholder", "aria-label", "title", "alt", "data-confirm"}


class VisibleText(HTMLParser):
    """Text a person can see or hear on the page, including strings kept for its scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if value and name in ATTRIBUTES:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def english_words(html: str, *data: str) -> set[str]:
    parser = VisibleText()
    parser.feed(html)
    text = " ".join(parser.parts)
    for value in sorted((str(d) for d in data if d), key=len, reverse=True):
        text = text.replace(value, " ")
    return {w for w in re.findall(r"[A-Za-z][A-Za-z0-9]+", text) if w not in ALLOWED}


def assert_hindi(html: str, *data: str) -> None:
    assert '<html lang="hi">' in html, html[:300]
    assert re.search(r"[\u0900-\u097f]{3}", html), "no Devanagari on the page"
    words = english_words(html, *data)
    named = [w for w in ENGLISH_UI_WORDS if w in words]
    assert not named, f"English UI words on a Hindi page: {named}"
    assert not words, f"English on a Hindi page: {sorted(words)}"


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private-media"
    settings.SMS_BACKEND = "file"
    settings.SMS_OUTBOX_DIR = tmp_path / "outbox"
    settings.SIGNING_KEY_FILE = tmp_path / "keys" / "rx.pem"
    signing._load_private_key.cache_clear()
    yield
    signing._load_private_key.cache_clear()


@pytest.fixture
def outbox(settings) -> FileOutboxBackend:
    return FileOutboxBackend(settings.SMS_OUTBOX_DIR)


@pytest.fixture
def hindi_patient():
    state = StateFactory(code="UP", name="Uttar Pradesh")
    return PatientFactory(state=state, name="Sita Devi", preferred_language="hi")


@pytest.fixture
def opd(hindi_patient):
    opd = OnlineOPDFactory(state=hindi_patient.state, name="UP General OPD")
    DoctorFactory(state=hindi_patient.state).opds.add(opd)
    return opd


@pytest.fixture
def patient_client(client, hindi_patient):
    """Signed in, with an English browser and no language cookie: the profile decides."""
    hindi_patient.account.first_name, hindi_patient.account.last_name = "Sita", "Devi"
    hindi_patient.account.save()
    client.force_login(hindi_patient.account)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def take_token(client, opd, patient) -> Ticket:
    response = client.post(
        reverse("opd:take_token", args=[opd.pk]), {"patient": patient.pk, "complaint": ""}
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return Ticket.objects.get(patient=patient)


def test_waiting_room_is_in_hindi(patient_client, hindi_patient, opd):
    ticket = take_token(patient_client, opd, hindi_patient)
    html = patient_client.get(reverse("opd:waiting_room", args=[ticket.pk])).content.decode()
    assert "आपका टोकन" in html
    assert_hindi(html, hindi_patient.name, opd.name, ticket.token_number)


def test_waiting_room_scripts_get_hindi_whatever_the_browser_says(
    patient_client, hindi_patient, opd
):
    ticket = take_token(patient_client, opd, hindi_patient)
    html = patient_client.get(reverse("opd:waiting_room", args=[ticket.pk])).content.decode()
    catalogue_url = re.search(r'<script src="(/room/jsi18n/[^"]*)"', html).group(1)
    assert catalogue_url.endswith("?language=hi")
    connection = json.dumps("कनेक्शन: अच्छा")  # as the catalogue writes it: \\u escapes
    assert connection in patient_client.get(catalogue_url).content.decode()
    assert connection not in patient_client.get("/room/jsi18n/?language=en").content.decode()


def test_status_messages_for_the_script_are_in_hindi(patient_client, hindi_patient, opd):
    ticket = take_token(patient_client, opd, hindi_patient)
    patient_client.post(reverse("opd:cancel", args=[ticket.pk]))
    status = patient_client.get(reverse("opd:ticket_status", args=[ticket.pk])).json()
    assert status["status"] == "cancelled"
    assert re.search(r"[\u0900-\u097f]", status["message"]), status["message"]


def test_token_sms_is_in_hindi(
    patient_client, hindi_patient, opd, outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = take_token(patient_client, opd, hindi_patient)
    body = outbox.messages()[-1].body
    assert body.startswith("संजीवनी:")
    assert str(ticket.token_number) in body
    assert not {"token", "Patient", "turn"} & set(re.findall(r"[A-Za-z]+", body))


def test_refusal_is_in_hindi_with_the_language_cookie(patient_client, hindi_patient, opd):
    take_token(patient_client, opd, hindi_patient)
    patient_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
    response = patient_client.post(
        reverse("opd:take_token", args=[opd.pk]), {"patient": hindi_patient.pk}, follow=True
    )
    html = response.content.decode()
    assert "पहले से टोकन" in html
    assert_hindi(html, hindi_patient.name, opd.name, hindi_patient.state.name)


def test_opd_list_and_detail_are_in_hindi(patient_client, hindi_patient, opd):
    pages = {
        reverse("opd:opd_list") + f"?patient={hindi_patient.pk}&state=UP": (opd.name,),
        reverse("opd:opd_detail", args=[opd.pk]) + f"?patient={hindi_patient.pk}": (opd.name,),
    }
    for url, data in pages.items():
        html = patient_client.get(url).content.decode()
        assert_hindi(html, hindi_patient.name, hindi_patient.state.name, *data)


def test_start_history_and_family_are_in_hindi_with_the_language_cookie(
    patient_client, hindi_patient, opd
):
    take_token(patient_client, opd, hindi_patient)
    patient_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
    for url in (
        reverse("opd:start") + f"?patient={hindi_patient.pk}",
        reverse("opd:history"),
        "/patients/",
    ):
        html = patient_client.get(url).content.decode()
        # Place names are registry data, kept in English there (see docs/translations.md).
        places = [*State.objects.values_list("name", flat=True)]
        assert_hindi(html, hindi_patient.name, hindi_patient.patient_number, opd.name, *places)


def test_start_history_and_token_refusal_speak_the_profile_language(
    patient_client, hindi_patient, opd
):
    take_token(patient_client, opd, hindi_patient)
    refusal = patient_client.post(
        reverse("opd:take_token", args=[opd.pk]), {"patient": hindi_patient.pk}, follow=True
    )
    assert "already holds" not in refusal.content.decode()
    # Place names are registry data, kept in English there (see docs/translations.md).
    places = [*State.objects.values_list("name", flat=True)]
    for url in (reverse("opd:start") + f"?patient={hindi_patient.pk}", reverse("opd:history")):
        html = patient_client.get(url).content.decode()
        assert_hindi(html, hindi_patient.name, hindi_patient.patient_number, opd.name, *places)


def test_consultation_page_with_the_room_is_in_hindi(patient_client, hindi_patient):
    consultation = VideoConsultationFactory(patient=hindi_patient)
    html = patient_client.get(reverse("opd:consultation", args=[consultation.pk])).content.decode()
    assert "data-room" in html
    assert_hindi(html, hindi_patient.name, consultation.doctor.user.get_full_name())


def test_prescription_and_its_sms_are_in_hindi(
    patient_client, hindi_patient, outbox, django_capture_on_commit_callbacks
):
    consultation = VideoConsultationFactory(patient=hindi_patient)
    with django_capture_on_commit_callbacks(execute=True):
        response = issue(consultation, [line("paracetamol")], advice="Rest")
    assert response.status_code == 201, response.content
    rx = response.json()
    html = patient_client.get(reverse("prescriptions:detail", args=[rx["id"]])).content.decode()
    assert "यह पर्चा टेलीपरामर्श पर बनाया गया है" in html
    doctor = consultation.doctor
    prescription = consultation.prescriptions.get()
    content = prescription.content
    data = [
        hindi_patient.name,
        hindi_patient.patient_number,
        doctor.user.get_full_name(),
        doctor.qualification,
        doctor.registration_number,
        doctor.council,
        consultation.complaints,
        "Rest",
        *(d["label"] for d in consultation.diagnoses),
        *(d["code"] for d in consultation.diagnoses),
        *(str(v) for m in content["medicines"] for v in m.values() if v),
        (content.get("identity") or {}).get("method"),  # typed by the doctor: data
        prescription.key_id,
        prescription.doctor_key_id,  # key ids are hex: data, not English
        prescription.verification_code,
        "http://testserver",
        "/rx/",
    ]
    assert_hindi(html, *data, *re.findall(r"https?://\S+", html))
    sms = [m.body for m in outbox.messages() if "/rx/" in m.body][-1]
    assert sms.startswith("संजीवनी:")


def test_public_verification_page_is_in_hindi_with_the_language_cookie(client, hindi_patient):
    consultation = VideoConsultationFactory(patient=hindi_patient)
    issue(consultation, [line("paracetamol")])
    prescription = consultation.prescriptions.get()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
    html = client.get(
        reverse("prescriptions:verify", args=[prescription.verification_code])
    ).content.decode()
    assert "असली और अपरिवर्तित" in html
    doctor = consultation.doctor
    assert_hindi(
        html,
        prescription.verification_code,
        prescription.key_id,  # key ids are hex: data, not English
        prescription.doctor_key_id,
        doctor.user.get_full_name(),
        doctor.registration_number,
        doctor.council,
        doctor.qualification,
        *(str(v) for m in prescription.content["medicines"] for v in m.values() if v),
        *re.findall(r"\b[A-Z][a-z]+ [A-Z]\. ?[A-Z][a-z]+\b", html),
    )


def test_otp_sign_in_is_in_hindi_with_the_language_cookie(client, outbox):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
    url = reverse("accounts:otp_sign_in")
    assert_hindi(client.get(url).content.decode())
    response = client.post(url, {"action": "send", "mobile": "98123 45678"})
    assert response.status_code == 302
    assert "आपका संजीवनी साइन-इन कोड" in outbox.messages()[-1].body
    assert_hindi(client.get(response["Location"]).content.decode(), "+91 98123 45678")
    wrong = client.post(url, {"action": "verify", "code": "000000"}).content.decode()
    assert "ग़लत कोड" in wrong
    assert_hindi(wrong, "+91 98123 45678")


def test_english_stays_english(patient_client, hindi_patient, opd):
    """The check above can fail: the same page in English shows the English words."""
    ticket = take_token(patient_client, opd, hindi_patient)
    patient_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = patient_client.get(reverse("opd:waiting_room", args=[ticket.pk])).content.decode()
    assert {"Cancel", "Your"} <= english_words(html, hindi_patient.name, opd.name)
    assert Consultation.objects.count() == 0
