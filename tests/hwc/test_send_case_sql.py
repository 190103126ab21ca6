"""The case's sending on PostgreSQL is one call of ``hwc_send_case``: the installed function
is the latest ``.sql`` version, and what it writes is what the ORM path (SQLite's) writes.
The behaviour (numbers, refusals, the draft sent once) is tested through the services on
both databases in test_case_services.py."""

from __future__ import annotations

import pytest
from django.db import connection

from sanjeevani.audit.models import AuditEvent
from sanjeevani.hwc import services as hwc
from sanjeevani.queueing.sql import latest_version, load_sql
from tests.queueing.test_claim_sql import _body, _normalised

from .factories import case_data, walk_in

pytestmark = pytest.mark.django_db


def test_each_version_file_names_its_signature():
    for version in range(1, latest_version("send_case", "hwc") + 1):
        sql = load_sql("send_case", version, "hwc")
        name, _, _arguments = sql.signature.partition("(")
        assert name == "hwc_send_case"
        assert f"CREATE OR REPLACE FUNCTION {name}(" in sql.text


def test_installed_function_is_the_latest_version():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL): the function lives there")
    latest = load_sql("send_case", latest_version("send_case", "hwc"), "hwc")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_functiondef(p.oid), p.oid = to_regprocedure(%s) "
            "FROM pg_proc p WHERE p.proname = 'hwc_send_case'",
            [latest.signature],
        )
        installed = cursor.fetchall()
    assert len(installed) == 1, "one function, no overload left behind"
    definition, same_signature = installed[0]
    assert same_signature
    assert _normalised(_body(definition)) == _normalised(_body(latest.text))


def test_a_sent_case_is_written_whole_with_numbers_and_audit_rows(network):
    first, _ = hwc.submit_case(network.cho, walk_in(network), case_data(urgent=False))
    second, _ = hwc.submit_case(network.cho, walk_in(network), case_data(urgent=False))
    for case in (first, second):
        case.refresh_from_db()
        ticket = case.ticket
        ticket.refresh_from_db()
        assert ticket.spoke_id == network.spoke.pk and ticket.hub_id is not None
        assert ticket.created_by_id == network.cho.pk and ticket.queued_at is not None
        assert case.consent_recorded_at == ticket.queued_at
        created = AuditEvent.objects.get(action="ticket.create", object_id=str(ticket.pk))
        assert created.detail["token"] == ticket.token_number
        assert created.actor_id == network.cho.pk
        sent = AuditEvent.objects.get(action="hwc.case_sent", object_id=str(case.pk))
        assert sent.patient_id == case.patient_id and sent.detail["route"] == case.route
    assert second.ticket.token_number == first.ticket.token_number + 1


def test_on_postgresql_a_case_is_written_and_counted_by_one_statement(network):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL): SQLite writes in several statements")
    from django.test.utils import CaptureQueriesContext

    from sanjeevani.rollups.models import StateDay

    hwc.submit_case(network.cho, walk_in(network), case_data(urgent=False))  # makes the queue
    patient = walk_in(network)
    with CaptureQueriesContext(connection) as queries:
        case, created = hwc.submit_case(network.cho, patient, case_data(urgent=False))
    assert created
    writes = [q["sql"] for q in queries.captured_queries if "SELECT" not in q["sql"][:7]]
    sending = [q["sql"] for q in queries.captured_queries if "hwc_send_case" in q["sql"]]
    assert writes == [] and len(sending) == 1, "no statement but the function's call writes"
    assert not any("rollups_" in q["sql"] for q in queries.captured_queries)
    day = StateDay.objects.get(state_id=network.state.pk, service_line="hub_spoke")
    assert day.tokens == 2, "the function counted each ticket"


def test_the_installed_counting_function_is_the_one_the_code_makes():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL): the function lives there")
    from sanjeevani.rollups.services import COUNTING_FUNCTIONS, counting_function_sql

    for kind, name in COUNTING_FUNCTIONS.items():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.proname = %s", [name]
            )
            installed = [row[0] for row in cursor.fetchall()]
        assert len(installed) == 1, name
        expected = counting_function_sql(kind)
        assert _normalised(_body(installed[0])) == _normalised(_body(expected)), (
            f"{name} is out of date: add a migration that runs install_counting_functions"
        )
