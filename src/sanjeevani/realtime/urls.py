"""Page routes for this app."""

from django.urls import path  # noqa: F401

app_name = "realtime"
urlpatterns: list = []
