"""Assisted registration without HTTP: an operator registers a patient and takes an Online
OPD token for them with their consent, answers the call and joins the room; the queue and
the care-team policy let the operator through only for their own patients and tokens."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from sanjeevani.accounts.models import Role, User
from sanjeevani.audit.models import AuditEvent
from sanjeevani.consultations import care_team
from sanjeevani.consultations import services as consultations
from sanjeevani.consultations.care_team import OPERATOR_HANDOVER, Action
from sanjeevani.consultations.models import Consultation
from sanjeevani.opd import assisted as opd_assisted
from sanjeevani.patients import assisted
from sanjeevani.patients.assisted import Consent
from sanjeevani.patients.family import is_assisting_operator
from sanjeevani.patients.models import AssistedAction, Patient
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.models import Ticket
from sanjeevani.realtime.selectors import member_of
from tests.factories import DistrictFactory, StaffUserFactory
from tests.opd.pages_support import make_clinic

pytestmark = pytest.mark.django_db

Kind = AssistedAction.Kind
MOBILE = "98450 12345"
AGREED = Consent(True, "I agree to be registered by the operator.", "Ramesh Kumar")


@pytest.fixture
def clinic():
    return make_clinic()


@pytest.fixture
def operator():
    return StaffUserFactory(role=Role.OPERATOR)


def person(clinic, **overrides: Any) -> dict[str, Any]:
    data = {
        "name": "Ramesh Kumar",
        "relation": Patient.Relation.SELF,
        "age_years": "67",
        "sex": Patient.Sex.MALE,
        "state": clinic.state.pk,
        "district": DistrictFactory(state=clinic.state).pk,
        "preferred_language": "hi",
    }
    data.update(overrides)
    return data


def register(clinic, operator, mobile: str = MOBILE, **overrides: Any) -> Patient:
    return assisted.register_patient(operator, mobile, person(clinic, **overrides), AGREED)


def called(clinic, operator) -> Ticket:
    """A token the operator took, called by the doctor."""
    patient = register(clinic, operator)
    ticket = opd_assisted.take_token_for(operator, patient, clinic.opd, AGREED, "Cough")
    queue.go_online(clinic.doctor.user, clinic.opd)
    consultations.call_next_patient(clinic.doctor.user)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CALLED
    return ticket


def test_registering_opens_the_number_s_account_and_records_the_consent(clinic, operator):
    patient = register(clinic, operator)

    assert patient.account.role == Role.PATIENT
    assert patient.account.mobile == "+919845012345"
    action = AssistedAction.objects.get(patient=patient)
    assert (action.operator, action.kind) == (operator, Kind.REGISTERED)
    assert action.consent_statement == AGREED.statement
    assert action.consent_given_by == "Ramesh Kumar"
    assert AuditEvent.objects.filter(
        action="assisted.registered", patient_id=patient.pk, actor_id=operator.pk
    ).exists()
    assert is_assisting_operator(operator, patient)


def test_no_consent_no_registration_and_the_message_says_what_to_do(clinic, operator):
    refused = Consent(False, "", "")
    with pytest.raises(ValidationError) as error:
        assisted.register_patient(operator, MOBILE, person(clinic), refused)

    fields = error.value.message_dict
    assert "tick the box" in fields["consent_agreed"][0]
    assert set(fields) >= {"consent_statement", "consent_given_by"}
    assert not Patient.objects.filter(name="Ramesh Kumar").exists()
    assert not User.objects.filter(mobile="+919845012345").exists()


def test_a_bad_number_and_a_bad_profile_are_reported_together(clinic, operator):
    with pytest.raises(ValidationError) as error:
        assisted.register_patient(operator, "12345", person(clinic, name=""), AGREED)
    assert {"mobile", "name"} <= set(error.value.message_dict)


def test_a_relative_s_number_holds_the_patient_and_the_owner_s_profile_stays_one(clinic, operator):
    register(clinic, operator)
    mother = register(clinic, operator, name="Kamla Devi", relation=Patient.Relation.PARENT)
    assert mother.account.mobile == "+919845012345"

    with pytest.raises(ValidationError) as error:
        register(clinic, operator, name="Someone Else")
    assert "number's owner" in error.value.message_dict["relation"][0]


def test_the_same_person_twice_is_linked_not_registered_again(clinic, operator):
    first = register(clinic, operator)
    other_operator = StaffUserFactory(role=Role.OPERATOR)
    again = register(clinic, other_operator, name="ramesh  kumar")

    assert again == first
    assert Patient.objects.filter(account=first.account).count() == 1
    assert is_assisting_operator(other_operator, first)


def test_only_an_operator_registers(clinic):
    cho = StaffUserFactory(role=Role.CHO)
    with pytest.raises(PermissionDenied):
        register(clinic, cho)


def test_an_operator_sees_only_their_own_patients(clinic, operator):
    mine = register(clinic, operator)
    other_operator = StaffUserFactory(role=Role.OPERATOR)
    theirs = register(clinic, other_operator, mobile="98450 99999", name="Sita Ram")

    assert list(assisted.patients_of(operator)) == [mine]
    assert list(assisted.patients_of(operator, "98450 12345")) == [mine]
    assert list(assisted.patients_of(operator, mine.patient_number)) == [mine]
    assert list(assisted.patients_of(operator, "sita")) == []
    with pytest.raises(Http404):
        assisted.patient_of(operator, theirs.pk)
    with pytest.raises(Http404):
        assisted.patient_of(operator, "not-a-uuid")


def test_a_token_for_the_patient_records_the_operator_and_the_consent(clinic, operator):
    patient = register(clinic, operator)
    ticket = opd_assisted.take_token_for(operator, patient, clinic.opd, AGREED, "Fever")

    assert ticket.patient == patient and ticket.status == Ticket.Status.WAITING
    action = AssistedAction.objects.get(kind=Kind.TOOK_TOKEN)
    assert (action.operator, action.ticket_id) == (operator, ticket.pk)
    assert list(opd_assisted.tickets_of(operator, patient)) == [ticket]


def test_no_consent_no_token(clinic, operator):
    patient = register(clinic, operator)
    with pytest.raises(ValidationError):
        opd_assisted.take_token_for(operator, patient, clinic.opd, None)
    assert not Ticket.objects.exists()


def test_no_token_for_a_patient_the_operator_never_assisted(clinic, operator):
    with pytest.raises(Http404):
        opd_assisted.take_token_for(operator, clinic.patient, clinic.opd, AGREED)
    with pytest.raises(PermissionDenied):
        consultations.take_token(operator, clinic.patient, clinic.opd)


def test_joining_with_the_patient_answers_the_call_and_admits_the_operator(clinic, operator):
    ticket = called(clinic, operator)

    consultation = opd_assisted.join_with_patient(operator, ticket, AGREED)

    assert consultation.status == Consultation.Status.IN_PROGRESS
    assert member_of(operator, consultation) is not None
    joined = AssistedAction.objects.get(kind=Kind.JOINED_ROOM)
    assert joined.consultation_id == consultation.pk and joined.ticket_id == ticket.pk


def test_no_consent_no_joining_and_the_call_still_rings(clinic, operator):
    ticket = called(clinic, operator)
    with pytest.raises(ValidationError):
        opd_assisted.join_with_patient(operator, ticket, Consent(True, "", ""))
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CALLED
    assert not AssistedAction.objects.filter(kind=Kind.JOINED_ROOM).exists()


def test_the_operator_cancels_a_token_they_took(clinic, operator):
    patient = register(clinic, operator)
    ticket = opd_assisted.take_token_for(operator, patient, clinic.opd, AGREED)
    opd_assisted.cancel_token_for(operator, ticket, AGREED)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CANCELLED
    assert AssistedAction.objects.filter(kind=Kind.CANCELLED_TOKEN, ticket_id=ticket.pk).exists()


def test_the_care_team_ties_the_operator_through_their_own_token_only(clinic, operator):
    ticket = called(clinic, operator)
    consultation = ticket.consultations.get()
    now = timezone.now()

    for action in (Action.ANSWER_CALL, Action.JOIN_ROOM, Action.REPORT_DROPPED):
        assert care_team.may(operator, action, consultation, now), action
    assert care_team.may(operator, Action.ANSWER_CALL, ticket.patient, now)
    for action in (Action.VIEW_RECORD, Action.VIEW_HISTORY, Action.VIEW_DOCUMENTS):
        assert not care_team.may(operator, action, consultation, now), action
    assert list(care_team.cases_visible_to(operator, Action.JOIN_ROOM, now)) == [consultation]
    assert list(care_team.cases_visible_to(operator, Action.VIEW_RECORD, now)) == []

    other_operator = StaffUserFactory(role=Role.OPERATOR)
    assert not care_team.may(other_operator, Action.JOIN_ROOM, consultation, now)


def test_a_token_the_patient_took_themselves_stays_private_from_the_operator(clinic, operator):
    patient = register(clinic, operator)
    ticket = consultations.take_token(patient.account, patient, clinic.opd)
    queue.go_online(clinic.doctor.user, clinic.opd)
    consultations.call_next_patient(clinic.doctor.user)
    consultation = ticket.consultations.get()

    assert not care_team.may(operator, Action.JOIN_ROOM, consultation)
    assert not care_team.may(operator, Action.ANSWER_CALL, patient)
    with pytest.raises(Http404):
        opd_assisted.ticket_of(operator, ticket.pk)


def test_the_operator_reads_the_prescription_for_a_day_after_the_end(clinic, operator):
    ticket = called(clinic, operator)
    consultation = opd_assisted.join_with_patient(operator, ticket, AGREED)
    ended = timezone.now()
    Consultation.objects.filter(pk=consultation.pk).update(
        status=Consultation.Status.ENDED, ended_at=ended
    )
    consultation.refresh_from_db()

    within = ended + OPERATOR_HANDOVER - dt.timedelta(minutes=1)
    after = ended + OPERATOR_HANDOVER + dt.timedelta(minutes=1)
    assert care_team.may(operator, Action.VIEW_PRESCRIPTION, consultation, within)
    assert not care_team.may(operator, Action.VIEW_PRESCRIPTION, consultation, after)
    assert not care_team.may(operator, Action.ANSWER_CALL, consultation, within)


def test_a_switched_off_operator_loses_every_tie(clinic, operator):
    ticket = called(clinic, operator)
    consultation = ticket.consultations.get()
    operator.is_active = False
    operator.save(update_fields=["is_active"])

    assert not is_assisting_operator(operator, ticket.patient)
    assert not care_team.may(operator, Action.ANSWER_CALL, consultation)
    with pytest.raises(PermissionDenied):
        queue.check_family(operator, ticket.patient)


def test_after_a_missed_call_the_operator_rejoins_once_with_consent(clinic, operator):
    ticket = called(clinic, operator)
    consultations.expire_unanswered_calls(now=timezone.now() + dt.timedelta(minutes=5))
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.MISSED

    with pytest.raises(ValidationError):
        opd_assisted.rejoin_for(operator, ticket, None)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.MISSED

    rejoined = opd_assisted.rejoin_for(operator, ticket, AGREED)
    assert rejoined.status == Ticket.Status.WAITING
    assert rejoined.priority == Ticket.Priority.HEAD
    assert AssistedAction.objects.filter(kind=Kind.REJOINED, ticket_id=ticket.pk).exists()
