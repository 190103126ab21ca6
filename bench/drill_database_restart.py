"""The database restarting under load, longer than the test (issue 15, item 3).

    REDIS_URL=redis://127.0.0.1:6379/13 .venv/bin/python bench/drill_database_restart.py \\
        --patients 40 --doctors 4 --restarts 3 --outage 6

A PostgreSQL 15 cluster of its own (``initdb`` + ``pg_ctl`` in a temporary folder, on a
free port: restarting it never touches the shared server), migrated and seeded with one OPD
and its doctors; app nodes behind the shipped nginx configuration (tests/deploy/proxy.py),
each with the production pool (``DB_POOL_MAX_SIZE``) and without DEBUG. Patients arrive one
every ``--arrival`` seconds and go through whole consultations as the app drives them
(tests/deploy/database_drill.py: OTP sign-in, profile, token, status polls, join, PDF;
doctors: sign-in, online, call, identity, record, mode, signed prescription, end), retrying
after a 503 as ``Retry-After`` says. Each time ``--after`` more patients are through, the
database is stopped like a crash (``pg_ctl -m immediate``) for ``--outage`` seconds and
started again; nothing restarts the nodes.

Prints the answers by status, the restarts and what was lost (the audit reads the database:
answers other than a success or a clean 503 + Retry-After, lifecycles that did not finish,
tokens and consultations in mismatched states, prescriptions without both signatures or
their stored PDF, rollups that differ from ``manage.py rebuild_rollups``, nodes that died),
and exits 1 unless it is "lost: nothing". REDIS_URL is shared by the nodes (OTP challenges
and the channel layer); a spare database number, as above.
"""

from __future__ import annotations

import argparse
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
    parser.add_argument("--patients", type=int, default=40)
    parser.add_argument("--doctors", type=int, default=4)
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--outage", type=float, default=6.0, help="seconds the database is away")
    parser.add_argument("--after", type=int, default=8, help="patients through between restarts")
    parser.add_argument("--arrival", type=float, default=0.5, help="seconds between arrivals")
    parser.add_argument(
        "--pool-timeout",
        type=float,
        default=5.0,
        help="DB_POOL_TIMEOUT of the nodes (the production default is 5)",
    )
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        parser.error("set REDIS_URL (a spare database number): the nodes share OTPs through it")

    from tests.deploy.backing_services import own_postgres

    with tempfile.TemporaryDirectory(prefix="sanjeevani-drill-") as scratch, own_postgres() as pg:
        folder = Path(scratch)
        os.environ["DATABASE_URL"] = pg.url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanjeevani.config.settings")
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        started = time.monotonic()
        call_command("migrate", verbosity=0)
        print(f"own PostgreSQL on :{pg.port} migrated in {time.monotonic() - started:.0f} s")

        from tests.deploy.database_drill import Drill, audit, drill_clinic, node_environment
        from tests.deploy.proxy import proxied_nodes
        from tests.e2e.live import server_env

        clinic = drill_clinic(args.doctors)
        env = node_environment(pg, folder, pool_timeout=args.pool_timeout)
        env["MEDIA_ROOT"] = str(folder / "media")
        environment = server_env(**env)
        connections.close_all()
        with proxied_nodes(folder, count=args.nodes, **env) as deployment:
            drill = Drill(
                deployment,
                **clinic,
                patients=args.patients,
                outage_seconds=args.outage,
                restarts=args.restarts,
                arrival_seconds=args.arrival,
            )
            started = time.monotonic()
            drill.run(pg, after_finished=args.after)
            took = time.monotonic() - started
            lost, lines = audit(drill, pg, environment)
        print(
            f"{args.patients} consultations in {took:.0f} s on {args.nodes} nodes "
            f"(DB_POOL_MAX_SIZE 4, DB_POOL_TIMEOUT {args.pool_timeout:g} s)"
        )
        print("\n".join(lines))
        return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
