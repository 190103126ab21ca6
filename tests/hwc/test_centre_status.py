"""Each case's status as the CHO's status feed says it, through the lifecycle: a
store-and-forward case being written and then answered, a case forwarded up a tier, a
referral, and a case whose call was missed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from sanjeevani.consultations import services as consultations
from sanjeevani.hwc import services as hwc
from tests.hwc.factories import send_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def cho(client, network):
    client.force_login(network.cho)
    return client


def feed(client) -> dict:
    (entry,) = client.get(reverse("centre:status")).json()["cases"]
    return entry


def called(network, **case):
    sent = send_case(network, **case)
    hwc.go_online_at_hub(network.doctor_a.user, network.hub_a, network.general)
    consultation = hwc.call_next_case(network.doctor_a.user).consultation
    return sent, consultation


def write(network, consultation, **fields):
    consultation.refresh_from_db()
    return consultations.save_clinical_record(
        network.doctor_a.user, consultation, fields, base_revision=consultation.record_revision
    )


def test_a_store_and_forward_case_is_written_then_answered(cho, network):
    _case, consultation = called(network, mode="store_forward")
    entry = feed(cho)
    assert entry["status"] == "in_consultation"
    assert network.doctor_a.user.get_full_name() in entry["label"]
    write(network, consultation, advice="Apply the cream twice a day; come back in a week")
    consultations.end_consultation(network.doctor_a.user, consultation, "advice_only")
    entry = feed(cho)
    assert entry["status"] == "answered"


def test_a_forwarded_case_says_where_it_waits(cho, network):
    _case, consultation = called(network)
    consultations.accept_call(network.cho, consultation.ticket)
    hwc.forward_case(network.doctor_a.user, consultation, network.district, "Needs a physician")
    entry = feed(cho)
    assert entry["status"] == "forwarded"
    assert entry["hub"] == network.district.name
    assert entry["position"] == 1


def test_a_referral_shows_as_referred(cho, network):
    _case, consultation = called(network)
    consultations.accept_call(network.cho, consultation.ticket)
    hwc.refer_patient(
        network.doctor_a.user, consultation, network.district, "Suspected fracture", "soon"
    )
    consultation.refresh_from_db()
    consultations.end_consultation(network.doctor_a.user, consultation, "referred")
    assert feed(cho)["status"] == "referred"
    page = cho.get(reverse("centre:case", args=[_case.pk])).content.decode()
    assert "Suspected fracture" in page


def test_a_call_nobody_answered_reads_as_missed(cho, network):
    case, _consultation = called(network)
    case.ticket.refresh_from_db()
    type(case.ticket).objects.filter(pk=case.ticket_id).update(
        call_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert feed(cho)["status"] == "missed"
