"""The health worker's steps under /api/v1/hwc/centre/ (namespace ``centre-api``), for a
mobile app: find or register a patient, the suggestion, send a case (the same
``client_key`` sent again answers 200 with the case already sent), today's cases and their
status, attachments, joining a call, the stock and dispensing.

Thin like the pages (``centre_views``): the CHO's own centre only (anything else 404),
services decide; a service's ``ValidationError`` answers 400 by field and a ``DomainError``
409 with its code (``portal.api_errors``)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from sanjeevani.accounts.models import Role
from sanjeevani.audit.services import record_event
from sanjeevani.consultations import services as consultations
from sanjeevani.patients.models import Patient
from sanjeevani.portal.api_errors import AnswersRefusals
from sanjeevani.queueing.errors import QueueError
from sanjeevani.queueing.models import Ticket

from . import selectors
from . import services as hwc
from .forms import case_data, check_vitals_first, clean_mobile
from .models import CaseAttachment
from .suggestion import suggest_specialty
from .triage import check_case_vitals

app_name = "centre-api"

OBJECT = OpenApiTypes.OBJECT
CREATED = {200: OBJECT, 201: OBJECT}


class IsCHO(permissions.BasePermission):
    message = gettext_lazy("This is for Community Health Officers at a health centre.")

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated) and (
            request.user.role == Role.CHO
        )


def patient_data(patient: Patient) -> dict[str, Any]:
    return {
        "id": str(patient.pk),
        "patient_number": patient.patient_number,
        "name": patient.name,
        "age": patient.age,
        "sex": patient.sex,
        "address": patient.address,
        "abha_number": patient.abha_number,
        "preferred_language": patient.preferred_language,
    }


class RegisterSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150)
    age_years = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    sex = serializers.ChoiceField(choices=Patient.Sex.choices)
    mobile = serializers.CharField(max_length=16)
    relation = serializers.ChoiceField(choices=Patient.Relation.choices, default="self")
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    district = serializers.IntegerField(required=False, allow_null=True)
    preferred_language = serializers.CharField(max_length=8, required=False, default="en")
    abha_number = serializers.CharField(max_length=17, required=False, allow_blank=True)
    different_person = serializers.BooleanField(default=False)

    def validate_mobile(self, value: str) -> str:
        try:
            return clean_mobile(value)
        except ValidationError as error:
            raise serializers.ValidationError(error.messages) from None


class CaseSerializer(serializers.Serializer):
    patient = serializers.UUIDField()
    client_key = serializers.UUIDField()
    complaints = serializers.ListField(child=serializers.CharField(max_length=40), default=list)
    complaint_text = serializers.CharField(required=False, allow_blank=True, default="")
    history = serializers.CharField(required=False, allow_blank=True, default="")
    vitals = serializers.DictField(child=serializers.CharField(allow_blank=True), default=dict)
    specialty = serializers.CharField(max_length=60, required=False, allow_blank=True)
    mode = serializers.CharField(max_length=14, required=False, allow_blank=True)
    identity_method = serializers.CharField(required=False, allow_blank=True, default="")
    consent_by = serializers.CharField(required=False, allow_blank=True, default="patient")
    consent = serializers.BooleanField(default=False)
    urgent = serializers.BooleanField(default=False)


class SuggestionSerializer(serializers.Serializer):
    complaints = serializers.ListField(child=serializers.CharField(max_length=40), default=list)
    vitals = serializers.DictField(child=serializers.CharField(allow_blank=True), default=dict)


class AttachmentSerializer(serializers.Serializer):
    file = serializers.FileField()
    kind = serializers.ChoiceField(choices=CaseAttachment.Kind.choices, default="photo")
    title = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class StockSerializer(serializers.Serializer):
    medicine = serializers.CharField(max_length=120)
    quantity = serializers.IntegerField(min_value=1, max_value=100000)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class DispenseSerializer(serializers.Serializer):
    items = serializers.DictField(child=serializers.IntegerField(min_value=0))


class CentreView(AnswersRefusals, APIView):
    permission_classes = [IsCHO]

    @property
    def centre(self):
        return hwc.centre_of(self.request.user)

    def valid(self, serializer_class, data=None) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data if data is None else data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class PatientsView(CentreView):
    @extend_schema(
        responses=OBJECT,
        operation_id="hwc_centre_patients_list",
        summary="Find the centre's patients by mobile, patient ID or ABHA number",
    )
    def get(self, request):
        found = selectors.find_patients(self.centre, request.query_params.get("q", ""))
        for patient in found:
            record_event(request.user, "patient.search", obj=patient, patient_id=patient.pk)
        return Response([patient_data(p) for p in found])

    @extend_schema(
        responses=CREATED, request=RegisterSerializer, summary="Register a patient at the centre"
    )
    def post(self, request):
        data = dict(self.valid(RegisterSerializer))
        centre = self.centre
        duplicates = selectors.possible_duplicates(
            centre, data["name"], data.get("age_years"), data.get("address", "")
        )
        if duplicates and not data.pop("different_person"):
            message = _(
                "This may be a patient already registered: check, or confirm a different person."
            )
            return Response(
                {
                    "error": {
                        "code": "possible_duplicates",
                        "message": message,
                        "duplicates": [
                            {**patient_data(d.patient), "reasons": d.reasons} for d in duplicates
                        ],
                    }
                },
                status=status.HTTP_409_CONFLICT,
            )
        data.pop("different_person", None)
        mobile = data.pop("mobile")
        patient = hwc.register_patient(request.user, data, mobile)
        return Response(patient_data(patient), status=status.HTTP_201_CREATED)


class PatientView(CentreView):
    @extend_schema(responses=OBJECT, summary="One patient of the centre")
    def get(self, request, patient_id):
        patient = selectors.centre_patient(request.user, self.centre, patient_id)
        return Response(patient_data(patient))


class SuggestionView(CentreView):
    @extend_schema(
        responses=OBJECT,
        request=SuggestionSerializer,
        summary="The specialty suggestion and danger signs",
    )
    def post(self, request, patient_id):
        patient = selectors.centre_patient(request.user, self.centre, patient_id, audited=False)
        data = self.valid(SuggestionSerializer)
        vitals, errors, danger = check_case_vitals(data["vitals"], patient.age)
        suggestion = suggest_specialty(data["complaints"], vitals, patient.age)
        return Response(
            {
                "specialty": suggestion.specialty.code if suggestion.specialty else None,
                "reasons": [str(r) for r in suggestion.reasons],
                "alternatives": [s.code for s in suggestion.alternatives],
                "danger": danger,
                "vital_errors": {k: str(v) for k, v in errors.items()},
            }
        )


class CasesView(CentreView):
    @extend_schema(
        responses=OBJECT,
        operation_id="hwc_centre_cases_list",
        summary="Today's cases at the centre and each one's status",
    )
    def get(self, request):
        return Response([s.as_json() for s in selectors.todays_cases(self.centre)])

    @extend_schema(
        responses=CREATED, request=CaseSerializer, summary="Send a case (idempotent on client_key)"
    )
    def post(self, request):
        data = self.valid(CaseSerializer)
        patient = selectors.centre_patient(
            request.user, self.centre, data["patient"], audited=False
        )
        payload = case_data({**data, "client_key": str(data["client_key"])})
        payload["consent"], payload["urgent"] = data["consent"], data["urgent"]
        check_vitals_first(payload, patient.age)
        case, created = hwc.submit_case(request.user, patient, payload)
        body = selectors.case_status(case).as_json()
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class CaseView(CentreView):
    @extend_schema(responses=OBJECT, summary="One case: status, vitals, files")
    def get(self, request, case_id):
        case = selectors.centre_case(request.user, self.centre, case_id)
        body = selectors.case_status(case).as_json()
        body["attachments"] = [
            {"id": str(a.pk), "kind": a.kind, "title": a.title} for a in case.attachments.all()
        ]
        body["vitals"], body["urgent_reasons"] = case.vitals, case.urgent_reasons
        return Response(body)


class CaseStatusView(CentreView):
    @extend_schema(
        responses=OBJECT,
        summary="One case's status only: poll this while the case waits or is in consultation",
        description="What the centre's list shows of the case (status, position, wait, doctor, "
        "hub, prescriptions), without its vitals and files. Not audited as a record read, as "
        "the centre's list is not: a status poll every few seconds would bury the reads that "
        "matter. Read the case itself (audited) to show its record.",
    )
    def get(self, request, case_id):
        case = selectors.centre_case(request.user, self.centre, case_id, audited=False)
        return Response(selectors.case_status(case).as_json())


class AttachmentsView(CentreView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        responses=CREATED,
        request=AttachmentSerializer,
        summary="Add a photo, ECG or report to a case",
    )
    def post(self, request, case_id):
        case = selectors.centre_case(request.user, self.centre, case_id, audited=False)
        data = self.valid(AttachmentSerializer)
        attachment = hwc.attach_to_case(
            request.user, case, data["file"], data["kind"], data["title"]
        )
        return Response(
            {"id": str(attachment.pk), "kind": attachment.kind, "title": attachment.title},
            status=status.HTTP_201_CREATED,
        )


class JoinView(CentreView):
    @extend_schema(
        responses=OBJECT, request=None, summary="Answer the hub doctor's call (Join now)"
    )
    def post(self, request, case_id):
        case = selectors.centre_case(request.user, self.centre, case_id, audited=False)
        if case.ticket is None:
            raise Http404
        if case.ticket.status not in (Ticket.Status.CALLED, Ticket.Status.IN_CONSULTATION):
            raise QueueError("not_called", _("No doctor is calling for this case now."))
        consultation = consultations.accept_call(request.user, case.ticket)
        return Response({"consultation": str(consultation.pk), "room": f"/room/{consultation.pk}/"})


class StockView(CentreView):
    parser_classes = [JSONParser, FormParser]

    @extend_schema(responses=OBJECT, summary="Units on hand per medicine and the ledger")
    def get(self, request):
        centre = self.centre
        ledger = [
            {
                "medicine": e.medicine,
                "kind": e.kind,
                "quantity": e.quantity,
                "recorded_at": e.recorded_at.isoformat(),
            }
            for e in selectors.stock_ledger(centre)
        ]
        return Response({"on_hand": selectors.stock_on_hand(centre), "ledger": ledger})

    @extend_schema(responses=CREATED, request=StockSerializer, summary="Record medicines received")
    def post(self, request):
        data = self.valid(StockSerializer)
        entry = hwc.receive_stock(request.user, data["medicine"], data["quantity"], data["note"])
        return Response(
            {"medicine": entry.medicine, "on_hand": hwc.on_hand(entry.facility, entry.medicine)},
            status=status.HTTP_201_CREATED,
        )


class DispenseView(CentreView):
    @extend_schema(
        responses=OBJECT, request=DispenseSerializer, summary="Record medicines given from stock"
    )
    def post(self, request, case_id, prescription_id):
        centre = self.centre
        case = selectors.centre_case(request.user, centre, case_id, audited=False)
        prescription = selectors.case_prescription(case, prescription_id)
        data = self.valid(DispenseSerializer)
        hwc.dispense(request.user, prescription, data["items"])
        lines = selectors.dispense_lines(centre, prescription)
        return Response(
            [
                {
                    "item": str(line.item.pk),
                    "medicine": line.item.generic_name,
                    "on_hand": line.on_hand,
                    "dispensed": line.dispensed,
                    "out_of_stock": line.out_of_stock,
                }
                for line in lines
            ]
        )


urlpatterns = [
    path("patients/", PatientsView.as_view(), name="patients"),
    path("patients/<uuid:patient_id>/", PatientView.as_view(), name="patient"),
    path("patients/<uuid:patient_id>/suggestion/", SuggestionView.as_view(), name="suggestion"),
    path("cases/", CasesView.as_view(), name="cases"),
    path("cases/<uuid:case_id>/", CaseView.as_view(), name="case"),
    path("cases/<uuid:case_id>/status/", CaseStatusView.as_view(), name="case-status"),
    path("cases/<uuid:case_id>/attachments/", AttachmentsView.as_view(), name="attachments"),
    path("cases/<uuid:case_id>/join/", JoinView.as_view(), name="join"),
    path(
        "cases/<uuid:case_id>/prescriptions/<uuid:prescription_id>/dispense/",
        DispenseView.as_view(),
        name="dispense",
    ),
    path("stock/", StockView.as_view(), name="stock"),
]
