"""With PROMETHEUS_MULTIPROC_DIR, /metrics sums what every worker process counted (run in a
subprocess: prometheus_client reads the variable when it is imported)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import multiprocessing
    import sys

    import django

    django.setup()

    from django.db import connection

    from sanjeevani.observability import metrics
    from sanjeevani.observability.views import exposition


    def worker(claims):
        for _ in range(claims):
            metrics.count_claim("hub")  # outside a transaction: counted at once
        metrics.socket_opened("RoomConsumer")


    if __name__ == "__main__":
        # The first connection turns the new file to WAL; two forked workers doing that at
        # once can get "database is locked" without the busy handler being asked.
        connection.ensure_connection()
        connection.close()
        context = multiprocessing.get_context("fork")
        workers = [context.Process(target=worker, args=(n,)) for n in (2, 3)]
        for process in workers:
            process.start()
        for process in workers:
            process.join(60)
            assert process.exitcode == 0
        sys.stdout.write(exposition().decode())
    """
)


def test_metrics_sum_every_worker(tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "DJANGO_SETTINGS_MODULE": "sanjeevani.config.settings",
        "PYTHONPATH": str(ROOT / "src"),
        # An empty database: the queue figures fail and say so; the counters do not need it.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        "SANJEEVANI_VAR": str(tmp_path / "var"),
    }
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert 'sanjeevani_claims_total{line="hub"} 5.0' in lines
    assert 'sanjeevani_websocket_connections{consumer="RoomConsumer"} 2.0' in lines
    assert "sanjeevani_queue_collector_up 0.0" in lines
