"""API shapes for sign-in. Validation of numbers and codes lives in services; these only
describe the fields so the OpenAPI schema is complete."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from sanjeevani.config.model_serializers import ModelSerializer

from .api_tokens import expires_at
from .models import DeviceToken, User

#: The optional name of the device a token is for (the app sends e.g. "Asha's phone").
DEVICE_HELP = _(
    "A name for this device, shown in the list of signed-in devices; without it the "
    "User-Agent is used. Cut to 120 characters."
)


class OTPRequestSerializer(serializers.Serializer):
    mobile = serializers.CharField(
        max_length=32, help_text=_("Indian mobile number, e.g. 9876543210 or +919876543210.")
    )


class OTPSentSerializer(serializers.Serializer):
    mobile = serializers.CharField(help_text=_("The number in E.164 form."))
    expires_in = serializers.IntegerField(help_text=_("Seconds until the code expires."))
    resend_after = serializers.IntegerField(
        help_text=_("Seconds before another code may be asked for.")
    )
    challenge = serializers.UUIDField(
        help_text=_(
            "Names the code that was sent; send it back with otp/verify, so that wrong "
            "tries from anyone else never use up this code."
        )
    )


class OTPVerifySerializer(serializers.Serializer):
    mobile = serializers.CharField(max_length=32)
    device = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default="", help_text=DEVICE_HELP
    )
    code = serializers.CharField(max_length=12, help_text=_("The 6-digit code from the SMS."))
    challenge = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text=_(
            "The challenge from otp/request. Without it, the newest code asked for from "
            "this network address is checked."
        ),
    )


class UserSerializer(ModelSerializer):
    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "role",
            "mobile",
            "first_name",
            "last_name",
            "preferred_language",
        ]
        read_only_fields = fields


class DeviceSerializer(ModelSerializer):
    """One signed-in device as its owner sees it."""

    expires_at = serializers.SerializerMethodField(
        help_text=_("When this sign-in stops working unless it is used before then.")
    )
    current = serializers.SerializerMethodField(
        help_text=_("True for the token this request was made with.")
    )

    class Meta:
        model = DeviceToken
        fields = ["id", "device", "created_at", "last_used_at", "expires_at", "current"]
        read_only_fields = fields

    def get_expires_at(self, token: DeviceToken) -> datetime:
        return expires_at(token)

    def get_current(self, token: DeviceToken) -> bool:
        return token.pk == self.context.get("current_id")


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(
        help_text=_("Send as 'Authorization: Token <token>' on every later request.")
    )
    user = UserSerializer()
    device = DeviceSerializer(help_text=_("This sign-in, as the list of devices shows it."))


class StaffTokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, style={"input_type": "password"})
    device = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default="", help_text=DEVICE_HELP
    )
    totp = serializers.CharField(
        max_length=12,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("The 6-digit code from the authenticator app."),
    )


class APIErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField(help_text=_("What went wrong and what to do next."))
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )
    retry_after_seconds = serializers.IntegerField(required=False)


class APIErrorSerializer(serializers.Serializer):
    """The one error shape of the API (see ``sanjeevani.portal.api_errors``)."""

    error = APIErrorDetailSerializer()
