"""The primary killed under load and Patroni promoting the standby (issue 15, item 6).

    apt-get install etcd-server patroni          # Debian 12's: etcd 3.4, Patroni 3.0
    REDIS_URL=redis://127.0.0.1:6379/13 .venv/bin/python bench/drill_failover.py \\
        --patients 24 --doctors 3 --failovers 2

One etcd and two Patroni-managed PostgreSQL 15 nodes on 127.0.0.1 (free ports, a temporary
folder: tests/deploy/patroni_cluster.py), with synchronous replication. The app is told
nothing about which node is the primary: ``DATABASE_URL=postgres://postgres@/drill`` has no
host, and libpq's ``PGHOST``, ``PGPORT`` list both nodes with
``PGTARGETSESSIONATTRS=read-write``, so each new connection goes to whichever node accepts
writes. Migrated and seeded through that same environment. App nodes behind the shipped
nginx configuration drive whole OPD consultations (tests/deploy/database_drill.py: OTP
sign-in, profile, token, join, PDF; doctors call, confirm identity, write the record, sign
the prescription, end) with the production pool and no DEBUG, retrying after a clean 503 as
``Retry-After`` says. Each time ``--after`` more patients are through, the primary's
postmaster is killed (SIGKILL) and the drill waits for another node to accept writes;
Patroni promotes the synchronous standby and brings the old primary back as a standby.

Prints the failover times, the answers by status and what was lost, and exits 1 unless it
is "lost: nothing": the restart drill's audit (answers other than a success or a clean 503 +
Retry-After, lifecycles that did not finish, half-written consultations and prescriptions,
rollups that differ from ``manage.py rebuild_rollups``, nodes that died) and, on the new
primary, every write the app answered with a success (patients, tokens, claims,
prescriptions, ended consultations).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=24)
    parser.add_argument("--doctors", type=int, default=3)
    parser.add_argument("--nodes", type=int, default=2, help="app nodes behind nginx")
    parser.add_argument("--databases", type=int, default=2, help="Patroni nodes (2 or 3)")
    parser.add_argument("--failovers", type=int, default=2)
    parser.add_argument("--after", type=int, default=8, help="patients through between kills")
    parser.add_argument("--arrival", type=float, default=0.4, help="seconds between arrivals")
    parser.add_argument("--pool-timeout", type=float, default=5.0, help="DB_POOL_TIMEOUT")
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        parser.error("set REDIS_URL (a spare database number): the nodes share OTPs through it")

    from tests.deploy.patroni_cluster import (
        Failover,
        acknowledged_but_missing,
        missing,
        patroni_cluster,
    )

    if (what := missing()) is not None:
        print(f"needs {what}")
        return 2
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="sanjeevani-failover-") as scratch,
        patroni_cluster(nodes=args.databases) as cluster,
    ):
        folder = Path(scratch)
        os.environ.update(cluster.client_environment())
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanjeevani.config.settings")
        import django

        django.setup()
        logging.getLogger("httpx").setLevel(logging.WARNING)
        from django.core.management import call_command
        from django.db import connection, connections

        primary = cluster.primary()
        print(
            f"etcd on :{cluster.etcd_port}; Patroni nodes "
            + ", ".join(f"{n.name} :{n.port}" for n in cluster.nodes)
            + f"; primary {primary.name}, synchronous standby {cluster.synchronous_standby()} "
            f"(up in {time.monotonic() - started:.0f} s)"
        )
        settings_dict = connection.settings_dict
        connection.ensure_connection()
        print(
            f"Django's HOST {settings_dict['HOST']!r}, PORT {settings_dict['PORT']!r}: libpq "
            f"chose :{connection.connection.info.port} from PGHOST/PGPORT "
            f"({os.environ['PGHOST']} / {os.environ['PGPORT']}, read-write)"
        )
        began = time.monotonic()
        call_command("migrate", verbosity=0)
        print(f"migrated through that environment in {time.monotonic() - began:.0f} s")

        from tests.deploy.database_drill import Drill, audit, drill_clinic, node_environment
        from tests.deploy.proxy import proxied_nodes
        from tests.e2e.live import server_env

        clinic = drill_clinic(args.doctors)
        env = node_environment(cluster, folder, pool_timeout=args.pool_timeout)
        env["MEDIA_ROOT"] = str(folder / "media")
        environment = server_env(**env)
        connections.close_all()
        failover = Failover(cluster)
        with proxied_nodes(folder, count=args.nodes, **env) as deployment:
            drill = Drill(
                deployment,
                **clinic,
                patients=args.patients,
                outage_seconds=0,
                restarts=args.failovers,
                arrival_seconds=args.arrival,
            )
            began = time.monotonic()
            drill.run(failover, after_finished=args.after)
            took = time.monotonic() - began
            lost, lines = audit(drill, cluster, environment)
        looked, not_there = acknowledged_but_missing(cluster, drill.tally.acknowledged)
        if not_there:
            lost["acknowledged writes not on the new primary"] = not_there
        refused = drill.tally.answers[503]
        print(
            f"{args.patients} consultations in {took:.0f} s on {args.nodes} app nodes "
            f"(DB_POOL_MAX_SIZE 4, DB_POOL_TIMEOUT {args.pool_timeout:g} s)"
        )
        for killed, promoted, seconds in failover.failovers:
            print(
                f"failover: {killed}'s postmaster killed (SIGKILL), {promoted} accepting "
                f"writes {seconds:.1f} s later"
            )
        print(
            f"requests refused (clean 503 + Retry-After): {refused}; acknowledged writes "
            f"looked for on the new primary ({cluster.primary().name}): {looked}, "
            f"missing: {len(not_there)}"
        )
        lines[-1] = f"lost: {lost or 'nothing'}"
        print("\n".join(lines[1:]))
        return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
