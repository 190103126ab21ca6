"""Page routes for the room, mounted at /room/."""

from django.urls import path

from . import views

app_name = "realtime"
urlpatterns = [
    path("jsi18n/", views.javascript_catalog, name="javascript-catalog"),
    path("device-check/", views.device_check, name="device-check"),
    path("<uuid:consultation_id>/", views.room, name="room"),
]
