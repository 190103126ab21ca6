"""The hub doctor's way through the workspace mounted for the hub-and-spoke line, over
HTTP: going online for a hub and a specialty, one queue mixing live and store-and-forward
cases with urgency, calling (a live case rings the centre, a store-and-forward case opens
at once), the record and prescription as in the OPD, the centre's attachments, forwarding
up a tier, referring and asking the spoke for a follow-up."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from sanjeevani.audit.models import AuditEvent
from sanjeevani.consultations.models import Consultation
from sanjeevani.hwc import services as hwc
from sanjeevani.hwc.models import Case, Referral
from sanjeevani.prescriptions.models import Medicine, Prescription, PrescriptionDocument
from sanjeevani.queueing.models import Ticket
from tests.factories import PASSWORD
from tests.opd.pages_support import PNG_BYTES

from .factories import send_case

pytestmark = pytest.mark.django_db
NS = "hub-workspace"


def page(name: str, *args) -> str:
    return reverse(f"workspace:{name}", args=args, current_app=NS)


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private-media"
    settings.SMS_BACKEND = "file"
    settings.SMS_OUTBOX_DIR = tmp_path / "outbox"


def go_online(client, doctor, hub, specialty):
    client.force_login(doctor.user)
    response = client.post(
        page("presence"), {"action": "online", "hub": str(hub.pk), "specialty": specialty.code}
    )
    assert response.status_code == 302, response.content
    return response


def call_next(client) -> Consultation:
    response = client.post(page("call_next"))
    assert response.status_code == 302
    consultation = Consultation.objects.get(pk=response["Location"].rstrip("/").split("/")[-1])
    assert response["Location"] == page("consultation", consultation.pk)
    return consultation


def test_the_hub_mount_lives_at_its_own_addresses():
    assert page("console") == "/hub/consultations/"
    assert reverse("workspace:console") == "/consultations/"
    assert reverse(f"{NS}-api:doctor-call-next") == "/api/v1/hub/consultations/doctor/call-next/"


def test_one_queue_mixes_live_and_store_and_forward_cases_urgent_first(client, network):
    live = send_case(network)
    written = send_case(network, mode="store_forward", specialty="general-medicine")
    urgent = send_case(network, vitals={"spo2": 85})
    go_online(client, network.doctor_a, network.hub_a, network.general)
    data = client.get(page("queue"), HTTP_ACCEPT="application/json").json()
    assert data["online"] is True
    assert [e["ticket"] for e in data["entries"]] == [
        str(urgent.ticket_id),
        str(live.ticket_id),
        str(written.ticket_id),
    ]
    first, second, third = data["entries"]
    assert first["urgent"] and "SpO₂ below 90% (low oxygen)" in first["danger_signs"]
    assert first["route"] == Case.Route.OVERFLOW and second["route"] == Case.Route.OWN_HUB
    assert second["mode"] == "live" and third["mode"] == "store_forward"
    assert second["spoke"] == "HWC Spoke"
    assert data["urgent"] == 1 and data["waiting"] == 3
    console = client.get(page("console")).content.decode()
    assert "SpO₂ below 90% (low oxygen)" in console
    assert "Overflow: every hub of the state" in console
    assert 'name="specialty"' in console and "PHC A" in console


def test_going_online_for_a_hub_the_doctor_is_not_posted_at_is_404(client, network):
    client.force_login(network.doctor_a.user)
    response = client.post(
        page("presence"),
        {"action": "online", "hub": str(network.hub_b.pk), "specialty": "general-medicine"},
    )
    assert response.status_code == 404


def test_a_store_and_forward_case_is_answered_in_writing_with_the_signed_prescription(
    client, network
):
    case = send_case(network, mode="store_forward")
    go_online(client, network.doctor_a, network.hub_a, network.general)
    consultation = call_next(client)
    assert consultation.status == Consultation.Status.IN_PROGRESS
    html = client.get(page("consultation", consultation.pk)).content.decode()
    assert "data-room" not in html  # no room: a written answer
    assert "From the health centre" in html and "Fever for three days" in html
    assert AuditEvent.objects.filter(
        action="hwc.case.view", object_id=str(case.pk), patient_id=case.patient_id
    ).exists()
    response = client.post(
        page("save_record", consultation.pk),
        json.dumps(
            {
                "base_revision": 0,
                "advice": "Paracetamol, fluids, review in 3 days",
                "diagnoses": [{"code": "R50.9", "label": "Fever, unspecified"}],
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    response = client.post(
        reverse(f"{NS}-api:consultation-mode", args=[consultation.pk]),
        {"mode": "chat"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    medicine = Medicine.objects.filter(generic_name="paracetamol", tpg_list="O").first()
    response = client.post(
        page("prescribe", consultation.pk),
        {
            "item-0-medicine_id": str(medicine.pk),
            "item-0-name": "paracetamol tablet 500 mg",
            "item-0-dose": "500 mg",
            "item-0-frequency": "1-0-1",
            "item-0-route": "oral",
            "item-0-duration": "3 days",
            "item-0-quantity": "6 tablets",
            "password": PASSWORD,
        },
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200, response.content
    prescription = Prescription.objects.get(consultation=consultation)
    assert PrescriptionDocument.objects.filter(prescription=prescription).exists()
    response = client.post(page("end", consultation.pk), {"outcome": "prescription"})
    assert response["Location"] == page("console")
    consultation.refresh_from_db()
    assert consultation.outcome == Consultation.Outcome.PRESCRIPTION
    assert Ticket.objects.get(pk=case.ticket_id).status == Ticket.Status.COMPLETED


def test_a_live_case_rings_the_centre_and_the_page_holds_the_room(client, network):
    send_case(network)
    go_online(client, network.doctor_a, network.hub_a, network.general)
    consultation = call_next(client)
    assert consultation.status == Consultation.Status.CALLING
    html = client.get(page("consultation", consultation.pk)).content.decode()
    assert "data-room" in html
    assert f'data-state-url="/api/v1/hub/consultations/{consultation.pk}/"' in html


def test_another_line_and_another_hub_see_nothing_of_the_case(client, network):
    send_case(network)
    go_online(client, network.doctor_a, network.hub_a, network.general)
    consultation = call_next(client)
    assert client.get(f"/consultations/{consultation.pk}/").status_code == 404
    client.force_login(network.doctor_b.user)
    assert client.get(page("consultation", consultation.pk)).status_code == 404
    forward = reverse("hub:forward", args=[consultation.pk])
    assert client.post(forward, {"to_hub": str(network.district.pk)}).status_code == 404


def test_the_centres_attachments_are_served_to_those_in_the_cases_care_only(client, network):
    case = send_case(network, mode="store_forward")
    upload = SimpleUploadedFile("lesion.png", PNG_BYTES, content_type="image/png")
    attachment = hwc.attach_to_case(network.cho, case, upload, "photo", "Lesion on the arm")
    url = reverse("hub:attachment", args=[attachment.pk])
    client.force_login(network.doctor_a.user)
    assert client.get(url).status_code == 404  # not yet in the doctor's care
    go_online(client, network.doctor_a, network.hub_a, network.general)
    consultation = call_next(client)
    assert "Lesion on the arm" in client.get(page("consultation", consultation.pk)).content.decode()
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG_BYTES
    assert AuditEvent.objects.filter(
        action="hwc.case_attachment.view", actor=network.doctor_a.user, patient_id=case.patient_id
    ).exists()
    client.force_login(network.doctor_b.user)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


def test_forwarding_up_a_tier_reaches_the_district_doctor_who_sees_why(client, network):
    case = send_case(network)
    go_online(client, network.doctor_a, network.hub_a, network.general)
    consultation = call_next(client)
    html = client.get(page("consultation", consultation.pk)).content.decode()
    assert "District Hospital" in html  # offered as the tier above
    response = client.post(
        reverse("hub:forward", args=[consultation.pk]),
        {"to_hub": str(network.district.pk), "note": "Needs a physician"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200, response.content
    case.refresh_from_db()
    assert case.route == Case.Route.FORWARDED and case.forwarded_from == network.hub_a
    go_online(client, network.doctor_district, network.district, network.general)
    data = client.get(page("queue"), HTTP_ACCEPT="application/json").json()
    assert [e["route"] for e in data["entries"]] == [Case.Route.FORWARDED]
    assert call_next(client).hub == network.district


def test_forwarding_to_a_hub_that_is_not_above_is_refused_with_a_message(client, network):
    send_case(network)
    go_online(client, network.doctor_a, network.hub_a, network.general)
    consultation = call_next(client)
    response = client.post(
        reverse("hub:forward", args=[consultation.pk]),
        {"to_hub": str(network.hub_b.pk)},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 409
    assert "is not a higher hub linked to yours" in response.json()["error"]


def test_referring_ends_the_consultation_as_referred(client, network):
    send_case(network, mode="store_forward")
    go_online(client, network.doctor_a, network.hub_a, network.general)
    consultation = call_next(client)
    url = reverse("hub:refer", args=[consultation.pk])
    refused = client.post(
        url,
        {"to": str(network.district.pk), "urgency": "soon", "reason": " "},
        HTTP_ACCEPT="application/json",
    )
    assert refused.status_code == 400
    assert "reason" in refused.json()["fields"]
    assert not Referral.objects.exists()
    response = client.post(
        url,
        {"to": str(network.district.pk), "urgency": "soon", "reason": "Suspected TB", "end": "1"},
    )
    assert response["Location"] == page("consultation", consultation.pk)
    referral = Referral.objects.get()
    assert referral.to_facility == network.district and referral.from_facility == network.hub_a
    consultation.refresh_from_db()
    assert consultation.outcome == Consultation.Outcome.REFERRED
    assert "Suspected TB" in consultation.referral


def test_asking_the_spoke_for_a_follow_up_sets_the_date_through_the_record(client, network):
    send_case(network, mode="store_forward")
    go_online(client, network.doctor_a, network.hub_a, network.general)
    consultation = call_next(client)
    url = reverse("hub:follow_up", args=[consultation.pk])
    refused = client.post(url, {"days": "0"}, HTTP_ACCEPT="application/json")
    assert refused.status_code == 400 and "days" in refused.json()["fields"]
    response = client.post(url, {"days": "7"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content
    consultation.refresh_from_db()
    assert consultation.follow_up_on == timezone.localdate() + dt.timedelta(days=7)
    assert consultation.record_revision == 1
    assert AuditEvent.objects.filter(action="hwc.follow_up_asked").exists()


def test_the_hub_workspace_api_goes_online_lists_and_calls(client, network):
    case = send_case(network, mode="store_forward")
    client.force_login(network.doctor_a.user)
    api = f"{NS}-api"
    response = client.post(
        reverse(f"{api}:doctor-online"),
        {"hub": str(network.hub_a.pk), "specialty": "general-medicine"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    queue = client.get(reverse(f"{api}:doctor-queue")).json()
    assert [e["ticket"] for e in queue["entries"]] == [str(case.ticket_id)]
    called = client.post(reverse(f"{api}:doctor-call-next"))
    assert called.status_code == 201
    consultation_id = called.json()["consultation"]
    detail = client.get(reverse("hub-api:case", args=[consultation_id])).json()
    assert detail["case"]["mode"] == "store_forward"
    assert detail["case"]["vitals"]["temperature_c"] == 38.4


def test_the_live_case_page_may_use_the_camera_and_microphone(client, network):
    send_case(network)
    go_online(client, network.doctor_a, network.hub_a, network.general)
    consultation = call_next(client)
    response = client.get(page("consultation", consultation.pk))
    assert "camera=(self)" in response["Permissions-Policy"]
