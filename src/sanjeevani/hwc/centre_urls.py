"""The health worker's pages at a spoke, mounted at /centre/ (namespace ``centre``)."""

from django.urls import path

from . import centre_views as views

app_name = "centre"
urlpatterns = [
    path("", views.workspace, name="workspace"),
    path("status/", views.status_feed, name="status"),
    path("patients/", views.find_patient, name="find"),
    path("patients/new/", views.register_patient, name="register"),
    path("patients/<str:patient_id>/", views.patient_page, name="patient"),
    path("patients/<str:patient_id>/cases/new/", views.case_new, name="case_new"),
    path("patients/<str:patient_id>/suggestion/", views.suggest, name="suggest"),
    path("cases/<str:case_id>/", views.case_page, name="case"),
    path("cases/<str:case_id>/attachments/", views.attach, name="attach"),
    path(
        "cases/<str:case_id>/attachments/<str:attachment_id>/",
        views.attachment_file,
        name="attachment",
    ),
    path("cases/<str:case_id>/join/", views.join, name="join"),
    path(
        "cases/<str:case_id>/prescriptions/<str:prescription_id>/thermal/",
        views.thermal_print,
        name="thermal",
    ),
    path(
        "cases/<str:case_id>/prescriptions/<str:prescription_id>/dispense/",
        views.dispense,
        name="dispense",
    ),
    path("stock/", views.stock, name="stock"),
]
