"""Page routes for this app."""

from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("otp/", views.otp_sign_in, name="otp_sign_in"),
    path("staff/", views.staff_login, name="staff_login"),
    path("staff/enrol-2fa/", views.enrol_2fa, name="enrol_2fa"),
    path("logout/", views.logout, name="logout"),
]
