"""A referral over HTTP: the hub doctor refers, the destination's coordinator finds it in
the inbox, opens and acknowledges it, and the acknowledgement shows back on the case."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sanjeevani.audit.models import AuditEvent
from sanjeevani.hwc import services as hwc
from sanjeevani.hwc.models import Referral

from .factories import send_case
from .test_hub_desk import coordinator_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def referred(network):
    send_case(network, mode="store_forward")
    hwc.go_online_at_hub(network.doctor_a.user, network.hub_a, network.general)
    consultation = hwc.call_next_case(network.doctor_a.user).consultation
    return consultation


def refer(client, network, consultation):
    client.force_login(network.doctor_a.user)
    response = client.post(
        reverse("hub:refer", args=[consultation.pk]),
        {"to": str(network.district.pk), "urgency": "emergency", "reason": "Chest pain, ECG"},
    )
    assert response.status_code == 302
    return Referral.objects.get(consultation=consultation)


def test_the_destination_sees_and_acknowledges_and_the_case_shows_it(client, network, referred):
    referral = refer(client, network, referred)
    coordinator = coordinator_at(network.district)
    client.force_login(coordinator)
    inbox = client.get(reverse("hub:referrals")).content.decode()
    assert referral.patient.name in inbox and "to acknowledge" in inbox
    detail = client.get(reverse("hub:referral", args=[referral.pk])).content.decode()
    assert "Chest pain, ECG" in detail and "Emergency (now)" in detail
    assert AuditEvent.objects.filter(
        action="hwc.referral.view", actor=coordinator, patient_id=referral.patient_id
    ).exists()
    response = client.post(
        reverse("hub:acknowledge", args=[referral.pk]), {"note": "Bed ready in casualty"}
    )
    assert response["Location"] == reverse("hub:referral", args=[referral.pk])
    referral.refresh_from_db()
    assert referral.acknowledged_by == coordinator
    assert referral.acknowledgement_note == "Bed ready in casualty"

    client.force_login(network.doctor_a.user)
    page = reverse("workspace:consultation", args=[referred.pk], current_app="hub-workspace")
    html = client.get(page).content.decode()
    assert "acknowledged" in html and "Bed ready in casualty" in html
    case = client.get(reverse("hub-api:case", args=[referred.pk])).json()
    assert case["referrals"][0]["acknowledgement_note"] == "Bed ready in casualty"


def test_another_facility_cannot_see_or_acknowledge_it(client, network, referred):
    referral = refer(client, network, referred)
    client.force_login(coordinator_at(network.hub_b))
    assert referral.patient.name not in client.get(reverse("hub:referrals")).content.decode()
    assert client.get(reverse("hub:referral", args=[referral.pk])).status_code == 404
    assert client.post(reverse("hub:acknowledge", args=[referral.pk])).status_code == 404
    referral.refresh_from_db()
    assert referral.acknowledged_at is None


def test_the_api_lists_shows_and_acknowledges(client, network, referred):
    referral = refer(client, network, referred)
    client.force_login(coordinator_at(network.district))
    listed = client.get(reverse("hub-api:referrals")).json()
    assert [r["id"] for r in listed] == [str(referral.pk)]
    assert listed[0]["acknowledged_at"] is None
    shown = client.get(reverse("hub-api:referral", args=[referral.pk])).json()
    assert shown["reason"] == "Chest pain, ECG" and shown["urgency"] == "emergency"
    done = client.post(
        reverse("hub-api:referral-acknowledge", args=[referral.pk]),
        {"note": "Expecting the patient"},
        content_type="application/json",
    )
    assert done.status_code == 200 and done.json()["acknowledged_at"]


def test_the_api_refers_through_the_doctors_step(client, network, referred):
    client.force_login(network.doctor_a.user)
    url = reverse("hub-api:refer", args=[referred.pk])
    bad = client.post(url, {"to": str(network.district.pk)}, content_type="application/json")
    assert bad.status_code == 400 and "reason" in bad.json()["error"]["fields"]
    done = client.post(
        url,
        {"to": str(network.district.pk), "urgency": "routine", "reason": "Needs an MRI"},
        content_type="application/json",
    )
    assert done.status_code == 201, done.content
    assert done.json()["outcome"] == "referred"
    assert done.json()["referrals"][0]["to_facility"] == "District Hospital"
