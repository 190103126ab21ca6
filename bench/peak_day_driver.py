"""The clients of ``bench/peak_day.py``: patients, health workers and doctors driving the
public HTTP API and WebSockets through nginx, on one asyncio loop (httpx + websockets).

Each simulated person does what the app or page does, in order, and waits as a person
would (for an SMS, for the call on the socket, for the doctor). Every HTTP request and
WebSocket handshake is timed and labelled by route (ids replaced by ``{id}``); an answer
outside the expected statuses is an error, and the person's lifecycle stops there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import string
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any

import httpx
from django_otp.oath import TOTP
from websockets.asyncio.client import connect as ws_connect

API = "/api/v1"
TOTP_STEP = 30
OTP_CODE = re.compile(r"\b(\d{6})\b")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Failed(Exception):
    """A request answered outside its expected statuses (already recorded)."""


@dataclass
class Sample:
    at: float
    label: str
    line: str
    status: int
    ms: float


@dataclass
class Recorder:
    """Everything measured, with monotonic timestamps so steps can cut windows."""

    samples: list[Sample] = field(default_factory=list)
    errors: list[tuple[float, str, int, str]] = field(default_factory=list)
    completed: list[tuple[float, str]] = field(default_factory=list)
    started: list[tuple[float, str]] = field(default_factory=list)
    abandoned: list[tuple[float, str, str]] = field(default_factory=list)
    failed: list[float] = field(default_factory=list)  # lifecycles stopped by an error
    duplicates: int = 0  # registrations that asked "the same person?" first
    sms: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def error(self, label: str, status: int, detail: str) -> None:
        self.errors.append((time.monotonic(), label, status, detail[:300]))


def label_of(method: str, path: str) -> str:
    return f"{method} {UUID.sub('{id}', path.split('?', 1)[0])}"


class Client:
    """One person's device: their address (X-Forwarded-For, as nginx passes it on) and
    token, on the run's shared connection pool."""

    def __init__(self, run: Run, address: str, line: str, token: str = "") -> None:
        self.run, self.address, self.line, self.token = run, address, line, token

    def headers(self) -> dict[str, str]:
        headers = {"X-Forwarded-For": self.address}
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        return headers

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict | None = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
    ) -> httpx.Response:
        label = label_of(method, path)
        for attempt in range(4):
            started = time.monotonic()
            try:
                response = await self.run.http.request(
                    method, API + path, json=body, params=params, headers=self.headers()
                )
            except httpx.HTTPError as error:
                self.run.rec.error(label, 0, repr(error))
                raise Failed(label) from error
            ms = (time.monotonic() - started) * 1000
            self.run.rec.samples.append(Sample(started, label, self.line, response.status_code, ms))
            if response.status_code in ok:
                return response
            self.run.rec.error(label, response.status_code, response.text)
            if response.status_code != 503 or attempt == 3:
                raise Failed(label)
            # An overloaded node answers 503 with Retry-After: the app waits, then retries
            # (an error all the same for the step).
            await asyncio.sleep(float(response.headers.get("Retry-After", "5")))
        raise Failed(label)

    async def feed(self, path: str) -> Feed:
        """A WebSocket as the page opens it (Origin and token on the upgrade request)."""
        label = "WS " + UUID.sub("{id}", path.split("?", 1)[0])
        started = time.monotonic()
        try:
            socket = await ws_connect(
                self.run.ws_base + path,
                origin=self.run.base,
                additional_headers=self.headers(),
                open_timeout=30,
                ping_interval=None,
            )
        except Exception as error:
            self.run.rec.error(label, 0, repr(error))
            raise Failed(label) from error
        ms = (time.monotonic() - started) * 1000
        self.run.rec.samples.append(Sample(started, label, self.line, 101, ms))
        return Feed(socket)


class Feed:
    """A listening socket: messages are kept until someone waits for them."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.messages: list[dict] = []
        self.arrived = asyncio.Event()
        self.closed = False
        self.reader = asyncio.create_task(self._read())
        self.listeners: list[Any] = []

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                message = json.loads(raw)
                for listener in self.listeners:
                    listener(message)
                self.messages.append(message)
                self.arrived.set()
        except Exception:  # noqa: S110 - a dropped socket: the owner falls back to polling
            pass
        finally:
            self.closed = True
            self.arrived.set()

    async def wait_for(self, wanted: Any, timeout: float) -> dict | None:
        """The first kept message ``wanted(message)`` accepts (consumed), or None after
        ``timeout`` seconds or once the socket is closed."""
        deadline = time.monotonic() + timeout
        while True:
            for index, message in enumerate(self.messages):
                if wanted(message):
                    del self.messages[: index + 1]
                    return message
            self.messages.clear()
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                return None
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), left)
            except TimeoutError:
                return None

    async def close(self) -> None:
        self.reader.cancel()
        with contextlib.suppress(Exception):  # a socket the server already dropped
            await self.socket.close()


class Outbox:
    """The nodes' SMS outbox (``SMS_BACKEND=file``): read new files every 50 ms, hand each
    sign-in code to whoever waits for that number, count the other SMS and delete the
    files read (the folder stays small, so a scan costs only the new messages)."""

    def __init__(self, folder: Path, rec: Recorder) -> None:
        self.folder, self.rec = folder, rec
        self.codes: dict[str, asyncio.Future] = {}

    def _code(self, mobile: str) -> asyncio.Future:
        """The number's next code, whether it arrives before or after anyone asks."""
        if mobile not in self.codes:
            self.codes[mobile] = asyncio.get_running_loop().create_future()
        return self.codes[mobile]

    async def code_for(self, mobile: str, timeout: float = 30) -> str:
        try:
            return await asyncio.wait_for(self._code(mobile), timeout)
        finally:
            self.codes.pop(mobile, None)

    async def run(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        while True:
            for entry in sorted(os.scandir(self.folder), key=lambda e: e.name):
                try:
                    message = json.loads(Path(entry.path).read_text())
                except (OSError, ValueError):
                    continue  # still being written: next scan
                os.unlink(entry.path)
                body, to = message.get("body", ""), message.get("to", "")
                found = OTP_CODE.search(body)
                if "sign-in code" in body and found:
                    self.rec.sms["sign-in code"] += 1
                    if not self._code(to).done():
                        self._code(to).set_result(found[1])
                else:
                    self.rec.sms["notification"] += 1
            await asyncio.sleep(0.05)


@dataclass
class Staff:
    """A seeded doctor or health worker: sign-in details and, once signed in, a token."""

    username: str
    password: str
    totp_key: bytes
    address: str
    place: str = ""  # OPD id (doctor), hub id (hub doctor), spoke id (CHO)
    token: str = ""
    last_step: int = 0

    def code(self) -> tuple[str, int]:
        """The authenticator's code now, and its time step."""
        device = TOTP(self.totp_key, step=TOTP_STEP)
        device.time = time.time()
        return f"{device.token():06d}", device.t()


@dataclass
class Plan:
    """What the run knows of the seed (ids the real apps would learn from lists)."""

    state: str
    district: int
    specialty: str
    opds: list[str]
    opd_doctors: list[Staff]
    hub_doctors: list[Staff]
    chos: list[Staff]
    consult_seconds: float
    patient_poll: float
    hub_share: float
    mobile_prefix: int
    sign_with: str = "totp"  # how doctors re-confirm at signing: "totp" or "password"


class Desk:
    """Doctors serving one queue and what its ``queue.advanced`` events say waits there.
    Every doctor's socket hears every event; each event counts once (by its content), and
    one idle doctor answers each waiting patient, as doctors glancing at the same line
    would, instead of all of them pressing "Call next" at once."""

    def __init__(self) -> None:
        self.waiting = 0
        self.reserved = 0
        self.seen: dict[str, None] = {}
        self.changed = asyncio.Event()
        self.closing = False

    def close(self) -> None:
        """The run stops: idle doctors leave at once."""
        self.closing = True
        self.changed.set()

    def hear(self, message: dict) -> None:
        if message.get("type") != "queue.advanced":
            return
        key = json.dumps([message.get("change"), message.get("ticket"), message.get("at")])
        if key in self.seen:
            return
        self.seen[key] = None
        if len(self.seen) > 5000:
            for old in list(self.seen)[:2500]:
                del self.seen[old]
        change = message.get("change")
        if change in ("joined", "returned"):
            self.waiting += 1
        elif change in ("claimed", "left"):
            self.waiting = max(0, self.waiting - 1)
        self.changed.set()

    async def turn(self, timeout: float) -> None:
        """Wait until a patient waits that no other idle doctor is answering (or the
        timeout: then call anyway, in case the socket missed an event)."""
        deadline = time.monotonic() + timeout
        while self.waiting <= self.reserved and not self.closing:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                break
        self.reserved += 1

    def done(self) -> None:
        self.reserved = max(0, self.reserved - 1)
        self.changed.set()


class Run:
    """One configuration's clients: the shared HTTP pool, the recorder, the outbox."""

    def __init__(self, base: str, outbox: Path, plan: Plan, seed: int = 7) -> None:
        self.base = base
        self.ws_base = base.replace("http", "ws", 1)
        self.plan = plan
        self.rec = Recorder()
        self.outbox = Outbox(outbox, self.rec)
        limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
        self.http = httpx.AsyncClient(base_url=base, timeout=120, limits=limits)
        self.http.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        self.rng = random.Random(seed)
        self.stopping = False
        self.lifecycles: set[asyncio.Task] = set()
        self.people = 0
        # The share of centre cases among arrivals so far, carried from one to the next.
        self._hub_credit = 0.0
        self.desks: dict[str, Desk] = defaultdict(Desk)
        self.gate = asyncio.Semaphore(4)
        self.online = 0

    # --- helpers ------------------------------------------------------------------------

    def address(self, n: int, block: int) -> str:
        """A distinct client address per person (block 10: patients, 11: staff, 12: centres)."""
        return f"{block}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"

    def think(self, share: float) -> float:
        """Part of the doctor's consultation time, with some spread."""
        return self.plan.consult_seconds * share * self.rng.uniform(0.6, 1.4)

    def name(self) -> str:
        """A made-up name far from every other (duplicate checks compare names)."""
        letters = string.ascii_lowercase
        return " ".join(
            "".join(self.rng.choice(letters) for _ in range(self.rng.randint(5, 8))).title()
            for _ in range(2)
        )

    # --- staff ----------------------------------------------------------------------------

    async def sign_in(self, staff: Staff, line: str) -> None:
        """Username, password and the authenticator code: one token per device."""
        client = Client(self, staff.address, line)
        code, step = staff.code()
        answer = await client.call(
            "POST",
            "/accounts/staff/token",
            body={
                "username": staff.username,
                "password": staff.password,
                "totp": code,
                "device": "Bench workstation",
            },
        )
        staff.token, staff.last_step = answer.json()["token"], step

    async def signing_code(self, staff: Staff) -> str:
        """A code the device has not used yet: a person waits for the next one."""
        while True:
            code, step = staff.code()
            if step > staff.last_step:
                staff.last_step = step
                return code
            await asyncio.sleep(TOTP_STEP - time.time() % TOTP_STEP + 0.2)

    async def doctor(self, staff: Staff, hub: bool) -> None:
        """Online, then: call the next patient, wait for them to join, check identity,
        write the record, find the diagnosis and the medicine, confirm the mode, sign the
        prescription, end; until the run stops."""
        line = "hub doctor" if hub else "opd doctor"
        prefix = "/hub/consultations" if hub else "/consultations"
        client = Client(self, staff.address, line, staff.token)
        online = (
            {"hub": staff.place, "specialty": self.plan.specialty}
            if hub
            else {"opd": staff.place, "auto_assign": False}
        )
        async with self.gate:  # a shift starts over seconds, not all in one instant
            went = await client.call("POST", f"{prefix}/doctor/online/", body=online, ok=(200, 409))
            if went.status_code == 409:
                # "Finish your open consultation first": one a previous run's end cut
                # short. The doctor closes it as the page offers, then goes online.
                assert went.json()["error"]["code"] == "consultation_open", went.text
                mine = await client.call("GET", f"{prefix}/doctor/consultations/")
                for left in mine.json():
                    await client.call(
                        "POST", f"{prefix}/{left['id']}/end/", body={"outcome": "no_show"}
                    )
                await client.call("POST", f"{prefix}/doctor/online/", body=online)
            feed = await client.feed("/ws/doctor/queue/")
        self.online += 1
        desk = self.desks[staff.place]
        feed.listeners.append(desk.hear)
        try:
            while not self.stopping:
                await desk.turn(timeout=self.rng.uniform(120, 240))
                if self.stopping:
                    desk.done()
                    break
                try:
                    called = await client.call("POST", f"{prefix}/doctor/call-next/")
                finally:
                    desk.done()
                consultation = called.json().get("consultation")
                if consultation is None:
                    desk.waiting = max(0, desk.waiting - 1)  # the console shows it gone
                    continue
                await self.consult(client, feed, prefix, consultation, hub)
            await client.call("POST", f"{prefix}/doctor/offline/")
        except Failed:
            pass
        finally:
            await feed.close()

    async def consult(
        self, client: Client, feed: Feed, prefix: str, consultation: str, hub: bool
    ) -> None:
        """One consultation, from the call to its end."""
        joined = await self.joined(client, feed, prefix, consultation)
        if not joined:
            await client.call(
                "POST", f"{prefix}/{consultation}/end/", body={"outcome": "no_show"}, ok=(200, 409)
            )
            return
        detail = (await client.call("GET", f"{prefix}/{consultation}/")).json()
        if hub:
            await client.call("GET", f"/hwc/hub/consultations/{consultation}/case/")
        await asyncio.sleep(self.think(0.25))
        if not detail.get("identity_confirmed"):
            await client.call(
                "POST",
                f"{prefix}/{consultation}/identity/",
                body={"method": "Name, age and mobile number confirmed on video", "age_years": 41},
            )
        await asyncio.sleep(self.think(0.25))
        await client.call("GET", "/diagnoses/", params={"q": "pharyngitis", "limit": 10})
        saved = await client.call(
            "PATCH",
            f"{prefix}/{consultation}/record/",
            body={
                "base_revision": detail.get("record_revision", 0),
                "complaints": "Fever and sore throat, 3 days",
                "findings": "Throat red on video; no breathlessness",
                "vitals": {"temperature_c": 38.2, "pulse": 96},
                "diagnoses": [{"code": "J02.9", "label": "Acute pharyngitis, unspecified"}],
                "advice": "Warm saline gargles, plenty of fluids, rest.",
            },
        )
        assert saved.json()["record_revision"] >= 1
        await asyncio.sleep(self.think(0.25))
        medicines = (
            await client.call("GET", "/prescriptions/medicines/", params={"q": "paracetamol"})
        ).json()
        medicine = next(
            (
                m["id"]
                for m in medicines
                if m.get("form") == "tablet" and m.get("strength") == "500 mg"
            ),
            medicines[0]["id"],
        )
        await client.call("POST", f"{prefix}/{consultation}/mode/", body={"mode": "chat"})
        await asyncio.sleep(self.think(0.25))
        staff = self._staff_of(client)
        await client.call(
            "POST",
            "/prescriptions/",
            body={
                "consultation": consultation,
                "items": [
                    {
                        "medicine": medicine,
                        "dose": "1 tablet",
                        "frequency": "three times a day",
                        "duration": "3 days",
                        "quantity": "9 tablets",
                        "instructions": "after food",
                    }
                ],
                **(
                    {"password": staff.password}
                    if self.plan.sign_with == "password"
                    else {"totp": await self.signing_code(staff)}
                ),
            },
        )
        await client.call("POST", f"{prefix}/{consultation}/end/", body={"outcome": "prescription"})

    def _staff_of(self, client: Client) -> Staff:
        return self.staff_by_token[client.token]

    async def joined(self, client: Client, feed: Feed, prefix: str, consultation: str) -> bool:
        """The patient's side joined (``consultation.status`` on the doctor's socket; a
        look at the consultation every 15 s, as the page does with its socket down);
        False when the call ended unanswered (the housekeeping loop records the miss after
        the 120 s window) or, once the run stops, after 30 s."""
        called = time.monotonic()
        while True:
            event = await feed.wait_for(
                lambda m: (
                    m.get("type") == "consultation.status" and m.get("consultation") == consultation
                ),
                timeout=15,
            )
            if event is None:
                status = (await client.call("GET", f"{prefix}/{consultation}/")).json()["status"]
            else:
                status = event["status"]
            if status == "in_progress":
                return True
            waited = time.monotonic() - called
            if status == "ended" or waited > 150 or (self.stopping and waited > 30):
                return False

    # --- patients ----------------------------------------------------------------------

    async def opd_patient(self, n: int) -> None:
        """Sign in with an OTP, a family profile, the OPD list, a token, the waiting room
        on its socket until the call, join, then (after the doctor ends) the PDF."""
        plan = self.plan
        client = Client(self, self.address(n, 10), "opd patient")
        mobile = f"{plan.mobile_prefix}{n:07d}"
        asked = await client.call("POST", "/accounts/otp/request", body={"mobile": mobile})
        code = await self.outbox.code_for(f"+91{mobile}")
        verified = await client.call(
            "POST",
            "/accounts/otp/verify",
            body={
                "mobile": mobile,
                "code": code,
                "challenge": asked.json().get("challenge"),
                "device": "Patient's phone",
            },
        )
        client.token = verified.json()["token"]
        profile = await client.call(
            "POST",
            "/patients/",
            body={
                "name": self.name(),
                "relation": "self",
                "date_of_birth": f"{self.rng.randint(1950, 2004)}-0{self.rng.randint(1, 9)}-14",
                "sex": self.rng.choice("FM"),
                "state": plan.state,
                "district": plan.district,
                "preferred_language": "en",
            },
        )
        opds = (await client.call("GET", "/opd/opds/", params={"state": plan.state})).json()
        mine = {o["id"] for o in opds} & set(plan.opds)
        opd = self.rng.choice(sorted(mine))
        ticket = (
            await client.call(
                "POST",
                f"/opd/opds/{opd}/tickets/",
                body={"patient": profile.json()["id"], "complaint": "Fever and sore throat"},
            )
        ).json()
        status_path = f"/opd/tickets/{ticket['id']}/"
        feed = await self.listen(client, f"{ticket['websocket']}?ticket={ticket['id']}")
        try:
            consultation = await self.wait_for_call(client, feed, status_path)
            if consultation is None:
                return
            await client.call("POST", f"/opd/tickets/{ticket['id']}/join/")
            await self.until_ended(client, feed, ticket["id"], status_path)
        finally:
            if feed is not None:
                await feed.close()
        detail = (await client.call("GET", f"/consultations/{consultation}/")).json()
        for prescription in detail["prescriptions"]:
            await self.download(client, prescription)
        self.rec.completed.append((time.monotonic(), "opd"))

    async def listen(self, client: Client, path: str) -> Feed | None:
        """The page's socket, or None if it cannot be had (the page then polls)."""
        try:
            return await client.feed(path)
        except Failed:
            return None

    async def wait_for_call(
        self, client: Client, feed: Feed | None, status_path: str
    ) -> str | None:
        """The waiting room: the status read on opening and on each ``ticket.*`` event;
        polling every 10 s while the socket is down."""
        status = (await client.call("GET", status_path)).json()
        while status["status"] == "waiting":
            if feed is not None and not feed.closed:
                event = await feed.wait_for(
                    lambda m: str(m.get("type", "")).startswith("ticket."), timeout=60
                )
                if event is None and not feed.closed:
                    continue
            else:
                await asyncio.sleep(10)
            status = (await client.call("GET", status_path)).json()
        if status["status"] != "called":
            self.rec.abandoned.append((time.monotonic(), "opd", status["status"]))
            return None
        return status["consultation"]

    async def until_ended(
        self, client: Client, feed: Feed | None, ticket: str, status_path: str
    ) -> dict:
        """Through the consultation: the socket kept open says when it ends (a ``ticket.*``
        event of this ticket: ``completed``, or ``missed``/``returned``/``moved``), and the
        status is read then; a status read once a minute while the socket is up, in case
        its word was lost (as the consultation page), every ``--patient-poll`` seconds
        while it is down."""
        while True:
            if feed is not None and not feed.closed:
                await feed.wait_for(
                    lambda m: (
                        str(m.get("type", "")).startswith("ticket.")
                        and m.get("ticket") == ticket
                        and m.get("type") != "ticket.called"
                    ),
                    timeout=60,
                )
            else:
                await asyncio.sleep(self.plan.patient_poll)
            status = (await client.call("GET", status_path)).json()
            if status["status"] != "in_consultation":
                return status

    async def download(self, client: Client, prescription: str) -> None:
        pdf = await client.call("GET", f"/prescriptions/{prescription}/pdf/")
        if not pdf.content.startswith(b"%PDF"):
            self.rec.error("GET /prescriptions/{id}/pdf/", pdf.status_code, "not a PDF")
            raise Failed("pdf")

    async def hub_case(self, n: int) -> None:
        """At the centre: find the walk-in by mobile, register them, the specialty
        suggestion, send the case with vitals, wait on the centre's socket for the hub's
        call, join, then (after the doctor ends) the signed PDF."""
        plan = self.plan
        cho = plan.chos[n % len(plan.chos)]
        client = Client(self, cho.address, "centre", cho.token)
        mobile = f"{plan.mobile_prefix}{n:07d}"
        found = await client.call("GET", "/hwc/centre/patients/", params={"q": mobile})
        assert found.json() == [], found.text
        person = {
            "name": self.name(),
            "age_years": self.rng.randint(18, 80),
            "sex": self.rng.choice("FM"),
            "mobile": mobile,
            "district": plan.district,
            "address": f"House {n}, {self.name()}",
            "preferred_language": "hi",
        }
        registered = await client.call("POST", "/hwc/centre/patients/", body=person, ok=(201, 409))
        if registered.status_code == 409:
            # "This may be a patient already registered": the health worker looks at the
            # list, sees another person and confirms it (the page's second step).
            assert registered.json()["error"]["code"] == "possible_duplicates", registered.text
            self.rec.duplicates += 1
            registered = await client.call(
                "POST", "/hwc/centre/patients/", body={**person, "different_person": True}
            )
        patient = registered.json()["id"]
        vitals = {"temperature_c": "38.4", "pulse": "96", "spo2": "97", "bp_systolic": "124",
                  "bp_diastolic": "82"}  # fmt: skip
        await client.call(
            "POST",
            f"/hwc/centre/patients/{patient}/suggestion/",
            body={"complaints": ["fever"], "vitals": vitals},
        )
        case = (
            await client.call(
                "POST",
                "/hwc/centre/cases/",
                body={
                    "patient": patient,
                    "client_key": str(uuid.uuid4()),
                    "complaints": ["fever"],
                    "complaint_text": "Fever for three days",
                    "history": "No known illness",
                    "vitals": vitals,
                    "specialty": plan.specialty,
                    "mode": "live",
                    "identity_method": "Aadhaar card seen",
                    "consent_by": "patient",
                    "consent": True,
                },
            )
        ).json()
        case_path = f"/hwc/centre/cases/{case['case']}/"
        feed = await self.listen(client, "/ws/centre/cases/")
        try:
            status = case
            while status["status"] == "waiting":
                if feed is not None and not feed.closed:
                    event = await feed.wait_for(
                        lambda m: (
                            m.get("type", "").startswith("ticket.")
                            and m.get("ticket") == case["ticket"]
                        ),
                        timeout=60,
                    )
                    if event is None and not feed.closed:
                        continue
                else:
                    await asyncio.sleep(15)
                status = (await client.call("GET", f"{case_path}status/")).json()
            if status["status"] != "called":
                self.rec.abandoned.append((time.monotonic(), "hub", status["status"]))
                return
            await client.call("POST", f"{case_path}join/")
            await self.until_ended(client, feed, case["ticket"], f"{case_path}status/")
        finally:
            if feed is not None:
                await feed.close()
        status = (await client.call("GET", case_path)).json()  # the answer, shown
        for prescription in status["prescriptions"]:
            await self.download(client, prescription)
        self.rec.completed.append((time.monotonic(), "hub"))

    # --- the run -------------------------------------------------------------------------

    def arrive(self) -> None:
        """One new consultation: an Online OPD patient or a centre's case. The lines take
        turns in the plan's proportion (0.5: one each, alternately), not by a coin: a
        centre's case makes about 30% more requests than a patient's, so a random mix
        moved a run's CPU per consultation by several percent and two runs of the same
        code by 8% (``bench/peak_day_ab.py``)."""
        self.people += 1
        n = self.people
        self._hub_credit += self.plan.hub_share
        hub = self._hub_credit >= 1
        if hub:
            self._hub_credit -= 1
        line = "hub" if hub else "opd"
        self.rec.started.append((time.monotonic(), line))
        task = asyncio.create_task(self._guarded(self.hub_case(n) if hub else self.opd_patient(n)))
        self.lifecycles.add(task)
        task.add_done_callback(self.lifecycles.discard)

    async def _guarded(self, lifecycle: Any) -> None:
        try:
            await lifecycle
        except Failed:
            self.rec.failed.append(time.monotonic())
        except Exception as error:  # the driver's own fault: recorded, never silent
            self.rec.error("driver", -1, repr(error))
            self.rec.failed.append(time.monotonic())

    async def arrivals(self, rate: list[float]) -> None:
        """Poisson arrivals at ``rate[0]`` per second (read anew after each arrival)."""
        while not self.stopping:
            await asyncio.sleep(self.rng.expovariate(rate[0]) if rate[0] > 0 else 1)
            if rate[0] > 0 and not self.stopping:
                self.arrive()

    async def start_staff(self, sign_in: bool) -> list[asyncio.Task]:
        """Sign everyone in (once per run: the tokens outlive node restarts), then the
        doctors go online and start working."""
        plan = self.plan
        if sign_in:

            async def one(staff: Staff, line: str) -> None:
                async with self.gate:
                    await self.sign_in(staff, line)

            await asyncio.gather(
                *(one(s, "opd doctor") for s in plan.opd_doctors),
                *(one(s, "hub doctor") for s in plan.hub_doctors),
                *(one(s, "centre") for s in plan.chos),
            )
        self.staff_by_token = {s.token: s for s in plan.opd_doctors + plan.hub_doctors}
        tasks = [asyncio.create_task(self.doctor(s, hub=False)) for s in plan.opd_doctors]
        tasks += [asyncio.create_task(self.doctor(s, hub=True)) for s in plan.hub_doctors]
        return tasks
