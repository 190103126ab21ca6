"""The health worker's pages through HTTP: the workspace and its status feed, finding and
registering a patient (duplicates flagged), the case form (vitals refused by field, danger
signs urgent, the same draft sent twice is one case, a photo), the suggestion, joining the
room when called, the 80 mm print, dispensing and the stock page."""

from __future__ import annotations

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from sanjeevani.audit.models import AuditEvent
from sanjeevani.consultations import services as consultations
from sanjeevani.consultations.models import Consultation
from sanjeevani.hwc import services as hwc
from sanjeevani.hwc.models import Case, StockEntry
from sanjeevani.patients.models import Patient
from sanjeevani.prescriptions.services import issue_prescription
from tests.factories import PASSWORD, PatientAccountFactory
from tests.hwc.factories import case_data, cho_at, send_case, walk_in

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def cho(client, network):
    client.force_login(network.cho)
    return client


def form_post(patient, **overrides):
    data = case_data(**overrides)
    post = {k: v for k, v in data.items() if k not in ("vitals", "complaints", "consent")}
    post["complaints"] = data["complaints"]
    if data["consent"]:
        post["consent"] = "on"
    for name, value in data["vitals"].items():
        post[f"vital_{name}"] = value
    return post


def send_via_page(client, patient, **overrides):
    return client.post(
        reverse("centre:case_new", args=[patient.pk]),
        form_post(patient, **overrides),
        HTTP_ACCEPT="application/json",
    )


def called_case(network):
    case = send_case(network)
    hwc.go_online_at_hub(network.doctor_a.user, network.hub_a, network.general)
    hwc.call_next_case(network.doctor_a.user)
    case.refresh_from_db()
    return case


def prescribed_case(network):
    case = called_case(network)
    consultation = consultations.accept_call(network.cho, case.ticket)
    Consultation.objects.filter(pk=consultation.pk).update(
        mode=Consultation.Mode.VIDEO,
        observed_mode=Consultation.Mode.VIDEO,
        mode_confirmed_at=timezone.now(),
        had_video=True,
        diagnoses=[{"code": "R50.9", "label": "Fever, unspecified"}],
    )
    consultation.refresh_from_db()
    item = {
        "generic_name": "Paracetamol",
        "form": "tablet",
        "strength": "500 mg",
        "dose": "1 tablet",
        "frequency": "twice a day",
        "duration": "3 days",
        "quantity": "6 tablets",
    }
    prescription = issue_prescription(
        network.doctor_a.user, consultation, items=[item], password=PASSWORD
    )
    consultations.end_consultation(network.doctor_a.user, consultation, "prescription")
    return case, prescription


def test_the_workspace_shows_todays_cases_with_position_and_wait(cho, network):
    case = send_case(network)
    page = cho.get(reverse("centre:workspace"))
    assert page.status_code == 200
    assert case.patient.name in page.content.decode()
    feed = cho.get(reverse("centre:status")).json()
    (entry,) = feed["cases"]
    assert entry["status"] == "waiting"
    assert entry["position"] == 1
    assert entry["hub"] == network.hub_a.name
    assert AuditEvent.objects.filter(action="hwc.centre_cases.view").exists()


def test_the_feed_says_which_doctor_called_and_the_page_offers_join(cho, network):
    case = called_case(network)
    (entry,) = cho.get(reverse("centre:status")).json()["cases"]
    assert entry["status"] == "called"
    assert entry["doctor"] == network.doctor_a.user.get_full_name()
    page = cho.get(reverse("centre:case", args=[case.pk]))
    assert b'id="join-now"' in page.content


def test_join_now_answers_the_call_and_opens_the_room(cho, network):
    case = called_case(network)
    answer = cho.post(reverse("centre:join", args=[case.pk]))
    consultation = case.ticket.consultations.get()
    assert answer.status_code == 302
    assert answer["Location"] == reverse("realtime:room", args=[consultation.pk])
    consultation.refresh_from_db()
    assert consultation.status == Consultation.Status.IN_PROGRESS
    assert cho.get(answer["Location"]).status_code == 200


def test_find_by_mobile_id_and_abha_only_the_centres_patients(cho, network):
    account = PatientAccountFactory(mobile="+919812345678")
    ours = walk_in(network, account=account, abha_number="12345678901234")
    PatientFactory_other = walk_in(network)  # noqa: N806
    Patient.objects.filter(pk=PatientFactory_other.pk).update(
        registered_at_facility_id=uuid.uuid4()
    )
    for query in ("98123 45678", ours.patient_number, "12-3456-7890-1234"):
        page = cho.get(reverse("centre:find"), {"q": query})
        assert ours.name in page.content.decode(), query
    page = cho.get(reverse("centre:find"), {"q": PatientFactory_other.patient_number})
    assert b'id="not-found"' in page.content


def registration(network, **overrides):
    data = {
        "name": "Sunita Devi",
        "age_years": "34",
        "sex": "F",
        "mobile": "9876501234",
        "relation": "self",
        "address": "Rampur village",
        "district": str(network.spoke.district_id or ""),
        "preferred_language": "hi",
    }
    data.update(overrides)
    return data


def test_register_flags_a_possible_duplicate_until_the_cho_confirms(cho, network):
    if network.spoke.district_id is None:
        from tests.factories import DistrictFactory

        network.spoke.district = DistrictFactory(state=network.state)
        network.spoke.save()
    walk_in(network, name="Sunita Devi", age_years=35, date_of_birth=None, address="Rampur")
    first = cho.post(reverse("centre:register"), registration(network))
    assert first.status_code == 200
    assert b'id="duplicates"' in first.content
    assert Patient.objects.filter(name="Sunita Devi").count() == 1
    second = cho.post(reverse("centre:register"), registration(network, different_person="on"))
    assert second.status_code == 302
    created = Patient.objects.filter(name="Sunita Devi").latest("created_at")
    assert created.registered_at_facility_id == network.spoke.pk
    assert created.address == "Rampur village"
    assert second["Location"] == reverse("centre:case_new", args=[created.pk])


def test_the_same_draft_sent_twice_is_one_case(cho, network):
    patient = walk_in(network)
    key = str(uuid.uuid4())
    first = send_via_page(cho, patient, client_key=key)
    again = send_via_page(cho, patient, client_key=key)
    assert first.status_code == 201
    assert again.status_code == 200
    assert first.json()["case"] == again.json()["case"]
    assert Case.objects.filter(client_key=key).count() == 1


def test_impossible_vitals_are_refused_next_to_the_field(cho, network):
    patient = walk_in(network)
    answer = send_via_page(cho, patient, vitals={"pulse": 900, "spo2": 97})
    assert answer.status_code == 400
    assert "vital_pulse" in answer.json()["errors"]
    assert not Case.objects.exists()
    page = cho.post(
        reverse("centre:case_new", args=[patient.pk]),
        form_post(patient, vitals={"pulse": 900}),
    )
    assert page.status_code == 200
    assert "between 20" in page.content.decode()


def test_danger_signs_make_the_case_urgent(cho, network):
    patient = walk_in(network)
    answer = send_via_page(cho, patient, vitals={"spo2": 85, "pulse": 100})
    case = Case.objects.get(pk=answer.json()["case"])
    assert case.urgent
    assert case.urgent_reasons


def test_a_minor_needs_a_guardians_consent(cho, network):
    child = walk_in(network, date_of_birth=timezone.localdate().replace(year=2020))
    answer = send_via_page(cho, child)
    assert answer.status_code == 400
    assert "consent_by" in answer.json()["errors"]
    assert send_via_page(cho, child, consent_by="guardian").status_code == 201


def test_a_photo_from_the_camera_is_attached(cho, network):
    patient = walk_in(network)
    post = form_post(patient)
    post["attachment"] = SimpleUploadedFile("lesion.png", PNG, content_type="image/png")
    post["attachment_kind"] = "photo"
    answer = cho.post(reverse("centre:case_new", args=[patient.pk]), post)
    case = Case.objects.get()
    assert answer.status_code == 302
    attachment = case.attachments.get()
    photo = cho.get(reverse("centre:attachment", args=[case.pk, attachment.pk]))
    assert photo.status_code == 200
    assert photo["Content-Type"] == "image/png"


def test_the_suggestion_follows_the_form_and_gives_reasons(cho, network):
    patient = walk_in(network)
    answer = cho.get(
        reverse("centre:suggest", args=[patient.pk]),
        {"complaints": ["skin_lesion"], "vital_spo2": "85"},
    ).json()
    assert answer["specialty"] == "dermatology"
    assert answer["reasons"]
    assert answer["danger"]


def test_print_thermal_dispense_and_stock(cho, network):
    case, prescription = prescribed_case(network)
    page = cho.get(reverse("centre:case", args=[case.pk]))
    assert reverse("prescriptions:pdf", args=[prescription.pk]).encode() in page.content
    assert cho.get(reverse("prescriptions:pdf", args=[prescription.pk])).status_code == 200
    slip = cho.get(reverse("centre:thermal", args=[case.pk, prescription.pk]))
    assert "Not in stock at this centre" in slip.content.decode()
    cho.post(reverse("centre:stock"), {"medicine": "Paracetamol", "quantity": "20"})
    item = prescription.items.get()
    given = cho.post(
        reverse("centre:dispense", args=[case.pk, prescription.pk]), {f"qty_{item.pk}": "6"}
    )
    assert given.status_code == 302
    stock = cho.get(reverse("centre:stock")).content.decode()
    assert "14" in stock
    assert StockEntry.objects.filter(kind="dispensed", quantity=6).count() == 1
    too_many = cho.post(
        reverse("centre:dispense", args=[case.pk, prescription.pk]),
        {f"qty_{item.pk}": "50"},
        follow=True,
    )
    assert "Not enough in stock" in too_many.content.decode()
    assert StockEntry.objects.filter(kind="dispensed").count() == 1


def test_another_centres_cho_gets_404(client, network):
    case = send_case(network)
    from tests.factories import FacilityFactory

    other = cho_at(FacilityFactory(state=network.state))
    client.force_login(other)
    assert client.get(reverse("centre:case", args=[case.pk])).status_code == 404
    assert client.get(reverse("centre:patient", args=[case.patient_id])).status_code == 404
    assert client.get(reverse("centre:case", args=["not-a-uuid"])).status_code == 404
