"""A prescription a pharmacist accepts: diagnosis, complete lines with a quantity, the
doctor's and the patient's contacts, findings, vitals, the identity statement and the mode."""

from __future__ import annotations

import pytest

from sanjeevani.prescriptions.models import DoctorSigningKey, Prescription
from tests.prescriptions.conftest import issue, line
from tests.prescriptions.factories import ConsultationFactory, VideoConsultationFactory

pytestmark = pytest.mark.django_db


def error(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()["error"]


def test_no_diagnosis_is_refused_with_what_to_do():
    consultation = ConsultationFactory(diagnoses=[])
    body = error(issue(consultation, [line("paracetamol")]))
    [message] = body["fields"]["diagnoses"]
    assert "Add a diagnosis before signing" in message
    assert "provisional" in message
    assert not Prescription.objects.exists()
    assert not DoctorSigningKey.objects.exists()


def test_a_provisional_diagnosis_is_enough_and_is_marked():
    consultation = ConsultationFactory(
        diagnoses=[
            {"code": "J06.9", "label": "Acute upper respiratory infection", "provisional": True}
        ]
    )
    rx = issue(consultation, [line("paracetamol")]).json()
    assert rx["content"]["diagnoses"][0]["provisional"] is True


def test_the_whole_diagnosis_can_be_marked_provisional_at_signing(audio_consultation):
    rx = issue(audio_consultation, [line("paracetamol")], provisional_diagnosis=True).json()
    assert [d["provisional"] for d in rx["content"]["diagnoses"]] == [True]


def test_free_text_line_without_form_or_strength_names_the_line_and_the_fields(
    audio_consultation,
):
    items = [
        line("paracetamol"),
        line("Zincovit", free=True, form="", strength=""),
        line("paracetamol", quantity=""),
    ]
    body = error(issue(audio_consultation, items))
    assert body["fields"]["items"] == [
        "Line 2 — Zincovit: give the form, strength.",
        "Line 3 — paracetamol: give the quantity (e.g. 10 tablets).",
    ]
    assert not Prescription.objects.exists()


def test_quantity_is_stored_signed_and_listed(audio_consultation):
    rx = issue(audio_consultation, [line("paracetamol", quantity="15 tablets")]).json()
    assert rx["items"][0]["quantity"] == "15 tablets"
    assert rx["content"]["medicines"][0]["quantity"] == "15 tablets"


def test_content_carries_contacts_findings_vitals_identity_and_mode():
    consultation = VideoConsultationFactory(
        findings="Throat congested; no lymph nodes",
        vitals={"pulse": 88, "temperature_c": 38.2, "bp_systolic": 124, "bp_diastolic": 82},
        patient__address="12 Gandhi Road, Mysuru",
        doctor__contact_email="dr.rao@clinic.example",
    )
    content = issue(consultation, [line("paracetamol")]).json()["content"]
    assert content["version"] == 2
    assert content["doctor"]["phone"] == consultation.doctor.contact_phone
    assert content["doctor"]["email"] == "dr.rao@clinic.example"
    assert content["patient"]["mobile"] == consultation.patient.account.mobile
    assert content["patient"]["address"] == "12 Gandhi Road, Mysuru"
    assert content["findings"] == "Throat congested; no lymph nodes"
    assert content["vitals"]["pulse"] == 88
    assert content["vitals"]["temperature_c"] == 38.2
    assert content["identity"]["method"] == consultation.identity_method
    assert content["identity"]["age_years"] == 35
    assert content["identity"]["confirmed_by"] == consultation.doctor.user.get_full_name()
    assert content["identity"]["confirmed_at"].endswith("+05:30")
    assert content["consultation"]["mode"] == "video"


def test_doctor_without_a_professional_contact_is_told_to_add_one():
    consultation = ConsultationFactory(doctor__contact_phone="", doctor__contact_email="")
    body = error(issue(consultation, [line("paracetamol")]))
    assert "professional phone or email is missing" in body["message"]
    assert not Prescription.objects.exists()


def test_patient_without_mobile_or_address_is_refused():
    consultation = ConsultationFactory(patient__account=None, patient__address="")
    body = error(issue(consultation, [line("paracetamol")]))
    assert "neither a mobile number nor an address" in body["message"]


def test_patient_without_account_but_with_address_is_fine():
    consultation = ConsultationFactory(patient__account=None, patient__address="Ward 4, PHC Hunsur")
    rx = issue(consultation, [line("paracetamol")]).json()
    assert rx["content"]["patient"]["address"] == "Ward 4, PHC Hunsur"
    assert rx["content"]["patient"]["mobile"] == ""


def test_the_record_keeps_a_diagnosis_marked_provisional():
    from sanjeevani.consultations.services import clean_diagnoses

    assert clean_diagnoses(
        [
            {"code": "r50.9", "label": "Fever", "provisional": True},
            {"code": "I10", "label": "Hypertension", "provisional": "yes"},
        ]
    ) == [
        {"code": "R50.9", "label": "Fever", "provisional": True},
        {"code": "I10", "label": "Hypertension"},
    ]
