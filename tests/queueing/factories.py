"""Factories and fixtures for the queue and consultation tests (API, services, sockets)."""

from __future__ import annotations

import factory
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from sanjeevani.accounts.sms import FileOutboxBackend
from sanjeevani.queueing.models import Queue, Ticket
from tests.factories import DoctorFactory, OnlineOPDFactory, PatientFactory

API = "/api/v1/opd"


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    patient = factory.SubFactory(PatientFactory)
    opd = factory.SubFactory(OnlineOPDFactory)
    queue = factory.LazyAttribute(lambda ticket: Queue.objects.for_opd(ticket.opd))
    service_date = factory.LazyFunction(timezone.localdate)
    token_number = factory.Sequence(lambda n: n + 1)
    queued_at = factory.LazyFunction(timezone.now)
    language = "en"


def member_doctor(opd, **kwargs):
    doctor = DoctorFactory(**kwargs)
    doctor.opds.add(opd)
    return doctor


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def go_online(doctor, opd, auto_assign: bool = False):
    response = api_for(doctor.user).post(
        f"{API}/doctor/online/", {"opd": str(opd.pk), "auto_assign": auto_assign}, format="json"
    )
    assert response.status_code == 200, response.content
    return response


def take_token(patient, opd, complaint: str = ""):
    return api_for(patient.account).post(
        f"{API}/opds/{opd.pk}/tickets/",
        {"patient": str(patient.pk), "complaint": complaint},
        format="json",
    )


def confirm_identity(doctor, consultation, age_years: int = 34):
    """The doctor's identity check, which every ending with clinical advice needs first."""
    response = api_for(doctor.user).post(
        f"/api/v1/consultations/{consultation.pk}/identity/",
        {"method": "Name and age asked on video", "age_years": age_years},
        format="json",
    )
    assert response.status_code == 200, response.content
    return response


def call_next(doctor):
    return api_for(doctor.user).post(f"{API}/doctor/call-next/")


@pytest.fixture(name="opd")
def opd_fixture(db):
    return OnlineOPDFactory()


@pytest.fixture(name="doctor")
def doctor_fixture(opd):
    return member_doctor(opd)


@pytest.fixture(name="patient")
def patient_fixture(db):
    return PatientFactory()


@pytest.fixture(name="outbox")
def outbox_fixture(settings, tmp_path) -> FileOutboxBackend:
    settings.SMS_BACKEND = "file"
    settings.SMS_OUTBOX_DIR = tmp_path / "sms"
    return FileOutboxBackend(tmp_path / "sms")
