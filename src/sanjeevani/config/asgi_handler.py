"""Django's ASGI handler with the middleware chain and the view run in one thread.

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
"""

from __future__ import annotations

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler


class SyncChainASGIHandler(ASGIHandler):
    """``ASGIHandler`` whose middleware chain and views run in the request's thread."""

    def __init__(self) -> None:
        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)


def get_asgi_application() -> SyncChainASGIHandler:
    """``django.core.asgi.get_asgi_application`` with the one-thread chain."""
    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
