"""Public pages and each staff role's landing page (patients and doctors land in their
own apps: /patients/ and /consultations/)."""

from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("cho/", views.cho_workspace, name="cho_workspace"),
    path("hub/", views.hub_workspace, name="hub_workspace"),
    path("operator/", views.operator_desk, name="operator_desk"),
    path("overview/", views.overview, name="overview"),
]
