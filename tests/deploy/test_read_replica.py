"""A streaming read replica behind the replica-safe pages (issue 15, item 6), through HTTP.

A copy of the test database on the test's own PostgreSQL, a ``pg_basebackup -R`` standby of
it, and the app served with ``DATABASE_URL`` on the first and ``DATABASE_REPLICA_URL`` on the
second (connection pools on, as in production). With replay paused on the standby, a
family's two devices tell which database answered: the one that has just taken a token
sees it on the history page (the primary), the other does not (the replica).
"""

from __future__ import annotations

import re

import httpx
import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from sanjeevani.audit.models import AuditEvent
from sanjeevani.config.database_routers import WRITTEN_POSITION_COOKIE
from sanjeevani.prescriptions import signing
from sanjeevani.prescriptions.models import Prescription
from sanjeevani.queueing.models import Ticket
from tests.deploy.backing_services import PG_BIN, OwnPostgres, own_postgres
from tests.deploy.streaming_standby import OwnStandby, count_rows, own_standby
from tests.e2e.live import live_database_url, running_server
from tests.opd.pages_support import make_clinic
from tests.polling import wait_until
from tests.prescriptions.conftest import issue, line
from tests.prescriptions.factories import ConsultationFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

WAITING = "Waiting now"  # the history page's box of the family's live tokens


@pytest.fixture(autouse=True)
def _needs_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...): .ci/run's second half")
    for program in ("initdb", "pg_basebackup"):
        if not (PG_BIN / program).exists():
            pytest.skip(f"needs {PG_BIN}/{program} (Debian's postgresql-15) for own servers")


def new_session(user) -> str:
    """A session of its own for one device, made in the test database (before the copy)."""
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def device(base: str, session: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    client.cookies.set(settings.SESSION_COOKIE_NAME, session)
    return client


def take_token(device: httpx.Client, opd_id, patient_id) -> httpx.Response:
    assert device.get(f"/opd/{opd_id}/?patient={patient_id}").status_code == 200
    token = device.cookies[settings.CSRF_COOKIE_NAME]
    return device.post(
        f"/opd/{opd_id}/token",
        data={"patient": str(patient_id), "complaint": "Cough for a week"},
        headers={"X-CSRFToken": token},
    )


def history_shows_token(device: httpx.Client) -> bool:
    page = device.get("/opd/history/")
    assert page.status_code == 200, page.text
    return WAITING in page.text


def statements_since(standby: OwnStandby, offset: int) -> str:
    return standby.log()[offset:]


def verifications_audited(cluster: OwnPostgres) -> int:
    return count_rows(cluster, AuditEvent._meta.db_table, "action = %s", ["prescription.verify"])


@pytest.fixture
def family(settings, tmp_path):
    """A state with an open OPD, a patient and a prescription signed for them."""
    settings.SIGNING_KEY_FILE = tmp_path / "keys" / "rx.pem"
    signing._load_private_key.cache_clear()
    clinic = make_clinic()
    consultation = ConsultationFactory(patient=clinic.patient, doctor=clinic.doctor)
    issued = issue(consultation, [line("paracetamol", free=True)])
    assert issued.status_code == 201, issued.content
    yield clinic, Prescription.objects.get(pk=issued.json()["id"])
    signing._load_private_key.cache_clear()


def test_replica_safe_pages_read_the_replica_but_never_behind_the_clients_own_write(
    family, settings
):
    clinic, prescription = family
    writer_session = new_session(clinic.patient.account)
    reader_session = new_session(clinic.patient.account)
    with (
        own_postgres(copy_of=live_database_url()) as primary,
        own_standby(primary) as standby,
        running_server(
            DATABASE_URL=primary.url,
            DATABASE_REPLICA_URL=standby.url,
            DB_POOL_MAX_SIZE="4",
            REDIS_URL="",
            SIGNING_KEY_FILE=str(settings.SIGNING_KEY_FILE),
        ) as base,
    ):
        writer, reader = device(base, writer_session), device(base, reader_session)
        anonymous = httpx.Client(base_url=base, timeout=30)

        # (a) The public dashboard's figures are read on the standby (it logs every query).
        offset = len(standby.log())
        assert anonymous.get("/dashboard/").status_code == 200
        assert re.search(r"statement: SELECT .*\"rollups_state", statements_since(standby, offset))
        offset = len(standby.log())
        export = anonymous.get("/dashboard/export/states.csv")
        assert export.status_code == 200
        assert export.text.startswith("code,state,consultations")
        assert re.search(r"statement: SELECT .*\"rollups_state", statements_since(standby, offset))
        assert not history_shows_token(reader)

        # (b) Replay paused: the writer's next read comes from the primary, the reader's not.
        standby.pause_replay()
        taken = take_token(writer, clinic.opd.pk, clinic.patient.pk)
        assert taken.status_code == 302, taken.text
        assert WRITTEN_POSITION_COOKIE in writer.cookies
        assert history_shows_token(writer)
        assert not history_shows_token(reader)

        # The verification page reads on the replica; its audit row lands on the primary.
        offset = len(standby.log())
        code = prescription.verification_code
        on_primary, on_standby = verifications_audited(primary), verifications_audited(standby)
        verified = anonymous.get(f"/rx/v/{code}/")
        assert verified.status_code == 200
        assert code in statements_since(standby, offset)
        assert verifications_audited(primary) == on_primary + 1
        assert verifications_audited(standby) == on_standby

        # Replay resumed and caught up: the writer reads from the replica again (a change made
        # on the primary behind the app's back while replay is paused once more stays unseen).
        standby.resume_replay()
        assert wait_until(lambda: standby.caught_up_with(primary), timeout=20)
        standby.pause_replay()
        with psycopg.connect(primary.url, autocommit=True) as db:
            db.execute(
                f'UPDATE "{Ticket._meta.db_table}" SET status = %s WHERE patient_id = %s',
                [Ticket.Status.CANCELLED, clinic.patient.pk],
            )
        assert history_shows_token(writer)
        assert history_shows_token(reader)

        # (c) The standby stopped: the pages answer from the primary.
        standby.stop("fast")
        assert not history_shows_token(reader)
        assert not history_shows_token(writer)
        assert anonymous.get("/dashboard/").status_code == 200
        assert anonymous.get(f"/rx/v/{code}/").status_code == 200
