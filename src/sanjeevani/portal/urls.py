"""Public pages and the administrators' overview (every other role lands in its own app:
see ``portal.landing``)."""

from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("overview/", views.overview, name="overview"),
]
