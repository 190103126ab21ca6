"""Page routes for this app."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import views

app_name = "accounts"
urlpatterns = [
    path("otp/", views.otp_sign_in, name="otp_sign_in"),
    path("staff/", views.staff_login, name="staff_login"),
    path("staff/enrol-2fa/", views.enrol_2fa, name="enrol_2fa"),
    path("logout/", views.logout, name="logout"),
    path("devices/", views.devices, name="devices"),
    path("devices/<uuid:pk>/sign-out/", views.revoke_device, name="revoke_device"),
    path("sign-out-everywhere/", views.sign_out_everywhere, name="sign_out_everywhere"),
    path(
        "set-password/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="accounts/set_password.html",
            success_url=reverse_lazy("accounts:staff_login"),
            post_reset_login=False,
        ),
        name="set_password",
    ),
]
