"""A Patroni-managed PostgreSQL 15 cluster of the drill's own (issue 15, item 6): one etcd
and two or three nodes on 127.0.0.1, each on free ports in a temporary folder, with
synchronous replication (``synchronous_mode: true``), so that a commit is acknowledged only
once the synchronous standby has it and a failover never loses it.

The app finds the primary as libpq does, from the environment: ``DATABASE_URL`` without a
host (``postgres://postgres@/drill``), ``PGHOST``/``PGPORT`` listing every node and
``PGTARGETSESSIONATTRS=read-write`` (``client_environment``). Django passes no host or port
when the URL has none, so psycopg tries each node in turn and keeps the one that accepts
writes.

Used by bench/drill_failover.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg

from tests.deploy.backing_services import PG_BIN
from tests.e2e.live import free_port
from tests.polling import wait_until

ETCD = shutil.which("etcd") or "/usr/bin/etcd"
PATRONI = shutil.which("patroni") or "/usr/bin/patroni"
SCOPE = "sanjeevani-drill"


def missing() -> str | None:
    """What is not installed, named with the package that brings it, or None."""
    for path, package in ((ETCD, "etcd-server"), (PATRONI, "patroni"), (PG_BIN, "postgresql-15")):
        if not Path(path).exists():
            return f"{path} ({package}: apt-get install etcd-server patroni postgresql-15)"
    return None


@dataclass
class PatroniNode:
    name: str
    folder: Path
    port: int
    api_port: int
    process: subprocess.Popen | None = None

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def status(self) -> dict:
        """Patroni's view of this node (``role``, ``state``), or {} when it does not answer."""
        try:
            return httpx.get(f"http://127.0.0.1:{self.api_port}/patroni", timeout=1).json()
        except (httpx.HTTPError, ValueError):
            return {}

    def is_primary(self) -> bool:
        """PostgreSQL itself says it accepts writes (not only Patroni's flag)."""
        try:
            with psycopg.connect(
                f"postgres://postgres@127.0.0.1:{self.port}/postgres", connect_timeout=1
            ) as db:
                return not db.execute("SELECT pg_is_in_recovery()").fetchone()[0]
        except psycopg.OperationalError:
            return False

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def log(self) -> str:
        parts = []
        for path in sorted(self.folder.glob("*.log")) + sorted(self.data.glob("log/*")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)


@dataclass
class PatroniCluster:
    folder: Path
    etcd_port: int
    nodes: list[PatroniNode] = field(default_factory=list)
    etcd: subprocess.Popen | None = None
    database: str = "drill"

    @property
    def url(self) -> str:
        """No host: libpq takes the nodes from ``PGHOST``/``PGPORT`` (``client_environment``)."""
        return f"postgres://postgres@/{self.database}"

    def client_environment(self) -> dict[str, str]:
        """What the app and ``manage.py`` need to reach the primary, whichever it is."""
        return {
            "DATABASE_URL": self.url,
            "PGHOST": ",".join("127.0.0.1" for _ in self.nodes),
            "PGPORT": ",".join(str(node.port) for node in self.nodes),
            "PGTARGETSESSIONATTRS": "read-write",
            "PGCONNECT_TIMEOUT": "2",
        }

    def primary(self) -> PatroniNode | None:
        return next((node for node in self.nodes if node.is_primary()), None)

    def synchronous_standby(self) -> str | None:
        """The standby that may be promoted: named synchronous in Patroni's key in etcd
        and streaming as ``sync`` according to the primary's PostgreSQL."""
        primary = self.primary()
        if primary is None:
            return None
        try:
            members = httpx.get(f"http://127.0.0.1:{primary.api_port}/cluster", timeout=2)
            named = [m["name"] for m in members.json()["members"] if m["role"] == "sync_standby"]
        except (httpx.HTTPError, ValueError, KeyError):
            return None
        with psycopg.connect(f"postgres://postgres@127.0.0.1:{primary.port}/postgres") as db:
            streaming = [
                row[0]
                for row in db.execute(
                    "SELECT application_name FROM pg_stat_replication WHERE sync_state = 'sync'"
                )
            ]
        return next((name for name in named if name in streaming), None)

    def connect(self) -> psycopg.Connection:
        """The drill database on the current primary (as the audit reads it)."""
        primary = self.primary()
        assert primary is not None, "no primary"
        return psycopg.connect(
            f"postgres://postgres@127.0.0.1:{primary.port}/{self.database}", autocommit=True
        )

    @property
    def port(self) -> int:
        primary = self.primary()
        return primary.port if primary else 0

    def kill_primary_postmaster(self) -> PatroniNode:
        """SIGKILL to the primary's postmaster and, at the same moment, to every process it
        started: PostgreSQL crashing as a whole, no shutdown checkpoint, no goodbye to the
        clients. Patroni on that node stays up. (The postmaster alone would leave its
        backends alive for a moment; Patroni's own connection then still answers, sees no
        standby streaming, withdraws the synchronous standby and, with none left to fail
        over to, restarts PostgreSQL in place: safe, but not a failover.)"""
        primary = self.primary()
        assert primary is not None, "no primary to kill"
        postmaster = primary.postmaster_pid()
        for pid in [postmaster, *_children(postmaster)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return primary

    def logs(self) -> str:
        return "\n".join(f"=== {node.name}\n{node.log()}" for node in self.nodes)


@dataclass
class Failover:
    """What the drill stops and starts, for a Patroni cluster: ``stop`` kills the primary's
    postmaster and returns once another node accepts writes; ``start`` has nothing to do
    (Patroni restarts the old primary as a standby by itself)."""

    cluster: PatroniCluster
    #: (killed node, promoted node, seconds from the kill to the new primary's first write)
    failovers: list[tuple[str, str, float]] = field(default_factory=list)

    def stop(self, mode: str = "immediate") -> None:
        """Once the cluster has a synchronous standby (after an earlier failover, the old
        primary must first come back as one), kill the primary and wait for another node
        to accept writes."""
        assert wait_until(lambda: self.cluster.synchronous_standby() is not None, timeout=90), (
            f"no synchronous standby to fail over to:\n{self.cluster.logs()}"
        )
        killed = self.cluster.kill_primary_postmaster()
        started = time.monotonic()
        while True:
            promoted = self.cluster.primary()
            if promoted is not None and promoted is not killed:
                break
            if time.monotonic() - started > 120:
                raise RuntimeError(f"no new primary after 120 s:\n{self.cluster.logs()}")
            time.sleep(0.05)
        self.failovers.append((killed.name, promoted.name, time.monotonic() - started))

    def start(self) -> None:
        return None

    def __getattr__(self, name: str) -> object:
        return getattr(self.cluster, name)


#: Writes the app answered with a success, and where each must be on the new primary.
ACKNOWLEDGED = {
    "POST /patients/": ("patients_patient", "id", None),
    "POST /opd/opds/{id}/tickets/": ("queueing_ticket", "id", None),
    "POST /consultations/doctor/call-next/": ("consultations_consultation", "consultation", None),
    "POST /prescriptions/": ("prescriptions_prescription", "id", None),
    "POST /consultations/{id}/end/": ("consultations_consultation", "id", "ended"),
}


def acknowledged_but_missing(
    cluster: PatroniCluster, acknowledged: list[tuple[str, dict]]
) -> tuple[int, list]:
    """How many acknowledged writes were looked for on the primary, and those not there."""
    looked, missing = 0, []
    with cluster.connect() as db:
        for label, answer in acknowledged:
            if label not in ACKNOWLEDGED or not isinstance(answer, dict):
                continue
            table, key, status = ACKNOWLEDGED[label]
            if answer.get(key) is None:
                continue
            looked += 1
            row = db.execute(
                f"SELECT {'status' if status else '1'} FROM {table} WHERE id = %s",  # noqa: S608
                (answer[key],),
            ).fetchone()
            if row is None or (status and row[0] != status):
                missing.append((label, answer[key], row))
    return looked, missing


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _node_config(cluster: PatroniCluster, node: PatroniNode) -> dict:
    """Patroni's settings for ``node``: fast failure detection (loop every second, leader
    key valid 20 s), failover at once when the primary's PostgreSQL dies
    (``primary_start_timeout: 0``, rather than restarting it in place), synchronous
    replication, and only the synchronous standby may be promoted."""
    return {
        "scope": SCOPE,
        "name": node.name,
        "log": {"dir": str(node.folder), "level": "INFO"},
        "restapi": {
            "listen": f"127.0.0.1:{node.api_port}",
            "connect_address": f"127.0.0.1:{node.api_port}",
        },
        "etcd3": {"hosts": [f"127.0.0.1:{cluster.etcd_port}"]},
        "bootstrap": {
            "dcs": {
                "ttl": 20,
                "loop_wait": 1,
                "retry_timeout": 5,
                "primary_start_timeout": 0,
                "maximum_lag_on_failover": 1048576,
                "synchronous_mode": True,
                "postgresql": {
                    "use_pg_rewind": True,
                    "parameters": {
                        "max_connections": 60,
                        "wal_log_hints": "on",
                        "synchronous_commit": "on",
                    },
                },
            },
            "initdb": [{"encoding": "UTF8"}, {"auth": "trust"}],
        },
        "postgresql": {
            "listen": f"127.0.0.1:{node.port}",
            "connect_address": f"127.0.0.1:{node.port}",
            "data_dir": str(node.data),
            "bin_dir": str(PG_BIN),
            "pgpass": str(node.folder / "pgpass"),
            "authentication": {
                "superuser": {"username": "postgres"},
                "replication": {"username": "postgres"},
            },
            "parameters": {"unix_socket_directories": str(node.folder)},
            "pg_hba": [
                "local all all trust",
                "host all all 127.0.0.1/32 trust",
                "host replication all 127.0.0.1/32 trust",
            ],
        },
    }


def _as_postgres_session(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _stop(process: subprocess.Popen | None) -> None:
    """The process and everything it started (its own session): Patroni's PostgreSQL too."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def _stop_postgres(node: PatroniNode) -> None:
    """A PostgreSQL that outlived its Patroni (it runs in the same session, but a node
    killed mid-start may leave one)."""
    pid_file = node.data / "postmaster.pid"
    if pid_file.exists():
        with contextlib.suppress(ValueError, ProcessLookupError, PermissionError):
            os.kill(node.postmaster_pid(), signal.SIGKILL)


@contextlib.contextmanager
def patroni_cluster(nodes: int = 2, database: str = "drill") -> Iterator[PatroniCluster]:
    """etcd and ``nodes`` Patroni nodes, running, with a primary, a synchronous standby
    streaming from it and an empty ``database``; everything stopped and removed at the
    end."""
    if (what := missing()) is not None:
        raise FileNotFoundError(what)
    folder = Path(tempfile.mkdtemp(prefix="sanjeevani-patroni-"))
    cluster = PatroniCluster(folder, free_port(), database=database)
    try:
        peer = free_port()
        etcd_log = (folder / "etcd.log").open("ab")
        cluster.etcd = subprocess.Popen(
            [ETCD, "--name", "drill", "--data-dir", str(folder / "etcd")]
            + ["--listen-client-urls", f"http://127.0.0.1:{cluster.etcd_port}"]
            + ["--advertise-client-urls", f"http://127.0.0.1:{cluster.etcd_port}"]
            + ["--listen-peer-urls", f"http://127.0.0.1:{peer}"]
            + ["--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}"]
            + ["--initial-cluster", f"drill=http://127.0.0.1:{peer}"],
            stdout=etcd_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        assert wait_until(
            lambda: _answers(f"http://127.0.0.1:{cluster.etcd_port}/health"), timeout=20
        ), "etcd did not start"
        for index in range(nodes):
            node = PatroniNode(f"node{index + 1}", folder / f"node{index + 1}", *_two_ports())
            node.folder.mkdir(mode=0o700)
            (node.folder / "patroni.yml").write_text(json.dumps(_node_config(cluster, node)))
            cluster.nodes.append(node)
        if os.geteuid() == 0:
            for path in [folder, *(node.folder for node in cluster.nodes)]:
                shutil.chown(path, "postgres")
                for inner in path.glob("*.yml"):
                    shutil.chown(inner, "postgres")
        for index, node in enumerate(cluster.nodes):
            log = (node.folder / "patroni-stdout.log").open("ab")
            # Run from the node's own folder: the postgres user may not enter the checkout
            # (a clone in a private mktemp directory), and Patroni's worker processes
            # change into the directory they were started from.
            node.process = subprocess.Popen(
                _as_postgres_session([PATRONI, str(node.folder / "patroni.yml")]),
                cwd=node.folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            if index == 0:
                assert wait_until(node.is_primary, timeout=60), (
                    f"the first node did not become primary:\n{cluster.logs()}"
                )
        assert wait_until(
            lambda: all(n.status().get("state") == "running" for n in cluster.nodes),
            timeout=90,
        ), f"the standbys did not start:\n{cluster.logs()}"
        assert wait_until(lambda: cluster.synchronous_standby() is not None, timeout=30), (
            f"no synchronous standby:\n{cluster.logs()}"
        )
        with psycopg.connect(
            f"postgres://postgres@127.0.0.1:{cluster.primary().port}/postgres", autocommit=True
        ) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        yield cluster
    finally:
        for node in cluster.nodes:
            _stop(node.process)
        for node in cluster.nodes:
            _stop_postgres(node)
        _stop(cluster.etcd)
        shutil.rmtree(folder, ignore_errors=True)


def _two_ports() -> tuple[int, int]:
    first = free_port()
    while (second := free_port()) == first:
        time.sleep(0.01)
    return first, second


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def copy_database(cluster: PatroniCluster, source_url: str) -> None:
    """``source_url``'s schema and rows (``pg_dump`` | ``pg_restore``) into the cluster's
    database, on the primary: the standbys get it by replication."""
    primary = cluster.primary()
    assert primary is not None, "no primary"
    source = urlsplit(source_url)
    dump = subprocess.Popen(
        [str(PG_BIN / "pg_dump"), "-Fc", "--no-owner", "-d", source_url],
        stdout=subprocess.PIPE,
        env={**os.environ, "PGPASSWORD": source.password or ""},
    )
    subprocess.run(
        [str(PG_BIN / "pg_restore"), "--no-owner", "-d"]
        + [f"postgres://postgres@127.0.0.1:{primary.port}/{cluster.database}"],
        stdin=dump.stdout,
        check=True,
        capture_output=True,
    )
    assert dump.wait() == 0, "pg_dump failed"
