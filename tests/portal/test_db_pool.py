"""The PostgreSQL connection pool (settings: DB_POOL_MAX_SIZE): a worker reuses its
connections across requests, and an exhausted pool is the 503 "try again", not a 500."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.db.backends.postgresql.base import DatabaseWrapper

from sanjeevani.config.overload import is_database_unavailable

ROOT = Path(__file__).resolve().parents[2]
ONLY_POSTGRESQL = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the connection pool is PostgreSQL's (psycopg_pool); .ci/run's PostgreSQL half runs it",
)


def test_the_pool_is_configured_from_the_environment_for_postgresql_only():
    program = (
        "import json, django; django.setup(); from django.conf import settings; "
        "pool = settings.DATABASES['default'].get('OPTIONS', {}).get('pool'); "
        "print(json.dumps(pool and {**pool, 'checked': settings.DATABASES['default']"
        "['CONN_HEALTH_CHECKS']}))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sanjeevani.config.settings",
        "PYTHONPATH": str(ROOT / "src"),
        "DB_POOL_MAX_SIZE": "7",
        "DB_POOL_TIMEOUT": "2.5",
    }

    def pool_for(url: str | None) -> dict | None:
        run_env = (
            {**env, "DATABASE_URL": url}
            if url
            else {k: v for k, v in env.items() if k != "DATABASE_URL"}
        )
        out = subprocess.run(
            [sys.executable, "-c", program], env=run_env, capture_output=True, text=True, check=True
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    assert pool_for("postgres://postgres@127.0.0.1:5432/test") == {
        "min_size": 1,
        "max_size": 7,
        "timeout": 2.5,
        "checked": True,
    }
    assert pool_for(None) is None  # SQLite: no pool


def _pooled(alias: str, max_size: int, timeout: float) -> DatabaseWrapper:
    options = {**connection.settings_dict.get("OPTIONS", {})}
    options["pool"] = {
        "min_size": 1,
        "max_size": max_size,
        "timeout": timeout,
    }
    settings_dict = {**connection.settings_dict, "OPTIONS": options, "CONN_HEALTH_CHECKS": True}
    return DatabaseWrapper(settings_dict, alias=alias)


@ONLY_POSTGRESQL
@pytest.mark.django_db
def test_a_worker_reuses_one_connection_across_requests():
    wrapper = _pooled("pool_reuse", max_size=1, timeout=5)
    try:
        backends = set()
        for _request in range(5):
            with wrapper.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backends.add(cursor.fetchone()[0])
            wrapper.close()  # the request's end: the connection goes back to the pool
        assert len(backends) == 1
    finally:
        wrapper.close_pool()


@ONLY_POSTGRESQL
@pytest.mark.django_db
def test_an_exhausted_pool_is_the_database_unavailable_answer():
    holder = _pooled("pool_full", max_size=1, timeout=0.3)
    waiter = _pooled("pool_full", max_size=1, timeout=0.3)  # same alias: the same pool
    try:
        holder.ensure_connection()
        with pytest.raises(Exception) as raised:
            waiter.ensure_connection()
        assert is_database_unavailable(raised.value)
    finally:
        holder.close()
        holder.close_pool()
