"""Consultations ready for a prescription, built directly (no queue needed)."""

from __future__ import annotations

import factory
from django.utils import timezone

from sanjeevani.consultations.models import Consultation
from tests.factories import DoctorFactory, PatientFactory


class ConsultationFactory(factory.django.DjangoModelFactory):
    """An OPD consultation in progress, identity and age confirmed, audio only by default."""

    class Meta:
        model = Consultation

    service_line = Consultation.ServiceLine.OPD
    patient = factory.SubFactory(PatientFactory)
    doctor = factory.SubFactory(DoctorFactory)
    status = Consultation.Status.IN_PROGRESS
    mode = Consultation.Mode.AUDIO
    observed_mode = Consultation.Mode.AUDIO
    mode_confirmed_at = factory.LazyFunction(timezone.now)  # the doctor confirmed it
    had_video = False
    started_at = factory.LazyFunction(timezone.now)
    identity_confirmed_at = factory.LazyFunction(timezone.now)
    identity_method = "Name, age and address confirmed on the call"
    confirmed_age_years = 35
    consent = "implied"
    complaints = "Fever and body ache for two days"
    diagnoses = factory.LazyFunction(lambda: [{"code": "R50.9", "label": "Fever, unspecified"}])
    advice = "Drink plenty of fluids"


class VideoConsultationFactory(ConsultationFactory):
    mode = Consultation.Mode.VIDEO
    observed_mode = Consultation.Mode.VIDEO
    had_video = True
