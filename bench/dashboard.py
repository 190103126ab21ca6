"""The dashboards at 10 thousand and at 10 million consultations, on PostgreSQL: the public
national page, a state's page and its spokes' page, p50/p95 cold (cache cleared before each
request) and warm (served from the cache), and the ratio of the large to the small (target:
p95 under 100 ms cold and warm, ratio under 2); the time of ``seed_national`` for each size
and of importing the national registry file (115,234 spokes and their hub links).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/dashboard.py
        [--small-n 10000] [--large-n 10000000] [--reuse] [--requests 100] [--skip-import]

Two databases, ``sv_bench_small`` and ``sv_bench_large`` on the server of DATABASE_URL, so
both sizes stay for later runs: each is made (dropped first) with the migrations, then
``seed_national --consultations N`` is timed (with the rollups, as the command writes them:
into a fresh database it counts them while generating the rows, no rebuild afterwards);
``--reuse`` keeps a database that already has consultations (migrating it) and times
nothing.
The pages are served in a child process per database through Django's test client (the
whole request path: middleware, session, view, template, cache), the cache cleared before
each cold request; the state page is read as that state's administrator (Andhra Pradesh,
the largest state). The import is timed in a third database, ``sv_bench_import``, with
``manage.py import_registry`` on the file of ``bench/registry_file.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
PYTHON = sys.executable
TARGET_P95_MS = 100.0
TARGET_RATIO = 2.0


def _url(base: str, name: str) -> str:
    return base.rsplit("/", 1)[0] + "/" + name


def _psql_admin(base: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(_url(base, "postgres"), autocommit=True) as conn:
        conn.execute(sql)


def _has_consultations(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM consultations_consultation").fetchone()
            return bool(row and row[0])
    except psycopg.Error:
        return False


def _manage(url: str, *args: str) -> float:
    """Run manage.py with this database; its wall time in seconds."""
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1"}
    started = time.monotonic()
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], env=env, check=True)
    return time.monotonic() - started


def _fresh(base: str, name: str) -> str:
    _psql_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _psql_admin(base, f'CREATE DATABASE "{name}"')
    url = _url(base, name)
    _manage(url, "migrate", "-v0")
    return url


def _seed(base: str, name: str, n: int, reuse: bool) -> tuple[str, float | None]:
    url = _url(base, name)
    if reuse and _has_consultations(url):
        print(f"{name}: reusing its consultations (migrated to this code first)")
        _manage(url, "migrate", "-v0")
        return url, None
    url = _fresh(base, name)
    print(f"{name}: seed_national --consultations {n:,}", flush=True)
    return url, _manage(url, "seed_national", "--consultations", str(n), "--seed", "1")


def _measure(url: str, requests: int, pages: str) -> dict:
    env = {**os.environ, "DATABASE_URL": url}
    out = subprocess.run(
        [PYTHON, __file__, "--measure", url, "--requests", str(requests), "--pages", pages],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _child(requests: int, wanted: list[str]) -> None:
    """In a process bound to one database: time the pages, print the figures as JSON."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanjeevani.config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache
    from django.test import Client
    from django.test.utils import setup_test_environment

    from sanjeevani.accounts.models import Role, User
    from sanjeevani.consultations.models import Consultation
    from sanjeevani.registry.models import Posting, State

    setup_test_environment()  # the test client's host is allowed
    settings.REQUIRE_STAFF_2FA = False  # the bench signs in without a second factor
    state = State.objects.get(code="AP")
    admin, _created = User.objects.get_or_create(
        username="bench-state-admin-ap", defaults={"role": Role.STATE_ADMIN, "is_staff": True}
    )
    Posting.objects.get_or_create(user=admin, defaults={"state": state})
    public, staff = Client(), Client()
    staff.force_login(admin)
    pages = {
        "public": (public, "/dashboard/"),
        "state": (staff, f"/dashboard/state/{state.code}/"),
        "spokes": (staff, f"/dashboard/state/{state.code}/spokes/"),
    }
    pages = {name: page for name, page in pages.items() if name in wanted}
    result: dict = {"consultations": Consultation.objects.count()}
    for name, (client, path) in pages.items():
        first = client.get(path)
        if first.status_code != 200:
            raise SystemExit(f"{path}: HTTP {first.status_code}")
        for mode in ("cold", "warm"):
            times = []
            for _ in range(requests):
                if mode == "cold":
                    cache.clear()
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
            times.sort()
            result[f"{name}_{mode}"] = {
                "p50": statistics.median(times),
                "p95": times[max(0, int(len(times) * 0.95) - 1)],
            }
    print(json.dumps(result))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small-n", type=int, default=10_000)
    parser.add_argument("--large-n", type=int, default=10_000_000)
    parser.add_argument("--small-db", default="sv_bench_small")
    parser.add_argument("--large-db", default="sv_bench_large")
    parser.add_argument("--reuse", action="store_true", help="keep seeded databases")
    parser.add_argument("--requests", type=int, default=100, help="per page and mode")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument(
        "--pages", default="public,state,spokes", help="which pages: public,state,spokes"
    )
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        _child(args.requests, args.pages.split(","))
        return 0
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        print("DATABASE_URL must name a PostgreSQL server (any database on it)")
        return 2

    sizes = {}
    for label, name, n in (
        ("small", args.small_db, args.small_n),
        ("large", args.large_db, args.large_n),
    ):
        url, seconds = _seed(base, name, n, args.reuse)
        sizes[label] = {"url": url, "seed_s": seconds}
    for label in sizes:
        sizes[label]["figures"] = _measure(sizes[label]["url"], args.requests, args.pages)

    import_s = None
    if not args.skip_import:
        path = ROOT / "var" / "national-registry.csv"
        subprocess.run([PYTHON, str(ROOT / "bench" / "registry_file.py"), str(path)], check=True)
        url = _fresh(base, "sv_bench_import")
        import_s = _manage(url, "import_registry", str(path))

    print()
    small, large = sizes["small"]["figures"], sizes["large"]["figures"]
    print(f"consultations: small {small['consultations']:,}, large {large['consultations']:,}")
    heads = "".join(f"{h:>11}" for h in ("small p50", "small p95", "large p50", "large p95"))
    target = f"target p95 < {TARGET_P95_MS:.0f} ms, ratio < {TARGET_RATIO:.0f}"
    print(f"{'page':<14}{heads}{'ratio p95':>11}  {target}")
    for key in (
        "public_cold",
        "public_warm",
        "state_cold",
        "state_warm",
        "spokes_cold",
        "spokes_warm",
    ):
        if key not in small or key not in large:
            continue
        s, g = small[key], large[key]
        ratio = g["p95"] / s["p95"] if s["p95"] else float("inf")
        ok = g["p95"] < TARGET_P95_MS and s["p95"] < TARGET_P95_MS and ratio < TARGET_RATIO
        print(f"{key:<14}{s['p50']:>9.1f}ms{s['p95']:>9.1f}ms{g['p50']:>9.1f}ms{g['p95']:>9.1f}ms"
              f"{ratio:>11.2f}  {'met' if ok else 'NOT met'}")  # fmt: skip
    for label in sizes:
        seconds = sizes[label]["seed_s"]
        if seconds is not None:
            print(f"seed_national ({label}): {seconds:,.0f} s")
    if import_s is not None:
        print(f"import_registry, 115,234 spokes and their links: {import_s:,.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
