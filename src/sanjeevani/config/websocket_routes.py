"""WebSocket routes, collected from the apps that serve live feeds."""

from sanjeevani.realtime.routing import websocket_urlpatterns

__all__ = ["websocket_urlpatterns"]
