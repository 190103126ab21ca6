"""A real ASGI server (uvicorn subprocess) on the pytest test database, for WebRTC peers and
browser tests. Reused by tests/realtime/ and tests/e2e/.

The subprocess gets ``DATABASE_URL`` built from the test connection (the SQLite test file,
or PostgreSQL's ``test_<name><suffix>``), the same ``SECRET_KEY`` (so room tokens and session
cookies made in the test process verify there) and ``MEDIA_ROOT``; ``REDIS_URL`` passes
through, so two servers share the channel layer when it is set.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
from django.conf import settings
from django.db import connection

from tests.polling import wait_until

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def machine_address() -> str:
    """A non-loopback address of this machine (aioice never offers 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("10.255.255.255", 1))
            return sock.getsockname()[0]
        except OSError:
            return socket.gethostbyname(socket.gethostname())


def live_database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = quote(db.get("USER") or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def server_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=live_database_url(),
        SECRET_KEY=settings.SECRET_KEY,
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        DEBUG="1",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def _answers(base: str) -> bool:
    try:
        httpx.get(base + "/", timeout=2)
    except httpx.HTTPError:
        return False
    return True


@contextlib.contextmanager
def running_server(**env: str) -> Iterator[str]:
    """Serve the project on a free port until the block ends; yields the base URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "sanjeevani.config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--ws",
            "websockets",
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=server_env(**env),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        answering = wait_until(
            lambda: process.poll() is not None or _answers(base), timeout=60, interval=0.2
        )
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        if not answering:
            raise RuntimeError("the server did not start within 60 s")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def call_next_case_through_server(base: str, doctor_user) -> str:
    """The hub doctor's "Call next" through the server's API, as the doctor's console sends
    it, so the server's own sockets hear the call (without Redis a test process's service
    call reaches none of them); returns the consultation's id."""
    from sanjeevani.accounts.api_tokens import issue_api_token

    key = issue_api_token(doctor_user, "127.0.0.1").key
    request = urllib.request.Request(
        f"{base}/api/v1/hub/consultations/doctor/call-next/",
        method="POST",
        headers={"Authorization": f"Token {key}", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the test's server
        return json.load(response)["consultation"]
