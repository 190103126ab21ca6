"""The database restarting under load (issue 15, item 3): the driver and the audit.

Patients and doctors drive whole OPD consultations through nginx as real clients, each in
a thread (OTP sign-in, profile, token, status polls, join, PDF download; staff sign-in,
online, call, identity, record, signed prescription, end), while the drill's own PostgreSQL
is stopped like a crash (``pg_ctl -m immediate``) and started again under them. Clients do
what the app does with a 503: wait ``Retry-After`` and send the request again.

Afterwards the audit reads the database directly and reports what was lost: an answer
that was not a clean success or a clean "retry" (503 with ``Retry-After`` and the API's
error shape), a lifecycle that did not finish, a consultation whose token is in another
state, a prescription without its signatures or its stored PDF, a rollup that differs from
the raw rows (``manage.py rebuild_rollups`` recomputes them; the two are compared), or a
node that had to be restarted. Used by tests/deploy/test_backing_service_restarts.py and
bench/drill_database_restart.py.
"""

from __future__ import annotations

import collections
import json
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.deploy.backing_services import OwnPostgres
from tests.deploy.proxy import REPO, Deployment

API = "/api/v1"
PASSWORD_FIELD = "password"
#: How long a client keeps retrying one request after 503s before it counts as lost.
GIVE_UP_SECONDS = 60.0
OUTAGE_STATUSES = (502, 503, 504)


@dataclass
class Tally:
    """Every answer the clients got, and what they finished."""

    answers: collections.Counter = field(default_factory=collections.Counter)
    unclean: list[str] = field(default_factory=list)
    retries: int = 0
    during_outage: int = 0
    after_outage: int = 0
    #: 503s to requests sent after the database was back (a dead pooled connection lent).
    refused_after: list[str] = field(default_factory=list)
    #: Writes answered 503 that had committed (found by the read before a resend).
    committed_before_503: list[str] = field(default_factory=list)
    finished: list[dict] = field(default_factory=list)
    #: Writes answered with a success: (what, the answer's JSON), for a failover's audit.
    acknowledged: list[tuple[str, Any]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    down: bool = False
    outages: list[tuple[float, float]] = field(default_factory=list)  # (stopped, started)


class Person:
    """One device: its own connection pool to nginx, its token, its retry rule."""

    def __init__(self, base: str, tally: Tally, address: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=30)
        self.tally = tally
        self.headers = {"X-Forwarded-For": address}

    def call(
        self,
        method: str,
        path: str,
        ok: tuple[int, ...] = (200, 201, 202),
        json_answer: bool = True,
        stop_at_503: bool = False,
        **kw: Any,
    ) -> httpx.Response:
        """The answer to a request sent until it is not a clean 503 (waiting Retry-After in
        between), or ``RetryAfter`` after the wait when ``stop_at_503``."""
        deadline = time.monotonic() + GIVE_UP_SECONDS
        while True:
            sent_during, sent_at = self.tally.down, time.monotonic()
            answer = self.http.request(method, API + path, headers=self.headers, **kw)
            label = _label(method, path)
            with self.tally.lock:
                self.tally.answers[answer.status_code] += 1
                if sent_during or self.tally.down:
                    self.tally.during_outage += 1
                elif self.tally.outages and sent_at > self.tally.outages[-1][1]:
                    self.tally.after_outage += 1
                    if answer.status_code == 503:
                        back = time.monotonic() - self.tally.outages[-1][1]
                        self.tally.refused_after.append(
                            f"{label} {back:.1f} s after; "
                            f"waited {answer.elapsed.total_seconds():.1f} s"
                        )
            if answer.status_code in ok:
                if json_answer and not _is_json(answer):
                    with self.tally.lock:
                        self.tally.unclean.append(
                            f"{label}: {answer.status_code} {answer.headers} {answer.text[:200]!r}"
                        )
                    raise Lost(f"{label}: {answer.status_code} without a JSON body")
                if method != "GET" and json_answer:
                    with self.tally.lock:
                        self.tally.acknowledged.append((label, answer.json()))
                return answer
            if answer.status_code == 503 and _clean_retry(answer):
                with self.tally.lock:
                    self.tally.retries += 1
                if time.monotonic() > deadline:
                    raise Lost(f"{label}: still 503 after {GIVE_UP_SECONDS:.0f} s")
                time.sleep(min(float(answer.headers["Retry-After"]), 2.0))
                if stop_at_503:
                    raise RetryAfter(label)
                continue
            with self.tally.lock:
                self.tally.unclean.append(f"{label}: {answer.status_code} {answer.text[:200]}")
            raise Lost(f"{label}: {answer.status_code}")

    def write(
        self, method: str, path: str, done: Callable[[], Any] | None = None, **kw: Any
    ) -> Any:
        """A write, as a careful app sends it: after a 503 it first reads whether the write
        happened after all (``done`` returns what it finds, else None) and sends it again
        only if not. The service may have committed before the request failed on a later
        read (the answer's own): a blind resend would then be refused (a second token) or
        done twice. Without ``done`` it is sent again as it was: for a write that carries
        its own idempotency key (a prescription's ``client_key``). Returns the answer's
        JSON."""
        deadline = time.monotonic() + GIVE_UP_SECONDS
        while True:
            try:
                return self.call(method, path, stop_at_503=done is not None, **kw).json()
            except RetryAfter:
                if time.monotonic() > deadline:
                    raise Lost(
                        f"{method} {path}: still 503 after {GIVE_UP_SECONDS:.0f} s"
                    ) from None
                found = done()
                if found is not None:
                    with self.tally.lock:
                        self.tally.committed_before_503.append(_label(method, path))
                    return found

    def close(self) -> None:
        self.http.close()


class Lost(Exception):
    """A client could not go on: the answer was not a clean success or retry."""


class RetryAfter(Exception):
    """A clean 503 to a write whose sender checks before sending it again."""


def _label(method: str, path: str) -> str:
    return f"{method} {re.sub(r'[0-9a-f-]{36}', '{id}', path)}"


def _is_json(answer: httpx.Response) -> bool:
    try:
        answer.json()
    except ValueError:
        return False
    return True


def open_one(person: Person) -> dict | None:
    """The doctor's consultation still open (a call that happened), as call-next says it."""
    mine = person.call("GET", "/consultations/doctor/consultations/").json()
    open_now = [c for c in mine if c.get("status", "calling") != "ended"]
    return {"consultation": open_now[0]["id"]} if open_now else None


def _clean_retry(answer: httpx.Response) -> bool:
    """The 503 the app promises: ``Retry-After`` and the API's error shape."""
    try:
        code = answer.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return False
    return bool(answer.headers.get("Retry-After", "").isdigit()) and code in (
        "unavailable",
        "busy",
    )


def drill_clinic(doctors: int) -> dict[str, Any]:
    """An Online OPD in a new district with ``doctors`` member doctors who sign in with the
    factories' password: the clinic fields of a ``Drill``. Made before the nodes start (and
    before a drill's own cluster copies the database)."""
    from tests.factories import PASSWORD, DistrictFactory, OnlineOPDFactory
    from tests.queueing.factories import member_doctor

    district = DistrictFactory()
    opd = OnlineOPDFactory(state=district.state)
    members = [member_doctor(opd) for _ in range(doctors)]
    return {
        "opd": str(opd.pk),
        "state": district.state.code,
        "district": district.pk,
        "doctors": [(doctor.user.username, PASSWORD) for doctor in members],
    }


@dataclass
class Drill:
    deployment: Deployment
    opd: str
    state: str
    district: int
    doctors: list[tuple[str, str]]  # (username, password)
    patients: int
    outage_seconds: float = 3.0
    restarts: int = 1
    #: Seconds between two patients' arrivals.
    arrival_seconds: float = 0.05
    tally: Tally = field(default_factory=Tally)
    done: threading.Event = field(default_factory=threading.Event)
    #: Set by the first client that cannot go on: the others stop waiting for it.
    abort: threading.Event = field(default_factory=threading.Event)

    @property
    def outbox(self) -> Path:
        return self.deployment.folder / "sms"

    def sms(self, mobile: str) -> list:
        """The SMS sent to ``mobile`` so far. The development outbox writes a file in place,
        so a read can meet another message half-written: read again."""
        from sanjeevani.accounts.sms import FileOutboxBackend

        while True:
            try:
                return FileOutboxBackend(self.outbox).messages(f"+91{mobile}")
            except ValueError:
                time.sleep(0.05)

    def sms_code(self, mobile: str, after: int) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            messages = self.sms(mobile)
            if len(messages) > after:
                return re.search(r"\b(\d{6})\b", messages[-1].body)[1]
            time.sleep(0.1)
        raise Lost(f"no SMS for {mobile}")

    def patient(self, n: int) -> None:
        person = Person(self.deployment.base, self.tally, f"10.20.{n // 250}.{n % 250 + 1}")
        mobile = f"97{n:08d}"
        try:
            seen = len(self.sms(mobile))
            asked = person.call("POST", "/accounts/otp/request", json={"mobile": mobile})
            code = self.sms_code(mobile, seen)
            verified = person.call(
                "POST",
                "/accounts/otp/verify",
                json={"mobile": mobile, "code": code, "challenge": asked.json()["challenge"]},
            )
            person.headers["Authorization"] = f"Token {verified.json()['token']}"
            profile = person.write(
                "POST",
                "/patients/",
                done=lambda: next(iter(person.call("GET", "/patients/").json()), None),
                json={
                    "name": f"Drill Patient {n}",
                    "relation": "self",
                    "date_of_birth": "1980-05-14",
                    "sex": "F",
                    "state": self.state,
                    "district": self.district,
                    "preferred_language": "en",
                },
            )
            ticket = person.write(
                "POST",
                f"/opd/opds/{self.opd}/tickets/",
                done=lambda: next(iter(person.call("GET", "/opd/tickets/").json()), None),
                json={"patient": profile["id"], "complaint": "Fever and sore throat"},
            )
            status = self.poll(person, ticket["id"], until=lambda s: s["status"] != "waiting")
            if status["status"] != "called":
                raise Lost(f"patient {n}: ticket became {status['status']}")
            person.write(
                "POST",
                f"/opd/tickets/{ticket['id']}/join/",
                done=lambda: self.found(
                    person, f"/opd/tickets/{ticket['id']}/", "status", "in_consultation"
                ),
            )
            self.poll(person, ticket["id"], until=lambda s: s["status"] != "in_consultation")
            detail = person.call("GET", f"/consultations/{status['consultation']}/").json()
            pdfs = []
            for prescription in detail["prescriptions"]:
                pdf = person.call("GET", f"/prescriptions/{prescription}/pdf/", json_answer=False)
                pdfs.append(pdf.content.startswith(b"%PDF"))
            with self.tally.lock:
                self.tally.finished.append(
                    {
                        "ticket": ticket["id"],
                        "consultation": status["consultation"],
                        "prescriptions": detail["prescriptions"],
                        "pdfs": pdfs,
                    }
                )
        except Exception as error:  # noqa: BLE001 - every failure is a loss to report
            self.abort.set()
            with self.tally.lock:
                self.tally.failed.append(f"patient {n}: {error!r}")
        finally:
            person.close()

    def poll(self, person: Person, ticket: str, until) -> dict:
        deadline = time.monotonic() + 120
        status = {"status": "not read"}
        while time.monotonic() < deadline and not self.abort.is_set():
            status = person.call("GET", f"/opd/tickets/{ticket}/").json()
            if until(status):
                return status
            time.sleep(0.3)
        raise Lost(f"ticket {ticket} stuck as {status['status']} (or another client failed)")

    def doctor(self, n: int, username: str, password: str) -> None:
        person = Person(self.deployment.base, self.tally, f"10.30.0.{n + 1}")
        try:
            signed = person.call(
                "POST",
                "/accounts/staff/token",
                json={"username": username, "password": password, "totp": ""},
            )
            person.headers["Authorization"] = f"Token {signed.json()['token']}"
            person.call(
                "POST",
                "/consultations/doctor/online/",
                json={"opd": self.opd, "auto_assign": False},
            )
            while not self.done.is_set() and not self.abort.is_set():
                called = person.write(
                    "POST", "/consultations/doctor/call-next/", done=lambda: open_one(person)
                )
                if called["consultation"] is None:
                    time.sleep(0.3)
                    continue
                self.consult(person, called["consultation"], password)
        except Exception as error:  # noqa: BLE001 - every failure is a loss to report
            self.abort.set()
            with self.tally.lock:
                self.tally.failed.append(f"doctor {n}: {error!r}")
        finally:
            person.close()

    def consult(self, person: Person, consultation: str, password: str) -> None:
        path = f"/consultations/{consultation}"
        deadline = time.monotonic() + 120
        while person.call("GET", f"{path}/").json()["status"] != "in_progress":
            if time.monotonic() > deadline or self.abort.is_set():
                raise Lost(f"consultation {consultation}: the patient never joined")
            time.sleep(0.3)
        person.write(
            "POST",
            f"{path}/identity/",
            done=lambda: self.found(person, f"{path}/", "identity_confirmed", bool),
            json={"method": "Name and age asked on video", "age_years": 44},
        )
        person.write(
            "PATCH",
            f"{path}/record/",
            done=lambda: self.found(person, f"{path}/", "record_revision", 1),
            json={
                "base_revision": 0,
                "complaints": "Fever and sore throat, 3 days",
                "diagnoses": [{"code": "J02.9", "label": "Acute pharyngitis, unspecified"}],
                "advice": "Warm saline gargles, fluids, rest.",
            },
        )
        person.call("POST", f"{path}/mode/", json={"mode": "chat"})
        # Sent again blindly after a 503: the form's client_key makes the resend return the
        # prescription signed the first time, never a second one.
        person.write(
            "POST",
            "/prescriptions/",
            json={
                "client_key": str(uuid.uuid4()),
                "consultation": consultation,
                "items": [
                    {
                        "generic_name": "Paracetamol",
                        "form": "tablet",
                        "strength": "500 mg",
                        "dose": "1 tablet",
                        "frequency": "three times a day",
                        "duration": "3 days",
                        "quantity": "9 tablets",
                    }
                ],
                PASSWORD_FIELD: password,
            },
        )
        person.write(
            "POST",
            f"{path}/end/",
            done=lambda: self.found(person, f"{path}/", "status", "ended"),
            json={"outcome": "prescription"},
        )

    @staticmethod
    def found(person: Person, path: str, key: str, wanted: Any) -> dict | None:
        """The resource at ``path`` when its ``key`` shows the write happened (equal to
        ``wanted``, or ``wanted(value)`` true when it is a function), else None."""
        resource = person.call("GET", path).json()
        value = resource.get(key)
        return resource if (wanted(value) if callable(wanted) else value == wanted) else None

    def restart_database(self, cluster: OwnPostgres, after_finished: int) -> None:
        """``restarts`` times: once ``after_finished`` more patients are through (the rest
        mid-flight), stop the database like a crash, keep it away ``outage_seconds``, start
        it again."""
        for restart in range(self.restarts):
            wanted = after_finished * (restart + 1)
            while len(self.tally.finished) < wanted and not self.done.is_set():
                if self.abort.is_set():
                    return
                time.sleep(0.05)
            if self.done.is_set():
                return
            stopped = time.monotonic()
            with self.tally.lock:
                self.tally.down = True
            cluster.stop("immediate")
            time.sleep(self.outage_seconds)
            cluster.start()
            with self.tally.lock:
                self.tally.down = False
                self.tally.outages.append((stopped, time.monotonic()))

    def run(self, cluster: OwnPostgres, after_finished: int) -> None:
        threads = [
            threading.Thread(target=self.doctor, args=(n, *credentials), daemon=True)
            for n, credentials in enumerate(self.doctors)
        ]
        patients = [
            threading.Thread(target=self.patient, args=(n,), daemon=True)
            for n in range(self.patients)
        ]
        restart = threading.Thread(target=self.restart_database, args=(cluster, after_finished))
        for thread in threads + [restart]:
            thread.start()
        for thread in patients:
            thread.start()
            time.sleep(self.arrival_seconds)
        for thread in patients:
            thread.join(300)
        self.done.set()
        restart.join(60)
        for thread in threads:
            thread.join(60)


def rollups(cluster: OwnPostgres) -> dict[str, list[str]]:
    """Every rollup table's rows, without their ids, sorted."""
    with cluster.connect() as db:
        tables = [
            row[0]
            for row in db.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_name LIKE 'rollups\\_%' "
                "ORDER BY table_name"
            )
        ]
        return {
            table: sorted(
                json.dumps(row[0], sort_keys=True)
                for row in db.execute(f"SELECT to_jsonb(t) - 'id' FROM {table} t")  # noqa: S608
            )
            for table in tables
        }


def rebuild_rollups(cluster: OwnPostgres, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", "rebuild_rollups"],
        cwd=REPO,
        env={**env, "DATABASE_URL": cluster.url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def half_written(cluster: OwnPostgres) -> dict[str, list]:
    """Rows that one transaction should have written together but are not all there."""
    queries = {
        "consultations whose token is in another state": """
            SELECT c.id, c.status, c.outcome, t.status FROM consultations_consultation c
            LEFT JOIN queueing_ticket t ON t.id = c.ticket_id
            WHERE NOT (c.status = 'calling' AND t.status = 'called'
                    OR c.status = 'in_progress' AND t.status = 'in_consultation'
                    OR c.status = 'ended' AND c.outcome = 'no_show' AND t.status = 'missed'
                    OR c.status = 'ended' AND t.status = 'completed')""",
        "claimed tokens without their consultation": """
            SELECT t.id, t.status FROM queueing_ticket t
            WHERE t.status IN ('called', 'in_consultation', 'completed')
              AND NOT EXISTS (SELECT 1 FROM consultations_consultation c
                              WHERE c.ticket_id = t.id)""",
        "tokens with more than one consultation": """
            SELECT ticket_id, count(*) FROM consultations_consultation
            GROUP BY ticket_id HAVING count(*) > 1""",
        "prescriptions without both signatures": """
            SELECT id FROM prescriptions_prescription
            WHERE signature = '' OR doctor_signature = ''""",
        "prescriptions without their stored PDF": """
            SELECT p.id FROM prescriptions_prescription p WHERE NOT EXISTS (
                SELECT 1 FROM prescriptions_prescriptiondocument d
                WHERE d.prescription_id = p.id AND d.rendered_for_status = p.status
                  AND length(d.pdf) > 0)""",
        "consultations ended with a prescription but none issued": """
            SELECT c.id FROM consultations_consultation c
            WHERE c.outcome = 'prescription' AND NOT EXISTS (
                SELECT 1 FROM prescriptions_prescription p WHERE p.consultation_id = c.id)""",
        "consultations with more than one issued prescription": """
            SELECT consultation_id, count(*) FROM prescriptions_prescription
            WHERE status = 'issued' GROUP BY consultation_id HAVING count(*) > 1""",
    }
    with cluster.connect() as db:
        return {
            what: [list(map(str, row)) for row in db.execute(sql)] for what, sql in queries.items()
        }


def audit(drill: Drill, cluster: OwnPostgres, env: dict[str, str]) -> tuple[dict, list[str]]:
    """What was lost (empty when nothing was) and the lines to print."""
    tally = drill.tally
    lost: dict[str, Any] = {}
    if tally.unclean:
        lost["answers other than success or a clean 503 + Retry-After"] = tally.unclean
    if tally.failed:
        lost["lifecycles that did not finish"] = tally.failed
    if len(tally.finished) != drill.patients:
        lost["patients through"] = (drill.patients, len(tally.finished))
    with cluster.connect() as db:
        for seen in tally.finished:
            row = db.execute(
                "SELECT c.status, c.outcome, t.status FROM consultations_consultation c "
                "JOIN queueing_ticket t ON t.id = c.ticket_id WHERE c.id = %s AND t.id = %s",
                (seen["consultation"], seen["ticket"]),
            ).fetchone()
            if row != ("ended", "prescription", "completed"):
                lost.setdefault("finished consultations not as the client saw them", []).append(
                    (seen["consultation"], row)
                )
            if len(seen["prescriptions"]) != 1 or not all(seen["pdfs"]):
                lost.setdefault("prescriptions downloaded as PDF", []).append(seen)
    for what, rows in half_written(cluster).items():
        if rows:
            lost[what] = rows
    counted = rollups(cluster)
    rebuilt_line = rebuild_rollups(cluster, env)
    rebuilt = rollups(cluster)
    differing = [t for t in sorted(set(counted) | set(rebuilt)) if counted.get(t) != rebuilt.get(t)]
    if differing:
        lost["rollups that differ from the raw rows"] = {
            t: {"counted": counted.get(t), "rebuilt": rebuilt.get(t)} for t in differing
        }
    restarted = [n.address for n in drill.deployment.nodes if n.process.poll() is not None]
    if restarted:
        lost["nodes that died"] = restarted
    if len(tally.outages) != drill.restarts:
        lost["restarts done"] = (drill.restarts, len(tally.outages))
    if not tally.during_outage or not tally.answers[503]:
        lost["the drill did not hit the outage (requests, 503s)"] = (
            tally.during_outage,
            tally.answers[503],
        )
    away = ", ".join(f"{started - stopped:.1f} s" for stopped, started in tally.outages)
    lines = [
        f"PostgreSQL on :{cluster.port} stopped (immediate) {len(tally.outages)} time(s), "
        f"away {away or '-'}, with {drill.patients} patients and {len(drill.doctors)} "
        f"doctors mid-flight on {len(drill.deployment.nodes)} nodes",
        f"answers: {dict(sorted(tally.answers.items()))}; clean 503 + Retry-After retried: "
        f"{tally.retries}; sent or answered during the outage {tally.during_outage}, after "
        f"{tally.after_outage} (503s among them: {len(tally.refused_after)}"
        f"{': ' if tally.refused_after else ''}{'; '.join(tally.refused_after)}); "
        f"nodes restarted: {len(restarted)}",
        f"writes answered 503 that had committed (found by reading before a resend): "
        f"{len(tally.committed_before_503)}"
        f"{': ' if tally.committed_before_503 else ''}{', '.join(tally.committed_before_503)}",
        f"consultations through: {len(tally.finished)} of {drill.patients}; "
        f"rollups compared with rebuild_rollups ({rebuilt_line}): "
        f"{len(counted)} tables, {sum(map(len, counted.values()))} rows, "
        f"{len(differing)} differ",
        f"lost: {lost or 'nothing'}",
    ]
    return lost, lines


def node_environment(
    cluster: OwnPostgres, folder: Path, pool_timeout: float = 1.0
) -> dict[str, str]:
    """The nodes' settings for the drill: production-like (no DEBUG: the 500 handler is
    what answers a database error), a pool of 4 per worker that waits ``pool_timeout`` for
    a connection (shorter than the outage, so that requests do meet it), the SMS outbox on
    disk."""
    return {
        "DATABASE_URL": cluster.url,
        "DEBUG": "0",
        "DB_POOL_MAX_SIZE": "4",
        "DB_POOL_TIMEOUT": str(pool_timeout),
        "OVERLOAD_RETRY_AFTER": "1",
        "RATE_LIMITS_ENABLED": "0",
        "SMS_BACKEND": "file",
        "SMS_OUTBOX_DIR": str(folder / "sms"),
    }
