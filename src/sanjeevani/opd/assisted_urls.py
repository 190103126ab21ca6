"""The operator's OPD routes (assisted registration), in the ``opd`` namespace as
``opd:assisted_*`` under /opd/assisted/; the operator's desk and registration are
``assisted:*`` (``patients.assisted_urls``)."""

from django.urls import path

from . import assisted_views as views

urlpatterns = [
    path("patients/<uuid:patient_id>/", views.patient, name="assisted_patient"),
    path("patients/<uuid:patient_id>/opds/", views.opd_list, name="assisted_opd_list"),
    path(
        "patients/<uuid:patient_id>/opds/<uuid:opd_id>/token",
        views.take_token,
        name="assisted_take_token",
    ),
    path("tickets/<uuid:ticket_id>/", views.ticket, name="assisted_ticket"),
    path("tickets/<uuid:ticket_id>/status", views.ticket_status, name="assisted_ticket_status"),
    path("tickets/<uuid:ticket_id>/join", views.join, name="assisted_join"),
    path("tickets/<uuid:ticket_id>/rejoin", views.rejoin, name="assisted_rejoin"),
    path("tickets/<uuid:ticket_id>/cancel", views.cancel, name="assisted_cancel"),
]
