"""Statements the hot paths send prepared: parsed and planned once per connection on
PostgreSQL instead of on every call (Django's PostgreSQL cursors bind parameters on the
client). Infrastructure beside the settings, so that any app may use it whatever its layer
(``rollups`` sits below ``queueing``, whose SQL functions are the main users).

Behind a pooler that hands each transaction to any server connection (PgBouncer's
transaction mode before 1.21), a statement prepared on one server connection is unknown on
the next, and another client's statement may hold its name there: set
``DATABASE_POOLER_MODE=transaction`` and the same statements run unprepared
(docs/deployment.md, "PgBouncer")."""

from __future__ import annotations

import os
import time

import psycopg
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

POOLER_MODES = ("session", "transaction")
#: psycopg's threshold on the app's connections: above any count, so that only the calls
#: that ask for it (``prepare=True``) are prepared.
ONLY_WHEN_ASKED = 2**31


def pooler_mode() -> str:
    """``DATABASE_POOLER_MODE`` (a setting, else the environment): ``session`` (PostgreSQL
    itself, or PgBouncer in session mode: a client keeps its server connection) or
    ``transaction``. Read on each call, so a node's environment is all it takes."""
    mode = getattr(settings, "DATABASE_POOLER_MODE", None) or os.environ.get(
        "DATABASE_POOLER_MODE", "session"
    )
    if mode not in POOLER_MODES:
        raise ImproperlyConfigured(
            f"DATABASE_POOLER_MODE={mode!r}: use one of {', '.join(POOLER_MODES)}"
        )
    return mode


def run_prepared(sql: str, params: list) -> tuple | None:
    """Run ``sql`` as a prepared statement with server-side parameters and return its first
    row (PostgreSQL). Django's PostgreSQL cursors bind parameters on the client, so
    PostgreSQL parses and plans every call anew; the claim and a case's sending run often
    enough for that to show (bench/queue_claim.py, bench/hwc_routing.py). psycopg prepares
    it per connection on first use; with ``DATABASE_POOLER_MODE=transaction`` it is sent
    unprepared (server-side parameters still, in psycopg's unnamed statement, which lives
    only as long as its own round trip) and the connection's psycopg threshold is left at
    Django's None. Logged as Django logs its own queries
    (``CaptureQueriesContext`` and query counts see it)."""
    return (fetch_prepared(sql, params) or [None])[0]


def fetch_prepared(sql: str, params: list) -> list[tuple]:
    """``run_prepared``'s every row; on other databases than PostgreSQL, Django's cursor."""
    connection.ensure_connection()
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    prepare = pooler_mode() == "session"
    raw = connection.connection
    if prepare and raw.prepare_threshold is None:
        # Django opens its connections with prepare_threshold=None, with which psycopg
        # ignores prepare=True and nothing is ever prepared.
        raw.prepare_threshold = ONLY_WHEN_ASKED
    start = time.monotonic()
    try:
        with connection.wrap_database_errors, psycopg.Cursor(raw) as cursor:
            cursor.execute(sql, params, prepare=prepare)
            return cursor.fetchall() if cursor.description else []
    finally:
        if connection.queries_logged:
            connection.queries_log.append(
                {"sql": sql, "time": f"{time.monotonic() - start:.3f}", "prepared": prepare}
            )
