"""Factories for rooms: a consultation with its doctor, patient (and, hub-and-spoke, CHO)."""

from __future__ import annotations

import factory

from sanjeevani.accounts.models import Role
from sanjeevani.consultations.models import Consultation
from tests.factories import DoctorFactory, PatientFactory, StaffUserFactory


class ConsultationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consultation

    service_line = Consultation.ServiceLine.OPD
    patient = factory.SubFactory(PatientFactory)
    doctor = factory.SubFactory(DoctorFactory)
    status = Consultation.Status.IN_PROGRESS
    advice = "Drink fluids; rest for two days."


class HubSpokeConsultationFactory(ConsultationFactory):
    service_line = Consultation.ServiceLine.HUB_SPOKE
    requested_by = factory.SubFactory(StaffUserFactory, role=Role.CHO)
