"""How the database pool checks a connection before lending it: by looking at its socket,
and asking the server only when the socket says something happened.

Django's pool (``CONN_HEALTH_CHECKS``) runs psycopg_pool's ``check_connection`` on every
loan: an empty statement's round trip to PostgreSQL. Under ASGI each request borrows the
connection again, so every request paid it (about 0.45 ms of the node's CPU and a round
trip of PostgreSQL's; bench/peak_day.py's profile), for a connection handed back
milliseconds before. An idle connection's socket has nothing to read unless the server
spoke: a restart or a failover ends its sessions with an error message and closes their
sockets, and a crashed server's sockets are closed by the kernel. So a lent connection is
asked with the round trip only when its socket is readable, closed or broken; the pool then
discards it and lends another, as before, and a restarted database still costs no request.
"""

from __future__ import annotations

import select
from typing import Any

from psycopg import OperationalError
from psycopg_pool import ConnectionPool


def check_lent_connection(conn: Any) -> None:
    """Raise if ``conn`` is not fit to lend (psycopg_pool's ``check`` contract)."""
    if conn.closed or conn.broken:
        raise OperationalError("the connection is closed")
    poller = select.poll()
    poller.register(conn.pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
    if poller.poll(0):
        ConnectionPool.check_connection(conn)


def check_lent_connections_quickly(sender: Any, connection: Any, **kwargs: Any) -> None:
    """On each new connection (``connection_created``): a pool that checks what it lends
    with the round trip checks with ``check_lent_connection`` instead. psycopg_pool keeps
    the check as ``_check`` and Django offers no way to choose it; tests/config/
    test_pool_checks.py fails if a new psycopg_pool moves it."""
    pool = getattr(connection, "pool", None) if connection.vendor == "postgresql" else None
    if pool is not None and getattr(pool, "_check", None) is ConnectionPool.check_connection:
        pool._check = check_lent_connection
