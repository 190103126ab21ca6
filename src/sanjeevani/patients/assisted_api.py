"""The operator's API (assisted registration), under /api/v1/assisted/ (``assisted-api``):
register a patient with their consent, list and search the operator's own patients, read
one with what was done for them. Another operator's patient is a 404; other roles 403.
Reads are audited (one ``patient.view`` row per patient returned); writes by the service.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sanjeevani.accounts.models import Role
from sanjeevani.config.model_serializers import ModelSerializer

from . import assisted
from .api import PatientSerializer
from .models import AssistedAction


class IsOperator(permissions.BasePermission):
    message = "These endpoints are for assisted-registration operators."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role == Role.OPERATOR)


class AssistedConsentSerializer(serializers.Serializer):
    """The patient's consent to the step: agreed, the statement, who gave it."""

    consent_agreed = serializers.BooleanField(required=False, default=False)
    consent_statement = serializers.CharField(required=False, allow_blank=True, default="")
    consent_given_by = serializers.CharField(required=False, allow_blank=True, default="")

    def consent(self) -> assisted.Consent:
        data = self.validated_data
        return assisted.Consent(
            data["consent_agreed"], data["consent_statement"], data["consent_given_by"]
        )


class AssistedRegistrationSerializer(AssistedConsentSerializer):
    """A new patient under ``mobile`` (theirs or a relative's): the profile's fields as in
    ``/api/v1/patients/``, checked by the same rules, plus the consent."""

    mobile = serializers.CharField(required=False, allow_blank=True, default="")
    name = serializers.CharField(required=False, allow_blank=True, default="")
    relation = serializers.CharField(required=False, allow_blank=True, default="self")
    date_of_birth = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    age_years = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    sex = serializers.CharField(required=False, allow_blank=True, default="")
    state = serializers.CharField(required=False, allow_blank=True, default="")
    district = serializers.CharField(required=False, allow_blank=True, default="")
    preferred_language = serializers.CharField(required=False, allow_blank=True, default="")
    abha_number = serializers.CharField(required=False, allow_blank=True, default="")
    abha_address = serializers.CharField(required=False, allow_blank=True, default="")
    address = serializers.CharField(required=False, allow_blank=True, default="")

    def patient_data(self) -> dict[str, Any]:
        skip = {"mobile", *AssistedConsentSerializer().fields}
        return {k: v for k, v in self.validated_data.items() if k not in skip}


class AssistedActionSerializer(ModelSerializer):
    class Meta:
        model = AssistedAction
        fields = [
            "id",
            "kind",
            "consent_statement",
            "consent_given_by",
            "ticket_id",
            "consultation_id",
            "created_at",
        ]


class AssistedPatientSerializer(PatientSerializer):
    """A patient of the operator's, with what the operator did for them (newest first)."""

    assisted_actions = AssistedActionSerializer(many=True, read_only=True)


class OperatorView(APIView):
    permission_classes = [permissions.IsAuthenticated, IsOperator]


class PatientsView(OperatorView):
    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="Name, patient ID or mobile")],
        responses=PatientSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        """The operator's own patients, newest first (at most 50)."""
        patients = assisted.listed_patients(
            request.user, request.query_params.get("q", "")[:100], request=request
        )
        return Response(PatientSerializer(patients, many=True).data)

    @extend_schema(request=AssistedRegistrationSerializer, responses={201: PatientSerializer})
    def post(self, request: Request) -> Response:
        """Register a patient with their consent (400 names each field to correct)."""
        serializer = AssistedRegistrationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        patient = assisted.register_patient(
            request.user,
            serializer.validated_data["mobile"],
            serializer.patient_data(),
            serializer.consent(),
            request=request,
        )
        return Response(PatientSerializer(patient).data, status=status.HTTP_201_CREATED)


class PatientView(OperatorView):
    @extend_schema(responses=AssistedPatientSerializer)
    def get(self, request: Request, patient_id: Any) -> Response:
        """One of the operator's patients with what the operator did for them."""
        patient = assisted.patient_of(request.user, patient_id, request=request)
        actions = assisted.actions_for(request.user, patient)[:50]
        return Response(
            {
                **PatientSerializer(patient).data,
                "assisted_actions": AssistedActionSerializer(actions, many=True).data,
            }
        )


app_name = "assisted-api"
urlpatterns = [
    path("patients/", PatientsView.as_view(), name="patients"),
    path("patients/<uuid:patient_id>/", PatientView.as_view(), name="patient"),
]
