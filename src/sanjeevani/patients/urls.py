"""Page routes for family profiles."""

from django.urls import path

from . import views

app_name = "patients"
urlpatterns = [
    path("", views.family, name="family"),
    path("add/", views.add, name="add"),
    path("<uuid:patient_id>/edit/", views.edit, name="edit"),
    path("<uuid:patient_id>/choose/", views.choose, name="choose"),
]
