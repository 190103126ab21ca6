"""Page routes of assisted registration, mounted at /assisted/ (namespace ``assisted``).
The OPD steps (a patient's page, a token, the room) are ``opd:assisted_*``
(``opd.assisted_urls``)."""

from django.urls import path

from . import assisted_views as views

app_name = "assisted"
urlpatterns = [
    path("", views.desk, name="desk"),
    path("register/", views.register, name="register"),
    path("patients/", views.patient_list, name="patients"),
]
