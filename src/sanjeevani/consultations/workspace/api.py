"""The clinician's workspace under /api/v1/consultations/: everything the doctor's pages do.

Thin: each view parses input, calls one service or selector, and renders the result. A
refusal of the queue or the consultation (``DomainError``) answers 409 (or its own status)
with its ``code``; malformed input answers 400; a consultation that is not the caller's (or
not of the mount's service line) answers 404. Doctor-only endpoints refuse other roles (403).
A service line mounts these routes with its ``Mount`` (``api_routes``).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from sanjeevani.accounts.models import Role
from sanjeevani.config.model_serializers import Representation
from sanjeevani.consultations import modes as consultation_modes
from sanjeevani.consultations import selectors as consultation_selectors
from sanjeevani.consultations import services as consultation_services
from sanjeevani.consultations.models import Consultation
from sanjeevani.portal.api_errors import AnswersRefusals
from sanjeevani.queueing import selectors as queue_selectors
from sanjeevani.queueing import services as queue_services

from . import line
from . import serializers as s
from .mount import Mount

app_name = "workspace-api"


class IsDoctor(permissions.BasePermission):
    message = gettext_lazy("This is for doctors.")

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated) and (
            request.user.role == Role.DOCTOR
        )


class WorkspaceView(AnswersRefusals, APIView):
    """A ``DomainError`` from a service answers 409 with its code (``AnswersRefusals``)."""

    mount: Mount | None = None

    def consultation(self, consultation_id) -> Consultation:
        """The caller's consultation of this line, its read audited; anything else is 404."""
        return consultation_selectors.consultation_for_user(
            self.request.user,
            consultation_id,
            request=self.request,
            service_line=self.mount.service_line,
        )

    def consultation_to_change(self, consultation_id) -> Consultation:
        """The caller's consultation for a step that changes it; anything else is 404.

        Not audited as a read: each step's own audit row (identity confirmed, record saved,
        mode confirmed, on hold, ended...) already names the doctor, the patient and the
        moment, and a second row per autosave doubled the trail without telling anyone
        more (issue 15: what is audited as a read, decided on purpose). A step refused
        answers no record. A step that changed nothing (an autosave with no field in it, a
        hold of a consultation already on hold) is audited as the read it was."""
        return consultation_selectors.visible_consultation(
            self.request.user, consultation_id, self.mount.service_line
        )


#: Every step of the workspace answers with the consultation (config/model_serializers.py).
consultation_data = Representation(s.ConsultationSerializer)


class ConsultationDetailView(WorkspaceView):
    @extend_schema(summary="Consultation summary and record (its patient's family or doctor)",
                   responses=s.ConsultationSerializer)  # fmt: skip
    def get(self, request, consultation_id):
        return Response(consultation_data(self.consultation(consultation_id)))


class EarlierConsultationsView(WorkspaceView):
    permission_classes = [IsDoctor]

    @extend_schema(summary="The patient's earlier consultations, for this consultation's doctor",
                   responses=s.ConsultationSerializer(many=True))  # fmt: skip
    def get(self, request, consultation_id):
        consultation = self.consultation(consultation_id)
        earlier = consultation_selectors.earlier_consultations_for_doctor(
            consultation, request.user, request=request
        )
        return Response(s.ConsultationSerializer(earlier, many=True).data)


class IdentityView(WorkspaceView):
    permission_classes = [IsDoctor]

    @extend_schema(summary="Record the patient's identity and age as confirmed",
                   request=s.IdentitySerializer, responses=s.ConsultationSerializer)  # fmt: skip
    def post(self, request, consultation_id):
        consultation = self.consultation_to_change(consultation_id)
        data = _valid(s.IdentitySerializer, request)
        consultation = consultation_services.confirm_identity(
            request.user, consultation, data["method"], data["age_years"]
        )
        return Response(consultation_data(consultation))


class RecordView(WorkspaceView):
    permission_classes = [IsDoctor]
    limit_scope = "consultation.record"

    @extend_schema(
        summary="Autosave the clinical record (send the parts that changed)",
        description="A stale `base_revision` answers 409 `stale_record` and writes nothing.",
        request=s.RecordPatchSerializer,
        responses=s.ConsultationSerializer,
    )
    def patch(self, request, consultation_id):
        consultation = self.consultation_to_change(consultation_id)
        data = dict(_valid(s.RecordPatchSerializer, request))
        base_revision = data.pop("base_revision")
        if "vitals" in data:
            data["vitals"] = dict(data["vitals"])
        if "diagnoses" in data:
            data["diagnoses"] = [dict(d) for d in data["diagnoses"]]
        consultation = consultation_services.save_clinical_record(
            request.user, consultation, data, base_revision
        )
        if consultation.record_revision == base_revision:  # nothing saved: a read
            consultation_selectors.audit_consultation_read(request.user, consultation, request)
        return Response(consultation_data(consultation))


class ConsultationModeView(WorkspaceView):
    """The mode is observed by the room (both ends' received media), confirmed by the doctor."""

    permission_classes = [IsDoctor]

    @extend_schema(summary="How the consultation was held: observed from both ends",
                   responses=s.ConsultationModeSerializer)  # fmt: skip
    def get(self, request, consultation_id):
        return Response(_mode_data(self.consultation(consultation_id)))

    @extend_schema(
        summary="Confirm the mode before signing: the observed one or a lower one",
        description="Confirming a mode above the observed one answers 400 `not_observed`. "
        "A prescription cannot be issued until the mode is confirmed.",
        request=s.ModeConfirmSerializer,
        responses=s.ConsultationModeSerializer,
    )
    def post(self, request, consultation_id):
        consultation = self.consultation_to_change(consultation_id)
        data = _valid(s.ModeConfirmSerializer, request)
        consultation = consultation_services.confirm_consultation_mode(
            request.user, consultation, data["mode"]
        )
        return Response(_mode_data(consultation))


def _mode_data(consultation: Consultation) -> dict:
    payload = {
        **consultation_modes.mode_payload(consultation),
        "confirmed_at": consultation.mode_confirmed_at,
        "observations": consultation_modes.observations_of(consultation),
    }
    return s.ConsultationModeSerializer(payload).data


class ConsultationStepView(WorkspaceView):
    """Hold, resume, drop (return the patient to the head of the queue)."""

    permission_classes = [IsDoctor]
    step = ""

    @extend_schema(request=None, responses=s.ConsultationSerializer)
    def post(self, request, consultation_id):
        consultation = self.consultation_to_change(consultation_id)
        before = consultation.status
        if self.step == "hold":
            consultation = consultation_services.put_on_hold(request.user, consultation)
        elif self.step == "resume":
            consultation = consultation_services.resume(request.user, consultation)
        else:
            consultation_services.return_dropped_ticket(request.user, consultation)
            consultation.refresh_from_db()
        if consultation.status == before:  # already on hold (or not): nothing changed, a read
            consultation_selectors.audit_consultation_read(request.user, consultation, request)
        return Response(consultation_data(consultation))


class HoldView(ConsultationStepView):
    step = "hold"


class ResumeView(ConsultationStepView):
    step = "resume"


class DropView(ConsultationStepView):
    step = "drop"


class EndView(WorkspaceView):
    permission_classes = [IsDoctor]

    @extend_schema(summary="End the consultation with an outcome",
                   request=s.EndSerializer, responses=s.ConsultationSerializer)  # fmt: skip
    def post(self, request, consultation_id):
        consultation = self.consultation_to_change(consultation_id)
        data = _valid(s.EndSerializer, request)
        consultation = consultation_services.end_consultation(
            request.user, consultation, data["outcome"]
        )
        return Response(consultation_data(consultation))


# --- doctors ---------------------------------------------------------------------------------
class PresenceView(WorkspaceView):
    permission_classes = [IsDoctor]

    @extend_schema(summary="Your presence: online, busy, on a break or offline",
                   responses=s.PresenceSerializer)  # fmt: skip
    def get(self, request):
        doctor = queue_services.doctor_of(request.user)
        presence = queue_selectors.presence_of(doctor)
        if presence is None:
            return Response({"status": "offline", "opd": None, "opd_name": None,
                             "auto_assign": False, "since": None})  # fmt: skip
        return Response(s.PresenceSerializer(presence).data)


class GoOnlineView(WorkspaceView):
    permission_classes = [IsDoctor]

    @extend_schema(summary="Go online for an OPD you are rostered on",
                   request=s.GoOnlineSerializer, responses=s.PresenceSerializer)  # fmt: skip
    def post(self, request):
        if self.mount.go_online is not None:
            data = _valid(self.mount.online_request or s.GoOnlineSerializer, request)
            doctor = queue_services.doctor_of(request.user)
            self.mount.go_online(request.user, doctor, data, bool(data.get("auto_assign")))
            return Response(s.PresenceSerializer(queue_selectors.presence_of(doctor)).data)
        data = _valid(s.GoOnlineSerializer, request)
        served = get_object_or_404(self.mount.queues(), pk=data["opd"])
        presence = consultation_services.start_serving(request.user, served, data["auto_assign"])
        return Response(s.PresenceSerializer(presence).data)


class GoOfflineView(WorkspaceView):
    permission_classes = [IsDoctor]

    @extend_schema(summary="Go offline", request=None, responses=s.PresenceSerializer)
    def post(self, request):
        return Response(s.PresenceSerializer(queue_services.go_offline(request.user)).data)


class TakeBreakView(WorkspaceView):
    permission_classes = [IsDoctor]

    @extend_schema(summary="Take a break", request=None, responses=s.PresenceSerializer)
    def post(self, request):
        return Response(s.PresenceSerializer(queue_services.take_break(request.user)).data)


class DoctorQueueView(WorkspaceView):
    permission_classes = [IsDoctor]

    @extend_schema(summary="The queue of the OPD you are online for",
                   responses=s.DoctorQueueSerializer)  # fmt: skip
    def get(self, request):
        doctor = queue_services.doctor_of(request.user)
        if self.mount.queue_view is not None:
            return Response(line.queue_view(self.mount, doctor) or {"online": False})
        return Response(s.DoctorQueueSerializer(queue_selectors.doctor_queue(doctor)).data)


class DoctorConsultationsView(WorkspaceView):
    permission_classes = [IsDoctor]

    @extend_schema(summary="Your consultations not yet ended",
                   responses=s.ConsultationSerializer(many=True))  # fmt: skip
    def get(self, request):
        doctor = queue_services.doctor_of(request.user)
        open_ones = consultation_selectors.open_consultations_of_doctor(doctor)
        return Response(s.ConsultationSerializer(open_ones, many=True).data)


class CallNextView(WorkspaceView):
    permission_classes = [IsDoctor]

    @extend_schema(
        summary="Call the next patient (atomic: two doctors never get the same one)",
        request=None,
        responses={201: s.CallNextSerializer, 200: s.CallNextSerializer},
    )
    def post(self, request):
        ticket = line.call_next(self.mount, request.user)
        if ticket is None:
            return Response({"ticket": None, "token_number": None, "consultation": None,
                             "call_expires_at": None,
                             "message": _("Nobody is waiting now.")})  # fmt: skip
        body = {
            "ticket": ticket.pk,
            "token_number": ticket.token_number,
            "consultation": ticket.consultation.pk,
            "call_expires_at": ticket.call_expires_at,
            "message": _("Token %(n)s is being called; the patient has 2 minutes to join.")
            % {"n": ticket.token_number}
            if ticket.consultation.status == Consultation.Status.CALLING
            else _("Token %(n)s is open.") % {"n": ticket.token_number},
        }
        return Response(s.CallNextSerializer(body).data, status=status.HTTP_201_CREATED)


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


#: (route, view class, name) below the mount point.
ROUTES = [
    ("<uuid:consultation_id>/", ConsultationDetailView, "consultation-detail"),
    ("<uuid:consultation_id>/earlier/", EarlierConsultationsView, "consultation-earlier"),
    ("<uuid:consultation_id>/identity/", IdentityView, "consultation-identity"),
    ("<uuid:consultation_id>/record/", RecordView, "consultation-record"),
    ("<uuid:consultation_id>/mode/", ConsultationModeView, "consultation-mode"),
    ("<uuid:consultation_id>/hold/", HoldView, "consultation-hold"),
    ("<uuid:consultation_id>/resume/", ResumeView, "consultation-resume"),
    ("<uuid:consultation_id>/end/", EndView, "consultation-end"),
    ("<uuid:consultation_id>/drop/", DropView, "consultation-drop"),
    ("doctor/presence/", PresenceView, "doctor-presence"),
    ("doctor/online/", GoOnlineView, "doctor-online"),
    ("doctor/offline/", GoOfflineView, "doctor-offline"),
    ("doctor/break/", TakeBreakView, "doctor-break"),
    ("doctor/queue/", DoctorQueueView, "doctor-queue"),
    ("doctor/consultations/", DoctorConsultationsView, "doctor-consultations"),
    ("doctor/call-next/", CallNextView, "doctor-call-next"),
]


def _own(method):
    """A fresh function calling ``method``: ``extend_schema`` marks the function it gets,
    and marking the base class's own would change the other line's schema too."""

    def handler(self, request, *args, **kwargs):
        return method(self, request, *args, **kwargs)

    return handler


def _for_mount(view: type[WorkspaceView], mount: Mount) -> type[WorkspaceView]:
    """The view as the mount serves it: a line with its own go-online body documents it."""
    if view is GoOnlineView and mount.online_request is not None:
        schema = extend_schema(
            summary="Go online for what your line offers you",
            request=mount.online_request,
            responses=s.PresenceSerializer,
        )
        return type(view.__name__, (view,), {"post": schema(_own(view.post))})
    if view is DoctorQueueView and mount.queue_response is not None:
        schema = extend_schema(
            summary="The queue you are online for", responses=mount.queue_response
        )
        return type(view.__name__, (view,), {"get": schema(_own(view.get))})
    return view


def api_routes(mount: Mount) -> list[URLPattern]:
    """The workspace API for one service line."""
    return [
        path(route, _for_mount(view, mount).as_view(mount=mount), name=name)
        for route, view, name in ROUTES
    ]
