"""Page routes for this app, mounted at /rx/."""

from django.urls import path

from . import views

app_name = "prescriptions"
urlpatterns = [
    path("public-key.pem", views.public_key, name="public_key"),
    path("v/<str:code>/", views.verify_page, name="verify"),
    path("<uuid:prescription_id>/", views.prescription_page, name="detail"),
    path("<uuid:prescription_id>/pdf/", views.prescription_pdf, name="pdf"),
]
