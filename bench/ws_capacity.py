"""WebSocket capacity of one app process: idle waiting-room-like connections held, memory
per connection, fan-out delay of one queue event to all of them, and the signalling relay
delay between two peers of a consultation room.

    .venv/bin/python bench/ws_capacity.py --connections 5000

Starts its own uvicorn process (DEBUG on, a scratch SQLite database under a temporary
folder, in-process channel layer unless --redis URL) serving ``bench/ws_feed.py``: the
project's application plus a bench feed (``ws/bench/feed/``) that production does not
route. The idle connections use that feed: each joins one broadcast group through
the same local fan-out and forwarding code as a waiting room joining its OPD's group
(``sanjeevani.realtime.fanout``); one client publishes through the channel layer and the
server fans the event out.
The idle connections are spread over ``--client-processes`` processes (default 2), so that
one client process reading 5,000 frames in turn does not become what is measured; each
stamps arrivals with the wall clock (``time.time``, one clock on one machine) against the
publisher's stamp, and the delays are reported overall and per client process.
Targets: 5,000 held, fan-out p95 under 1 s; relay p95 under 50 ms on loopback.
``--profile FILE`` runs the server under cProfile and prints where its time went (the
delays it prints then include the profiler's overhead).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import pstats
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def prepare_database(env: dict[str, str]) -> tuple[str, str, str]:
    """Migrate the scratch database and make one consultation; returns its id and two
    room tokens (doctor, patient), minted with the server's SECRET_KEY."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=REPO,
        env=env,
        check=True,
    )
    script = """
import django, datetime
django.setup()
from sanjeevani.accounts.models import User, Role
from sanjeevani.registry.models import DoctorProfile, State
from sanjeevani.patients.models import Patient
from sanjeevani.consultations.models import Consultation
from sanjeevani.realtime.tokens import issue_token
state = State.objects.first() or State.objects.create(code="BN", name="Bench")
doctor = User.objects.create(username="bench-doctor", role=Role.DOCTOR)
account = User.objects.create(username="+919800000001", mobile="+919800000001")
profile = DoctorProfile.objects.create(
    user=doctor, registration_number="B-1", council="Bench", qualification="MBBS")
patient = Patient.objects.create(account=account, name="Bench", age_years=30, sex="F", state=state)
c = Consultation.objects.create(
    service_line="opd", patient=patient, doctor=profile, status="in_progress")
print(c.pk, issue_token(c.pk, doctor.pk), issue_token(c.pk, account.pk))
"""
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env={**env, "DJANGO_SETTINGS_MODULE": "sanjeevani.config.settings"},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return out[-3], out[-2], out[-1]


async def open_many(url: str, origin: str, n: int, batch: int = 250) -> list:
    connections: list = []
    while len(connections) < n:
        size = min(batch, n - len(connections))
        opened = await asyncio.gather(
            *[
                websockets.connect(url, origin=origin, ping_interval=None, max_queue=4)
                for _ in range(size)
            ]
        )
        connections.extend(opened)
    return connections


async def idle_clients(url: str, origin: str, count: int, rounds: int, pipe) -> None:
    """One client process: when told, hold ``count`` connections; time each round's arrivals."""
    await asyncio.to_thread(pipe.recv)
    connections = await open_many(url, origin, count)
    pipe.send(("ready", len(connections)))

    async def arrival(ws) -> float:
        message = json.loads(await asyncio.wait_for(ws.recv(), 30))
        return time.time() - message["t"]

    for _ in range(rounds):
        results = await asyncio.gather(*[arrival(ws) for ws in connections], return_exceptions=True)
        delays = [r for r in results if isinstance(r, float)]
        pipe.send(("round", delays, len(results) - len(delays)))
    await asyncio.to_thread(pipe.recv)  # held until the relay measurement is done
    await asyncio.gather(*[ws.close() for ws in connections], return_exceptions=True)


def client_process(url: str, origin: str, count: int, rounds: int, pipe) -> None:
    asyncio.run(idle_clients(url, origin, count, rounds, pipe))


def start_clients(url: str, origin: str, total: int, processes: int, rounds: int) -> list:
    """Fork the client processes (before this process starts its event loop); they wait for
    a word before they connect."""
    context = multiprocessing.get_context("fork")
    clients = []
    for index in range(processes):
        count = total // processes + (1 if index < total % processes else 0)
        mine, theirs = context.Pipe()
        worker = context.Process(
            target=client_process, args=(url, origin, count, rounds, theirs), daemon=True
        )
        worker.start()
        clients.append((worker, mine))
    return clients


async def fan_out(clients: list, control, rounds: int) -> tuple[list[list[float]], int]:
    """Per client process, the delays of every round; and the arrivals missed."""
    delays: list[list[float]] = [[] for _ in clients]
    missing = 0
    for _ in range(rounds):
        await control.send(json.dumps({"publish": time.time()}))
        for index, (_worker, pipe) in enumerate(clients):
            _kind, got, missed = await asyncio.to_thread(pipe.recv)
            delays[index].extend(got)
            missing += missed
        await control.recv()  # the control connection gets the event too
        await asyncio.sleep(0.5)
    return delays, missing


async def relay(base_ws: str, origin: str, consultation: str, tokens: list[str], samples: int):
    room = f"{base_ws}/ws/room/{consultation}/"
    doctor = await websockets.connect(f"{room}?token={tokens[0]}", origin=origin)
    patient = await websockets.connect(f"{room}?token={tokens[1]}", origin=origin)
    peer_ids = []
    for ws in (doctor, patient):
        welcome = json.loads(await ws.recv())
        assert welcome["type"] == "welcome", welcome
        peer_ids.append(welcome["peer_id"])

    async def next_candidate(ws):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == "ice-candidate":
                return message

    delays = []
    pairs = [(doctor, patient, peer_ids[1]), (patient, doctor, peer_ids[0])]
    for n in range(samples):
        sender, receiver, to = pairs[n % 2]
        candidate = {"candidate": "candidate:1 1 udp 1 10.0.0.1 9 typ host", "sdpMid": "0"}
        started = time.perf_counter()
        await sender.send(json.dumps({"type": "ice-candidate", "to": to, "candidate": candidate}))
        await next_candidate(receiver)
        delays.append(time.perf_counter() - started)
        await asyncio.sleep(0.03)
    await doctor.close()
    await patient.close()
    return delays


async def measure(
    args, port: int, pid: int, consultation: str, tokens: list[str], clients: list
) -> None:
    origin = f"http://127.0.0.1:{port}"
    base_ws = f"ws://127.0.0.1:{port}"
    feed = f"{base_ws}/ws/bench/feed/"
    control = await websockets.connect(feed, origin=origin, ping_interval=None)
    await asyncio.sleep(1)
    before = rss_kib(pid)
    started = time.perf_counter()
    for _worker, pipe in clients:
        pipe.send("open")
    held = 0
    for _worker, pipe in clients:
        held += (await asyncio.to_thread(pipe.recv))[1]
    opened_in = time.perf_counter() - started
    await asyncio.sleep(2)
    after = rss_kib(pid)
    per_process, missing = await fan_out(clients, control, args.rounds)
    fanned = rss_kib(pid)
    relay_delays = await relay(base_ws, origin, consultation, tokens, args.relay_samples)
    for worker, pipe in clients:
        pipe.send("close")
        await asyncio.to_thread(worker.join, 30)
    await control.close()

    delays = [d for per in per_process for d in per]
    print(f"connections held:            {held} (opened in {opened_in:.1f} s)")
    print(f"server RSS before / after:   {before / 1024:.1f} MiB / {after / 1024:.1f} MiB")
    print(f"memory per connection:       {(after - before) / max(held, 1):.1f} KiB")
    print(
        f"  after the fan-out:         {(fanned - before) / max(held, 1):.1f} KiB "
        "(permessage-deflate state grows with a socket's first frames)"
    )
    print(
        f"fan-out delay ({args.rounds} events x {held}, {len(clients)} client processes): "
        f"p50 {statistics.median(delays) * 1000:.0f} ms, "
        f"p95 {percentile(delays, 0.95) * 1000:.0f} ms, "
        f"max {max(delays) * 1000:.0f} ms, missed {missing}"
    )
    print(
        "  p95 per client process:   "
        + ", ".join(f"{percentile(per, 0.95) * 1000:.0f} ms" for per in per_process if per)
    )
    print(
        f"signalling relay ({len(relay_delays)} messages, {held} idle open): "
        f"p50 {statistics.median(relay_delays) * 1000:.1f} ms, "
        f"p95 {percentile(relay_delays, 0.95) * 1000:.1f} ms"
    )
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--relay-samples", type=int, default=300)
    parser.add_argument(
        "--client-processes", type=int, default=2, help="processes holding the idle clients"
    )
    parser.add_argument("--redis", default="", help="REDIS_URL for the channel layer")
    parser.add_argument("--ws", default="websockets-sansio", help="uvicorn --ws implementation")
    parser.add_argument(
        "--profile",
        default="",
        help="run the server under cProfile, save the stats to this file and print the top",
    )
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, args.connections * 2 + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))

    scratch = Path(tempfile.mkdtemp(prefix="sanjeevani-bench-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        SANJEEVANI_VAR=str(scratch),
        DATABASE_URL=f"sqlite:///{scratch / 'bench.sqlite3'}",
        SECRET_KEY=secrets.token_urlsafe(50),
        DEBUG="1",
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
    )
    if args.redis:
        env["REDIS_URL"] = args.redis
    consultation, doctor_token, patient_token = prepare_database(env)
    port = free_port()
    profiler = ["-m", "cProfile", "-o", args.profile] if args.profile else []
    server = subprocess.Popen(
        [
            sys.executable,
            *profiler,
            "-m",
            "uvicorn",
            "bench.ws_feed:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--ws",
            args.ws,
            "--log-level",
            "warning",
            "--backlog",
            "4096",
        ],
        cwd=REPO,
        env=env,
    )
    try:
        for _ in range(300):
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        origin = f"http://127.0.0.1:{port}"
        feed = f"ws://127.0.0.1:{port}/ws/bench/feed/"
        clients = start_clients(feed, origin, args.connections, args.client_processes, args.rounds)
        tokens = [doctor_token, patient_token]
        asyncio.run(measure(args, port, server.pid, consultation, tokens, clients))
    finally:
        # uvicorn re-raises the signal it stopped on; cProfile saves its stats on SIGINT's
        # KeyboardInterrupt, but a process that SIGTERM ends saves nothing.
        server.send_signal(signal.SIGINT if args.profile else signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            # Seen over Redis: a consumer's cancelled blocking read that never ends (redis-py
            # can swallow a cancellation), so uvicorn waits for its task for ever.
            print("the server did not stop within 30 s of SIGTERM; killed it", file=sys.stderr)
            server.kill()
            server.wait()
    if args.profile:
        stats = pstats.Stats(args.profile)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
