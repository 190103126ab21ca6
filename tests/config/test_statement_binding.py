"""How statements reach PostgreSQL (config/prepared_statements.py): parameters bound on the
server and the frequent statements prepared once per connection; nothing prepared behind a
pooler in transaction mode; DDL, which takes no server-side parameters, bound on the
client."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.db import ProgrammingError, connection, transaction

from sanjeevani.config.prepared_statements import client_bound_cursor
from sanjeevani.registry.models import State

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL): .ci/run's second half")


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT array(SELECT statement FROM pg_prepared_statements)")
        return cursor.fetchone()[0]


def _read_states_often() -> None:
    for _ in range(settings.DB_PREPARE_THRESHOLD + 1):
        list(State.objects.filter(code="KA"))


def _new_connection() -> None:
    connection.close()
    connection.ensure_connection()


def test_a_statement_run_often_is_prepared_on_its_connection():
    _new_connection()
    assert connection.connection.prepare_threshold == settings.DB_PREPARE_THRESHOLD
    _read_states_often()
    assert any('FROM "registry_state"' in statement for statement in _prepared())


def test_nothing_is_prepared_behind_a_pooler_in_transaction_mode(monkeypatch):
    monkeypatch.setenv("DATABASE_POOLER_MODE", "transaction")
    _new_connection()
    assert connection.connection.prepare_threshold is None
    _read_states_often()
    assert _prepared() == []
    monkeypatch.setenv("DATABASE_POOLER_MODE", "session")
    _new_connection()
    assert connection.connection.prepare_threshold == settings.DB_PREPARE_THRESHOLD


def test_ddl_with_parameters_goes_through_the_client_bound_cursor():
    since = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    ddl = "CREATE TEMPORARY TABLE binding_probe (at timestamptz DEFAULT %s)"
    with pytest.raises(ProgrammingError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(ddl, [since])
    with transaction.atomic(), client_bound_cursor() as cursor:
        cursor.execute(ddl, [since])
        cursor.execute("INSERT INTO binding_probe DEFAULT VALUES RETURNING at")
        assert cursor.fetchone()[0] == since
        cursor.execute("DROP TABLE binding_probe")
