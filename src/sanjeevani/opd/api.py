"""API routes for this app under /api/v1/."""

from django.urls import path  # noqa: F401

app_name = "opd-api"
urlpatterns: list = []
