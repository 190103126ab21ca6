"""The health worker's case and what follows it, through the services: vitals checks,
consent, the draft sent once, the suggestion's reasons, a store-and-forward case answered
without a room, a referral seen by its destination, the centre's stock ledger."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from sanjeevani.audit.models import AuditEvent
from sanjeevani.consultations import services as consultations
from sanjeevani.consultations.modes import confirm_consultation_mode
from sanjeevani.hwc import services as hwc
from sanjeevani.hwc.models import Case, Referral, StockEntry
from sanjeevani.hwc.suggestion import suggest_specialty
from sanjeevani.prescriptions.services import issue_prescription
from sanjeevani.queueing.models import Ticket
from sanjeevani.realtime.models import RoomParticipant
from tests.factories import PASSWORD, PostingFactory, StaffUserFactory
from tests.prescriptions.conftest import line, signing_key  # noqa: F401

from .factories import case_data, cho_at, send_case, walk_in

pytestmark = pytest.mark.django_db


def test_an_impossible_vital_is_refused_with_its_message_and_nothing_is_queued(network):
    patient = walk_in(network)
    with pytest.raises(ValidationError) as refused:
        hwc.submit_case(network.cho, patient, case_data(vitals={"spo2": 130, "pulse": 80}))
    assert "SpO₂ must be between 50 and 100" in str(refused.value.message_dict["vitals"])
    assert not Case.objects.exists() and not Ticket.objects.exists()


def test_a_danger_sign_makes_the_case_urgent_and_says_which(network):
    case = send_case(network, vitals={"bp_systolic": 190, "bp_diastolic": 100})
    assert case.urgent
    assert case.urgent_reasons == ["Systolic pressure 180 mmHg or more"]
    calm = send_case(network, vitals={"bp_systolic": 130, "bp_diastolic": 85})
    assert not calm.urgent and calm.urgent_reasons == []


def test_consent_is_required_and_a_minor_needs_a_guardians(network):
    patient = walk_in(network)
    with pytest.raises(ValidationError) as refused:
        hwc.submit_case(network.cho, patient, case_data(consent=False))
    assert "consent" in refused.value.message_dict
    child = walk_in(network, date_of_birth=None, age_years=6)
    with pytest.raises(ValidationError) as refused:
        hwc.submit_case(network.cho, child, case_data(consent_by="patient"))
    assert "guardian" in str(refused.value.message_dict["consent_by"])
    case, _ = hwc.submit_case(network.cho, child, case_data(consent_by="guardian"))
    assert case.consent_by == Case.ConsentBy.GUARDIAN


def test_the_same_draft_sent_twice_is_one_case(network):
    patient = walk_in(network)
    data = case_data()
    first, created = hwc.submit_case(network.cho, patient, data)
    again, created_again = hwc.submit_case(network.cho, patient, data)
    assert (created, created_again) == (True, False)
    assert first.pk == again.pk
    assert Ticket.objects.filter(patient=patient).count() == 1


def test_a_cho_of_another_centre_cannot_send_a_case_for_this_centres_patient(network):
    from tests.factories import FacilityFactory

    elsewhere = cho_at(FacilityFactory(state=network.state))
    with pytest.raises(PermissionDenied):
        hwc.submit_case(elsewhere, walk_in(network), case_data())


def test_the_suggestion_names_its_specialty_and_why(network):
    skin = suggest_specialty(["skin_lesion"], {}, 40)
    assert skin.specialty.code == "dermatology"
    assert skin.reasons == ["Skin lesion: photo to dermatology"]
    child = suggest_specialty(["fever", "cough"], {"temperature_c": 39}, 4)
    assert child.specialty.code == "paediatrics"
    assert "Fever in a child of 12 or under" in child.reasons
    nothing = suggest_specialty([], {}, 40)
    assert nothing.specialty.code == "general-medicine"


def test_an_edited_rule_applies_to_the_next_suggestion_on_this_worker_and_within_the_kept_time(
    network, monkeypatch
):
    from sanjeevani.hwc import suggestion
    from sanjeevani.hwc.models import SpecialtyRule

    assert suggest_specialty(["skin_lesion"], {}, 40).specialty.code == "dermatology"
    rule = SpecialtyRule.objects.get(complaint="skin_lesion")
    rule.specialty = network.general
    rule.reason = "Skin lesion: the generalist first"
    rule.save()
    edited = suggest_specialty(["skin_lesion"], {}, 40)
    assert (edited.specialty, edited.reasons) == (
        network.general,
        ["Skin lesion: the generalist first"],
    )
    # Another worker's edit sends this one no signal: it is read once the kept time ends.
    SpecialtyRule.objects.filter(pk=rule.pk).update(active=False)
    assert suggest_specialty(["skin_lesion"], {}, 40).reasons == [
        "Skin lesion: the generalist first"
    ]
    later = suggestion.time.monotonic() + suggestion.RULES_KEPT_SECONDS + 1
    monkeypatch.setattr(suggestion.time, "monotonic", lambda: later)
    assert (
        "Skin lesion: the generalist first"
        not in suggest_specialty(["skin_lesion"], {}, 40).reasons
    )


def test_a_draft_sent_again_by_another_health_worker_is_refused(network):
    patient = walk_in(network)
    data = case_data()
    hwc.submit_case(network.cho, patient, data)
    colleague = cho_at(network.spoke)
    with pytest.raises(PermissionDenied):
        hwc.submit_case(colleague, patient, data)
    assert Case.objects.filter(patient=patient).count() == 1


def answer_in_writing(network):
    """A store-and-forward case answered with a prescription of paracetamol."""
    case = send_case(network, mode="store_forward")
    doctor = network.doctor_a
    hwc.go_online_at_hub(doctor.user, network.hub_a, network.general)
    consultation = hwc.call_next_case(doctor.user).consultation
    assert consultation.identity_method.startswith("In person at HWC Spoke")
    consultations.save_clinical_record(
        doctor.user,
        consultation,
        {"diagnoses": [{"code": "R50.9", "label": "Fever, unspecified"}], "advice": "Fluids"},
        consultation.record_revision,
    )
    consultation.refresh_from_db()
    confirm_consultation_mode(doctor.user, consultation, "chat")
    prescription = issue_prescription(
        doctor.user, consultation, [line("paracetamol")], password=PASSWORD
    )
    consultations.end_consultation(doctor.user, consultation, "prescription")
    return case, consultation, prescription


def test_a_store_and_forward_case_is_answered_in_writing_without_a_room(network):
    case, consultation, _prescription = answer_in_writing(network)
    consultation.refresh_from_db()
    case.ticket.refresh_from_db()
    assert consultation.status == "ended" and consultation.outcome == "prescription"
    assert case.ticket.status == Ticket.Status.COMPLETED
    assert not RoomParticipant.objects.filter(consultation=consultation).exists()


def test_a_referral_is_seen_and_acknowledged_by_its_destination_only(network):
    send_case(network)
    hwc.go_online_at_hub(network.doctor_a.user, network.hub_a, network.general)
    consultation = hwc.call_next_case(network.doctor_a.user).consultation
    referral = hwc.refer_patient(
        network.doctor_a.user, consultation, network.district, "Suspected appendicitis", "soon"
    )
    consultation.refresh_from_db()
    assert "District Hospital" in consultation.referral
    other = StaffUserFactory(role="hub_coordinator")
    PostingFactory(user=other, state=network.state, facility=network.hub_b)
    with pytest.raises(PermissionDenied):
        hwc.acknowledge_referral(other, referral, "")
    coordinator = StaffUserFactory(role="hub_coordinator")
    PostingFactory(user=coordinator, state=network.state, facility=network.district)
    hwc.acknowledge_referral(coordinator, referral, "Bed kept ready")
    referral.refresh_from_db()
    assert referral.acknowledged_by == coordinator
    assert Referral.objects.filter(to_facility=network.district).count() == 1
    assert AuditEvent.objects.filter(action="hwc.referral_acknowledged").exists()


def test_the_stock_ledger_counts_what_is_received_and_dispensed(network):
    hwc.receive_stock(network.cho, "Paracetamol", 20)
    assert hwc.on_hand(network.spoke, "paracetamol") == 20
    with pytest.raises(ValidationError):
        hwc.receive_stock(network.cho, "Paracetamol", "-3")
    _case, _consultation, prescription = answer_in_writing(network)
    item = prescription.items.get()
    hwc.dispense(network.cho, prescription, {item.pk: 10})
    assert hwc.on_hand(network.spoke, "paracetamol") == 10
    with pytest.raises(ValidationError) as short:
        hwc.dispense(network.cho, prescription, {item.pk: 15})
    assert "10 on hand, 15 asked" in str(short.value.message_dict["items"])
    assert hwc.on_hand(network.spoke, "paracetamol") == 10
    assert StockEntry.objects.count() == 2


def test_a_patient_already_waiting_is_told_where_and_nothing_more_is_queued(network):
    from sanjeevani.queueing.errors import QueueError

    patient = walk_in(network)
    first = send_case(network, patient=patient)
    with pytest.raises(QueueError) as refused:
        hwc.submit_case(network.cho, patient, case_data())
    assert refused.value.code == "already_in_queue"
    assert str(first.ticket.token_number) in refused.value.message
    assert Case.objects.filter(patient=patient).count() == 1


def test_a_mistyped_mobile_number_is_refused_with_a_message(network):
    with pytest.raises(ValidationError) as refused:
        hwc.register_patient(network.cho, {"name": "Ramu", "age_years": 40, "sex": "M"}, "12345")
    assert refused.value.message_dict["mobile"]
