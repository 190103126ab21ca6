"""The Online OPD under /api/v1/opd/: everything the patient's and the doctor's pages do.

Thin: each view parses input, calls one service or selector, and renders the result.
A refusal of the queue or the consultation (``DomainError``) answers 409 (or its own
status) with its ``code``; malformed input answers 400; someone else's token or
consultation answers 404. Patient-only endpoints refuse doctors (403) and vice versa.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from sanjeevani.accounts.models import Role
from sanjeevani.consultations import modes as consultation_modes
from sanjeevani.consultations import selectors as consultation_selectors
from sanjeevani.consultations import services as consultation_services
from sanjeevani.consultations.models import Consultation
from sanjeevani.patients.models import Patient
from sanjeevani.portal.api_errors import AnswersRefusals
from sanjeevani.queueing import selectors as queue_selectors
from sanjeevani.queueing import services as queue_services
from sanjeevani.queueing.models import Ticket
from sanjeevani.registry.models import OnlineOPD

from . import selectors as opd_selectors
from . import serializers as s

app_name = "opd-api"


class IsPatient(permissions.BasePermission):
    message = gettext_lazy("This is for patients signed in with their mobile number.")

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated) and (
            request.user.role == Role.PATIENT
        )


class IsDoctor(permissions.BasePermission):
    message = gettext_lazy("This is for doctors.")

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated) and (
            request.user.role == Role.DOCTOR
        )


class OPDView(AnswersRefusals, APIView):
    """A ``DomainError`` from a service answers 409 with its code (``AnswersRefusals``)."""

    # lookups scoped to the caller: anything else is 404
    def family_ticket(self, ticket_id, audited: bool = False) -> Ticket:
        """``audited`` for reading the token itself, not for the steps that act on it."""
        try:
            if audited:
                return queue_selectors.ticket_viewed_by_family(
                    self.request.user, ticket_id, self.request
                )
            return queue_selectors.ticket_for_family(self.request.user, ticket_id)
        except Ticket.DoesNotExist:
            raise Http404(_("No such token.")) from None

    def consultation(self, consultation_id) -> Consultation:
        return consultation_selectors.consultation_for_user(
            self.request.user, consultation_id, request=self.request
        )

    def ticket_status(self, ticket: Ticket) -> dict:
        return s.TicketStatusSerializer(opd_selectors.waiting_status(ticket)).data


def _consultation_data(consultation: Consultation) -> dict:
    return s.ConsultationSerializer(consultation).data


# --- OPDs -----------------------------------------------------------------------------------
class OPDListView(OPDView):
    @extend_schema(
        summary="Online OPDs of a state (and the national ones), with live figures",
        parameters=[OpenApiParameter("state", str, description="State code, e.g. KA")],
        responses=s.OPDSerializer(many=True),
    )
    def get(self, request):
        opds = queue_selectors.opds_of_state(request.query_params.get("state"))
        return Response(s.OPDSerializer(queue_selectors.opd_boards(opds), many=True).data)


class OPDDetailView(OPDView):
    @extend_schema(summary="One online OPD with its live figures", responses=s.OPDSerializer)
    def get(self, request, opd_id):
        opd = get_object_or_404(queue_selectors.opds_of_state(None), pk=opd_id)
        return Response(s.OPDSerializer(queue_selectors.opd_board(opd)).data)


class TakeTokenView(OPDView):
    permission_classes = [IsPatient]
    limit_scope = "queue.join"  # each token sends an SMS (sanjeevani.limits)

    @extend_schema(
        summary="Take a token for a family profile",
        request=s.TakeTokenSerializer,
        responses={201: s.TicketStatusSerializer},
    )
    def post(self, request, opd_id):
        data = _valid(s.TakeTokenSerializer, request)
        opd = get_object_or_404(OnlineOPD, pk=opd_id)
        try:
            patient = queue_selectors.patient_of_family(request.user, data["patient"])
        except Patient.DoesNotExist:
            raise Http404(_("No such profile in your family.")) from None
        ticket = queue_services.join_queue(request.user, patient, opd, data["complaint"])
        return Response(self.ticket_status(ticket), status=status.HTTP_201_CREATED)


class OPDQueueView(OPDView):
    permission_classes = [IsDoctor]

    @extend_schema(summary="The waiting patients of an OPD you are online for",
                   responses=s.DoctorQueueSerializer)  # fmt: skip
    def get(self, request, opd_id):
        opd = get_object_or_404(OnlineOPD, pk=opd_id)
        doctor = queue_services.doctor_of(request.user)
        return Response(s.DoctorQueueSerializer(queue_selectors.doctor_queue(doctor, opd)).data)


# --- tickets (patients) -------------------------------------------------------------------------
class MyTicketsView(OPDView):
    permission_classes = [IsPatient]

    @extend_schema(
        summary="Your family's live tokens", responses=s.TicketStatusSerializer(many=True)
    )
    def get(self, request):
        tickets = queue_selectors.live_tickets_of_family(request.user)
        return Response([self.ticket_status(t) for t in tickets])


class TicketDetailView(OPDView):
    permission_classes = [IsPatient]

    @extend_schema(
        summary="A token's status: position, expected wait, call window",
        description="Reading a token is audited; follow the queue through the websocket "
        "events and re-read this after missing some.",
        responses=s.TicketStatusSerializer,
    )
    def get(self, request, ticket_id):
        ticket = self.family_ticket(ticket_id, audited=True)
        if queue_services.expire_unanswered_calls(opd=ticket.opd):
            ticket.refresh_from_db()
        return Response(self.ticket_status(ticket))


class TicketActionView(OPDView):
    permission_classes = [IsPatient]
    action = ""

    @extend_schema(request=None, responses=s.TicketStatusSerializer)
    def post(self, request, ticket_id):
        ticket = self.family_ticket(ticket_id)
        if self.action == "cancel":
            ticket = queue_services.cancel_ticket(request.user, ticket)
        else:
            ticket = queue_services.rejoin_after_missed(request.user, ticket)
        return Response(self.ticket_status(ticket))


class CancelTicketView(TicketActionView):
    action = "cancel"
    limit_scope = "queue.cancel"


class RejoinTicketView(TicketActionView):
    action = "rejoin"
    limit_scope = "queue.join"


class JoinCallView(OPDView):
    permission_classes = [IsPatient]

    @extend_schema(
        summary="Join now: accept the doctor's call within its 120-second window",
        request=None,
        responses=s.ConsultationSerializer,
    )
    def post(self, request, ticket_id):
        ticket = self.family_ticket(ticket_id)
        consultation = consultation_services.accept_call(request.user, ticket)
        return Response(_consultation_data(self.consultation(consultation.pk)))


# --- consultations --------------------------------------------------------------------------
class PatientHistoryView(OPDView):
    permission_classes = [IsPatient]

    @extend_schema(summary="A family profile's past consultations",
                   responses=s.ConsultationSerializer(many=True))  # fmt: skip
    def get(self, request, patient_id):
        patient = get_object_or_404(Patient, pk=patient_id, account=request.user)
        history = consultation_selectors.patient_history(patient, request.user, request=request)
        return Response(s.ConsultationSerializer(history, many=True).data)


class ConsultationDetailView(OPDView):
    @extend_schema(summary="Consultation summary and record (its patient's family or doctor)",
                   responses=s.ConsultationSerializer)  # fmt: skip
    def get(self, request, consultation_id):
        return Response(_consultation_data(self.consultation(consultation_id)))


class FeedbackView(OPDView):
    permission_classes = [IsPatient]
    limit_scope = "feedback"

    @extend_schema(request=s.FeedbackSerializer, responses={201: s.FeedbackOutSerializer})
    def post(self, request, consultation_id):
        consultation = self.consultation(consultation_id)
        data = _valid(s.FeedbackSerializer, request)
        feedback = consultation_services.submit_feedback(
            request.user, consultation, data["rating"], data["comment"]
        )
        return Response(s.FeedbackOutSerializer(feedback).data, status=status.HTTP_201_CREATED)


class FollowUpView(OPDView):
    permission_classes = [IsPatient]
    limit_scope = "queue.join"

    @extend_schema(
        summary="Book a follow-up with the same doctor (a token that waits for them)",
        request=s.FollowUpSerializer,
        responses={201: s.TicketStatusSerializer},
    )
    def post(self, request, consultation_id):
        consultation = self.consultation(consultation_id)
        data = _valid(s.FollowUpSerializer, request)
        ticket = consultation_services.book_follow_up(request.user, consultation, data["complaint"])
        return Response(self.ticket_status(ticket), status=status.HTTP_201_CREATED)


class EarlierConsultationsView(OPDView):
    permission_classes = [IsDoctor]

    @extend_schema(summary="The patient's earlier consultations, for this consultation's doctor",
                   responses=s.ConsultationSerializer(many=True))  # fmt: skip
    def get(self, request, consultation_id):
        consultation = self.consultation(consultation_id)
        earlier = consultation_selectors.earlier_consultations_for_doctor(
            consultation, request.user, request=request
        )
        return Response(s.ConsultationSerializer(earlier, many=True).data)


class IdentityView(OPDView):
    permission_classes = [IsDoctor]

    @extend_schema(summary="Record the patient's identity and age as confirmed",
                   request=s.IdentitySerializer, responses=s.ConsultationSerializer)  # fmt: skip
    def post(self, request, consultation_id):
        consultation = self.consultation(consultation_id)
        data = _valid(s.IdentitySerializer, request)
        consultation = consultation_services.confirm_identity(
            request.user, consultation, data["method"], data["age_years"]
        )
        return Response(_consultation_data(consultation))


class RecordView(OPDView):
    permission_classes = [IsDoctor]
    limit_scope = "consultation.record"

    @extend_schema(
        summary="Autosave the clinical record (send the parts that changed)",
        description="A stale `base_revision` answers 409 `stale_record` and writes nothing.",
        request=s.RecordPatchSerializer,
        responses=s.ConsultationSerializer,
    )
    def patch(self, request, consultation_id):
        consultation = self.consultation(consultation_id)
        data = dict(_valid(s.RecordPatchSerializer, request))
        base_revision = data.pop("base_revision")
        if "vitals" in data:
            data["vitals"] = dict(data["vitals"])
        if "diagnoses" in data:
            data["diagnoses"] = [dict(d) for d in data["diagnoses"]]
        consultation = consultation_services.save_clinical_record(
            request.user, consultation, data, base_revision
        )
        return Response(_consultation_data(consultation))


class ConsultationModeView(OPDView):
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
        consultation = self.consultation(consultation_id)
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


class ConsultationStepView(OPDView):
    """Hold, resume, drop (return the patient to the head of the queue)."""

    permission_classes = [IsDoctor]
    step = ""

    @extend_schema(request=None, responses=s.ConsultationSerializer)
    def post(self, request, consultation_id):
        consultation = self.consultation(consultation_id)
        if self.step == "hold":
            consultation = consultation_services.put_on_hold(request.user, consultation)
        elif self.step == "resume":
            consultation = consultation_services.resume(request.user, consultation)
        else:
            consultation_services.return_dropped_ticket(request.user, consultation)
            consultation.refresh_from_db()
        return Response(_consultation_data(consultation))


class HoldView(ConsultationStepView):
    step = "hold"


class ResumeView(ConsultationStepView):
    step = "resume"


class DropView(ConsultationStepView):
    step = "drop"


class EndView(OPDView):
    permission_classes = [IsDoctor]

    @extend_schema(summary="End the consultation with an outcome",
                   request=s.EndSerializer, responses=s.ConsultationSerializer)  # fmt: skip
    def post(self, request, consultation_id):
        consultation = self.consultation(consultation_id)
        data = _valid(s.EndSerializer, request)
        consultation = consultation_services.end_consultation(
            request.user, consultation, data["outcome"]
        )
        return Response(_consultation_data(consultation))


# --- doctors ---------------------------------------------------------------------------------
class PresenceView(OPDView):
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


class GoOnlineView(OPDView):
    permission_classes = [IsDoctor]

    @extend_schema(summary="Go online for an OPD you are rostered on",
                   request=s.GoOnlineSerializer, responses=s.PresenceSerializer)  # fmt: skip
    def post(self, request):
        data = _valid(s.GoOnlineSerializer, request)
        opd = get_object_or_404(OnlineOPD, pk=data["opd"])
        presence = queue_services.go_online(request.user, opd, data["auto_assign"])
        return Response(s.PresenceSerializer(presence).data)


class GoOfflineView(OPDView):
    permission_classes = [IsDoctor]

    @extend_schema(summary="Go offline", request=None, responses=s.PresenceSerializer)
    def post(self, request):
        return Response(s.PresenceSerializer(queue_services.go_offline(request.user)).data)


class TakeBreakView(OPDView):
    permission_classes = [IsDoctor]

    @extend_schema(summary="Take a break", request=None, responses=s.PresenceSerializer)
    def post(self, request):
        return Response(s.PresenceSerializer(queue_services.take_break(request.user)).data)


class DoctorQueueView(OPDView):
    permission_classes = [IsDoctor]

    @extend_schema(summary="The queue of the OPD you are online for",
                   responses=s.DoctorQueueSerializer)  # fmt: skip
    def get(self, request):
        doctor = queue_services.doctor_of(request.user)
        return Response(s.DoctorQueueSerializer(queue_selectors.doctor_queue(doctor)).data)


class DoctorConsultationsView(OPDView):
    permission_classes = [IsDoctor]

    @extend_schema(summary="Your consultations not yet ended",
                   responses=s.ConsultationSerializer(many=True))  # fmt: skip
    def get(self, request):
        doctor = queue_services.doctor_of(request.user)
        open_ones = consultation_selectors.open_consultations_of_doctor(doctor)
        return Response(s.ConsultationSerializer(open_ones, many=True).data)


class CallNextView(OPDView):
    permission_classes = [IsDoctor]

    @extend_schema(
        summary="Call the next patient (atomic: two doctors never get the same one)",
        request=None,
        responses={201: s.CallNextSerializer, 200: s.CallNextSerializer},
    )
    def post(self, request):
        ticket = consultation_services.call_next_patient(request.user)
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
            % {"n": ticket.token_number},
        }
        return Response(s.CallNextSerializer(body).data, status=status.HTTP_201_CREATED)


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


urlpatterns = [
    path("opds/", OPDListView.as_view(), name="opd-list"),
    path("opds/<uuid:opd_id>/", OPDDetailView.as_view(), name="opd-detail"),
    path("opds/<uuid:opd_id>/tickets/", TakeTokenView.as_view(), name="take-token"),
    path("opds/<uuid:opd_id>/queue/", OPDQueueView.as_view(), name="opd-queue"),
    path("tickets/", MyTicketsView.as_view(), name="my-tickets"),
    path("tickets/<uuid:ticket_id>/", TicketDetailView.as_view(), name="ticket-detail"),
    path("tickets/<uuid:ticket_id>/cancel/", CancelTicketView.as_view(), name="ticket-cancel"),
    path("tickets/<uuid:ticket_id>/join/", JoinCallView.as_view(), name="ticket-join"),
    path("tickets/<uuid:ticket_id>/rejoin/", RejoinTicketView.as_view(), name="ticket-rejoin"),
    path(
        "patients/<uuid:patient_id>/consultations/",
        PatientHistoryView.as_view(),
        name="patient-history",
    ),  # fmt: skip
    path(
        "consultations/<uuid:consultation_id>/",
        ConsultationDetailView.as_view(),
        name="consultation-detail",
    ),  # fmt: skip
    path(
        "consultations/<uuid:consultation_id>/feedback/",
        FeedbackView.as_view(),
        name="consultation-feedback",
    ),  # fmt: skip
    path(
        "consultations/<uuid:consultation_id>/follow-up/",
        FollowUpView.as_view(),
        name="consultation-follow-up",
    ),  # fmt: skip
    path(
        "consultations/<uuid:consultation_id>/earlier/",
        EarlierConsultationsView.as_view(),
        name="consultation-earlier",
    ),  # fmt: skip
    path(
        "consultations/<uuid:consultation_id>/identity/",
        IdentityView.as_view(),
        name="consultation-identity",
    ),  # fmt: skip
    path(
        "consultations/<uuid:consultation_id>/record/",
        RecordView.as_view(),
        name="consultation-record",
    ),  # fmt: skip
    path(
        "consultations/<uuid:consultation_id>/mode/",
        ConsultationModeView.as_view(),
        name="consultation-mode",
    ),  # fmt: skip
    path(
        "consultations/<uuid:consultation_id>/hold/", HoldView.as_view(), name="consultation-hold"
    ),  # fmt: skip
    path(
        "consultations/<uuid:consultation_id>/resume/",
        ResumeView.as_view(),
        name="consultation-resume",
    ),  # fmt: skip
    path(
        "consultations/<uuid:consultation_id>/end/", EndView.as_view(), name="consultation-end"
    ),  # fmt: skip
    path(
        "consultations/<uuid:consultation_id>/drop/", DropView.as_view(), name="consultation-drop"
    ),  # fmt: skip
    path("doctor/presence/", PresenceView.as_view(), name="doctor-presence"),
    path("doctor/online/", GoOnlineView.as_view(), name="doctor-online"),
    path("doctor/offline/", GoOfflineView.as_view(), name="doctor-offline"),
    path("doctor/break/", TakeBreakView.as_view(), name="doctor-break"),
    path("doctor/queue/", DoctorQueueView.as_view(), name="doctor-queue"),
    path("doctor/consultations/", DoctorConsultationsView.as_view(), name="doctor-consultations"),
    path("doctor/call-next/", CallNextView.as_view(), name="doctor-call-next"),
]
