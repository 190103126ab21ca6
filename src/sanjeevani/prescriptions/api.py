"""API routes for prescriptions under /api/v1/prescriptions/. Thin: parse, call a service or
selector, shape the answer."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.http import HttpResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, permissions, renderers, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from sanjeevani.accounts.models import Role
from sanjeevani.audit.services import record_event
from sanjeevani.consultations import care_team
from sanjeevani.consultations.care_team import Action
from sanjeevani.consultations.models import Consultation

from . import selectors, services
from .guidelines import translate_reason
from .medicine_names import resolve
from .models import TPGList
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


LIST_LIMIT = 100


class PrescriptionSummarySerializer(serializers.Serializer):
    """One line of a prescription list: enough to pick it, nothing of its clinical content."""

    id = serializers.UUIDField()
    status = serializers.CharField()
    issued_at = serializers.DateTimeField()
    language = serializers.CharField()
    patient = serializers.UUIDField(source="patient_id")
    patient_name = serializers.CharField(source="patient.name")
    doctor_name = serializers.SerializerMethodField()
    medicine_count = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    pdf_url = serializers.SerializerMethodField()

    def get_doctor_name(self, obj) -> str:
        return str((obj.content or {}).get("doctor", {}).get("name", ""))

    def get_medicine_count(self, obj) -> int:
        return len((obj.content or {}).get("medicines", []))

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_url(self, obj) -> str:
        return self._absolute(reverse("prescriptions-api:detail", args=[obj.pk]))

    def get_pdf_url(self, obj) -> str:
        return self._absolute(reverse("prescriptions:pdf", args=[obj.pk]))


class IsDoctor(permissions.BasePermission):
    message = gettext_lazy("This is for doctors.")

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role == Role.DOCTOR)


class ResolvedMedicineSerializer(serializers.Serializer):
    generic_name = serializers.CharField()
    tpg_list = serializers.ChoiceField(choices=TPGList.choices)
    tpg_list_label = serializers.CharField()
    matched = serializers.CharField(help_text="The words of the query that named it.")
    via = serializers.ChoiceField(
        choices=["generic", "brand", "alias", "prohibited", "fuzzy", "inside"],
        help_text="How it was recognised: a generic name, a brand, a spelling or script "
        "alias, a prohibited substance's name, a near spelling, or a name inside a word.",
    )
    known_as = serializers.CharField(help_text="The brand, alias or near name matched.")
    prohibited_reason = serializers.CharField(allow_blank=True)


class MedicineResolutionSerializer(serializers.Serializer):
    query = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["resolved", "prohibited", "unresolved"],
        help_text="prohibited: refused in every mode; unresolved: refused until the doctor "
        "types a generic name (see suggestions).",
    )
    tpg_list = serializers.ChoiceField(
        choices=TPGList.choices, allow_null=True, help_text="The strictest list named."
    )
    medicines = ResolvedMedicineSerializer(many=True)
    unresolved = serializers.ListField(child=serializers.CharField())
    suggestions = serializers.ListField(
        child=serializers.CharField(), help_text="Closest catalogue generics or brands."
    )
    rule = serializers.CharField(help_text="The rule that applies, in words.")


RESOLVE_MAX_LENGTH = 120


def _rule_text(status_: str, tpg_list: str | None, reason: str) -> str:
    if status_ == "prohibited":
        return _("Prohibited (%(reason)s): cannot be prescribed by teleconsultation.") % {
            "reason": reason
        }
    if status_ == "unresolved":
        return _("Not recognised: type the generic name or pick a suggestion.")
    return {
        "O": _("List O: can be prescribed in any mode of consultation."),
        "A": _(
            "List A: first prescription by video only; otherwise a refill at a follow-up "
            "with the same doctor for the same condition."
        ),
        "B": _(
            "List B: only at a follow-up with the same doctor, added to a medicine of its "
            "class that the patient already takes for the condition."
        ),
    }.get(tpg_list or "", "")


class MedicineResolve(APIView):
    """What a typed medicine name resolves to, for the doctor's form as they type."""

    permission_classes = [IsDoctor]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q",
                str,
                required=True,
                description="A medicine name as typed: generic, brand, misspelt, other script.",
            )
        ],
        responses={
            200: MedicineResolutionSerializer,
            400: OpenApiResponse(description="q missing, empty or longer than 120 characters"),
            401: OpenApiResponse(description="Not signed in"),
            403: OpenApiResponse(description="Not a doctor"),
        },
    )
    def get(self, request: Request) -> Response:
        query = request.query_params.get("q", "")
        if not query.strip() or len(query) > RESOLVE_MAX_LENGTH:
            raise serializers.ValidationError(
                {
                    "q": [
                        _("Give the medicine name (at most %(n)d characters).")
                        % {"n": RESOLVE_MAX_LENGTH}
                    ]
                }
            )
        resolution = resolve(query)
        labels = dict(TPGList.choices)
        medicines = [
            {
                **match.as_dict(),
                "tpg_list_label": str(labels[match.generic.tpg_list]),
                "prohibited_reason": translate_reason(match.generic.reason)
                if match.generic.prohibited
                else "",
            }
            for match in resolution.matches
        ]
        if resolution.prohibited:
            status_, tpg_list = "prohibited", "prohibited"
            reason = translate_reason(resolution.prohibited[0].generic.reason)
        elif resolution.resolved:
            status_, tpg_list, reason = "resolved", resolution.tpg_list, ""
        else:
            status_, tpg_list, reason = "unresolved", None, ""
        body = {
            "query": query,
            "status": status_,
            "tpg_list": tpg_list,
            "medicines": medicines,
            "unresolved": list(resolution.unresolved),
            "suggestions": list(resolution.suggestions),
            "rule": _rule_text(status_, tpg_list, reason),
        }
        return Response(MedicineResolutionSerializer(body).data)


class PrescriptionListCreate(APIView):
    limit_scope = "prescription.issue"  # each sends an SMS (sanjeevani.limits)

    @extend_schema(responses=PrescriptionSummarySerializer(many=True))
    def get(self, request: Request) -> Response:
        """The caller's family's prescriptions, or a doctor's own; newest first, at most 100.

        Summaries only (who, when, how many medicines, where to read it): the full content is
        read one prescription at a time. The read is audited, one row per patient listed."""
        rows = list(selectors.prescriptions_for(request.user)[:LIST_LIMIT])
        by_patient: dict[Any, list[str]] = {}
        for prescription in rows:
            by_patient.setdefault(prescription.patient_id, []).append(str(prescription.pk))
        for patient_id, ids in by_patient.items() or [(None, [])]:
            record_event(
                request.user,
                "prescription.list",
                patient_id=patient_id,
                request=request,
                detail={"prescriptions": ids},
            )
        body = PrescriptionSummarySerializer(rows, many=True, context={"request": request}).data
        return Response(body)

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
            password=data.get("password"),
            totp=data.get("totp"),
            provisional_diagnosis=data.get("provisional_diagnosis", False),
            client_key=data.get("client_key"),
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
        pdf = services.pdf_for(prescription, request)
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
        if not care_team.tied(request.user, Action.WRITE_RECORD, old.consultation):
            # Only the consultation's doctor may correct; anyone else learns nothing, not
            # even which field of their request was wrong. Past the window, the service
            # says so.
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
            password=data.get("password"),
            totp=data.get("totp"),
            provisional_diagnosis=data.get("provisional_diagnosis", False),
            client_key=data.get("client_key"),
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
        body = {
            "status": result["status"],
            "summary": result["summary"],
            "signatures": result.get("signatures"),
        }
        code_status = 404 if result["status"] == "not_found" else 200
        return Response(VerificationSerializer(body).data, status=code_status)


urlpatterns = [
    path("medicines/", MedicineSearch.as_view(), name="medicines"),
    path("medicines/resolve/", MedicineResolve.as_view(), name="medicine-resolve"),
    path("", PrescriptionListCreate.as_view(), name="list"),
    path("verify/<str:code>/", PublicVerification.as_view(), name="verify"),
    path("<uuid:prescription_id>/", PrescriptionDetail.as_view(), name="detail"),
    path("<uuid:prescription_id>/pdf/", PrescriptionPDF.as_view(), name="pdf"),
    path("<uuid:prescription_id>/correct/", PrescriptionCorrect.as_view(), name="correct"),
]
