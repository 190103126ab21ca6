"""What each HTTP request pays for its thread: one uvicorn node's CPU per request with
Django's stock ASGI handler, with the project's one-thread chain and a new thread per
request (before 2026-12-06), and with the chain on kept threads (``config/asgi_handler.py``).

    .venv/bin/python bench/request_threads.py [--requests 3000] [--concurrency 4] [--rounds 2]

Each variant runs as its own uvicorn process (``--factory``, one worker, a scratch folder,
SQLite, in-process channel layer) and answers ``/healthz``, which the middleware chain
answers without a database query, so what differs between the variants is the hand-off to
the request's thread and back. The node's CPU (utime + stime from /proc) is read before and
after each round; rounds alternate between the variants, so a machine that slows down part
way slows all of them alike. Figures are printed per variant and as a ratio to the stock
handler measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
VARIANTS = {
    "Django's ASGIHandler": "stock",
    "one-thread chain, a new thread per request": "thread_per_request",
    "one-thread chain, kept threads (shipped)": "kept_threads",
}


def stock():
    """Django's own handler: its chain built for async, a new thread per request."""
    from django.core.asgi import get_asgi_application

    return get_asgi_application()


def thread_per_request():
    """The project's chain entered as Django does: a new thread per request, joined by
    another."""
    from django.core.handlers.asgi import ASGIHandler

    from sanjeevani.config.asgi_handler import get_asgi_application

    app = get_asgi_application()
    app.__class__ = type("ThreadPerRequest", (app.__class__,), {"__call__": ASGIHandler.__call__})
    return app


def kept_threads():
    """What production runs (``sanjeevani.config.asgi``'s HTTP handler)."""
    from sanjeevani.config.asgi_handler import get_asgi_application

    return get_asgi_application()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_node(factory: str, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    node = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            f"bench.request_threads:{factory}",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=REPO,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return node, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    node.kill()
    raise SystemExit(f"{factory}: the node did not answer /healthz")


async def drive(base: str, requests: int, concurrency: int) -> tuple[float, int]:
    """Send ``requests`` GETs from ``concurrency`` keep-alive connections; the wall time
    and how many were not 200."""
    failures = 0
    remaining = iter(range(requests))

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal failures
        for _ in remaining:
            response = await client.get(f"{base}/healthz")
            failures += response.status_code != 200

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return time.perf_counter() - started, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="request-threads-")
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in ("DATABASE_URL", "REDIS_URL", "MAX_CONCURRENT_REQUESTS", "PROMETHEUS_MULTIPROC_DIR")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="sanjeevani.config.settings",
        SANJEEVANI_VAR=scratch,
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
    )
    nodes = {label: start_node(factory, env) for label, factory in VARIANTS.items()}
    cpu: dict[str, float] = dict.fromkeys(VARIANTS, 0.0)
    wall: dict[str, float] = dict.fromkeys(VARIANTS, 0.0)
    try:
        for _node, base in nodes.values():
            asyncio.run(drive(base, 300, args.concurrency))  # warm: imports, first threads
        for _ in range(args.rounds):
            for label, (node, base) in nodes.items():
                before = cpu_seconds(node.pid)
                seconds, failures = asyncio.run(drive(base, args.requests, args.concurrency))
                if failures:
                    raise SystemExit(f"{label}: {failures} requests were not answered 200")
                cpu[label] += cpu_seconds(node.pid) - before
                wall[label] += seconds
    finally:
        for node, _base in nodes.values():
            node.terminate()
        for node, _base in nodes.values():
            node.wait(timeout=20)
        shutil.rmtree(scratch, ignore_errors=True)

    total = args.requests * args.rounds
    baseline = cpu["Django's ASGIHandler"] / total
    print(
        f"GET /healthz, {args.rounds} rounds of {args.requests} requests per variant, "
        f"{args.concurrency} keep-alive connections; load average {os.getloadavg()[0]:.1f}"
    )
    for label in VARIANTS:
        per_request = cpu[label] / total
        print(
            f"  {label:45s} node CPU {1000 * per_request:6.3f} ms per request "
            f"({per_request / baseline:4.2f} of the stock handler); "
            f"{total / wall[label]:6.0f} requests/s"
        )


if __name__ == "__main__":
    main()
