"""The id of the request (or WebSocket connection) being served, for log lines, audit rows
and live events: one id follows a step from the proxy's log to the database row.

Bottom layer: imports nothing of the project.
"""

from __future__ import annotations

import contextvars
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

#: An id a proxy or client may send: a UUID or a short token of letters, digits, ``-``,
#: ``_`` and ``.`` (nginx's ``$request_id`` is 32 hex digits). Anything else is replaced,
#: so a header cannot put newlines or markup into a log line.
_VALID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{7,63}$")

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def valid_request_id(value: str | None) -> str | None:
    """``value`` if it may be used as a request id as it is, else None."""
    if value and _VALID.match(value):
        return value
    return None


def new_request_id() -> str:
    return str(uuid.uuid4())


def current_request_id() -> str:
    """The id of the request or connection being served here; "" outside one (a management
    command, a worker)."""
    return _request_id.get()


@contextmanager
def bound_request_id(value: str | None = None) -> Iterator[str]:
    """Serve a request (or a connection's step) under ``value``, or a new id when it is not
    valid; the previous id comes back afterwards."""
    request_id = valid_request_id(value) or new_request_id()
    token = _request_id.set(request_id)
    try:
        yield request_id
    finally:
        _request_id.reset(token)


def bind_request_id(value: str | None = None) -> str:
    """Set the id for the rest of the current context (a WebSocket connection's task: every
    handler of the connection runs in it) and return it."""
    request_id = valid_request_id(value) or new_request_id()
    _request_id.set(request_id)
    return request_id
