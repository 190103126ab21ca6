"""API routes for prescriptions under /api/v1/prescriptions/. Thin: parse, call a service or
selector, shape the answer."""

from __future__ import annotations

import json
import uuid

from django.http import HttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, renderers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from sanjeevani.audit.services import record_event
from sanjeevani.consultations.models import Consultation

from . import selectors, services
from .rendering import render_prescription_pdf
from .serializers import (
    MedicineSerializer,
    PrescriptionCreateSerializer,
    PrescriptionSerializer,
    PrescriptionWriteSerializer,
    VerificationSerializer,
)
from .views import VERIFY_RATE_PER_MINUTE, pdf_response

app_name = "prescriptions-api"


class PDFRenderer(renderers.BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return json.dumps(data).encode()


class VerifyThrottle(SimpleRateThrottle):
    scope = "prescription-verify"
    rate = f"{VERIFY_RATE_PER_MINUTE}/min"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class MedicineSearch(generics.ListAPIView):
    """Search the medicine catalogue by generic name (prefix first, then contains)."""

    serializer_class = MedicineSerializer
    pagination_class = None

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="Part of a generic name")],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.search_medicines(self.request.query_params.get("q", "")[:60])


class PrescriptionListCreate(APIView):
    limit_scope = "prescription.issue"  # each sends an SMS (sanjeevani.limits)

    @extend_schema(responses=PrescriptionSerializer(many=True))
    def get(self, request: Request) -> Response:
        """The caller's family's prescriptions, or a doctor's own; newest first."""
        qs = selectors.prescriptions_for(request.user).prefetch_related("items")[:100]
        return Response(PrescriptionSerializer(qs, many=True, context={"request": request}).data)

    @extend_schema(
        request=PrescriptionCreateSerializer,
        responses={
            201: PrescriptionSerializer,
            400: OpenApiResponse(description="Guideline refusals, one message per medicine"),
            403: OpenApiResponse(description="Not the consultation's doctor"),
            404: OpenApiResponse(description="No such consultation"),
        },
    )
    def post(self, request: Request) -> Response:
        """Issue a signed prescription for a consultation (its doctor only)."""
        serializer = PrescriptionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        consultation = Consultation.objects.filter(pk=data["consultation"]).first()
        if consultation is None:
            raise NotFound("No consultation has this id.")
        prescription = services.issue_prescription(
            request.user,
            consultation,
            data["items"],
            investigations=data["investigations"],
            advice=data["advice"],
            follow_up_on=data["follow_up_on"],
            language=data["language"],
            request=request,
        )
        body = PrescriptionSerializer(prescription, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


class PrescriptionDetail(APIView):
    @extend_schema(responses=PrescriptionSerializer)
    def get(self, request: Request, prescription_id: uuid.UUID) -> Response:
        prescription = selectors.viewable_prescription(request.user, prescription_id)
        record_event(
            request.user,
            "prescription.view",
            obj=prescription,
            patient_id=prescription.patient_id,
            request=request,
        )
        return Response(PrescriptionSerializer(prescription, context={"request": request}).data)


class PrescriptionPDF(APIView):
    renderer_classes = [renderers.JSONRenderer, PDFRenderer]

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    def get(self, request: Request, prescription_id: uuid.UUID) -> HttpResponse:
        prescription = selectors.viewable_prescription(request.user, prescription_id)
        pdf = render_prescription_pdf(prescription, request=request)
        record_event(
            request.user,
            "prescription.download",
            obj=prescription,
            patient_id=prescription.patient_id,
            request=request,
        )
        return pdf_response(pdf, prescription)


class PrescriptionCorrect(APIView):
    @extend_schema(request=PrescriptionWriteSerializer, responses={201: PrescriptionSerializer})
    def post(self, request: Request, prescription_id: uuid.UUID) -> Response:
        """Issue a correction: a new prescription that supersedes this one."""
        old = selectors.viewable_prescription(request.user, prescription_id)
        if old.doctor.user_id != request.user.pk:
            # Only the issuing doctor may correct; anyone else learns nothing, not even
            # which field of their request was wrong.
            raise NotFound
        serializer = PrescriptionWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        new = services.correct_prescription(
            request.user,
            old,
            data["items"],
            investigations=data["investigations"],
            advice=data["advice"],
            follow_up_on=data["follow_up_on"],
            language=data["language"],
            request=request,
        )
        body = PrescriptionSerializer(new, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


class PublicVerification(APIView):
    """Public: is the prescription with this QR code genuine? (No sign-in.)"""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [VerifyThrottle]

    @extend_schema(responses={200: VerificationSerializer, 404: VerificationSerializer})
    def get(self, request: Request, code: str) -> Response:
        result = selectors.public_verification(code)
        prescription = result.get("prescription")
        if prescription is not None:
            record_event(
                None,
                "prescription.verify",
                obj=prescription,
                patient_id=prescription.patient_id,
                request=request,
                detail={"status": result["status"]},
            )
        body = {"status": result["status"], "summary": result["summary"]}
        code_status = 404 if result["status"] == "not_found" else 200
        return Response(VerificationSerializer(body).data, status=code_status)


urlpatterns = [
    path("medicines/", MedicineSearch.as_view(), name="medicines"),
    path("", PrescriptionListCreate.as_view(), name="list"),
    path("verify/<str:code>/", PublicVerification.as_view(), name="verify"),
    path("<uuid:prescription_id>/", PrescriptionDetail.as_view(), name="detail"),
    path("<uuid:prescription_id>/pdf/", PrescriptionPDF.as_view(), name="pdf"),
    path("<uuid:prescription_id>/correct/", PrescriptionCorrect.as_view(), name="correct"),
]
