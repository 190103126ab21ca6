"""Family profiles of the signed-in patient account, under /api/v1/patients/.

Another family's profile answers 404, like a missing one. Reads are audited by the
selectors (one ``patient.view`` row per profile returned); writes by the services.
"""

from __future__ import annotations

from typing import Any

from django.urls import include, path
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from sanjeevani.accounts.models import Role

from . import selectors, services
from .abha import format_abha_number
from .models import Patient


class IsPatientAccount(permissions.BasePermission):
    message = "These endpoints are for patients signed in with a mobile number."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role == Role.PATIENT)


class PatientSerializer(serializers.Serializer):
    """A family profile. ``state`` is the state code (``KA``); ``district`` the district id.

    Give ``date_of_birth`` or ``age_years``; ``abha_number`` is accepted with or without
    dashes and returned as XX-XXXX-XXXX-XXXX.
    """

    id = serializers.UUIDField(read_only=True)
    patient_number = serializers.CharField(read_only=True)
    name = serializers.CharField(max_length=150)
    relation = serializers.ChoiceField(choices=Patient.Relation.choices, required=False)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    age_years = serializers.IntegerField(required=False, allow_null=True)
    age = serializers.IntegerField(read_only=True)
    sex = serializers.ChoiceField(choices=Patient.Sex.choices)
    state = serializers.CharField(max_length=4)
    state_name = serializers.CharField(read_only=True)
    district = serializers.IntegerField()
    district_name = serializers.CharField(read_only=True)
    preferred_language = serializers.CharField(max_length=8, required=False)
    abha_number = serializers.CharField(max_length=20, required=False, allow_blank=True)
    abha_address = serializers.CharField(max_length=100, required=False, allow_blank=True)
    address = serializers.CharField(
        max_length=300, required=False, allow_blank=True, trim_whitespace=True
    )

    def to_representation(self, instance: Patient) -> dict[str, Any]:
        return {
            "id": str(instance.pk),
            "patient_number": instance.patient_number,
            "name": instance.name,
            "relation": instance.relation,
            "date_of_birth": instance.date_of_birth.isoformat() if instance.date_of_birth else None,
            "age_years": instance.age_years,
            "age": instance.age,
            "sex": instance.sex,
            "state": instance.state.code,
            "state_name": instance.state.name,
            "district": instance.district_id,
            "district_name": instance.district.name if instance.district_id else None,
            "preferred_language": instance.preferred_language,
            "abha_number": format_abha_number(instance.abha_number),
            "abha_address": instance.abha_address,
            "address": instance.address,
        }


class PatientViewSet(viewsets.GenericViewSet):
    serializer_class = PatientSerializer
    limit_scope = "family.write"  # creating and changing profiles (sanjeevani.limits)
    permission_classes = [permissions.IsAuthenticated, IsPatientAccount]
    pagination_class = None
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    queryset = Patient.objects.none()

    def list(self, request: Request) -> Response:
        patients = selectors.family_of(request.user, request=request)
        return Response(PatientSerializer(patients, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        patient = selectors.patient_for_account(request.user, pk, request=request)
        return Response(PatientSerializer(patient).data)

    def create(self, request: Request) -> Response:
        serializer = PatientSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        patient = services.add_family_member(
            request.user, serializer.validated_data, request.user, request=request
        )
        return Response(PatientSerializer(patient).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        patient = selectors.patient_for_account(request.user, pk, audit=False)
        serializer = PatientSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        patient = services.update_patient(
            patient, serializer.validated_data, request.user, request=request
        )
        return Response(PatientSerializer(patient).data)

    @extend_schema(request=PatientSerializer, responses=PatientSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)


router = SimpleRouter()
router.register("", PatientViewSet, basename="patient")

app_name = "patients-api"
urlpatterns = [path("", include(router.urls))]
