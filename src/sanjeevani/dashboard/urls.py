"""The dashboards' pages (``/dashboard/``): the public national page, a state's and a hub's,
the live figures, the CSV exports and a state's monthly report (PDF)."""

from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.national, name="national"),
    path("state/<str:code>/", views.state, name="state"),
    path("state/<str:code>/spokes/", views.state_spokes, name="state_spokes"),
    path("state/<str:code>/report.pdf", views.monthly_report, name="report"),
    path("hub/<uuid:hub_id>/", views.hub, name="hub"),
    path("live.json", views.live, name="live"),
    path("export/<slug:table>.csv", views.export, name="export"),
]
