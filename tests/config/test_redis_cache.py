"""The Redis cache's connections belong to the process (config/redis_cache.py): Django makes
a cache object per async context, so under ASGI one per request, and each used to open a
new TCP connection to Redis."""

from __future__ import annotations

import asyncio
import os

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import caches

from sanjeevani.config.redis_cache import SharedClientRedisCache
from tests.e2e.live import free_port


def test_caches_configured_alike_share_their_pool_and_client():
    location = f"redis://127.0.0.1:{free_port()}/0"
    first, second = SharedClientRedisCache(location, {}), SharedClientRedisCache(location, {})
    assert first is not second
    pool = first._cache._get_connection_pool(write=True)
    assert second._cache._get_connection_pool(write=True) is pool
    assert second._cache.get_client(write=True) is first._cache.get_client(write=True)

    elsewhere = SharedClientRedisCache(f"redis://127.0.0.1:{free_port()}/0", {})
    assert elsewhere._cache._get_connection_pool(write=True) is not pool
    other_database = SharedClientRedisCache(location.removesuffix("/0") + "/1", {})
    assert other_database._cache._get_connection_pool(write=True) is not pool


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis: set REDIS_URL")
def test_requests_in_their_own_contexts_reuse_one_connection(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "sanjeevani.config.redis_cache.SharedClientRedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": f"test-shared-pool-{free_port()}",
        }
    }

    def request() -> tuple[int, int]:
        cache = caches["default"]
        cache.set("seen", 1)
        assert cache.get("seen") == 1
        return id(cache), id(cache._cache._get_connection_pool(write=True))

    async def requests() -> list[tuple[int, int]]:
        # Each task runs in a copy of the context, as each ASGI request does.
        return [await asyncio.create_task(sync_to_async(request)()) for _ in range(12)]

    # The process's pool (earlier tests here may have filled it), read without ``caches``:
    # a cache object made in this context would be inherited by the tasks below.
    location = settings.CACHES["default"]["LOCATION"]
    pool = SharedClientRedisCache(location, {})._cache._get_connection_pool(write=True)
    opened_before = pool._created_connections
    seen = asyncio.run(requests())
    assert len({cache for cache, _pool in seen}) > 1, "Django made cache objects per context"
    assert {pool_id for _cache, pool_id in seen} == {id(pool)}
    assert pool._created_connections - opened_before <= 1, "one at most, kept for the rest"
