"""API routes for sign-in under /api/v1/accounts/: thin views over ``services``."""

from __future__ import annotations

from django.contrib.auth import logout as auth_logout
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sanjeevani.audit.services import client_ip

from . import services, trust
from .serializers import (
    APIErrorSerializer,
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
        token = services.issue_api_token(user, ip)
        response = Response(TokenSerializer({"token": token.key, "user": user}).data)
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
        token = services.issue_api_token(result.user, ip)
        response = Response(TokenSerializer({"token": token.key, "user": result.user}).data)
        trust.remember_device(request, response, trust.STAFF, result.user.get_username())
        return response


def _enrolment_message() -> str:
    return _(
        "Your account needs an authenticator app. Set it up once on the staff sign-in "
        "page in a browser, then try again."
    )


class SignedInAPIView(APIView):
    """Token first, so an app without credentials gets 401 with ``WWW-Authenticate``."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]


class MeView(SignedInAPIView):
    @extend_schema(responses={200: UserSerializer, **_error_responses(401)})
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)


class LogoutView(SignedInAPIView):
    @extend_schema(
        request=None,
        responses={204: OpenApiResponse(description="Signed out."), **_error_responses(401)},
        summary="Sign out: the API token stops working",
    )
    def post(self, request: Request) -> Response:
        services.sign_out(request.user, client_ip(request), revoke_token=True)
        if not isinstance(request.successful_authenticator, TokenAuthentication):
            auth_logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("otp/request", OTPRequestView.as_view(), name="otp_request"),
    path("otp/verify", OTPVerifyView.as_view(), name="otp_verify"),
    path("staff/token", StaffTokenView.as_view(), name="staff_token"),
    path("me", MeView.as_view(), name="me"),
    path("logout", LogoutView.as_view(), name="logout"),
]
