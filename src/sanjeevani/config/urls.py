"""Top-level routes. Each app owns its page routes (``urls.py``) and API routes (``api.py``).

The clinician's workspace is mounted by a service line with its ``Mount``: the Online OPD's
at /consultations/ and /api/v1/consultations/, the hub's (``hwc.workspace.HUB_WORKSPACE``)
at /hub/consultations/ and /api/v1/hub/consultations/ (the old /opd/doctor/… and /api/v1/opd/…
paths are aliases in ``opd.urls`` and ``opd.api``)."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from sanjeevani.config.security_headers import csp_report
from sanjeevani.consultations.workspace.api import api_routes as workspace_api_routes
from sanjeevani.consultations.workspace.urls import page_routes as workspace_page_routes
from sanjeevani.hwc.workspace import API_NAMESPACE as HUB_API_NAMESPACE
from sanjeevani.hwc.workspace import HUB_WORKSPACE
from sanjeevani.hwc.workspace import PAGES_NAMESPACE as HUB_PAGES_NAMESPACE
from sanjeevani.observability import health
from sanjeevani.observability import views as observability
from sanjeevani.opd.workspace import OPD_WORKSPACE

api_v1 = [
    path("accounts/", include("sanjeevani.accounts.api")),
    path("patients/", include("sanjeevani.consultations.api_documents")),
    path("patients/", include("sanjeevani.patients.api")),
    path("registry/", include("sanjeevani.registry.api")),
    path("opd/", include("sanjeevani.opd.api")),
    path("consultations/", include((workspace_api_routes(OPD_WORKSPACE), "workspace-api"))),
    path("prescriptions/", include("sanjeevani.prescriptions.api")),
    path("realtime/", include("sanjeevani.realtime.api")),
    path("diagnoses/", include("sanjeevani.consultations.api")),
    path("hwc/centre/", include("sanjeevani.hwc.centre_api")),
    path("hwc/hub/", include("sanjeevani.hwc.hub_api")),
    path(
        "hub/consultations/",
        include(
            (workspace_api_routes(HUB_WORKSPACE), "workspace-api"), namespace=HUB_API_NAMESPACE
        ),
    ),
    path("assisted/", include("sanjeevani.patients.assisted_api")),
]

urlpatterns = [
    path("", include("sanjeevani.portal.urls")),
    path("accounts/", include("sanjeevani.accounts.urls")),
    path("patients/", include("sanjeevani.patients.urls")),
    path("opd/", include("sanjeevani.opd.urls")),
    path("consultations/", include((workspace_page_routes(OPD_WORKSPACE), "workspace"))),
    path("centre/", include("sanjeevani.hwc.centre_urls")),
    path(
        "hub/consultations/",
        include((workspace_page_routes(HUB_WORKSPACE), "workspace"), namespace=HUB_PAGES_NAMESPACE),
    ),
    path("hub/", include("sanjeevani.hwc.hub_urls")),
    path("assisted/", include("sanjeevani.patients.assisted_urls")),
    path("rx/", include("sanjeevani.prescriptions.urls")),
    path("dashboard/", include("sanjeevani.dashboard.urls")),
    path("room/", include("sanjeevani.realtime.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("csp-report/", csp_report, name="csp-report"),
    # Probes and the Prometheus scrape (docs/observability.md): no trailing slash, as
    # probes and Prometheus ask for them.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", observability.metrics, name="metrics"),
]

handler403 = "sanjeevani.portal.views.forbidden"
handler404 = "sanjeevani.portal.views.not_found"
handler500 = "sanjeevani.portal.views.server_error"
