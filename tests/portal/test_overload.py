"""Graceful under overload (config/overload.py): past a worker's bound on requests in
progress, and while the database is down, the answer is 503 with Retry-After and a message
a person can act on, never a 500; health checks are always admitted."""

from __future__ import annotations

import asyncio
import json
from unittest import mock

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import OperationalError
from django.test import Client

from sanjeevani.config.overload import RequestLimit, with_request_limit
from tests.factories import PatientAccountFactory


async def _request(app, path: str, headers: list | None = None) -> tuple[int, dict, bytes]:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "path": path, "method": "GET", "headers": headers or []}
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


def _slow_app(release: asyncio.Event, started: list):
    async def app(scope, receive, send) -> None:
        started.append(scope["path"])
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})

    return app


def test_past_the_bound_a_request_is_answered_busy_at_once_and_the_admitted_ones_finish():
    async def scenario() -> None:
        release, started = asyncio.Event(), []
        limited = RequestLimit(_slow_app(release, started), limit=2, retry_after=7)
        first = asyncio.create_task(_request(limited, "/api/v1/opd/opds/"))
        second = asyncio.create_task(_request(limited, "/opd/"))
        while len(started) < 2:
            await asyncio.sleep(0)
        status, headers, body = await _request(limited, "/api/v1/opd/opds/")
        assert status == 503 and headers["retry-after"] == "7"
        assert json.loads(body)["error"]["code"] == "busy"
        status, headers, body = await _request(
            limited, "/opd/", [(b"accept-language", b"hi-IN,hi;q=0.9")]
        )
        assert status == 503 and headers["content-type"].startswith("text/plain")
        assert "try again" not in body.decode()  # in Hindi: the patient's language
        healthz = asyncio.create_task(_request(limited, "/healthz"))
        while len(started) < 3:
            await asyncio.sleep(0)
        assert started[-1] == "/healthz"  # probes are never turned away
        release.set()
        assert [(await task)[0] for task in (first, second, healthz)] == [200, 200, 200]
        assert limited.in_progress == 0
        status, _headers, _body = await _request(limited, "/opd/")
        assert status == 200  # room again once the admitted requests finished

    asyncio.run(scenario())


def test_a_request_that_fails_still_frees_its_place():
    async def failing(scope, receive, send) -> None:
        raise RuntimeError("view crashed")

    async def scenario() -> None:
        limited = RequestLimit(failing, limit=1)
        for _ in range(3):
            with pytest.raises(RuntimeError):
                await _request(limited, "/opd/")
        assert limited.in_progress == 0

    asyncio.run(scenario())


@pytest.mark.django_db
def test_a_database_that_is_down_is_a_503_with_retry_after_for_the_api_and_the_pages():
    """The session is read from the database by middleware, before any view: that is where
    a restarting database shows first."""
    client = Client(raise_request_exception=False)
    client.force_login(PatientAccountFactory())
    refused = OperationalError("connection refused: the server is restarting")
    with mock.patch.object(SessionStore, "load", side_effect=refused):
        api = client.get("/api/v1/opd/opds/")
        page = client.get("/opd/")
    assert api.status_code == 503 and api["Retry-After"] == "5"
    assert api.json()["error"]["code"] == "unavailable"
    assert "try again" in api.json()["error"]["message"]
    assert page.status_code == 503 and page["Retry-After"] == "5"
    assert b"try again" in page.content.lower()


@pytest.mark.django_db
def test_other_server_errors_stay_500():
    client = Client(raise_request_exception=False)
    client.force_login(PatientAccountFactory())
    with mock.patch.object(SessionStore, "load", side_effect=ValueError("a bug")):
        response = client.get("/api/v1/opd/opds/")
    assert response.status_code == 500 and "Retry-After" not in response


def test_the_bound_comes_from_the_settings(settings):
    app = object()
    settings.MAX_CONCURRENT_REQUESTS = 0
    assert with_request_limit(app) is app  # development and tests: no bound
    settings.MAX_CONCURRENT_REQUESTS, settings.OVERLOAD_RETRY_AFTER = 12, 3
    limited = with_request_limit(app)
    assert isinstance(limited, RequestLimit)
    assert (limited.app, limited.limit, limited.retry_after) == (app, 12, 3)
