"""How statements reach PostgreSQL: parsed and planned once per connection instead of on
every call. The app's connections bind parameters on the server (settings:
``server_side_binding``) and psycopg prepares any statement run ``DB_PREPARE_THRESHOLD``
times on a connection (``follow_pooler_mode``); the hot paths ask for theirs to be prepared
from the first call (``run_prepared``); SQL that cannot take server-side parameters (DDL)
binds on the client (``client_bound_cursor``). Infrastructure beside the settings, so that
any app may use it whatever its layer (``rollups`` sits below ``queueing``, whose SQL
functions are the main users).

Behind a pooler that hands each transaction to any server connection (PgBouncer's
transaction mode before 1.21), a statement prepared on one server connection is unknown on
the next, and another client's statement may hold its name there: set
``DATABASE_POOLER_MODE=transaction`` and the same statements run unprepared
(docs/deployment.md, "PgBouncer")."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from typing import Any

import psycopg
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

POOLER_MODES = ("session", "transaction")
#: psycopg's threshold on the app's connections: above any count, so that only the calls
#: that ask for it (``prepare=True``) are prepared.
ONLY_WHEN_ASKED = 2**31


def follow_pooler_mode(sender: Any, connection: Any, **kwargs: Any) -> None:
    """On each new PostgreSQL connection (``connection_created``): psycopg prepares a
    statement once it has run ``DB_PREPARE_THRESHOLD`` times on it, so that PostgreSQL parses
    and plans the app's frequent queries once per connection; behind a pooler in transaction
    mode nothing is prepared (``None``), as a statement prepared on one server connection is
    unknown on the next."""
    if connection.vendor != "postgresql":
        return
    connection.connection.prepare_threshold = (
        settings.DB_PREPARE_THRESHOLD if pooler_mode() == "session" else None
    )


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


@contextlib.contextmanager
def client_bound_cursor() -> Iterator[Any]:
    """A Django cursor that binds parameters on the client (psycopg's ``ClientCursor``), for
    SQL PostgreSQL cannot take server-side parameters in: DDL (``CREATE TABLE … FOR VALUES
    FROM (%s)``), or a parameter whose type nothing in the statement names. The app's
    connections bind on the server (settings: ``server_side_binding``). Elsewhere, Django's
    own cursor."""
    connection.ensure_connection()
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    with connection.wrap_database_errors:
        raw = psycopg.ClientCursor(connection.connection)
    with connection._prepare_cursor(raw) as cursor:
        yield cursor


def run_prepared(sql: str, params: list) -> tuple | None:
    """Run ``sql`` as a prepared statement with server-side parameters and return its first
    row (PostgreSQL), prepared from its first call rather than its fifth: the claim and a
    case's sending run often enough for that to show (bench/queue_claim.py,
    bench/hwc_routing.py). psycopg prepares it per connection; with
    ``DATABASE_POOLER_MODE=transaction`` it is sent
    unprepared (server-side parameters still, in psycopg's unnamed statement, which lives
    only as long as its own round trip) and the connection's psycopg threshold is left at
    None. Logged as Django logs its own queries
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
        # With prepare_threshold=None psycopg ignores prepare=True and prepares nothing.
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
