"""Django's ASGI handler with the middleware chain and the view run in one thread, a
long-lived one.

Every view here is synchronous (the ORM), and so are the project's own middleware. Under
Django's stock ``ASGIHandler`` the chain is built for async: each of Django's middleware
that can run either way then runs on the event loop and hands every ``process_request``
and ``process_response`` to the request's thread and back, the view is another hand-off,
and a sync middleware in between hands back to the loop again: about 2 ms of CPU per
request in hand-offs, 40 % of a signed-in API read (measured in-process on PostgreSQL;
docs/deployment.md, "What one node carries").

This handler builds the same chain in sync mode (as under WSGI: the view is called
directly) and enters it with a single ``sync_to_async`` hand-off, thread-sensitive as
Django's own, so the request's database connection stays in the request's thread. An async
view, if one is ever added, still works: Django adapts it inside the chain.

The stock handler also starts a new thread for every request and a second one to join it
(asgiref's ``ThreadSensitiveContext``), and the event loop waits while each starts: in
``bench/peak_day.py`` about a quarter of the loop's samples. Here each request borrows a
thread that stays (``RequestThreads``).
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler

#: Idle threads kept for the next requests; a burst beyond it gets threads that end after.
#: Above a node's usual ``MAX_CONCURRENT_REQUESTS`` (the pool's size plus a little), so a
#: bounded node makes each of its threads once.
IDLE_THREADS_KEPT = 64


class RequestThreads:
    """One-thread executors lent to requests, one each, and kept for the next.

    A request cancelled on disconnect leaves its view running in the thread (Python cannot
    stop it): its executor is lent again only once that view has returned, so no two
    requests ever share a thread at once. Used from the event loop only."""

    def __init__(self, keep: int = IDLE_THREADS_KEPT) -> None:
        self.keep = keep
        self.idle: list[ThreadPoolExecutor] = []

    def lend(self) -> ThreadPoolExecutor:
        if self.idle:
            return self.idle.pop()
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")

    def give_back(self, executor: ThreadPoolExecutor) -> None:
        """Keep ``executor`` for another request once all the work given to it is done
        (its one thread runs work in order, so a no-op queued now runs last)."""
        loop = asyncio.get_running_loop()

        def idle_again(_done: Future) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed: the node is stopping
                loop.call_soon_threadsafe(self._keep_or_end, executor)

        with contextlib.suppress(RuntimeError):  # shut down: the interpreter is exiting
            executor.submit(_nothing).add_done_callback(idle_again)

    def _keep_or_end(self, executor: ThreadPoolExecutor) -> None:
        if len(self.idle) < self.keep:
            self.idle.append(executor)
        else:
            executor.shutdown(wait=False)


def _nothing() -> None:
    return None


class SyncChainASGIHandler(ASGIHandler):
    """``ASGIHandler`` whose middleware chain and views run in the request's thread, one
    of ``RequestThreads``."""

    def __init__(self) -> None:
        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)
        self.threads = RequestThreads()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = self.threads.lend()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self.threads.give_back(executor)


def get_asgi_application() -> SyncChainASGIHandler:
    """``django.core.asgi.get_asgi_application`` with the one-thread chain."""
    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
