"""Routes of the hub namespace, mounted at /hub/: the coordinator's desk, the referral
inbox, the hub doctor's case steps and the centre's attachments. The doctor's workspace
itself is mounted at /hub/consultations/ (``hwc.workspace.HUB_WORKSPACE``)."""

from django.urls import path

from . import hub_views as views

app_name = "hub"
urlpatterns = [
    path("desk/", views.desk, name="desk"),
    path("desk/load.json", views.desk_load, name="desk_load"),
    path("desk/cases/<uuid:case_id>/reassign", views.reassign, name="reassign"),
    path("referrals/", views.referrals, name="referrals"),
    path("referrals/<uuid:referral_id>/", views.referral, name="referral"),
    path("referrals/<uuid:referral_id>/acknowledge", views.acknowledge, name="acknowledge"),
    path("consultations/<uuid:consultation_id>/forward", views.forward, name="forward"),
    path("consultations/<uuid:consultation_id>/refer", views.refer, name="refer"),
    path("consultations/<uuid:consultation_id>/follow-up", views.follow_up, name="follow_up"),
    path("attachments/<uuid:attachment_id>/", views.attachment, name="attachment"),
]
