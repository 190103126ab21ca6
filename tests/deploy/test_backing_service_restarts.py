"""Failure drills with real servers (issue 15, item 3): Redis restarting under live
waiting rooms, and the database restarting under load.

Each drill starts its own server (tests/deploy/backing_services.py) and two app nodes behind
the shipped nginx configuration (tests/deploy/proxy.py), drives patients and a doctor as
real clients through nginx (OTP sign-in, tokens, the waiting room's WebSocket, the doctor's
call, record, prescription and end), restarts the server in the middle, and prints what was
lost, which must be nothing. bench/drill_database_restart.py runs the database drill longer
and under more load.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection

from sanjeevani.accounts.sms import FileOutboxBackend
from sanjeevani.audit.models import AuditEvent
from sanjeevani.consultations.models import Consultation
from sanjeevani.queueing.models import Ticket
from tests.deploy.backing_services import PG_BIN, REDIS_SERVER, own_postgres, own_redis
from tests.deploy.database_drill import Drill, audit, drill_clinic, node_environment
from tests.deploy.proxy import NGINX, Deployment, proxied_nodes
from tests.deploy.test_proxy_nodes import Feed, open_feed, profile, sign_in_doctor, take_token
from tests.e2e.live import live_database_url, server_env
from tests.factories import DistrictFactory, OnlineOPDFactory
from tests.polling import wait_until
from tests.queueing.factories import member_doctor

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

API = "/api/v1"


@pytest.fixture(autouse=True)
def _needs_the_real_parts():
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis (the nodes share them); .ci/run's second half")
    if not Path(NGINX).exists():
        pytest.skip("needs Debian's nginx at /usr/sbin/nginx: make browser-deps installs it")
    if not (PG_BIN / "initdb").exists() or not Path(REDIS_SERVER).exists():
        pytest.skip(f"needs {PG_BIN}/initdb (postgresql-15) and redis-server for own servers")


def sign_in_patient(http: httpx.Client, outbox: FileOutboxBackend, mobile: str) -> dict:
    """OTP sign-in as the app does it; the code is read from the nodes' SMS outbox."""
    asked = http.post(f"{API}/accounts/otp/request", json={"mobile": mobile})
    assert asked.status_code == 202, asked.text
    number = f"+91{mobile}"
    assert wait_until(lambda: outbox.messages(number), timeout=10), "no sign-in SMS"
    code = re.search(r"\b(\d{6})\b", outbox.messages(number)[-1].body)[1]
    verified = http.post(
        f"{API}/accounts/otp/verify",
        json={"mobile": mobile, "code": code, "challenge": asked.json()["challenge"]},
    )
    assert verified.status_code == 200, verified.text
    return {"Authorization": f"Token {verified.json()['token']}"}


class WaitingRoom:
    """One patient's waiting room as static/opd/waiting.js keeps it: the socket while it
    is open; when it closes, the status read over HTTP and a new socket."""

    def __init__(self, deployment: Deployment, http: httpx.Client, auth: dict, ticket: dict):
        self.deployment, self.http, self.auth, self.ticket = deployment, http, auth, ticket
        self.path = f"{ticket['websocket']}?ticket={ticket['id']}"
        self.feed: Feed | None = open_feed(deployment, self.path, auth["Authorization"].split()[1])
        self.reconnects = 0

    def status(self) -> dict:
        answer = self.http.get(f"{API}/opd/tickets/{self.ticket['id']}/", headers=self.auth)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def socket_closed(self) -> bool:
        from websockets.exceptions import ConnectionClosed

        try:
            self.feed.send({"type": "ping"})
            self.feed.next_event("pong", timeout=5)
        except (ConnectionClosed, TimeoutError):
            return True
        return False

    def reconnect_if_closed(self) -> None:
        if self.socket_closed():
            self.feed.close()
            self.feed = open_feed(self.deployment, self.path, self.auth["Authorization"].split()[1])
            self.reconnects += 1

    def close(self) -> None:
        if self.feed is not None:
            self.feed.close()


@pytest.fixture
def redis_drill(tmp_path):
    with (
        own_redis() as redis_server,
        proxied_nodes(
            tmp_path,
            count=2,
            REDIS_URL=redis_server.url,
            SMS_BACKEND="file",
            SMS_OUTBOX_DIR=str(tmp_path / "sms"),
        ) as deployment,
    ):
        yield redis_server, deployment


def test_redis_restarting_under_live_waiting_rooms(redis_drill):
    """Three patients wait on their sockets, spread over two nodes; the doctor is online.
    Redis dies (SIGKILL: connections and every key gone, group memberships too) and comes
    back on the same port. Meanwhile the waiting rooms read their status over HTTP and the
    doctor carries on; afterwards the sockets are live again and a call reaches the patient
    on theirs. Every token claimed once, every position right."""
    redis_server, deployment = redis_drill
    district = DistrictFactory()
    opd = OnlineOPDFactory(state=district.state)
    doctor = member_doctor(opd)
    http = httpx.Client(base_url=deployment.base, timeout=30)
    outbox = FileOutboxBackend(deployment.folder / "sms")
    doctor_auth = {"Authorization": f"Token {sign_in_doctor(http, doctor)}"}
    online = http.post(
        f"{API}/consultations/doctor/online/",
        headers=doctor_auth,
        json={"opd": str(opd.pk), "auto_assign": False},
    )
    assert online.status_code == 200, online.text

    rooms: list[WaitingRoom] = []
    try:
        for n in range(3):
            auth = sign_in_patient(http, outbox, f"98123456{n:02d}")
            ticket = take_token(http, opd, auth, profile(http, auth, district))
            assert ticket["position"] == n + 1, ticket
            rooms.append(WaitingRoom(deployment, http, auth, ticket))
        first, second, third = rooms

        def call_next() -> str:
            called = http.post(f"{API}/consultations/doctor/call-next/", headers=doctor_auth)
            assert called.status_code == 201, called.text
            return called.json()["consultation"]

        def see_through(room: WaitingRoom, consultation: str) -> None:
            joined = http.post(f"{API}/opd/tickets/{room.ticket['id']}/join/", headers=room.auth)
            assert joined.status_code == 200, joined.text
            identity = http.post(
                f"{API}/consultations/{consultation}/identity/",
                headers=doctor_auth,
                json={"method": "Name and age asked on video", "age_years": 47},
            )
            assert identity.status_code == 200, identity.text
            record = http.patch(
                f"{API}/consultations/{consultation}/record/",
                headers=doctor_auth,
                json={"base_revision": 0, "advice": "Warm saline gargles, fluids, rest."},
            )
            assert record.status_code == 200, record.text
            ended = http.post(
                f"{API}/consultations/{consultation}/end/",
                headers=doctor_auth,
                json={"outcome": "advice_only"},
            )
            assert ended.status_code == 200, ended.text

        # Before: the layer carries the call to the first patient's socket.
        consultation = call_next()
        first.feed.next_event("ticket.called", ticket=first.ticket["id"])

        redis_server.kill()
        # While Redis is away: the pages' status reads answer from the database, the doctor
        # finishes and calls the next patient, a new socket is refused (the page polls).
        see_through(first, consultation)
        during = {room.ticket["id"]: room.status() for room in rooms}
        consultation = call_next()
        called_during = second.status()
        try:
            Feed(deployment, second.path, second.auth["Authorization"].split()[1]).close()
            refused_during = False
        except Exception:
            refused_during = True
        redis_server.start()

        # After: each page's socket, reconnected if it was closed, carries the next call.
        for room in (second, third):
            room.reconnect_if_closed()
        see_through(second, consultation)
        consultation = call_next()
        heard = third.feed.next_event("ticket.called", ticket=third.ticket["id"])
        after = third.status()
    finally:
        for room in rooms:
            room.close()

    tickets = [room.ticket["id"] for room in rooms]
    claims = {
        t: AuditEvent.objects.filter(action="ticket.claim", object_id=t).count() for t in tickets
    }
    consultations = {t: Consultation.objects.filter(ticket_id=t).count() for t in tickets}
    lost = {
        "positions while Redis was away": (
            [None, 1, 2],
            [during[t]["position"] if during[t]["status"] == "waiting" else None for t in tickets],
        ),
        "the call made while Redis was away, read by polling": ("called", called_during["status"]),
        "no socket accepted while Redis was away (it would hear nothing)": (True, refused_during),
        "the call after Redis came back, on the socket": (third.ticket["id"], heard.get("ticket")),
        "the third patient's call window": ("called", after["status"]),
        "each token claimed once": (dict.fromkeys(tickets, 1), claims),
        "one consultation per token": (dict.fromkeys(tickets, 1), consultations),
        "statuses in the database": (
            ["completed", "completed", "called"],
            [Ticket.objects.get(pk=t).status for t in tickets],
        ),
    }
    lost = {what: pair for what, pair in lost.items() if pair[0] != pair[1]}
    print(
        f"redis-server on :{redis_server.port} killed and restarted; sockets reconnected: "
        f"{second.reconnects + third.reconnects} of 2; a new socket refused while away: "
        f"{refused_during}; lost: {lost or 'nothing'}"
    )
    assert lost == {}
    assert after["consultation"] == consultation


def test_the_database_restarting_under_load(tmp_path):
    """Two doctors and four patients through whole consultations on two nodes; after the
    first patient is through, the drill's own PostgreSQL is stopped like a crash for 4 s
    and started again. Every answer is a success or a clean 503 + Retry-After, every
    consultation finishes once the database is back (no node restarted), and nothing is
    half-written: tokens, consultations, signed prescriptions with their PDFs, rollups."""
    clinic = drill_clinic(2)
    with own_postgres(live_database_url()) as cluster:
        env = node_environment(cluster, tmp_path)
        with proxied_nodes(tmp_path, count=2, **env) as deployment:
            drill = Drill(
                deployment,
                **clinic,
                patients=4,
                outage_seconds=4.0,
            )
            drill.run(cluster, after_finished=1)
            lost, lines = audit(drill, cluster, server_env(**env))
        print("\n".join(lines))
        assert lost == {}, "\n".join(lines) + "\n" + cluster.log()[-3000:]
