"""What a request's database connection costs, with and without the pool (DB_POOL_MAX_SIZE).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/db_pool.py

Each "request" is what a request's end does to its connection: take one, run a small
query, give it back (``close()``: without a pool the connection is closed, with the pool
it goes back to it). Prints, for each way, wall time and the CPU spent by this process and
by every PostgreSQL process on the machine (from /proc), per request, and the ratio of
the pool to a new connection per request, measured in the same run (twice each,
alternating, so the machine's drift shows).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def postgres_cpu_seconds() -> float:
    """User + system CPU of every process named postgres (the server's backends)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)
            name = fields[0].split("(", 1)[1]
            rest = fields[1].split()
        except (OSError, IndexError):
            continue
        if name.startswith("postgres"):
            # Own CPU plus that of its exited children (backends that closed).
            total += sum(int(rest[i]) for i in (11, 12, 13, 14))
    return total / ticks


def measure(wrapper, requests: int) -> tuple[float, float, float]:
    wall, cpu, server = time.perf_counter(), time.process_time(), postgres_cpu_seconds()
    for _ in range(requests):
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        wrapper.close()
    return (
        (time.perf_counter() - wall) / requests * 1000,
        (time.process_time() - cpu) / requests * 1000,
        (postgres_cpu_seconds() - server) / requests * 1000,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print("needs PostgreSQL: set DATABASE_URL=postgres://…", file=sys.stderr)
        return 2
    os.environ.pop("DB_POOL_MAX_SIZE", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanjeevani.config.settings")
    import django

    django.setup()
    from django.db import connection
    from django.db.backends.postgresql.base import DatabaseWrapper

    plain = DatabaseWrapper({**connection.settings_dict}, alias="bench_plain")
    options = {**connection.settings_dict.get("OPTIONS", {}), "pool": {"max_size": 4}}
    pooled = DatabaseWrapper(
        {**connection.settings_dict, "OPTIONS": options, "CONN_HEALTH_CHECKS": True},
        alias="bench_pooled",
    )
    measure(pooled, 50)
    measure(plain, 50)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"{args.requests} requests per run")  # fmt: skip
    print(f"{'per request':<32} {'wall ms':>9} {'client CPU ms':>14} {'PostgreSQL CPU ms':>18}")
    runs: dict[str, list] = {"new connection": [], "pool (checked)": []}
    for _round in range(2):
        for label, wrapper in (("new connection", plain), ("pool (checked)", pooled)):
            figures = measure(wrapper, args.requests)
            runs[label].append(figures)
            print(f"{label:<32} {figures[0]:9.3f} {figures[1]:14.3f} {figures[2]:18.3f}")
    pooled.close_pool()

    def mean(label: str, index: int) -> float:
        return sum(run[index] for run in runs[label]) / len(runs[label])

    for index, name in enumerate(("wall", "client CPU", "PostgreSQL CPU")):
        ratio = mean("pool (checked)", index) / mean("new connection", index)
        print(f"ratio pool / new connection, {name}: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
