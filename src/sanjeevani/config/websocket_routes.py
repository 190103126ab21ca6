"""WebSocket routes, collected from the apps that serve live feeds."""

websocket_urlpatterns: list = []
