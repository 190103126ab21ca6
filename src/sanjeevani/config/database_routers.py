"""Reads of replica-safe pages from a PostgreSQL streaming replica (``DATABASE_REPLICA_URL``),
never older than what the same client last wrote.

Writes always go to the primary (``default``). A read goes to the replica only inside a view
marked ``@reads_from_replica`` (the dashboards, a family's history, the public prescription
check), and only when the replica has replayed the client's last write: after a request
that may have written, ``WrittenPositionCookie`` puts the primary's WAL position in a signed
cookie; a replica-safe request compares it with the replica's ``pg_last_wal_replay_lsn()``
(one query, asked at its first read and kept for the request) and reads from the primary
when the replica is behind, unreachable or not a standby. No timer is involved: a replica a
millisecond or an hour behind is judged by the same position.

Other clients' writes are not waited for (a client that never wrote reads whatever the
replica has replayed): a replica-safe page is one where that is acceptable.
docs/deployment.md, "A read replica".
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db import Error as DatabaseError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

logger = logging.getLogger(__name__)

REPLICA = "replica"
#: The signed cookie holding the primary's WAL position after this client's last write.
WRITTEN_POSITION_COOKIE = "sanjeevani_wal"
WRITTEN_POSITION_SALT = "sanjeevani.config.database_routers.written-position"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
#: After the replica failed to answer, this process reads from the primary for this long
#: without asking it again, so a replica that is down delays at most one request per period.
REPLICA_DOWN_SECONDS = 10.0

_down_until = [0.0]


def wal_position(lsn: str) -> int:
    """A PostgreSQL LSN (``"16/B374D848"``) as a byte position, so two compare as integers."""
    high, low = lsn.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@dataclass
class ReplicaRead:
    """One replica-safe request's choice of database, made at its first read and kept: one
    question to the replica per request, and every read of the page from the same
    database (never a newer primary row beside an older replica one)."""

    written: int | None
    database: str | None = None

    def choose(self) -> str:
        if self.database is None:
            self.database = self._replica_if_caught_up()
        return self.database

    def _replica_if_caught_up(self) -> str:
        if time.monotonic() < _down_until[0]:
            return DEFAULT_DB_ALIAS
        try:
            with connections[REPLICA].cursor() as cursor:
                cursor.execute("SELECT pg_last_wal_replay_lsn()::text")
                (replayed,) = cursor.fetchone()
        except DatabaseError as error:
            _replica_unusable(f"the replica did not answer ({error}); reading from the primary")
            return DEFAULT_DB_ALIAS
        if replayed is None:
            _replica_unusable("DATABASE_REPLICA_URL is not a standby in recovery; primary used")
            return DEFAULT_DB_ALIAS
        if self.written is not None and wal_position(replayed) < self.written:
            return DEFAULT_DB_ALIAS
        return REPLICA


def _replica_unusable(message: str) -> None:
    logger.warning(message)
    _down_until[0] = time.monotonic() + REPLICA_DOWN_SECONDS
    with contextlib.suppress(DatabaseError):
        connections[REPLICA].close()


_replica_read: contextvars.ContextVar[ReplicaRead | None] = contextvars.ContextVar(
    "sanjeevani_replica_read", default=None
)


def _written_position(request: HttpRequest) -> int | None:
    value = request.get_signed_cookie(
        WRITTEN_POSITION_COOKIE, default=None, salt=WRITTEN_POSITION_SALT
    )
    try:
        return wal_position(value) if value else None
    except ValueError:
        return None


def _on_replica(read: ReplicaRead, content: Iterator[bytes]) -> Iterator[bytes]:
    """Each step of a streamed body under the request's choice (the rows are read as the
    body is sent, after the view has returned)."""
    while True:
        token = _replica_read.set(read)
        try:
            chunk = next(content, None)
        finally:
            _replica_read.reset(token)
        if chunk is None:
            return
        yield chunk


async def _on_replica_async(read: ReplicaRead, content: AsyncIterator[bytes]) -> AsyncIterator:
    while True:
        token = _replica_read.set(read)
        try:
            chunk = await anext(content, None)
        finally:
            _replica_read.reset(token)
        if chunk is None:
            return
        yield chunk


def _finished(read: ReplicaRead, response: HttpResponse) -> HttpResponse:
    if isinstance(response, StreamingHttpResponse):
        content = response.streaming_content
        response.streaming_content = (
            _on_replica_async(read, aiter(content))
            if response.is_async
            else _on_replica(read, iter(content))
        )
    elif callable(getattr(response, "render", None)) and not response.is_rendered:
        response.render()  # a TemplateResponse's queries run here, under the choice
    return response


def reads_from_replica(view: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a view whose reads may come from the replica: it shows figures or records where
    other people's writes of the last moments may be missing, and its reads do not depend
    on its own writes (an audit row it writes goes to the primary all the same). Works for
    sync and async views (a context variable, not a thread-local). Without a replica it
    only calls the view."""
    if inspect.iscoroutinefunction(view):

        @wraps(view)
        async def read_async(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if not replica_configured():
                return await view(request, *args, **kwargs)
            read = ReplicaRead(_written_position(request))
            token = _replica_read.set(read)
            try:
                return _finished(read, await view(request, *args, **kwargs))
            finally:
                _replica_read.reset(token)

        return read_async

    @wraps(view)
    def read(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not replica_configured():
            return view(request, *args, **kwargs)
        choice = ReplicaRead(_written_position(request))
        token = _replica_read.set(choice)
        try:
            return _finished(choice, view(request, *args, **kwargs))
        finally:
            _replica_read.reset(token)

    return read


class ReplicaRouter:
    """Writes to the primary; reads to the replica only under ``reads_from_replica`` and
    only once it has replayed the client's last write. Only the primary is migrated."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        read = _replica_read.get()
        return read.choose() if read is not None else None

    def db_for_write(self, model: type, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        """A row read from the replica may be linked to one saved on the primary: the
        same database, one replaying the other."""
        both = {obj1._state.db, obj2._state.db}
        return True if both <= {DEFAULT_DB_ALIAS, REPLICA} else None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS


def primary_wal_position() -> str | None:
    """The primary's WAL write position: with ``synchronous_commit`` on (PostgreSQL's
    default, kept by this project) every transaction committed before it is at or below it."""
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text")
            return cursor.fetchone()[0]
    except DatabaseError as error:
        logger.warning("the primary's WAL position could not be read (%s)", error)
        return None


class WrittenPositionCookie:
    """After a request that may have written (an unsafe method, not answered 5xx, that used
    the primary), the primary's WAL position goes into a signed cookie, the one fact a
    replica-safe request needs to avoid a replica that has not replayed it. Costs one
    ``SELECT`` on writing requests only; reads pay nothing here. Placed outside the session
    middleware, so a session saved on the way out (a sign-in) is below the position."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.method not in SAFE_METHODS
            and response.status_code < 500
            and connections[DEFAULT_DB_ALIAS].connection is not None
        ):
            position = primary_wal_position()
            if position is not None:
                response.set_signed_cookie(
                    WRITTEN_POSITION_COOKIE,
                    position,
                    salt=WRITTEN_POSITION_SALT,
                    max_age=settings.SESSION_COOKIE_AGE,
                    secure=settings.SESSION_COOKIE_SECURE,
                    httponly=True,
                    samesite="Lax",
                )
        return response
