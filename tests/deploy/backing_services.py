"""Throwaway PostgreSQL and Redis servers for the failure drills (issue 15, item 3).

A drill restarts the database or Redis under live app nodes. It must never touch the shared
servers that other engineers and the CI use, so each drill starts its own: a PostgreSQL 15
cluster (``initdb`` + ``pg_ctl``, as the ``postgres`` user when run as root, since PostgreSQL
refuses to run as root) in a temporary folder on a free port, or a ``redis-server`` on a
free port without persistence (a restart loses every key, like a crash: the harsh case).
The cluster gets a copy of the test database (``pg_dump`` | ``pg_restore``): its schema and
the rows the test made with factories, so the nodes serve the same OPD and doctors.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from tests.e2e.live import free_port
from tests.polling import wait_until

PG_BIN = Path("/usr/lib/postgresql/15/bin")
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class OwnPostgres:
    """A PostgreSQL cluster of the drill's own; ``stop``/``start`` are the restart."""

    folder: Path
    port: int
    database: str = "drill"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"

    #: More server options, e.g. a standby's statement log.
    extra_options = ""

    def _pg_ctl(self, *args: str) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            f"-c fsync=off -c max_connections=60 {self.extra_options}"
        )
        subprocess.run(
            _as_postgres(
                [str(PG_BIN / "pg_ctl"), "-D", str(self.folder / "data"), "-o", options]
                + ["-l", str(self.folder / "postgres.log"), "-w", *args]
            ),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        self._pg_ctl("start")

    def stop(self, mode: str = "immediate") -> None:
        """``immediate``: every backend is killed at once, in-flight transactions and all,
        and the next start recovers from the WAL, as after a crash."""
        self._pg_ctl("-m", mode, "stop")

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True)

    def log(self) -> str:
        path = self.folder / "postgres.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextlib.contextmanager
def own_postgres(copy_of: str | None = None) -> Iterator[OwnPostgres]:
    """A running cluster with an empty database, or a copy of the one at ``copy_of`` (a
    postgres:// URL); removed at the end."""
    if not (PG_BIN / "initdb").exists():
        raise FileNotFoundError(f"{PG_BIN}/initdb (Debian's postgresql-15)")
    folder = Path(tempfile.mkdtemp(prefix="sanjeevani-drill-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    cluster = OwnPostgres(folder, free_port())
    try:
        subprocess.run(
            _as_postgres(
                [str(PG_BIN / "initdb"), "-D", str(folder / "data"), "-U", "postgres"]
                + ["--auth=trust", "-E", "UTF8", "--no-sync"]
            ),
            check=True,
            capture_output=True,
        )
        cluster.start()
        with psycopg.connect(
            f"postgres://postgres@127.0.0.1:{cluster.port}/postgres", autocommit=True
        ) as admin:
            admin.execute(f'CREATE DATABASE "{cluster.database}"')
        if copy_of is None:
            yield cluster
            return
        source = urlsplit(copy_of)
        dump = subprocess.Popen(
            [str(PG_BIN / "pg_dump"), "-Fc", "--no-owner", "-d", copy_of],
            stdout=subprocess.PIPE,
            env={**os.environ, "PGPASSWORD": source.password or ""},
        )
        subprocess.run(
            [str(PG_BIN / "pg_restore"), "--no-owner", "-d", cluster.url],
            stdin=dump.stdout,
            check=True,
            capture_output=True,
        )
        assert dump.wait() == 0, "pg_dump failed"
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class OwnRedis:
    """A ``redis-server`` of the drill's own, without persistence."""

    folder: Path
    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.folder / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--dir", str(self.folder)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        assert wait_until(self.answers, timeout=10), "redis-server did not start"

    def kill(self) -> None:
        """SIGKILL: every connection cut, every key (group memberships too) gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False


@contextlib.contextmanager
def own_redis() -> Iterator[OwnRedis]:
    folder = Path(tempfile.mkdtemp(prefix="sanjeevani-drill-redis-"))
    server = OwnRedis(folder, free_port())
    try:
        server.start()
        yield server
    finally:
        server.kill()
        shutil.rmtree(folder, ignore_errors=True)


PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


@dataclass
class OwnPgBouncer:
    """A ``pgbouncer`` of the test's own in front of a PostgreSQL server, on a free port."""

    folder: Path
    port: int
    pool_mode: str
    process: subprocess.Popen | None = None

    def admin(self) -> psycopg.Connection:
        """The console (``SHOW SERVERS``, ``SHOW STATS``): PgBouncer's own ``pgbouncer``
        database."""
        return psycopg.connect(
            f"postgres://postgres@127.0.0.1:{self.port}/pgbouncer", autocommit=True
        )

    def log(self) -> str:
        path = self.folder / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextlib.contextmanager
def own_pgbouncer(
    server_host: str, server_port: int, pool_mode: str, pool_size: int = 2
) -> Iterator[OwnPgBouncer]:
    """PgBouncer in ``pool_mode`` forwarding every database to ``server_host:server_port``
    with at most ``pool_size`` server connections per database: fewer than the clients a
    test opens, so that server connections pass from client to client. Clients are trusted
    (the user must still be in the auth file). Runs as ``postgres`` when started as root
    (PgBouncer refuses root)."""
    folder = Path(tempfile.mkdtemp(prefix="sanjeevani-pgbouncer-"))
    bouncer = OwnPgBouncer(folder, free_port(), pool_mode)
    (folder / "users.txt").write_text('"postgres" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={server_host} port={server_port}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {bouncer.port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'users.txt'}\n"
        f"admin_users = postgres\npool_mode = {pool_mode}\n"
        f"default_pool_size = {pool_size}\nmax_client_conn = 100\n"
        "server_reset_query = DISCARD ALL\nignore_startup_parameters = extra_float_digits\n"
    )
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    user = ["-u", "postgres"] if os.geteuid() == 0 else []
    log = (folder / "pgbouncer.log").open("ab")
    try:
        bouncer.process = subprocess.Popen(
            [PGBOUNCER, *user, str(folder / "pgbouncer.ini")],
            stdout=log,
            stderr=subprocess.STDOUT,
        )

        def answers() -> bool:
            try:
                bouncer.admin().close()
            except psycopg.OperationalError:
                return False
            return True

        assert wait_until(answers, timeout=10), f"pgbouncer did not start: {bouncer.log()}"
        yield bouncer
    finally:
        if bouncer.process is not None and bouncer.process.poll() is None:
            bouncer.process.terminate()
            try:
                bouncer.process.wait(10)
            except subprocess.TimeoutExpired:
                bouncer.process.kill()
                bouncer.process.wait(10)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)
