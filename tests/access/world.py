"""The sample data every access check runs against: one patient's case seen by thirteen
people.

Built from the apps' own factories. ``ROLES`` are the people the route table speaks of:
``patient`` is the family account of the case's patient, ``doctor`` the case's doctor;
every ``other_*`` is the same kind of person with no part in the case (``other_cho`` a CHO
of another centre, ``other_hub_doctor`` a doctor serving another hub). The hub coordinator
and the operator have no clinical part in any case (``consultations.care_team``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from sanjeevani.accounts.models import DeviceToken, Role
from sanjeevani.consultations.models import Consultation
from sanjeevani.patients.documents import upload_document
from sanjeevani.patients.models import Patient, PatientDocument
from sanjeevani.prescriptions.models import Medicine, Prescription
from sanjeevani.prescriptions.services import issue_prescription
from sanjeevani.queueing.models import Ticket
from sanjeevani.queueing.services import go_online
from sanjeevani.realtime.models import ChatMessage
from sanjeevani.registry.models import Facility, OnlineOPD, State
from tests.factories import (
    PASSWORD,
    DistrictFactory,
    DoctorFactory,
    FacilityFactory,
    HubFactory,
    OnlineOPDFactory,
    PatientFactory,
    PostingFactory,
    StaffUserFactory,
    StateFactory,
)
from tests.prescriptions.factories import VideoConsultationFactory
from tests.queueing.factories import TicketFactory, member_doctor

ROLES = (
    "anonymous",
    "other_patient",
    "patient",
    "other_doctor",
    "other_hub_doctor",
    "doctor",
    "cho",
    "other_cho",
    "hub_coordinator",
    "operator",
    "other_state_admin",
    "state_admin",
    "national_admin",
)
PATIENT_ROLES = frozenset({"patient", "other_patient"})
DOCTOR_ROLES = frozenset({"doctor", "other_doctor", "other_hub_doctor"})
#: Doctors who serve none of the case's OPDs.
OPD_OUTSIDERS = frozenset({"other_hub_doctor"})

#: A name no page would show unless it showed this patient.
PATIENT_NAME = "Kamala Venkataraghavan"
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class World:
    state: State
    other_state: State
    spoke: Facility
    opd: OnlineOPD
    patient: Patient
    other_patient: Patient
    ticket: Ticket
    consultation: Consultation
    prescription: Prescription
    document: PatientDocument
    message: ChatMessage
    users: dict[str, Any] = field(default_factory=dict)
    #: The patient's app signed in on a phone (the device routes name it).
    device: DeviceToken | None = None

    def token(self, role: str) -> str:
        """A new API key of this person (one per call: one per signed-in device)."""
        return DeviceToken.objects.issue(self.users[role], device="access test").key


def pdf_upload(name: str = "report.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def _paracetamol() -> dict[str, Any]:
    medicine = Medicine.objects.filter(generic_name__iexact="paracetamol").first()
    line = {
        "dose": "1 tablet",
        "frequency": "twice a day",
        "duration": "3 days",
        "quantity": "6 tablets",
    }
    if medicine is None:
        return {**line, "generic_name": "Paracetamol", "form": "tablet", "strength": "500 mg"}
    return {**line, "medicine": medicine.pk}


def build_world() -> World:
    """Every object a route can name, with a live ticket and a consultation in progress."""
    state, other_state = StateFactory(), StateFactory()
    district = DistrictFactory(state=state)
    spoke = FacilityFactory(state=state)
    opd = OnlineOPDFactory(state=state)
    doctor = member_doctor(opd)
    other_doctor = member_doctor(opd)
    patient = PatientFactory(
        name=PATIENT_NAME, state=state, district=district, date_of_birth=dt.date(1980, 1, 2)
    )
    other_patient = PatientFactory(state=state)
    ticket = TicketFactory(patient=patient, opd=opd)
    # one live ticket per patient: the consultation's own ticket is already closed
    called = TicketFactory(patient=patient, opd=opd, status=Ticket.Status.COMPLETED)
    consultation = VideoConsultationFactory(patient=patient, doctor=doctor, opd=opd, ticket=called)
    prescription = issue_prescription(
        doctor.user, consultation, items=[_paracetamol()], password=PASSWORD
    )
    document = upload_document(
        patient.account,
        patient,
        pdf_upload(),
        "Old report",
        PatientDocument.Kind.REPORT,
    )
    message = ChatMessage.objects.create(
        consultation=consultation,
        sender=doctor.user,
        seq=1,
        kind=ChatMessage.Kind.FILE,
        file=SimpleUploadedFile("scan.pdf", PDF_BYTES),
        file_name="scan.pdf",
        content_type="application/pdf",
        size=len(PDF_BYTES),
    )
    for on_duty in (doctor, other_doctor):
        go_online(on_duty.user, opd)
    cho = StaffUserFactory(role=Role.CHO)
    PostingFactory(user=cho, state=state, facility=spoke)
    state_admin = StaffUserFactory(role=Role.STATE_ADMIN)
    PostingFactory(user=state_admin, state=state)
    other_state_admin = StaffUserFactory(role=Role.STATE_ADMIN)
    PostingFactory(user=other_state_admin, state=other_state)
    other_cho = StaffUserFactory(role=Role.CHO)
    PostingFactory(user=other_cho, state=state, facility=FacilityFactory(state=state))
    hub, other_hub = HubFactory(state=state), HubFactory(state=state)
    hub_coordinator = StaffUserFactory(role=Role.HUB_COORDINATOR)
    PostingFactory(user=hub_coordinator, state=state, facility=hub)
    other_hub_doctor = DoctorFactory()
    other_hub_doctor.hubs.add(other_hub)
    world = World(
        state=state,
        other_state=other_state,
        spoke=spoke,
        opd=opd,
        patient=patient,
        other_patient=other_patient,
        ticket=ticket,
        consultation=consultation,
        prescription=prescription,
        document=document,
        message=message,
        users={
            "anonymous": None,
            "other_patient": other_patient.account,
            "patient": patient.account,
            "other_doctor": other_doctor.user,
            "doctor": doctor.user,
            "cho": cho,
            "other_cho": other_cho,
            "hub_coordinator": hub_coordinator,
            "operator": StaffUserFactory(role=Role.OPERATOR),
            "other_hub_doctor": other_hub_doctor.user,
            "other_state_admin": other_state_admin,
            "state_admin": state_admin,
            "national_admin": StaffUserFactory(role=Role.NATIONAL_ADMIN),
        },
    )
    world.device = DeviceToken.objects.issue(patient.account, device="Android phone").token
    return world
