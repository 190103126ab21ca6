"""A streaming standby of a test's own PostgreSQL cluster (issue 15, item 6): the read
replica of tests/deploy/test_read_replica.py.

Made as docs/deployment.md says to make one on Debian: ``pg_basebackup -R`` from the primary
(``wal_level=replica`` and the ``replication`` entries for 127.0.0.1 in pg_hba.conf are what
``initdb`` writes already), then started as a hot standby on a free port. The standby logs
every statement, so a test can see which queries it served. Beside ``backing_services``,
whose clusters it copies, so that module stays the servers' own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.deploy.backing_services import PG_BIN, OwnPostgres, _as_postgres
from tests.e2e.live import free_port
from tests.polling import wait_until


@dataclass
class OwnStandby(OwnPostgres):
    """A hot standby replaying its primary's WAL as it streams in, logging every statement
    (the test tells which reads it served from its log)."""

    extra_options = "-c log_statement=all"

    def replayed(self) -> int:
        """The WAL position replayed so far, as a byte count."""
        with self.connect() as standby:
            return _position(standby.execute("SELECT pg_last_wal_replay_lsn()").fetchone()[0])

    def pause_replay(self) -> None:
        with self.connect() as standby:
            standby.execute("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        with self.connect() as standby:
            standby.execute("SELECT pg_wal_replay_resume()")

    def caught_up_with(self, primary: OwnPostgres) -> bool:
        with primary.connect() as conn:
            written = _position(conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0])
        return self.replayed() >= written


def _position(lsn: object) -> int:
    high, low = str(lsn).split("/")
    return (int(high, 16) << 32) | int(low, 16)


@contextlib.contextmanager
def own_standby(primary: OwnPostgres) -> Iterator[OwnStandby]:
    """A standby of ``primary`` made with ``pg_basebackup -R``, started and caught up;
    removed at the end."""
    folder = Path(tempfile.mkdtemp(prefix="sanjeevani-standby-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    standby = OwnStandby(folder, free_port(), primary.database)
    try:
        subprocess.run(
            _as_postgres(
                [str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port)]
                + ["-U", "postgres", "-D", str(folder / "data"), "-R", "-X", "stream"]
                + ["-c", "fast", "--no-sync"]
            ),
            check=True,
            capture_output=True,
        )
        standby.start()
        assert wait_until(lambda: standby.caught_up_with(primary), timeout=20), standby.log()
        yield standby
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            standby.stop()
        shutil.rmtree(folder, ignore_errors=True)


def count_rows(cluster: OwnPostgres, table: str, where: str, params: list) -> int:
    with psycopg.connect(cluster.url, autocommit=True) as conn:
        return conn.execute(f'SELECT count(*) FROM "{table}" WHERE {where}', params).fetchone()[0]
