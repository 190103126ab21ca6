"""API for a patient's shared documents (earlier prescriptions and reports), under
``/api/v1/patients/``.

It lives here, above ``patients``, because who may read a patient's documents is the
care-team policy's answer; ``patients.documents`` stores and serves the files.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from sanjeevani.audit.services import record_event
from sanjeevani.config.model_serializers import ModelSerializer
from sanjeevani.patients.documents import (
    document_response,
    documents_of,
    open_document_for,
    upload_document,
)
from sanjeevani.patients.models import Patient, PatientDocument
from sanjeevani.patients.uploads import ALLOWED_TYPES

from . import care_team
from .care_team import Action


class PatientDocumentSerializer(ModelSerializer):
    class Meta:
        model = PatientDocument
        fields = ["id", "title", "kind", "content_type", "size", "created_at"]
        read_only_fields = fields


class DocumentUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    title = serializers.CharField(max_length=150, required=False, allow_blank=True)
    kind = serializers.ChoiceField(
        choices=PatientDocument.Kind.choices, default=PatientDocument.Kind.OTHER
    )


def _patient_for(request, patient_id, action: Action) -> Patient:
    patient = get_object_or_404(Patient, pk=patient_id)
    if not care_team.may(request.user, action, patient):
        raise Http404
    return patient


class PatientDocumentsView(APIView):
    """List a patient's documents (the family or their doctor) or upload one (the family)."""

    parser_classes = [MultiPartParser, FormParser]
    limit_scope = "documents.upload"  # uploads (sanjeevani.limits); reads are not counted

    @extend_schema(responses=PatientDocumentSerializer(many=True))
    def get(self, request, patient_id):
        patient = _patient_for(request, patient_id, Action.VIEW_DOCUMENTS)
        record_event(
            request.user,
            "patient_document.list",
            obj=patient,
            patient_id=patient.pk,
            request=request,
        )
        return Response(PatientDocumentSerializer(documents_of(patient), many=True).data)

    @extend_schema(request=DocumentUploadSerializer, responses={201: PatientDocumentSerializer})
    def post(self, request, patient_id):
        patient = _patient_for(request, patient_id, Action.UPLOAD_DOCUMENT)
        data = DocumentUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        document = upload_document(
            request.user,
            patient,
            data.validated_data["file"],
            data.validated_data.get("title", ""),
            data.validated_data["kind"],
            request=request,
        )
        return Response(PatientDocumentSerializer(document).data, status=status.HTTP_201_CREATED)


class PatientDocumentFileView(APIView):
    """The stored file itself; 404 for anyone the care-team policy does not let read it."""

    # The file answers with its own checked type, one of the allowed upload types.
    @extend_schema(responses={(200, kind): OpenApiTypes.BINARY for kind in ALLOWED_TYPES})
    def get(self, request, document_id):
        document = get_object_or_404(
            PatientDocument.objects.select_related("patient"), pk=document_id
        )
        permitted = care_team.may(request.user, Action.VIEW_DOCUMENTS, document.patient)
        try:
            handle = open_document_for(request.user, document, request=request, permitted=permitted)
        except PermissionDenied:
            raise Http404 from None
        return document_response(document, handle)


app_name = "patient-documents-api"
urlpatterns = [
    path("<uuid:patient_id>/documents/", PatientDocumentsView.as_view(), name="list"),
    path("documents/<uuid:document_id>/file/", PatientDocumentFileView.as_view(), name="file"),
]
