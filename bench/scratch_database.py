"""A PostgreSQL database of a bench's own, made with the migrations, with Django set up on it
and dropped at the end unless kept: for the benches that fill tables to national size
(``audit_at_scale.py``, ``duplicate_check.py``).

    with scratch_postgres("sv_bench_x", needs="...", keep=args.keep):
        ...  # Django is set up on the scratch database here
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _url(base: str, name: str) -> str:
    return base.rsplit("/", 1)[0] + "/" + name


def _admin(base: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(_url(base, "postgres"), autocommit=True) as conn:
        conn.execute(sql)


@contextmanager
def scratch_postgres(name: str, *, needs: str, keep: bool = False) -> Iterator[None]:
    """``DATABASE_URL`` names the server (any database on it); ``needs`` says why the bench
    cannot run on SQLite, for the message when it is not PostgreSQL."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        raise SystemExit(f"Needs DATABASE_URL=postgres://... ({needs}).")
    _admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(base, f'CREATE DATABASE "{name}"')
    try:
        env = {**os.environ, "DATABASE_URL": _url(base, name), "REDIS_URL": ""}
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], env=env, check=True
        )
        os.environ.update(env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanjeevani.config.settings")
        import django

        django.setup()
        yield
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not keep:
            _admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
