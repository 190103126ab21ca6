"""The primary killed under load, Patroni promoting the synchronous standby (issue 15,
item 6).

One etcd and two Patroni-managed PostgreSQL 15 nodes of the test's own
(tests/deploy/patroni_cluster.py) hold a copy of the test database. Two app nodes behind
the shipped nginx configuration are given no node's address: their ``DATABASE_URL`` has no
host and libpq's ``PGHOST``/``PGPORT`` list both nodes with
``PGTARGETSESSIONATTRS=read-write``. Patients and doctors drive whole consultations through
nginx (tests/deploy/database_drill.py) while the primary's postmaster is killed. Every
answer must be a success or a clean 503 with ``Retry-After``, the nodes must reach the new
primary by themselves, and every write the app acknowledged must be on it.
bench/drill_failover.py runs it longer, with more failovers, and prints the figures.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.deploy.database_drill import Drill, audit, drill_clinic, node_environment
from tests.deploy.patroni_cluster import (
    Failover,
    acknowledged_but_missing,
    copy_database,
    missing,
    patroni_cluster,
)
from tests.deploy.proxy import NGINX, proxied_nodes
from tests.e2e.live import live_database_url, server_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _needs_the_real_parts():
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("needs PostgreSQL and Redis (the nodes share them); .ci/run's second half")
    if not Path(NGINX).exists():
        pytest.skip("needs Debian's nginx at /usr/sbin/nginx: make browser-deps installs it")
    if (what := missing()) is not None:
        pytest.skip(f"needs {what}: make browser-deps installs them")


def test_the_primary_killed_under_load_loses_no_acknowledged_write(tmp_path, capsys):
    clinic = drill_clinic(2)
    with patroni_cluster() as cluster:
        first_primary = cluster.primary().name
        copy_database(cluster, live_database_url())
        env = node_environment(cluster, tmp_path, pool_timeout=1.0)
        env.update(cluster.client_environment(), MEDIA_ROOT=str(tmp_path / "media"))
        failover = Failover(cluster)
        with proxied_nodes(tmp_path, count=2, **env) as deployment:
            drill = Drill(
                deployment,
                **clinic,
                patients=6,
                outage_seconds=0,
                restarts=1,
                arrival_seconds=0.2,
            )
            drill.run(failover, after_finished=2)
            lost, lines = audit(drill, cluster, server_env(**env))
        looked, not_there = acknowledged_but_missing(cluster, drill.tally.acknowledged)
        new_primary = cluster.primary().name
    with capsys.disabled():
        killed, promoted, seconds = failover.failovers[0]
        print(
            f"\nfailover: {killed} killed, {promoted} accepting writes {seconds:.1f} s later; "
            f"acknowledged writes looked for on it: {looked}, missing: {len(not_there)}"
        )
        print("\n".join(lines[1:]))

    assert killed == first_primary and promoted == new_primary != first_primary
    assert not_there == [], "writes the app acknowledged, not on the new primary"
    assert looked >= drill.patients * 3, "patients, tokens and claims were looked for"
    assert lost == {}, lines[-1]
