"""Public pages: the home page and what leads each kind of user to their sign-in."""

from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
]
