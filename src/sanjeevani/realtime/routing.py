"""WebSocket routes served by the realtime app. Benchmark feeds are not routed here: a
benchmark mounts them on its own application (bench/ws_feed.py)."""

from django.urls import path

from .consumers import RoomConsumer
from .queue_consumers import DoctorQueueConsumer, WaitingRoomConsumer

websocket_urlpatterns: list = []

# The consultation room (signalling + chat); protocol in docs/realtime.md.
websocket_urlpatterns += [
    path("ws/room/<uuid:consultation_id>/", RoomConsumer.as_asgi()),
]

# Live queue feeds (waiting room, doctor's queue); event shapes in queueing/services.py.
websocket_urlpatterns += [
    path("ws/opd/<uuid:opd_id>/waiting/", WaitingRoomConsumer.as_asgi()),
    path("ws/doctor/queue/", DoctorQueueConsumer.as_asgi()),
]
