"""Django's Redis cache with one client per connection pool instead of one per call, that
keeps the platform serving while Redis is away.

``django.core.cache.backends.redis.RedisCacheClient.get_client`` builds a new ``redis.Redis``
for every cache call, and building one fills its table of about 170 response callbacks
(0.13 ms, about a third of a cache read; measured under bench/queue_claim.py). A
``redis.Redis`` is safe to share between threads (each command takes a connection from
the pool), so one per pool serves every call.

The pools (and those clients) belong to the process, not to the cache object. Django's
``caches`` keeps one cache object per async context, and under ASGI every request runs in
a context of its own: each request's first cache call made a new object, a new pool and so
a new TCP connection to Redis with its handshake (a sixth of a rate-limited request's CPU
in bench/peak_day.py's profile). Caches configured alike now share one pool per server.

When Redis cannot be reached (restarting, a network blip), a read is a miss and a write is
dropped, logged at most once a minute: every cached figure is computed from the database
instead, so the waiting room's status, the dashboards and the consultation pages keep
working while Redis restarts (issue 15's drill). ``incr`` raises ``ValueError``, as for a
missing key, which its callers (the verification page's and CSP reports' windows) already
read as "let it through", as the rate limits do (``limits.rates.check``).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

#: Redis is away: the errors that mean so, not a mistake in the call.
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)
_LOG_EVERY_SECONDS = 60.0
_logged_at = [0.0]  # per process: Django builds one cache object per thread


#: Per process: (servers, pool class, options) -> the pools by server index and the clients
#: by pool, shared by every cache object configured so.
_PROCESS_POOLS: dict[tuple, tuple[dict[int, Any], dict[int, Any]]] = {}
_PROCESS_POOLS_LOCK = threading.Lock()


class SharedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        shape = (
            tuple(self._servers),
            self._pool_class,
            repr(sorted(self._pool_options.items())),
        )
        with _PROCESS_POOLS_LOCK:
            self._pools, self._clients = _PROCESS_POOLS.setdefault(shape, ({}, {}))

    def _get_connection_pool(self, write: bool) -> Any:
        index = self._get_connection_pool_index(write)
        pool = self._pools.get(index)
        if pool is None:
            with _PROCESS_POOLS_LOCK:
                pool = self._pools.get(index)
                if pool is None:
                    pool = self._pools[index] = self._pool_class.from_url(
                        self._servers[index], **self._pool_options
                    )
        return pool

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class SharedClientRedisCache(RedisCache):
    def __init__(self, server: Any, params: dict) -> None:
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient

    def _away(self, error: Exception) -> None:
        now = time.monotonic()
        if now - _logged_at[0] >= _LOG_EVERY_SECONDS:
            _logged_at[0] = now
            log.warning("Redis cache unavailable, serving without it: %s", error)

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        try:
            return super().get(key, default, version)
        except UNAVAILABLE as error:
            self._away(error)
            return default

    def get_many(self, keys: Any, version: int | None = None) -> dict:
        try:
            return super().get_many(keys, version)
        except UNAVAILABLE as error:
            self._away(error)
            return {}

    def has_key(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().has_key(key, version)
        except UNAVAILABLE as error:
            self._away(error)
            return False

    def add(self, key: Any, value: Any, timeout: Any = None, version: int | None = None) -> bool:
        try:
            return super().add(key, value, timeout, version)
        except UNAVAILABLE as error:
            self._away(error)
            return False

    def set(self, key: Any, value: Any, timeout: Any = None, version: int | None = None) -> None:
        try:
            super().set(key, value, timeout, version)
        except UNAVAILABLE as error:
            self._away(error)

    def set_many(self, data: dict, timeout: Any = None, version: int | None = None) -> list:
        try:
            return super().set_many(data, timeout, version)
        except UNAVAILABLE as error:
            self._away(error)
            return list(data)

    def touch(self, key: Any, timeout: Any = None, version: int | None = None) -> bool:
        try:
            return super().touch(key, timeout, version)
        except UNAVAILABLE as error:
            self._away(error)
            return False

    def delete(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().delete(key, version)
        except UNAVAILABLE as error:
            self._away(error)
            return False

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        try:
            super().delete_many(keys, version)
        except UNAVAILABLE as error:
            self._away(error)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        try:
            return super().incr(key, delta, version)
        except UNAVAILABLE as error:
            self._away(error)
            raise ValueError(f"Key {key!r} could not be counted: Redis is unavailable.") from error
