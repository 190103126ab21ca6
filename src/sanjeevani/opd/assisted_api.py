"""The operator's OPD API (assisted registration), under /api/v1/opd/assisted/
(``opd-api:assisted-*``): take a token for one of the operator's patients, read its status,
join the room with the patient when called, rejoin after a missed call, cancel. Each write
carries the patient's consent (``consent_agreed``, ``consent_statement``,
``consent_given_by``); without it, 400 and nothing done. Another operator's patient or
token is 404; other roles 403; a queue refusal 409 with its code."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sanjeevani.patients import assisted as patients_assisted
from sanjeevani.patients.assisted_api import AssistedConsentSerializer, IsOperator
from sanjeevani.portal.api_errors import AnswersRefusals
from sanjeevani.queueing.models import Ticket
from sanjeevani.registry.models import OnlineOPD

from . import assisted
from . import selectors as opd_selectors
from . import serializers as s


class AssistedTokenSerializer(AssistedConsentSerializer):
    """What is wrong (optional, up to 500 characters) and the patient's consent."""

    complaint = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class AssistedJoinSerializer(serializers.Serializer):
    consultation_id = serializers.UUIDField()
    room_url = serializers.CharField()


class AssistedView(AnswersRefusals, APIView):
    permission_classes = [permissions.IsAuthenticated, IsOperator]

    def ticket_status(self, ticket: Ticket) -> dict:
        return s.TicketStatusSerializer(opd_selectors.waiting_status(ticket)).data

    def consent(self, request: Request) -> patients_assisted.Consent:
        serializer = AssistedConsentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.consent()


class TakeTokenView(AssistedView):
    @extend_schema(
        summary="Take a token for one of the operator's patients, with their consent",
        request=AssistedTokenSerializer,
        responses={201: s.TicketStatusSerializer},
    )
    def post(self, request: Request, patient_id: Any, opd_id: Any) -> Response:
        patient = patients_assisted.patient_of(request.user, patient_id, request=request)
        opd = get_object_or_404(OnlineOPD, pk=opd_id, active=True)
        serializer = AssistedTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ticket = assisted.take_token_for(
            request.user,
            patient,
            opd,
            serializer.consent(),
            serializer.validated_data["complaint"],
            request=request,
        )
        return Response(self.ticket_status(ticket), status=status.HTTP_201_CREATED)


class TicketView(AssistedView):
    @extend_schema(
        summary="A token the operator took: its status", responses=s.TicketStatusSerializer
    )
    def get(self, request: Request, ticket_id: Any) -> Response:
        ticket = assisted.ticket_of(request.user, ticket_id, request=request)
        return Response(self.ticket_status(ticket))


class JoinView(AssistedView):
    @extend_schema(
        summary="Answer the doctor's call for the patient and join the room with them",
        request=AssistedConsentSerializer,
        responses=AssistedJoinSerializer,
    )
    def post(self, request: Request, ticket_id: Any) -> Response:
        ticket = assisted.ticket_of(request.user, ticket_id)
        consultation = assisted.join_with_patient(
            request.user, ticket, self.consent(request), request=request
        )
        return Response(
            {
                "consultation_id": str(consultation.pk),
                "room_url": reverse("realtime:room", args=[consultation.pk]),
            }
        )


class RejoinView(AssistedView):
    @extend_schema(
        summary="After a missed call: back to the head of the line, once",
        request=AssistedConsentSerializer,
        responses=s.TicketStatusSerializer,
    )
    def post(self, request: Request, ticket_id: Any) -> Response:
        ticket = assisted.ticket_of(request.user, ticket_id)
        ticket = assisted.rejoin_for(request.user, ticket, self.consent(request), request=request)
        return Response(self.ticket_status(ticket))


class CancelView(AssistedView):
    @extend_schema(
        summary="Cancel a token the operator took, when the patient asks",
        request=AssistedConsentSerializer,
        responses=s.TicketStatusSerializer,
    )
    def post(self, request: Request, ticket_id: Any) -> Response:
        ticket = assisted.ticket_of(request.user, ticket_id)
        ticket = assisted.cancel_token_for(
            request.user, ticket, self.consent(request), request=request
        )
        return Response(self.ticket_status(ticket))


urlpatterns = [
    path(
        "patients/<uuid:patient_id>/opds/<uuid:opd_id>/tickets/",
        TakeTokenView.as_view(),
        name="assisted-take-token",
    ),
    path("tickets/<uuid:ticket_id>/", TicketView.as_view(), name="assisted-ticket"),
    path("tickets/<uuid:ticket_id>/join/", JoinView.as_view(), name="assisted-join"),
    path("tickets/<uuid:ticket_id>/rejoin/", RejoinView.as_view(), name="assisted-rejoin"),
    path("tickets/<uuid:ticket_id>/cancel/", CancelView.as_view(), name="assisted-cancel"),
]
