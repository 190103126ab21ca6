"""Top-level routes. Each app owns its page routes (``urls.py``) and API routes (``api.py``)."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from sanjeevani.config.security_headers import csp_report

api_v1 = [
    path("accounts/", include("sanjeevani.accounts.api")),
    path("patients/", include("sanjeevani.patients.api_documents")),
    path("patients/", include("sanjeevani.patients.api")),
    path("registry/", include("sanjeevani.registry.api")),
    path("opd/", include("sanjeevani.opd.api")),
    path("prescriptions/", include("sanjeevani.prescriptions.api")),
    path("realtime/", include("sanjeevani.realtime.api")),
    path("diagnoses/", include("sanjeevani.consultations.api")),
]

urlpatterns = [
    path("", include("sanjeevani.portal.urls")),
    path("accounts/", include("sanjeevani.accounts.urls")),
    path("patients/", include("sanjeevani.patients.urls")),
    path("opd/", include("sanjeevani.opd.urls")),
    path("rx/", include("sanjeevani.prescriptions.urls")),
    path("room/", include("sanjeevani.realtime.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("csp-report/", csp_report, name="csp-report"),
]

handler404 = "sanjeevani.portal.views.not_found"
handler500 = "sanjeevani.portal.views.server_error"
