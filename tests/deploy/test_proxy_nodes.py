"""Several app nodes behind the shipped nginx configuration (issue 15, items 2 and 3).

Debian's nginx runs deploy/nginx/sanjeevani.conf in front of two uvicorn nodes started with
the systemd unit's options, sharing the test's PostgreSQL database and Redis. Everything the
patient and the doctor do goes through nginx: OTP sign-in, a token, the waiting room's
WebSocket, the call, the consultation's record and its end. The drill kills the node that
holds the waiting patient's socket: the patient reconnects through nginx to the other node
with the same place in the line, and the doctor's call reaches them there, once.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection

from sanjeevani.accounts.sms import FileOutboxBackend
from sanjeevani.audit.models import AuditEvent
from sanjeevani.consultations.models import Consultation
from sanjeevani.queueing import services as queueing
from sanjeevani.queueing.models import Ticket
from tests.deploy.proxy import NGINX, Deployment, proxied_nodes
from tests.e2e.live import machine_address
from tests.factories import PASSWORD, DistrictFactory, OnlineOPDFactory, PatientFactory
from tests.polling import wait_until
from tests.queueing.factories import member_doctor

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

MOBILE = "+919812345678"
API = "/api/v1"


@pytest.fixture(autouse=True)
def _needs_the_shared_services():
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis shared by the nodes; .ci/run's second half runs it")
    if not Path(NGINX).exists():
        pytest.skip("needs Debian's nginx at /usr/sbin/nginx: make browser-deps installs it")


@pytest.fixture
def deployment(tmp_path):
    """nginx listens on this machine's own address, so that the client is not one of the
    trusted proxies (127.0.0.1) and the address rule shows through the whole chain."""
    with proxied_nodes(
        tmp_path,
        count=2,
        host=machine_address(),
        SMS_BACKEND="file",
        SMS_OUTBOX_DIR=str(tmp_path / "sms"),
    ) as running:
        yield running


class Feed:
    """A WebSocket through nginx (the ``websockets`` library's sync client)."""

    def __init__(self, deployment: Deployment, path: str, token: str | None) -> None:
        from websockets.sync.client import connect

        self.socket = connect(
            deployment.base.replace("http", "ws", 1) + path,
            origin=deployment.base,
            additional_headers={"Authorization": f"Token {token}"} if token else None,
            open_timeout=10,
        )

    def send(self, message: dict) -> None:
        self.socket.send(json.dumps(message))

    def next_event(self, kind: str, timeout: float = 20, **fields: object) -> dict:
        """The first event of this kind with these fields; others are skipped. A timeout
        raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.socket.recv(timeout=max(deadline - time.monotonic(), 0.1)))
            if message.get("type") == kind and all(message.get(k) == v for k, v in fields.items()):
                return message

    def closed(self, timeout: float = 20) -> bool:
        """Whether the server side went away (the node died): recv ends with ConnectionClosed."""
        from websockets.exceptions import ConnectionClosed

        try:
            while True:
                self.socket.recv(timeout=timeout)
        except ConnectionClosed:
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.socket.close()


def open_feed(
    deployment: Deployment, path: str, token: str | None = None, timeout: float = 30
) -> Feed:
    """Connect, retrying while nginx still tries a dead node (the page's reconnect loop)."""
    opened: list[Feed] = []

    def attempt() -> bool:
        try:
            opened.append(Feed(deployment, path, token))
        except Exception as error:  # handshake refused or reset: try again
            print(f"reconnect attempt failed: {error!r}")
            return False
        return True

    assert wait_until(attempt, timeout=timeout, interval=0.5), f"no WebSocket on {path}"
    return opened[0]


def sign_in_patient(http: httpx.Client, outbox: FileOutboxBackend) -> str:
    asked = http.post(f"{API}/accounts/otp/request", json={"mobile": "98123 45678"})
    assert asked.status_code == 202, asked.text
    assert wait_until(lambda: outbox.messages(MOBILE), timeout=10), "no sign-in SMS"
    code = re.search(r"\b(\d{6})\b", outbox.messages(MOBILE)[-1].body)[1]
    verified = http.post(
        f"{API}/accounts/otp/verify",
        json={"mobile": MOBILE, "code": code, "challenge": asked.json()["challenge"]},
    )
    assert verified.status_code == 200, verified.text
    return verified.json()["token"]


def sign_in_doctor(http: httpx.Client, doctor) -> str:
    # A forged X-Forwarded-For: nginx appends the real peer, the app reads right to left.
    signed = http.post(
        f"{API}/accounts/staff/token",
        json={"username": doctor.user.username, "password": PASSWORD, "totp": ""},
        headers={"X-Forwarded-For": "6.6.6.6"},
    )
    assert signed.status_code == 200, signed.text
    return signed.json()["token"]


def profile(http: httpx.Client, patient: dict, district) -> str:
    made = http.post(
        f"{API}/patients/",
        headers=patient,
        json={
            "name": "Meera Nair",
            "relation": "self",
            "date_of_birth": "1979-08-14",
            "sex": "F",
            "state": district.state.code,
            "district": district.pk,
            "preferred_language": "en",
        },
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


def setting_up(deployment: Deployment):
    """The OPD, its doctor (online, calling by hand), and the signed-in patient's profile."""
    district = DistrictFactory()
    opd = OnlineOPDFactory(state=district.state)
    doctor = member_doctor(opd)
    http = httpx.Client(base_url=deployment.base, timeout=30)
    outbox = FileOutboxBackend(deployment.folder / "sms")
    patient = {"Authorization": f"Token {sign_in_patient(http, outbox)}"}
    doctor_auth = {"Authorization": f"Token {sign_in_doctor(http, doctor)}"}
    online = http.post(
        f"{API}/consultations/doctor/online/",
        headers=doctor_auth,
        json={"opd": str(opd.pk), "auto_assign": False},
    )
    assert online.status_code == 200, online.text
    return http, opd, patient, doctor_auth, profile(http, patient, district)


def take_token(http: httpx.Client, opd, patient: dict, profile_id: str) -> dict:
    taken = http.post(
        f"{API}/opd/opds/{opd.pk}/tickets/",
        headers=patient,
        json={"patient": profile_id, "complaint": "Fever and sore throat for 3 days"},
    )
    assert taken.status_code == 201, taken.text
    return taken.json()


def test_a_consultation_through_nginx_and_two_nodes(deployment):
    http, opd, patient, doctor, profile_id = setting_up(deployment)
    ticket = take_token(http, opd, patient, profile_id)
    assert ticket["position"] == 1 and ticket["status"] == "waiting"
    feed = open_feed(deployment, ticket["websocket"], patient["Authorization"].split()[1])
    try:
        called = http.post(f"{API}/consultations/doctor/call-next/", headers=doctor)
        assert called.status_code == 201, called.text
        consultation = called.json()["consultation"]
        event = feed.next_event("ticket.called")
        assert event["ticket"] == ticket["id"], event
    finally:
        feed.close()
    status = http.get(f"{API}/opd/tickets/{ticket['id']}/", headers=patient).json()
    assert status["status"] == "called" and status["consultation"] == consultation
    joined = http.post(f"{API}/opd/tickets/{ticket['id']}/join/", headers=patient)
    assert joined.status_code == 200 and joined.json()["status"] == "in_progress", joined.text

    record = http.patch(
        f"{API}/consultations/{consultation}/record/",
        headers=doctor,
        json={
            "base_revision": 0,
            "complaints": "Fever and sore throat, 3 days",
            "advice": "Warm saline gargles, fluids, rest.",
        },
    )
    assert record.status_code == 200 and record.json()["record_revision"] == 1, record.text
    identity = http.post(
        f"{API}/consultations/{consultation}/identity/",
        headers=doctor,
        json={"method": "Name and age asked on video", "age_years": 47},
    )
    assert identity.status_code == 200, identity.text
    ended = http.post(
        f"{API}/consultations/{consultation}/end/", headers=doctor, json={"outcome": "advice_only"}
    )
    assert ended.status_code == 200 and ended.json()["status"] == "ended", ended.text

    # Static files come from nginx itself: gzip for text, a year's cache for hashed names.
    css = "body { color: #222; }\n" * 200
    (deployment.folder / "static" / "site.0123456789ab.css").write_text(css)
    static = http.get("/static/site.0123456789ab.css", headers={"Accept-Encoding": "gzip"})
    assert static.status_code == 200 and static.text == css
    assert static.headers["content-encoding"] == "gzip"
    assert "immutable" in static.headers["cache-control"]
    # (The nodes know no such file: only nginx's alias of STATIC_ROOT has it.)
    # Each node's metrics are for its own scraper, not for the public address.
    assert http.get("/metrics").status_code == 404

    done = Consultation.objects.get(pk=consultation)
    assert done.status == Consultation.Status.ENDED and done.ticket_id is not None
    assert done.record_revision == 1 and "saline" in done.advice
    # The audit trail has the client's address as nginx saw it: not nginx's (127.0.0.1), and
    # not the one the doctor's client forged in X-Forwarded-For.
    client = deployment.base.removeprefix("http://").rsplit(":", 1)[0]
    if client != "127.0.0.1":
        rows = AuditEvent.objects.exclude(client_ip=None)
        assert rows.filter(action="auth.api_token_issued").exists()
        assert set(rows.values_list("client_ip", flat=True)) == {client}
    served = deployment.upstreams()
    assert served == {node.address for node in deployment.nodes}, served


def test_a_node_killed_under_a_waiting_patient(deployment):
    """The waiting patient's node dies (SIGKILL). Through nginx the patient reconnects to the
    other node, keeps their place, and is called there exactly once."""
    http, opd, patient, doctor, profile_id = setting_up(deployment)
    ahead = PatientFactory()
    first = queueing.join_queue(ahead.account, ahead, opd)
    ticket = take_token(http, opd, patient, profile_id)
    token = patient["Authorization"].split()[1]
    path = ticket["websocket"]
    before = http.get(f"{API}/opd/tickets/{ticket['id']}/", headers=patient).json()
    assert before["position"] == 2, before

    feed = open_feed(deployment, path, token)
    assert wait_until(lambda: sum(n.accepted_websockets(path) for n in deployment.nodes) == 1)
    (holder,) = [n for n in deployment.nodes if n.accepted_websockets(path)]
    (other,) = [n for n in deployment.nodes if n is not holder]
    deployment.kill(holder)
    assert feed.closed(), "the socket outlived its node"

    feed = open_feed(deployment, path, token)
    try:
        assert wait_until(lambda: other.accepted_websockets(path) == 1)
        after = http.get(f"{API}/opd/tickets/{ticket['id']}/", headers=patient).json()
        # The one ahead leaves; the event reaches the reconnected socket on the other node.
        queueing.cancel_ticket(ahead.account, first)
        advanced = feed.next_event("queue.advanced")
        now = http.get(f"{API}/opd/tickets/{ticket['id']}/", headers=patient).json()
        called = http.post(f"{API}/consultations/doctor/call-next/", headers=doctor)
        assert called.status_code == 201, called.text
        event = feed.next_event("ticket.called")
        window = http.get(f"{API}/opd/tickets/{ticket['id']}/", headers=patient).json()
    finally:
        feed.close()

    mine = Ticket.objects.get(pk=ticket["id"])
    claims = AuditEvent.objects.filter(action="ticket.claim", object_id=ticket["id"]).count()
    consultations = Consultation.objects.filter(ticket=mine).count()
    lost = {
        "place in the line": (before["position"], after["position"]),
        "status": (before["status"], after["status"]),
        "token number": (before["token_number"], after["token_number"]),
        "called once": (1, claims),
        "one consultation": (1, consultations),
        "the call reached the patient": (ticket["id"], event.get("ticket")),
        "the called token": (ticket["id"], called.json()["ticket"]),
        "the ticket is called": ("called", mine.status),
        "the call window, seen through the other node": ("called", window["status"]),
    }
    lost = {what: pair for what, pair in lost.items() if pair[0] != pair[1]}
    print(f"node {holder.address} killed; lost: {lost or 'nothing'}")
    print(f"queue.advanced after the reconnect: {advanced}; position then {now['position']}")
    assert lost == {}
    assert now["position"] == 1
    assert (
        window["call_seconds_left"] > 60 and window["consultation"] == called.json()["consultation"]
    )
    # Every request after the kill went to the node still alive.
    assert other.address in deployment.upstreams()


def enter_room(deployment: Deployment, http: httpx.Client, consultation: str, auth: dict) -> Feed:
    """A participant's room socket: a fresh single-use join token each time, then welcome."""
    joining = http.get(f"{API}/realtime/rooms/{consultation}/join-token", headers=auth)
    assert joining.status_code == 200, joining.text
    answer = joining.json()
    room = open_feed(deployment, f"{answer['websocket_path']}?token={answer['token']}")
    room.welcome = room.next_event("welcome")
    return room


def chat(room: Feed, text: str) -> dict:
    room.send({"type": "chat", "text": text, "client_id": f"c{abs(hash(text))}"})
    return room.next_event("chat-ack")


def test_a_node_killed_during_a_consultation(deployment):
    """Both sides in the room, some chat and a saved record; the patient's node dies. The
    patient comes back through nginx: chat history, record and consultation are intact."""
    http, opd, patient, doctor, profile_id = setting_up(deployment)
    ticket = take_token(http, opd, patient, profile_id)
    called = http.post(f"{API}/consultations/doctor/call-next/", headers=doctor)
    assert called.status_code == 201, called.text
    consultation = called.json()["consultation"]
    joined = http.post(f"{API}/opd/tickets/{ticket['id']}/join/", headers=patient)
    assert joined.status_code == 200, joined.text
    saved = http.patch(
        f"{API}/consultations/{consultation}/record/",
        headers=doctor,
        json={"base_revision": 0, "complaints": "Fever and sore throat, 3 days"},
    )
    assert saved.status_code == 200, saved.text

    path = f"/ws/room/{consultation}/"

    def node_of_newest_socket(count: int):
        """The node that accepted the ``count``-th room socket (uvicorn's log)."""
        assert wait_until(
            lambda: sum(n.accepted_websockets(path) for n in deployment.nodes) == count
        )
        return [n for n in deployment.nodes if n.accepted_websockets(path) > seen.get(n.port, 0)][0]

    seen: dict[int, int] = {}
    rooms = {"patient": enter_room(deployment, http, consultation, patient)}
    patient_node = node_of_newest_socket(1)
    seen = {n.port: n.accepted_websockets(path) for n in deployment.nodes}
    try:
        rooms["doctor"] = enter_room(deployment, http, consultation, doctor)
        doctor_node = node_of_newest_socket(2)
        chat(rooms["patient"], "Fever since Monday, worse at night")
        chat(rooms["doctor"], "Any cough or breathlessness?")
        deployment.kill(patient_node)
        # The patient is cut off (and the doctor too when on the same node); both come back
        # through nginx with a new join token, to the node still alive.
        assert rooms["patient"].closed(), "the patient's socket outlived its node"
        rooms["patient"] = enter_room(deployment, http, consultation, patient)
        if doctor_node is patient_node:
            assert rooms["doctor"].closed(), "the doctor's socket outlived its node"
            rooms["doctor"] = enter_room(deployment, http, consultation, doctor)
        assert rooms["patient"].welcome["last_seq"] == 2, rooms["patient"].welcome
        chat(rooms["patient"], "No cough")
        heard = rooms["doctor"].next_event("chat-message", text="No cough")
    finally:
        for room in rooms.values():
            room.close()

    history = http.get(f"{API}/realtime/rooms/{consultation}/messages", headers=doctor).json()
    texts = [m.get("text") for m in history["messages"]]
    record = http.patch(
        f"{API}/consultations/{consultation}/record/",
        headers=doctor,
        json={"base_revision": 1, "advice": "Warm saline gargles, fluids, rest."},
    )
    lost = {
        "chat history": (
            ["Fever since Monday, worse at night", "Any cough or breathlessness?", "No cough"],
            texts,
        ),
        "the record (revision 1 still current)": (200, record.status_code),
        "the live chat after the reconnect": ("No cough", heard.get("text")),
        "the consultation": ("in_progress", Consultation.objects.get(pk=consultation).status),
    }
    lost = {what: pair for what, pair in lost.items() if pair[0] != pair[1]}
    same = "the doctor's too" if doctor_node is patient_node else "the doctor elsewhere"
    print(f"node {patient_node.address} (the patient's; {same}) killed; lost: {lost or 'nothing'}")
    assert lost == {}
    assert record.json()["record_revision"] == 2
    done = Consultation.objects.get(pk=consultation)
    assert "Fever" in done.complaints and "saline" in done.advice
