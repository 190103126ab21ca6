"""Page routes of the Online OPD, mounted at /opd/.

The doctor's pages moved to the workspace (/consultations/); their old paths below answer
for one more release (``aliases``).
"""

from django.urls import include, path

from sanjeevani.consultations.workspace import views as workspace

from . import assisted_urls, views
from .aliases import alias
from .workspace import OPD_WORKSPACE

app_name = "opd"

MOUNT = {"mount": OPD_WORKSPACE}
#: (old route, workspace view, old name, new name)
DOCTOR_PAGE_ALIASES = [
    ("icd10/", workspace.icd10, "icd10", "icd10"),
    ("doctor/", workspace.console, "doctor_console", "console"),
    ("doctor/queue.json", workspace.queue_json, "doctor_queue", "queue"),
    ("doctor/presence", workspace.presence, "doctor_presence", "presence"),
    ("doctor/call-next", workspace.call_next, "call_next", "call_next"),
    ("doctor/consultations/<uuid:consultation_id>/", workspace.consultation,
     "doctor_consultation", "consultation"),
    ("doctor/consultations/<uuid:consultation_id>/identity", workspace.confirm_identity,
     "confirm_identity", "confirm_identity"),
    ("doctor/consultations/<uuid:consultation_id>/record", workspace.save_record,
     "save_record", "save_record"),
    ("doctor/consultations/<uuid:consultation_id>/prescription", workspace.prescribe,
     "prescribe", "prescribe"),
    ("doctor/consultations/<uuid:consultation_id>/end", workspace.end, "end", "end"),
    ("doctor/consultations/<uuid:consultation_id>/dropped", workspace.dropped,
     "dropped", "dropped"),
    ("doctor/consultations/<uuid:consultation_id>/hold", workspace.hold, "hold", "hold"),
]  # fmt: skip

urlpatterns = [
    path("", views.start, name="start"),
    path("list/", views.opd_list, name="opd_list"),
    path("history/", views.history, name="history"),
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
    # The operator's steps for a patient (assisted registration): opd:assisted_*.
    path("assisted/", include(assisted_urls.urlpatterns)),
    *[
        path(route, alias(view, f"workspace:{new}"), MOUNT, name=old)
        for route, view, old, new in DOCTOR_PAGE_ALIASES
    ],
    path("<uuid:opd_id>/", views.opd_detail, name="opd_detail"),
    path("<uuid:opd_id>/token", views.take_token, name="take_token"),
]
