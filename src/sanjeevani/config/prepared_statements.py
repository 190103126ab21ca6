"""Statements the hot paths send prepared: parsed and planned once per connection on
PostgreSQL instead of on every call (Django's PostgreSQL cursors bind parameters on the
client). Infrastructure beside the settings, so that any app may use it whatever its layer
(``rollups`` sits below ``queueing``, whose SQL functions are the main users)."""

from __future__ import annotations

import time

import psycopg
from django.db import connection


def run_prepared(sql: str, params: list) -> tuple | None:
    """Run ``sql`` as a prepared statement with server-side parameters and return its first
    row (PostgreSQL). Django's PostgreSQL cursors bind parameters on the client, so
    PostgreSQL parses and plans every call anew; the claim and a case's sending run often
    enough for that to show (bench/queue_claim.py, bench/hwc_routing.py). psycopg prepares
    it per connection on first use. Behind PgBouncer in transaction mode this needs
    PgBouncer 1.21+ (``max_prepared_statements``). Logged as Django logs its own queries
    (``CaptureQueriesContext`` and query counts see it)."""
    return (fetch_prepared(sql, params) or [None])[0]


def fetch_prepared(sql: str, params: list) -> list[tuple]:
    """``run_prepared``'s every row; on other databases than PostgreSQL, Django's cursor."""
    connection.ensure_connection()
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    start = time.monotonic()
    try:
        with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(sql, params, prepare=True)
            return cursor.fetchall() if cursor.description else []
    finally:
        if connection.queries_logged:
            connection.queries_log.append(
                {"sql": sql, "time": f"{time.monotonic() - start:.3f}", "prepared": True}
            )
