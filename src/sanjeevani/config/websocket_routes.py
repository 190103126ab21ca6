"""WebSocket routes, collected from the apps that serve live feeds."""

from django.urls import path

from sanjeevani.hwc.consumers import CentreFeedConsumer
from sanjeevani.realtime.routing import websocket_urlpatterns

# The health worker's workspace: calls and moves of the centre's cases (hwc/consumers.py).
websocket_urlpatterns = [
    *websocket_urlpatterns,
    path("ws/centre/cases/", CentreFeedConsumer.as_asgi()),
]

__all__ = ["websocket_urlpatterns"]
