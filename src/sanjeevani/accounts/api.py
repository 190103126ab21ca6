"""API routes for sign-in under /api/v1/accounts/: thin views over ``services``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import logout as auth_logout
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sanjeevani.audit.services import client_ip

from . import selectors, services, trust
from .authentication import DeviceTokenAuthentication
from .models import DeviceToken
from .serializers import (
    APIErrorSerializer,
    DeviceSerializer,
    OTPRequestSerializer,
    OTPSentSerializer,
    OTPVerifySerializer,
    StaffTokenRequestSerializer,
    TokenSerializer,
    UserSerializer,
)

app_name = "accounts-api"

_FORBIDDEN_CODES = {"not_staff", "staff_account", "account_disabled"}


class SMSUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "sms_failed"


class SignInThrottled(exceptions.Throttled):
    """DRF's 429 with our own wording: the message already says how long to wait."""

    def __init__(self, wait: int, detail: str, code: str) -> None:
        super().__init__(wait=wait)
        self.detail = exceptions.ErrorDetail(detail, code=code)


def _as_api_error(error: services.SignInError) -> exceptions.APIException:
    """Map a sign-in refusal to the HTTP answer a client can act on."""
    if error.retry_after is not None:
        return SignInThrottled(error.retry_after, error.message, error.code)
    if error.code == "sms_failed":
        return SMSUnavailable(detail=error.message)
    if error.code in _FORBIDDEN_CODES:
        return exceptions.PermissionDenied(detail=error.message, code=error.code)
    return exceptions.ValidationError({error.field or "non_field_errors": [error.message]})


_ERROR_DESCRIPTIONS = {
    400: "Invalid input: see error.fields.",
    401: "Not signed in.",
    403: "This account may not sign in this way.",
    429: "Too many requests: wait Retry-After seconds.",
    503: "The SMS could not be sent; try again shortly.",
}


def _error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    return {
        code: OpenApiResponse(APIErrorSerializer, description=_ERROR_DESCRIPTIONS[code])
        for code in statuses
    }


class PublicAPIView(APIView):
    """Sign-in endpoints: no session, so no CSRF token is needed by apps."""

    authentication_classes: list = []
    permission_classes = [AllowAny]


class OTPRequestView(PublicAPIView):
    @extend_schema(
        request=OTPRequestSerializer,
        responses={202: OTPSentSerializer, **_error_responses(400, 403, 429, 503)},
        summary="Send a sign-in code by SMS to an Indian mobile number",
    )
    def post(self, request: Request) -> Response:
        serializer = OTPRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            sent = services.request_otp(
                serializer.validated_data["mobile"],
                client_ip(request),
                trusted_keys=trust.trusted_keys(request),
            )
        except services.SignInError as error:
            raise _as_api_error(error) from None
        data = {
            "mobile": sent.mobile,
            "expires_in": sent.expires_in,
            "resend_after": sent.resend_after,
            "challenge": sent.challenge,
        }
        return Response(OTPSentSerializer(data).data, status=status.HTTP_202_ACCEPTED)


class OTPVerifyView(PublicAPIView):
    @extend_schema(
        request=OTPVerifySerializer,
        responses={200: TokenSerializer, **_error_responses(400, 403, 429)},
        summary="Exchange the SMS code for an API token (patients)",
    )
    def post(self, request: Request) -> Response:
        serializer = OTPVerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ip = client_ip(request)
        try:
            challenge = serializer.validated_data.get("challenge")
            user = services.verify_otp(
                serializer.validated_data["mobile"],
                serializer.validated_data["code"],
                ip,
                challenge_id=str(challenge) if challenge else None,
                trusted_keys=trust.trusted_keys(request),
            )
        except services.SignInError as error:
            raise _as_api_error(error) from None
        token = services.issue_api_token(user, ip, device=_device_label(request, serializer))
        response = Response(_signed_in(token, user))
        trust.remember_device(request, response, trust.MOBILE, user.mobile)
        return response


class StaffTokenView(PublicAPIView):
    @extend_schema(
        request=StaffTokenRequestSerializer,
        responses={200: TokenSerializer, **_error_responses(400, 403, 429)},
        summary="Exchange username, password and authenticator code for an API token (staff)",
    )
    def post(self, request: Request) -> Response:
        serializer = StaffTokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ip = client_ip(request)
        data = serializer.validated_data
        try:
            result = services.authenticate_staff(
                data["username"],
                data["password"],
                data["totp"],
                ip,
                trusted_keys=trust.trusted_keys(request),
            )
        except services.SignInError as error:
            raise _as_api_error(error) from None
        if result.needs_enrolment:
            raise exceptions.PermissionDenied(
                detail=_enrolment_message(), code="enrolment_required"
            )
        token = services.issue_api_token(result.user, ip, device=_device_label(request, serializer))
        response = Response(_signed_in(token, result.user))
        trust.remember_device(request, response, trust.STAFF, result.user.get_username())
        return response


def _device_label(request: Request, serializer: Any) -> str:
    return services.device_label(
        serializer.validated_data.get("device"), request.headers.get("User-Agent")
    )


def _signed_in(token: services.IssuedToken, user: Any) -> dict:
    """The sign-in answer: the key, the account, and this device's row."""
    return TokenSerializer(
        {"token": token.key, "user": user, "device": token.device},
        context={"current_id": token.device.pk},
    ).data


def _enrolment_message() -> str:
    return _(
        "Your account needs an authenticator app. Set it up once on the staff sign-in "
        "page in a browser, then try again."
    )


class SignedInAPIView(APIView):
    """Token first, so an app without credentials gets 401 with ``WWW-Authenticate``."""

    authentication_classes = [DeviceTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]


def _current_token(request: Request) -> DeviceToken | None:
    """The device token this request came with; None for a browser session."""
    return request.auth if isinstance(request.auth, DeviceToken) else None


class MeView(SignedInAPIView):
    @extend_schema(responses={200: UserSerializer, **_error_responses(401)})
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)


class LogoutView(SignedInAPIView):
    @extend_schema(
        request=None,
        responses={204: OpenApiResponse(description="Signed out."), **_error_responses(401)},
        summary="Sign out this device: its API token stops working, other devices stay",
    )
    def post(self, request: Request) -> Response:
        token = _current_token(request)
        services.sign_out(request.user, client_ip(request), token=token)
        if token is None:
            auth_logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutEverywhereView(SignedInAPIView):
    @extend_schema(
        request=None,
        responses={204: OpenApiResponse(description="Signed out everywhere.")},
        summary="Sign out everywhere: every API token and browser session of this account",
    )
    def post(self, request: Request) -> Response:
        services.sign_out_everywhere(request.user, request.user, client_ip(request))
        auth_logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeviceListView(SignedInAPIView):
    @extend_schema(
        responses={200: DeviceSerializer(many=True)},
        summary="The devices signed in to this account (current: the one asking)",
    )
    def get(self, request: Request) -> Response:
        current = _current_token(request)
        devices = selectors.devices_of(request.user)
        context = {"current_id": current.pk if current else None}
        return Response(DeviceSerializer(devices, many=True, context=context).data)


class DeviceView(SignedInAPIView):
    @extend_schema(
        request=None,
        responses={204: OpenApiResponse(description="The device is signed out.")},
        summary="Sign one of this account's devices out",
    )
    def delete(self, request: Request, pk: Any) -> Response:
        token = get_object_or_404(selectors.devices_of(request.user).select_related("user"), pk=pk)
        services.revoke_device(request.user, token, client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("otp/request", OTPRequestView.as_view(), name="otp_request"),
    path("otp/verify", OTPVerifyView.as_view(), name="otp_verify"),
    path("staff/token", StaffTokenView.as_view(), name="staff_token"),
    path("me", MeView.as_view(), name="me"),
    path("logout", LogoutView.as_view(), name="logout"),
    path("logout/everywhere", LogoutEverywhereView.as_view(), name="logout_everywhere"),
    path("devices", DeviceListView.as_view(), name="devices"),
    path("devices/<uuid:pk>", DeviceView.as_view(), name="device"),
]
