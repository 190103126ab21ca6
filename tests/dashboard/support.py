"""Consultations held through the real services, for the dashboard tests (the rollups count
them as they end)."""

from __future__ import annotations

from sanjeevani.consultations import services as consultations
from sanjeevani.consultations.models import Consultation
from sanjeevani.queueing import services as queue
from tests.factories import DoctorFactory, PatientFactory


def hold_consultation(doctor, opd, patient) -> Consultation:
    """Token, call, join, identity, advice: one completed consultation, through services."""
    consultations.take_token(patient.account, patient, opd, "fever")
    ticket = consultations.call_next_patient(doctor.user, opd)
    assert ticket is not None
    # The first in the line is called: it may be a patient who was already waiting.
    consultation = consultations.accept_call(ticket.patient.account, ticket)
    consultations.save_clinical_record(doctor.user, consultation, {"advice": "Rest."}, 0)
    consultations.confirm_identity(doctor.user, consultation, "Name and age asked", 34)
    return consultations.end_consultation(
        doctor.user, consultation, Consultation.Outcome.ADVICE_ONLY
    )


def hold_day(opd, consultations_held: int = 2, waiting: int = 1):
    """A doctor online at ``opd`` who completed ``consultations_held`` consultations, and
    ``waiting`` patients still in the line. Returns the doctor."""
    doctor = DoctorFactory()
    doctor.opds.add(opd)
    queue.go_online(doctor.user, opd)
    for _ in range(consultations_held):
        hold_consultation(doctor, opd, PatientFactory())
    for _ in range(waiting):
        patient = PatientFactory()
        consultations.take_token(patient.account, patient, opd, "")
    return doctor
