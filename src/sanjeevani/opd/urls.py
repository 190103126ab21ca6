"""Page routes of the Online OPD, mounted at /opd/."""

from django.urls import path

from . import views

app_name = "opd"
urlpatterns = [
    path("", views.start, name="start"),
    path("list/", views.opd_list, name="opd_list"),
    path("history/", views.history, name="history"),
    path("icd10/", views.icd10, name="icd10"),
    path("patients/<uuid:patient_id>/documents/", views.upload, name="upload"),
    path("documents/<uuid:document_id>/", views.document_file, name="document"),
    path("tickets/<uuid:ticket_id>/", views.waiting_room, name="waiting_room"),
    path("tickets/<uuid:ticket_id>/status", views.ticket_status, name="ticket_status"),
    path("tickets/<uuid:ticket_id>/cancel", views.cancel, name="cancel"),
    path("tickets/<uuid:ticket_id>/join", views.join, name="join"),
    path("tickets/<uuid:ticket_id>/rejoin", views.rejoin, name="rejoin"),
    path("consultations/<uuid:consultation_id>/", views.consultation, name="consultation"),
    path(
        "consultations/<uuid:consultation_id>/status",
        views.consultation_status,
        name="consultation_status",
    ),
    path("consultations/<uuid:consultation_id>/feedback", views.feedback, name="feedback"),
    path("consultations/<uuid:consultation_id>/follow-up", views.follow_up, name="follow_up"),
    path("doctor/", views.doctor_console, name="doctor_console"),
    path("doctor/queue.json", views.doctor_queue_json, name="doctor_queue"),
    path("doctor/presence", views.doctor_presence, name="doctor_presence"),
    path("doctor/call-next", views.call_next, name="call_next"),
    path(
        "doctor/consultations/<uuid:consultation_id>/",
        views.doctor_consultation,
        name="doctor_consultation",
    ),
    path(
        "doctor/consultations/<uuid:consultation_id>/identity",
        views.confirm_identity_view,
        name="confirm_identity",
    ),
    path(
        "doctor/consultations/<uuid:consultation_id>/record",
        views.save_record,
        name="save_record",
    ),
    path(
        "doctor/consultations/<uuid:consultation_id>/prescription",
        views.prescribe,
        name="prescribe",
    ),
    path("doctor/consultations/<uuid:consultation_id>/end", views.end, name="end"),
    path("doctor/consultations/<uuid:consultation_id>/dropped", views.dropped, name="dropped"),
    path("doctor/consultations/<uuid:consultation_id>/hold", views.hold, name="hold"),
    path("<uuid:opd_id>/", views.opd_detail, name="opd_detail"),
    path("<uuid:opd_id>/token", views.take_token, name="take_token"),
]
