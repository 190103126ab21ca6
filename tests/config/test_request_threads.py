"""Each HTTP request runs in a thread borrowed from the node's long-lived ones
(config/asgi_handler.py), and a request cancelled mid-view never shares its thread."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.http import HttpResponse
from django.urls import path

from sanjeevani.config.asgi_handler import RequestThreads, SyncChainASGIHandler

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls(__name__)]

served_by: list[threading.Thread] = []
view_started = threading.Event()
release_view = threading.Event()


def which_thread(request):
    served_by.append(threading.current_thread())
    return HttpResponse("ok")


def slow(request):
    served_by.append(threading.current_thread())
    view_started.set()
    release_view.wait(timeout=30)
    return HttpResponse("done")


urlpatterns = [path("thread/", which_thread), path("slow/", slow)]


@pytest.fixture(autouse=True)
def fresh_state():
    served_by.clear()
    view_started.clear()
    release_view.clear()
    yield
    release_view.set()


async def get(app, url: str, disconnect: asyncio.Event | None = None) -> list[dict]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": url,
        "raw_path": url.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    body = [{"type": "http.request", "body": b"", "more_body": False}]
    sent: list[dict] = []

    async def receive() -> dict:
        if body:
            return body.pop()
        await (disconnect or asyncio.Event()).wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def status_of(sent: list[dict]) -> int | None:
    return next((m["status"] for m in sent if m["type"] == "http.response.start"), None)


async def idle_threads_become(app: SyncChainASGIHandler, count: int) -> None:
    for _ in range(1000):  # up to 10 s on a busy machine
        if len(app.threads.idle) == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{len(app.threads.idle)} idle threads, expected {count}")


async def test_requests_one_after_another_are_served_by_one_kept_thread():
    app = SyncChainASGIHandler()
    for _ in range(5):
        assert status_of(await get(app, "/thread/")) == 200
        await idle_threads_become(app, 1)
    assert len(served_by) == 5 and len(set(served_by)) == 1
    assert served_by[0] is not threading.current_thread()


async def test_requests_at_once_each_get_their_own_thread_and_all_are_kept():
    app = SyncChainASGIHandler()
    release_view.set()
    answers = await asyncio.gather(*(get(app, "/slow/") for _ in range(3)))
    assert [status_of(a) for a in answers] == [200, 200, 200]
    await idle_threads_become(app, len(set(served_by)))
    assert len(app.threads.idle) >= 1


async def test_a_thread_still_running_a_cancelled_request_is_lent_to_no_other():
    app = SyncChainASGIHandler()
    disconnect = asyncio.Event()
    first = asyncio.create_task(get(app, "/slow/", disconnect))
    await asyncio.to_thread(view_started.wait, 10)
    disconnect.set()  # the client goes away while the view still runs
    await asyncio.sleep(0.1)
    assert app.threads.idle == []

    assert status_of(await get(app, "/thread/")) == 200
    assert served_by[1] is not served_by[0]
    await idle_threads_become(app, 1)

    release_view.set()  # the cancelled view returns; only now is its thread free again
    await asyncio.wait_for(first, 10)
    await idle_threads_become(app, 2)


async def test_threads_beyond_those_kept_end_once_their_request_is_done():
    threads = RequestThreads(keep=1)
    lent = [threads.lend(), threads.lend()]
    threads.give_back(lent[0])
    threads.give_back(lent[1])
    for _ in range(1000):  # up to 10 s on a busy machine
        if threads.idle and lent[1]._shutdown:
            break
        await asyncio.sleep(0.01)
    assert threads.idle == [lent[0]]
    assert lent[1]._shutdown and not lent[0]._shutdown
    lent[0].shutdown()
