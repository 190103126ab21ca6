"""WebRTC at the protocol level: two aiortc peers meet in a real room through a real server
(uvicorn subprocess on the test database), connect, and exchange a video frame and a
data-channel message. Then across two server processes sharing Redis, and through a real
TURN server (coturn) with relay-only ICE."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import shutil
import socket
import struct
import subprocess
import time

import pytest

from sanjeevani.accounts.models import DeviceToken
from tests.e2e.live import free_port, machine_address, running_server
from tests.polling import wait_until
from tests.realtime.factories import ConsultationFactory
from tests.realtime.peers import RoomPeer, call

pytestmark = [pytest.mark.realtime, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def room(transactional_db):
    consultation = ConsultationFactory()
    doctor = DeviceToken.objects.issue(consultation.doctor.user).key
    patient = DeviceToken.objects.issue(consultation.patient.account).key
    return str(consultation.pk), doctor, patient


def test_two_peers_connect_and_exchange_video_and_data_through_the_room(room):
    consultation_id, doctor_key, patient_key = room
    with running_server() as base:
        result = asyncio.run(
            call(
                RoomPeer(base, consultation_id, doctor_key),
                RoomPeer(base, consultation_id, patient_key),
            )
        )
    assert result["states"] == ("connected", "connected"), result
    kind, width, height = result["frame"]
    assert kind == "video" and width > 0 and height > 0
    assert result["reply"] == "got: hello doctor"


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis: set REDIS_URL")
def test_peers_on_two_server_processes_sharing_redis_connect(room):
    consultation_id, doctor_key, patient_key = room
    with running_server() as node_a, running_server() as node_b:
        assert node_a != node_b
        result = asyncio.run(
            call(
                RoomPeer(node_a, consultation_id, doctor_key),
                RoomPeer(node_b, consultation_id, patient_key),
            )
        )
    assert result["states"] == ("connected", "connected"), result
    assert result["frame"][0] == "video"
    assert result["reply"] == "got: hello doctor"


def _answers_stun(address: str, port: int) -> bool:
    """Whether a STUN server answers a binding request on ``address:port`` (UDP)."""
    request = struct.pack("!HHI", 0x0001, 0, 0x2112A442) + os.urandom(12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        try:
            sock.sendto(request, (address, port))
            reply, _sender = sock.recvfrom(2048)
        except OSError:
            return False
    return reply[:2] == b"\x01\x01" and reply[8:20] == request[8:20]


@contextlib.contextmanager
def coturn(secret: str, tmp_path):
    address = machine_address()
    port = free_port()
    process = subprocess.Popen(
        [
            "turnserver",
            "-n",
            f"--listening-ip={address}",
            f"--relay-ip={address}",
            f"--listening-port={port}",
            "--use-auth-secret",
            f"--static-auth-secret={secret}",
            "--realm=sanjeevani",
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            "--log-file=stdout",
            f"--pidfile={tmp_path / 'turnserver.pid'}",
            f"--userdb={tmp_path / 'turndb'}",
            "--min-port=49152",
            "--max-port=65535",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        answering = wait_until(
            lambda: process.poll() is not None or _answers_stun(address, port), timeout=15
        )
        assert process.poll() is None, "turnserver exited"
        assert answering, "turnserver did not answer a STUN binding request within 15 s"
        yield f"turn:{address}:{port}?transport=udp"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.skipif(
    shutil.which("turnserver") is None, reason="needs coturn: apt-get install coturn"
)
def test_relay_only_call_connects_through_turn_with_issued_credentials(room, tmp_path):
    consultation_id, doctor_key, patient_key = room
    secret = "turn-test-secret"
    with (
        coturn(secret, tmp_path) as turn_url,
        running_server(TURN_SECRET=secret, TURN_URLS=turn_url, ICE_SERVERS="[]") as base,
    ):
        result = asyncio.run(
            call(
                RoomPeer(base, consultation_id, doctor_key),
                RoomPeer(base, consultation_id, patient_key),
                relay_only=True,
            )
        )
        assert result["states"] == ("connected", "connected"), result
        assert result["local_candidate_types"] == ["relay"]
        assert result["reply"] == "got: hello doctor"

        username = f"{int(time.time()) + 600}:forger"
        forged = base64.b64encode(
            hmac.new(b"not-the-secret", username.encode(), hashlib.sha1).digest()
        ).decode()
        fake = [{"urls": [turn_url], "username": username, "credential": forged}]
        failed = asyncio.run(
            call(
                RoomPeer(base, consultation_id, doctor_key, ice_override=fake),
                RoomPeer(base, consultation_id, patient_key, ice_override=fake),
                relay_only=True,
                timeout=15,
            )
        )
    assert "error" in failed or failed["states"] != ("connected", "connected"), failed
