"""WebSocket routes served by the realtime app."""

from django.conf import settings
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

# A bare fan-out feed for bench/ws_capacity.py; only when DEBUG is on.
if settings.DEBUG:
    from .bench_feed import BenchFeedConsumer

    websocket_urlpatterns += [path("ws/bench/feed/", BenchFeedConsumer.as_asgi())]
