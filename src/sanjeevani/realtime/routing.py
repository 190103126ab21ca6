"""WebSocket routes served by the realtime app."""

websocket_urlpatterns: list = []
