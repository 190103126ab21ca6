"""The Online OPD under /api/v1/opd/: everything the patient's pages do, and the OPDs' queues.

The doctor's endpoints are the workspace API (/api/v1/consultations/); their old paths here
answer for one more release (``WORKSPACE_ALIASES``).

Thin: each view parses input, calls one service or selector, and renders the result.
A refusal of the queue or the consultation (``DomainError``) answers 409 (or its own
status) with its ``code``; malformed input answers 400; someone else's token or
consultation answers 404. Patient-only endpoints refuse doctors (403) and vice versa.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import include, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from sanjeevani.accounts.models import Role
from sanjeevani.config.model_serializers import Representation
from sanjeevani.consultations import selectors as consultation_selectors
from sanjeevani.consultations import services as consultation_services
from sanjeevani.consultations.models import Consultation
from sanjeevani.consultations.workspace import api as workspace_api
from sanjeevani.consultations.workspace.api import IsDoctor
from sanjeevani.consultations.workspace.serializers import (
    ConsultationSerializer,
    DoctorQueueSerializer,
)
from sanjeevani.patients.models import Patient
from sanjeevani.portal.api_errors import AnswersRefusals
from sanjeevani.queueing import selectors as queue_selectors
from sanjeevani.queueing import services as queue_services
from sanjeevani.queueing.models import Ticket
from sanjeevani.registry.models import OnlineOPD

from . import assisted_api
from . import selectors as opd_selectors
from . import serializers as s
from .aliases import alias
from .workspace import OPD_WORKSPACE

app_name = "opd-api"


class IsPatient(permissions.BasePermission):
    message = gettext_lazy("This is for patients signed in with their mobile number.")

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated) and (
            request.user.role == Role.PATIENT
        )


class OPDView(AnswersRefusals, APIView):
    """A ``DomainError`` from a service answers 409 with its code (``AnswersRefusals``)."""

    # lookups scoped to the caller: anything else is 404
    def family_ticket(self, ticket_id) -> Ticket:
        """A token of the signed-in family (404 otherwise). Not audited: the family reading
        or acting on its own token is no read of a record by someone else; the pages that
        show it are audited (``opd.access.family_ticket``)."""
        try:
            return queue_selectors.ticket_for_family(self.request.user, ticket_id)
        except Ticket.DoesNotExist:
            raise Http404(_("No such token.")) from None

    def consultation(self, consultation_id) -> Consultation:
        return consultation_selectors.consultation_for_user(
            self.request.user, consultation_id, request=self.request
        )

    def ticket_status(self, ticket: Ticket) -> dict:
        return _ticket_status_data(opd_selectors.waiting_status(ticket))


_consultation_data = workspace_api.consultation_data
#: Each status read of a token answers with it (config/model_serializers.py).
_ticket_status_data = Representation(s.TicketStatusSerializer)


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
        ticket = consultation_services.take_token(request.user, patient, opd, data["complaint"])
        return Response(self.ticket_status(ticket), status=status.HTTP_201_CREATED)


class OPDQueueView(OPDView):
    permission_classes = [IsDoctor]

    @extend_schema(summary="The waiting patients of an OPD you are online for",
                   responses=DoctorQueueSerializer)  # fmt: skip
    def get(self, request, opd_id):
        opd = get_object_or_404(OnlineOPD, pk=opd_id)
        doctor = queue_services.doctor_of(request.user)
        return Response(DoctorQueueSerializer(queue_selectors.doctor_queue(doctor, opd)).data)


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
        description="Follow the queue through the websocket events and re-read this after "
        "missing some, or every 10 s while the socket is down. The family reading its own "
        "token's status is not audited as a record read (as the waiting room's status poll).",
        responses=s.TicketStatusSerializer,
    )
    def get(self, request, ticket_id):
        ticket = self.family_ticket(ticket_id)
        return Response(self.ticket_status(ticket))


class TicketActionView(OPDView):
    permission_classes = [IsPatient]
    action = ""

    @extend_schema(request=None, responses=s.TicketStatusSerializer)
    def post(self, request, ticket_id):
        ticket = self.family_ticket(ticket_id)
        if self.action == "cancel":
            ticket = consultation_services.cancel_token(request.user, ticket)
        else:
            ticket = consultation_services.rejoin_queue(request.user, ticket)
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
        responses=ConsultationSerializer,
    )
    def post(self, request, ticket_id):
        ticket = self.family_ticket(ticket_id)
        consultation = consultation_services.accept_call(request.user, ticket)
        return Response(_consultation_data(self.consultation(consultation.pk)))


# --- consultations --------------------------------------------------------------------------
class PatientHistoryView(OPDView):
    permission_classes = [IsPatient]

    @extend_schema(summary="A family profile's past consultations",
                   responses=ConsultationSerializer(many=True))  # fmt: skip
    def get(self, request, patient_id):
        patient = get_object_or_404(Patient, pk=patient_id, account=request.user)
        history = consultation_selectors.patient_history(patient, request.user, request=request)
        return Response(ConsultationSerializer(history, many=True).data)


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


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


#: (old route, new name) of the workspace API under its old OPD paths (``aliases``).
WORKSPACE_ALIASES = [
    ("consultations/<uuid:consultation_id>/", "consultation-detail"),
    ("consultations/<uuid:consultation_id>/earlier/", "consultation-earlier"),
    ("consultations/<uuid:consultation_id>/identity/", "consultation-identity"),
    ("consultations/<uuid:consultation_id>/record/", "consultation-record"),
    ("consultations/<uuid:consultation_id>/mode/", "consultation-mode"),
    ("consultations/<uuid:consultation_id>/hold/", "consultation-hold"),
    ("consultations/<uuid:consultation_id>/resume/", "consultation-resume"),
    ("consultations/<uuid:consultation_id>/end/", "consultation-end"),
    ("consultations/<uuid:consultation_id>/drop/", "consultation-drop"),
    ("doctor/presence/", "doctor-presence"),
    ("doctor/online/", "doctor-online"),
    ("doctor/offline/", "doctor-offline"),
    ("doctor/break/", "doctor-break"),
    ("doctor/queue/", "doctor-queue"),
    ("doctor/consultations/", "doctor-consultations"),
    ("doctor/call-next/", "doctor-call-next"),
]
WORKSPACE_VIEWS = {name: view for _route, view, name in workspace_api.ROUTES}

urlpatterns = [
    # The operator's steps for a patient (assisted registration): opd-api:assisted-*.
    path("assisted/", include(assisted_api.urlpatterns)),
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
    ),
    path(
        "consultations/<uuid:consultation_id>/feedback/",
        FeedbackView.as_view(),
        name="consultation-feedback",
    ),
    path(
        "consultations/<uuid:consultation_id>/follow-up/",
        FollowUpView.as_view(),
        name="consultation-follow-up",
    ),
    *[
        path(
            route,
            alias(WORKSPACE_VIEWS[name].as_view(mount=OPD_WORKSPACE), f"workspace-api:{name}"),
            name=name,
        )
        for route, name in WORKSPACE_ALIASES
    ],
]
