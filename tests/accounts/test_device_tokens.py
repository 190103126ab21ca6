"""API sign-ins per device (issue 15): each sign-in its own token, signed out on its own,
listed to its owner, revocable by the owner and an administrator, expiring when unused, and
never stored in clear."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from sanjeevani.accounts import services
from sanjeevani.accounts.models import DeviceToken, Role
from sanjeevani.audit.models import AuditEvent
from sanjeevani.config.asgi import application
from sanjeevani.queueing import services as queueing
from tests.factories import (
    PASSWORD,
    OnlineOPDFactory,
    PatientAccountFactory,
    PatientFactory,
    StaffUserFactory,
)

STAFF_TOKEN = "/api/v1/accounts/staff/token"
OTP_REQUEST = "/api/v1/accounts/otp/request"
OTP_VERIFY = "/api/v1/accounts/otp/verify"
ME = "/api/v1/accounts/me"
LOGOUT = "/api/v1/accounts/logout"
EVERYWHERE = "/api/v1/accounts/logout/everywhere"
DEVICES = "/api/v1/accounts/devices"
DEVICES_PAGE = "/accounts/devices/"


def app(key: str) -> APIClient:
    """A phone's app: it sends its own key on every request."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def staff_sign_in(user, **extra) -> dict:
    response = APIClient().post(
        STAFF_TOKEN,
        {"username": user.username, "password": PASSWORD, **extra},
        format="json",
        HTTP_USER_AGENT="Mozilla/5.0 (Linux; Android 14) SanjeevaniApp/2.1",
    )
    assert response.status_code == 200, response.content
    return response.json()


def revocations(of_user) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="auth.device_revoked", object_id=str(of_user.pk)))


# --- signing in and out, one device at a time -------------------------------------------------


@pytest.mark.django_db
def test_each_sign_in_gets_its_own_token_named_after_the_device(settings):
    settings.REQUIRE_STAFF_2FA = False
    doctor = StaffUserFactory(role=Role.DOCTOR)
    first = staff_sign_in(doctor, device="Ward tablet")
    second = staff_sign_in(doctor)  # no name given: the User-Agent names it

    assert first["token"] != second["token"]
    assert first["user"]["username"] == doctor.username
    assert first["device"]["device"] == "Ward tablet"
    assert first["device"]["current"] is True
    assert second["device"]["device"] == "Mozilla/5.0 (Linux; Android 14) SanjeevaniApp/2.1"

    listed = app(second["token"]).get(DEVICES).json()
    assert {d["device"]: d["current"] for d in listed} == {
        "Ward tablet": False,
        "Mozilla/5.0 (Linux; Android 14) SanjeevaniApp/2.1": True,
    }
    assert {"id", "created_at", "last_used_at", "expires_at"} <= set(listed[0])
    issued = AuditEvent.objects.filter(actor=doctor, action="auth.api_token_issued")
    assert sorted(e.detail["device"] for e in issued) == [
        "Mozilla/5.0 (Linux; Android 14) SanjeevaniApp/2.1",
        "Ward tablet",
    ]


@pytest.mark.django_db
def test_a_patient_names_the_phone_when_signing_in_by_sms(outbox):
    api = APIClient()
    mobile = "+919876543210"
    challenge = api.post(OTP_REQUEST, {"mobile": mobile}, format="json").json()["challenge"]
    body = api.post(
        OTP_VERIFY,
        {
            "mobile": mobile,
            "code": outbox.last_code(mobile),
            "challenge": challenge,
            "device": " Asha's\nphone ",
        },
        format="json",
    ).json()
    assert body["device"]["device"] == "Asha's phone"
    assert app(body["token"]).get(ME).json()["mobile"] == mobile


@pytest.mark.django_db
def test_signing_out_one_phone_leaves_the_other_signed_in():
    patient = PatientAccountFactory()
    phone = services.issue_api_token(patient, None, device="Phone").key
    tablet = services.issue_api_token(patient, None, device="Tablet").key

    assert app(phone).post(LOGOUT).status_code == 204

    assert app(phone).get(ME).status_code == 401
    assert app(tablet).get(ME).status_code == 200
    assert [d.device for d in DeviceToken.objects.filter(user=patient)] == ["Tablet"]
    (revoked,) = revocations(patient)
    assert revoked.actor_id == patient.pk
    assert revoked.detail["device"] == "Phone"
    assert AuditEvent.objects.filter(actor=patient, action="auth.sign_out").count() == 1


@pytest.mark.django_db
def test_sign_out_everywhere_ends_every_token_and_browser_session():
    patient = PatientAccountFactory()
    keys = [services.issue_api_token(patient, None, device=name).key for name in ("A", "B")]
    browser = Client()
    browser.force_login(patient)
    assert browser.get(DEVICES_PAGE).status_code == 200
    someone_else = services.issue_api_token(PatientAccountFactory(), None).key

    assert app(keys[0]).post(EVERYWHERE).status_code == 204

    assert [app(key).get(ME).status_code for key in keys] == [401, 401]
    assert browser.get(DEVICES_PAGE).status_code == 302  # the session ended too
    assert app(someone_else).get(ME).status_code == 200
    assert len(revocations(patient)) == 2
    everywhere = AuditEvent.objects.get(action="auth.sign_out_everywhere")
    assert (everywhere.actor_id, everywhere.detail["devices"]) == (patient.pk, 2)
    # signing in again afterwards works as before (the account as sign-in loads it)
    patient.refresh_from_db()
    browser.force_login(patient)
    assert browser.get(DEVICES_PAGE).status_code == 200


@pytest.mark.django_db
def test_the_owner_signs_out_another_of_their_devices():
    patient = PatientAccountFactory()
    phone = services.issue_api_token(patient, None, device="Phone")
    lost = services.issue_api_token(patient, None, device="Lost phone")

    assert app(phone.key).delete(f"{DEVICES}/{lost.device.pk}").status_code == 204

    assert app(lost.key).get(ME).status_code == 401
    assert app(phone.key).get(ME).status_code == 200
    (revoked,) = revocations(patient)
    assert revoked.actor_id == patient.pk
    assert revoked.detail == {
        "device_id": str(lost.device.pk),
        "device": "Lost phone",
        "owner": patient.username,
    }


@pytest.mark.django_db
def test_another_person_cannot_see_or_sign_out_my_device():
    mine = services.issue_api_token(PatientAccountFactory(), None, device="Mine")
    stranger = services.issue_api_token(PatientAccountFactory(), None, device="Theirs")

    assert app(stranger.key).delete(f"{DEVICES}/{mine.device.pk}").status_code == 404
    assert [d["device"] for d in app(stranger.key).get(DEVICES).json()] == ["Theirs"]
    browser = Client()
    browser.force_login(stranger.device.user)
    assert browser.post(f"/accounts/devices/{mine.device.pk}/sign-out/").status_code == 404

    assert app(mine.key).get(ME).status_code == 200
    assert not AuditEvent.objects.filter(action="auth.device_revoked").exists()


# --- expiry and the cost of "last used" -------------------------------------------------------


def _age(token: DeviceToken, **delta) -> None:
    DeviceToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(**delta))


@pytest.mark.django_db
def test_a_token_unused_for_the_idle_lifetime_stops_working(settings):
    settings.API_TOKEN_IDLE_DAYS = 30
    patient = PatientAccountFactory()
    old = services.issue_api_token(patient, None, device="Old")
    recent = services.issue_api_token(patient, None, device="Recent")
    _age(old.device, days=30, minutes=1)
    _age(recent.device, days=29)

    assert app(old.key).get(ME).status_code == 401
    assert app(recent.key).get(ME).status_code == 200
    # sliding: the use just now moved its expiry a full lifetime ahead
    recent.device.refresh_from_db()
    assert timezone.now() - recent.device.last_used_at < timedelta(minutes=1)
    assert [d["device"] for d in app(recent.key).get(DEVICES).json()] == ["Recent"]
    # the expired row goes at the owner's next sign-in
    services.issue_api_token(patient, None, device="New")
    assert not DeviceToken.objects.filter(pk=old.device.pk).exists()


@pytest.mark.django_db
def test_the_daily_clean_up_deletes_the_tokens_of_people_who_never_came_back(settings):
    settings.API_TOKEN_IDLE_DAYS = 30
    gone, back = PatientAccountFactory(), PatientAccountFactory()
    lost_phone = services.issue_api_token(gone, None, device="Lost phone")
    in_use = services.issue_api_token(back, None, device="In use")
    _age(lost_phone.device, days=30, minutes=1)
    _age(in_use.device, days=29)
    out = io.StringIO()

    call_command("clear_device_tokens", stdout=out)

    assert "1 expired device token(s) deleted" in out.getvalue()
    assert list(DeviceToken.objects.values_list("device", flat=True)) == ["In use"]
    assert app(in_use.key).get(ME).status_code == 200
    assert AuditEvent.objects.get(action="auth.api_tokens_expired").detail == {"count": 1}
    call_command("clear_device_tokens", stdout=out)
    assert "0 expired device token(s) deleted" in out.getvalue()


@pytest.mark.django_db
def test_last_used_is_written_at_most_once_per_interval(settings):
    settings.API_TOKEN_TOUCH_SECONDS = 300
    issued = services.issue_api_token(PatientAccountFactory(), None)
    _age(issued.device, minutes=2)
    issued.device.refresh_from_db()
    before = issued.device.last_used_at

    for _ in range(3):
        assert app(issued.key).get(ME).status_code == 200
    issued.device.refresh_from_db()
    assert issued.device.last_used_at == before

    _age(issued.device, minutes=6)
    assert app(issued.key).get(ME).status_code == 200
    issued.device.refresh_from_db()
    assert timezone.now() - issued.device.last_used_at < timedelta(minutes=1)


@pytest.mark.django_db
def test_the_key_is_not_stored_in_clear():
    issued = services.issue_api_token(PatientAccountFactory(), None)
    token = DeviceToken.objects.get()
    assert token.key_hash == hashlib.sha256(issued.key.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {DeviceToken._meta.db_table}")  # noqa: S608
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert issued.key not in stored
    assert issued.key[: len(token.key_prefix)] == token.key_prefix  # only a short prefix
    assert len(token.key_prefix) * 4 < len(issued.key)


@pytest.mark.django_db
def test_bad_keys_are_refused_without_a_server_error():
    services.issue_api_token(PatientAccountFactory(), None)
    prefix = DeviceToken.objects.get().key_prefix
    for key in (prefix, prefix + "x" * 35, "x" * 500, "é" * 10):
        response = APIClient().get(ME, HTTP_AUTHORIZATION=f"Token {key}")
        assert response.status_code == 401, key


# --- the page ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_devices_page_lists_and_signs_out_devices():
    patient = PatientAccountFactory()
    phone = services.issue_api_token(patient, None, device="Redmi phone")
    services.issue_api_token(patient, None, device="Family tablet")
    browser = Client()
    browser.force_login(patient)

    page = browser.get(DEVICES_PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Redmi phone" in html and "Family tablet" in html
    assert f"/accounts/devices/{phone.device.pk}/sign-out/" in html
    assert "/accounts/sign-out-everywhere/" in html
    # the header links here from every page
    assert 'href="/accounts/devices/"' in browser.get("/").content.decode()

    response = browser.post(f"/accounts/devices/{phone.device.pk}/sign-out/")
    assert response.status_code == 302 and response["Location"] == DEVICES_PAGE
    assert app(phone.key).get(ME).status_code == 401
    after = browser.get(DEVICES_PAGE).content.decode()
    assert "Redmi phone is signed out." in after
    assert [e.detail["device"] for e in revocations(patient)] == ["Redmi phone"]

    assert browser.post("/accounts/sign-out-everywhere/").status_code == 302
    assert not DeviceToken.objects.filter(user=patient).exists()
    assert browser.get(DEVICES_PAGE).status_code == 302


@pytest.mark.django_db
def test_signing_out_everywhere_from_one_browser_ends_the_others():
    doctor = StaffUserFactory(role=Role.DOCTOR)
    here, elsewhere = Client(), Client()
    here.force_login(doctor)
    elsewhere.force_login(doctor)

    here.post("/accounts/sign-out-everywhere/")

    assert elsewhere.get(DEVICES_PAGE).status_code == 302
    assert "_auth_user_id" not in elsewhere.session


# --- administrators ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_national_administrator_signs_devices_out_in_the_admin(settings):
    settings.REQUIRE_STAFF_2FA = False
    patient = PatientAccountFactory()
    lost = services.issue_api_token(patient, None, device="Lost phone")
    kept = services.issue_api_token(patient, None, device="Kept phone")
    admin_user = StaffUserFactory(role=Role.NATIONAL_ADMIN, is_staff=True)
    admin = Client()
    admin.force_login(admin_user)

    listing = admin.get("/admin/accounts/devicetoken/")
    assert listing.status_code == 200
    assert b"Lost phone" in listing.content
    response = admin.post(
        "/admin/accounts/devicetoken/",
        {"action": "sign_out_devices", "_selected_action": [str(lost.device.pk)]},
    )
    assert response.status_code == 302

    assert app(lost.key).get(ME).status_code == 401
    assert app(kept.key).get(ME).status_code == 200
    (revoked,) = revocations(patient)
    assert revoked.actor_id == admin_user.pk
    assert revoked.detail["device"] == "Lost phone"
    assert revoked.detail["owner"] == patient.username

    response = admin.post(
        "/admin/accounts/user/",
        {"action": "sign_out_users_everywhere", "_selected_action": [str(patient.pk)]},
    )
    assert response.status_code == 302
    assert app(kept.key).get(ME).status_code == 401
    everywhere = AuditEvent.objects.get(action="auth.sign_out_everywhere")
    assert (everywhere.actor_id, everywhere.object_id) == (admin_user.pk, str(patient.pk))


@pytest.mark.django_db
def test_a_state_administrator_cannot_sign_devices_out(settings):
    settings.REQUIRE_STAFF_2FA = False
    issued = services.issue_api_token(PatientAccountFactory(), None, device="Phone")
    admin = Client()
    admin.force_login(StaffUserFactory(role=Role.STATE_ADMIN, is_staff=True))
    response = admin.post(
        "/admin/accounts/devicetoken/",
        {"action": "sign_out_devices", "_selected_action": [str(issued.device.pk)]},
    )
    assert response.status_code == 403
    assert app(issued.key).get(ME).status_code == 200


# --- WebSockets ----------------------------------------------------------------------------------


def _socket(path: str, key: str) -> WebsocketCommunicator:
    headers = [
        (b"origin", b"http://127.0.0.1"),
        (b"host", b"127.0.0.1"),
        (b"authorization", f"Token {key}".encode()),
    ]
    return WebsocketCommunicator(application, path, headers=headers)


def _patient_waiting_on_two_phones():
    opd = OnlineOPDFactory()
    patient = PatientFactory()
    queueing.join_queue(patient.account, patient, opd)
    phone = services.issue_api_token(patient.account, None, device="Phone").key
    tablet = services.issue_api_token(patient.account, None, device="Tablet").key
    return f"/ws/opd/{opd.pk}/waiting/", phone, tablet


@pytest.mark.realtime
@pytest.mark.django_db(transaction=True)
async def test_a_signed_out_phone_is_refused_on_the_websocket_and_the_other_connects():
    path, phone, tablet = await database_sync_to_async(_patient_waiting_on_two_phones)()
    before = _socket(path, phone)
    connected, _ = await before.connect()
    assert connected  # before signing out, the phone's key opens the feed
    await before.disconnect()

    signed_out = await database_sync_to_async(lambda: app(phone).post(LOGOUT).status_code)()
    assert signed_out == 204

    closed = _socket(path, phone)
    refused, _ = await closed.connect()
    await closed.disconnect()
    assert not refused
    socket = _socket(path, tablet)
    connected, _ = await socket.connect()
    assert connected
    await socket.disconnect()


@pytest.mark.realtime
@pytest.mark.django_db(transaction=True)
async def test_an_expired_token_is_refused_on_the_websocket(settings):
    settings.API_TOKEN_IDLE_DAYS = 30
    path, phone, _tablet = await database_sync_to_async(_patient_waiting_on_two_phones)()
    await database_sync_to_async(
        lambda: DeviceToken.objects.filter(device="Phone").update(
            last_used_at=timezone.now() - timedelta(days=31)
        )
    )()
    feed = _socket(path, phone)
    connected, _ = await feed.connect()
    await feed.disconnect()
    assert not connected
