"""What every WebSocket consumer does for observability: one request id per connection
(a valid ``X-Request-ID`` from the upgrade request, else a new one) for its log lines,
audit rows and events, and the open-connections gauge per consumer.

Bottom layer: a mixin over Channels' consumers, importing nothing of the project above.
"""

from __future__ import annotations

from typing import Any

from .context import bind_request_id
from .metrics import socket_closed, socket_opened


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class ObservedConnection:
    """Put first among a consumer's bases. ``connection_kind`` labels the gauge (the
    class's name by default). A connection counts from its accept to its disconnect."""

    connection_kind: str = ""
    request_id: str = ""
    _counted: bool = False

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        # The connection's task runs every handler of this consumer, so the id set here
        # holds for all of them (and the database threads they call copy it).
        self.request_id = bind_request_id(_header(self.scope, b"x-request-id"))
        await super().websocket_connect(message)  # type: ignore[misc]

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        await super().accept(subprotocol, headers)  # type: ignore[misc]
        if not self._counted:
            self._counted = True
            socket_opened(self.connection_kind or type(self).__name__)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        try:
            await super().websocket_disconnect(message)  # type: ignore[misc]
        finally:
            if self._counted:
                self._counted = False
                socket_closed(self.connection_kind or type(self).__name__)
