"""The app behind PgBouncer (issue 15, item 6): Debian bookworm's PgBouncer 1.18 in front of
the test database, with fewer server connections than clients, so that each server
connection serves client after client.

In session mode the OPD claim (``queueing_claim_next_ticket``) and a hub case's sending
(``hwc_send_case``) run as prepared statements, as on PostgreSQL itself: a client keeps its
server connection, and ``DISCARD ALL`` clears the statements before the next client has it.
In transaction mode a prepared statement meets another client's of the same name on the
shared server connection, so the app's prepared paths fail, until
``DATABASE_POOLER_MODE=transaction`` sends the same statements unprepared.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from sanjeevani.config.prepared_statements import pooler_mode
from sanjeevani.hwc import services as hwc
from sanjeevani.hwc.models import Case
from sanjeevani.queueing import services as queueing
from sanjeevani.queueing.models import Ticket
from sanjeevani.registry.models import Specialty
from tests.deploy.backing_services import PGBOUNCER, OwnPgBouncer, own_pgbouncer
from tests.factories import OnlineOPDFactory, PatientFactory
from tests.hwc.factories import Network, build_network, case_data, walk_in
from tests.queueing.factories import member_doctor

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

CLIENTS = 6
SERVER_CONNECTIONS = 2


@pytest.fixture
def postgres_and_pgbouncer() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL behind PgBouncer (set DATABASE_URL): .ci/run's second half")
    if not Path(PGBOUNCER).exists():
        pytest.skip(f"needs Debian's pgbouncer at {PGBOUNCER}: make browser-deps installs it")


def pgbouncer_version() -> tuple[int, ...]:
    shown = subprocess.run([PGBOUNCER, "--version"], capture_output=True, text=True).stdout
    return tuple(int(part) for part in re.search(r"(\d+)\.(\d+)", shown).groups())


@dataclass
class Scene:
    opd: object
    doctors: list
    network: Network
    patients: list


@pytest.fixture
def scene(postgres_and_pgbouncer) -> Scene:
    """An OPD with one waiting patient per client and a doctor online per client, and a
    hub-and-spoke network whose health worker sends a case per client; made before the
    connections go through PgBouncer."""
    for code in ("general-medicine", "dermatology"):
        Specialty.objects.get_or_create(code=code, defaults={"name": code.title()})
    opd = OnlineOPDFactory()
    doctors = [member_doctor(opd) for _ in range(CLIENTS)]
    for doctor in doctors:
        queueing.go_online(doctor.user, opd)
    for _ in range(CLIENTS):
        patient = PatientFactory()
        queueing.join_queue(patient.account, patient, opd)
    network = build_network()
    return Scene(opd, doctors, network, [walk_in(network) for _ in range(CLIENTS)])


def through(bouncer: OwnPgBouncer) -> Iterator[OwnPgBouncer]:
    """Every Django connection, in every thread, opened through ``bouncer`` (the threads'
    connections share the settings dict of this one)."""
    saved = {key: connection.settings_dict[key] for key in ("HOST", "PORT")}
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(bouncer.port))
    try:
        yield bouncer
    finally:
        connection.close()
        connection.settings_dict.update(saved)


def _bouncer(pool_mode: str, pool_size: int) -> Iterator[OwnPgBouncer]:
    host = connection.settings_dict["HOST"] or "127.0.0.1"
    port = int(connection.settings_dict["PORT"] or 5432)
    with own_pgbouncer(host, port, pool_mode, pool_size) as bouncer:
        yield from through(bouncer)


@pytest.fixture
def session_pool(scene) -> Iterator[OwnPgBouncer]:
    yield from _bouncer("session", SERVER_CONNECTIONS)


@pytest.fixture
def transaction_pool(scene) -> Iterator[OwnPgBouncer]:
    yield from _bouncer("transaction", SERVER_CONNECTIONS)


@pytest.fixture
def one_server_transaction_pool(scene) -> Iterator[OwnPgBouncer]:
    yield from _bouncer("transaction", 1)


def claim_and_send(scene: Scene, index: int) -> dict:
    """One client: a doctor claims the next patient, the health worker sends a case, each
    through the services, on this thread's own connection, closed at the end (its server
    connection goes back to PgBouncer's pool). Notes the server connection and what it
    holds prepared after each."""
    try:
        doctor = scene.doctors[index]
        with transaction.atomic():
            claim = queueing.claim_next_ticket(doctor, scene.opd, doctor.user, timezone.now())
        server_pid, prepared_after_claim = _server_side()
        case, created = hwc.submit_case(scene.network.cho, scene.patients[index], case_data())
        _, prepared_after_case = _server_side()
        return {
            "ticket": claim.ticket.pk if claim else None,
            "case": case.pk if created else None,
            "server_pid": server_pid,
            "prepared": prepared_after_claim + prepared_after_case,
            "prepared_after_claim": " ".join(prepared_after_claim),
            "prepared_after_case": " ".join(prepared_after_case),
            "prepare_threshold": connection.connection.prepare_threshold,
        }
    finally:
        connection.close()


def _server_side() -> tuple[int, list[str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_backend_pid(), "
            "array(SELECT statement FROM pg_prepared_statements ORDER BY statement)"
        )
        return cursor.fetchone()


def run_clients(scene: Scene) -> list[dict]:
    with ThreadPoolExecutor(max_workers=SERVER_CONNECTIONS + 1) as clients:
        return list(clients.map(lambda index: claim_and_send(scene, index), range(CLIENTS)))


def assert_every_claim_and_case_went_through(scene: Scene, seen: list[dict]) -> None:
    tickets = [client["ticket"] for client in seen]
    assert None not in tickets and len(set(tickets)) == CLIENTS, "each client claimed its own"
    claimed = Ticket.objects.filter(opd=scene.opd, status=Ticket.Status.CALLED)
    assert sorted(claimed.values_list("pk", flat=True)) == sorted(tickets)
    cases = [client["case"] for client in seen]
    assert None not in cases
    sent = Case.objects.filter(pk__in=cases, ticket__isnull=False)
    assert sent.count() == CLIENTS
    assert len({case.ticket.token_number for case in sent}) == CLIENTS


def assert_server_connections_passed_between_clients(seen: list[dict]) -> None:
    servers = {client["server_pid"] for client in seen}
    assert len(servers) <= SERVER_CONNECTIONS < CLIENTS, (
        f"{CLIENTS} clients on {len(servers)} server connections: not through PgBouncer?"
    )


def test_session_mode_runs_the_claim_and_the_case_prepared_on_reused_server_connections(
    session_pool,
    scene,
):
    assert pooler_mode() == "session"
    seen = run_clients(scene)

    assert_every_claim_and_case_went_through(scene, seen)
    assert_server_connections_passed_between_clients(seen)
    for client in seen:
        assert "queueing_claim_next_ticket" in client["prepared_after_claim"], "claim prepared"
        assert "hwc_send_case" in client["prepared_after_case"], "case's sending prepared"
    with session_pool.admin() as admin:
        database = connection.settings_dict["NAME"]
        stats = {row[0]: row for row in admin.execute("SHOW STATS").fetchall()}
    assert stats[database][1] > 0, "transactions counted by PgBouncer for the test database"


def test_transaction_mode_breaks_the_prepared_statements_of_two_clients(
    one_server_transaction_pool,
    scene,
):
    if pgbouncer_version() >= (1, 21):
        pytest.skip("needs PgBouncer before 1.21: later ones track prepared statements")
    assert pooler_mode() == "session"
    first = threading.Thread(target=_claim_only, args=(scene, 0))
    first.start()
    first.join()
    failure: list[BaseException] = []

    def send_case() -> None:
        try:
            hwc.submit_case(scene.network.cho, scene.patients[1], case_data())
        except DatabaseError as error:
            failure.append(error)
        finally:
            connection.close()

    second = threading.Thread(target=send_case)
    second.start()
    second.join()

    assert failure, "a second client's prepared statement met the first's on the server"
    assert isinstance(failure[0].__cause__, psycopg.errors.DuplicatePreparedStatement)


def _claim_only(scene: Scene, index: int) -> None:
    try:
        doctor = scene.doctors[index]
        with transaction.atomic():
            assert queueing.claim_next_ticket(doctor, scene.opd, doctor.user, timezone.now())
    finally:
        connection.close()


def test_transaction_mode_setting_runs_the_same_statements_unprepared(
    transaction_pool,
    scene,
    monkeypatch,
):
    monkeypatch.setenv("DATABASE_POOLER_MODE", "transaction")
    assert pooler_mode() == "transaction"
    seen = run_clients(scene)

    assert_every_claim_and_case_went_through(scene, seen)
    assert_server_connections_passed_between_clients(seen)
    for client in seen:
        assert client["prepared"] == [], "nothing left prepared on a shared server connection"
        assert client["prepare_threshold"] is None, "psycopg prepares nothing by itself"


def test_an_unknown_pooler_mode_is_refused(monkeypatch):
    monkeypatch.setenv("DATABASE_POOLER_MODE", "statement")
    with pytest.raises(ImproperlyConfigured, match="DATABASE_POOLER_MODE"):
        pooler_mode()
