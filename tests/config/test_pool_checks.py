"""The pool lends an idle connection without a round trip to PostgreSQL, and still never
lends one whose server session has ended (config/pool_checks.py)."""

from __future__ import annotations

import pytest
from django.db import connection
from psycopg_pool import ConnectionPool

from sanjeevani.config.pool_checks import check_lent_connection
from tests.portal.test_db_pool import ONLY_POSTGRESQL, _pooled

pytestmark = [ONLY_POSTGRESQL, pytest.mark.django_db]


@pytest.fixture
def round_trips(monkeypatch) -> list:
    """Each round-trip check the pool makes (psycopg_pool's own, still run)."""
    made: list = []
    real = ConnectionPool.check_connection

    def counted(conn):
        made.append(conn)
        return real(conn)

    monkeypatch.setattr("sanjeevani.config.pool_checks.ConnectionPool.check_connection", counted)
    return made


def backend_pid(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    wrapper.close()  # the request's end: the connection goes back to the pool
    return pid


def test_a_pool_that_checks_what_it_lends_checks_by_the_socket():
    wrapper = _pooled("pool_quick_check", max_size=1, timeout=5)
    try:
        backend_pid(wrapper)
        assert wrapper.pool._check is check_lent_connection
    finally:
        wrapper.close_pool()


def test_an_idle_connection_is_lent_without_a_round_trip(round_trips):
    wrapper = _pooled("pool_no_round_trip", max_size=1, timeout=5)
    try:
        first = backend_pid(wrapper)  # the pool's first loan, before the check is swapped
        round_trips.clear()
        pids = {backend_pid(wrapper) for _request in range(6)}
        assert pids == {first}
        assert round_trips == []
    finally:
        wrapper.close_pool()


def test_a_connection_whose_session_ended_is_replaced_not_lent(round_trips):
    wrapper = _pooled("pool_ended_session", max_size=1, timeout=5)
    try:
        first = backend_pid(wrapper)
        round_trips.clear()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [first])
            assert cursor.fetchone()[0] is True  # waited until the session had ended
        second = backend_pid(wrapper)  # no error: the pool made a new connection
        assert second != first
        assert len(round_trips) == 1, "the ended session's socket was readable, so it was asked"
    finally:
        wrapper.close_pool()
