"""``DATABASE_REPLICA_URL`` (settings): unset, nothing changes; set, a replica beside a
PostgreSQL primary, its router and the write-position cookie. The replica at work is
tests/deploy/test_read_replica.py (PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRIMARY = "postgres://postgres@127.0.0.1:5432/test"
REPLICA = "postgres://postgres@127.0.0.1:5433/test"
PROGRAM = (
    "import json, django; django.setup(); from django.conf import settings; "
    "replica = settings.DATABASES.get('replica'); "
    "print(json.dumps({'replica': replica and {'options': replica['OPTIONS'], "
    "'test': replica['TEST'], 'port': replica['PORT']}, 'routers': settings.DATABASE_ROUTERS, "
    "'middleware': settings.MIDDLEWARE, 'databases': sorted(settings.DATABASES)}))"
)


def settings_with(**variables: str | None) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sanjeevani.config.settings",
        "PYTHONPATH": str(ROOT / "src"),
        **{k: v for k, v in variables.items() if v is not None},
    }
    for name, value in variables.items():
        if value is None:
            env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, timeout=60
    )


def loaded(**variables: str | None) -> dict:
    run = settings_with(**variables)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_without_a_replica_nothing_changes():
    for primary in (None, PRIMARY):
        got = loaded(DATABASE_URL=primary, DATABASE_REPLICA_URL=None)
        assert got["databases"] == ["default"]
        assert got["routers"] == []
        assert not any("database_routers" in name for name in got["middleware"])


def test_a_replica_gets_its_router_a_short_pool_wait_and_mirrors_default_in_tests():
    got = loaded(
        DATABASE_URL=PRIMARY,
        DATABASE_REPLICA_URL=REPLICA,
        DB_POOL_MAX_SIZE="6",
        DB_POOL_TIMEOUT="5",
    )
    replica = got["replica"]
    assert replica["port"] == 5433
    assert replica["test"]["MIRROR"] == "default"
    assert replica["options"]["pool"] == {"min_size": 1, "max_size": 6, "timeout": 1.0}
    assert replica["options"]["connect_timeout"] == 2
    assert got["routers"] == ["sanjeevani.config.database_routers.ReplicaRouter"]
    middleware = got["middleware"]
    cookie = middleware.index("sanjeevani.config.database_routers.WrittenPositionCookie")
    # Outside the session middleware: a session saved on the way out is below the position.
    assert cookie < middleware.index("django.contrib.sessions.middleware.SessionMiddleware")


def test_a_replica_beside_sqlite_is_refused():
    run = settings_with(DATABASE_URL=None, DATABASE_REPLICA_URL=REPLICA)
    assert run.returncode != 0
    assert "DATABASE_REPLICA_URL needs a PostgreSQL DATABASE_URL" in run.stderr
