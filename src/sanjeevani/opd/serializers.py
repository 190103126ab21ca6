"""Shapes of the OPD API. Input serializers only check types; the services decide."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from sanjeevani.queueing.models import Ticket


# --- output -------------------------------------------------------------------------------
class BoardSerializer(serializers.Serializer):
    doctors_online = serializers.IntegerField()
    doctors_busy = serializers.IntegerField()
    patients_waiting = serializers.IntegerField()
    longest_wait_seconds = serializers.IntegerField()
    mean_consultation_seconds = serializers.IntegerField()
    expected_wait_minutes = serializers.IntegerField(
        allow_null=True, help_text=_("Null when no doctor is online.")
    )
    open_now = serializers.BooleanField()
    next_opening = serializers.DateTimeField(allow_null=True)


class OPDSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="opd.id")
    code = serializers.CharField(source="opd.code")
    name = serializers.CharField(source="opd.name")
    scope = serializers.CharField(source="opd.scope")
    state = serializers.CharField(source="opd.state.code", allow_null=True, default=None)
    specialty = serializers.CharField(source="opd.specialty.name", allow_null=True, default=None)
    languages = serializers.ListField(child=serializers.CharField(), source="opd.languages")
    daily_capacity = serializers.IntegerField(source="opd.daily_capacity")
    board = BoardSerializer(source="*")


class QueueKeySerializer(serializers.Serializer):
    priority = serializers.IntegerField()
    queued_at = serializers.DateTimeField()


class TicketStatusSerializer(serializers.Serializer):
    """A token as the waiting room shows it (``queue_key`` lets the client follow
    ``queue.advanced`` events and work out its own position)."""

    id = serializers.UUIDField(source="ticket.id")
    token_number = serializers.IntegerField(source="ticket.token_number")
    service_date = serializers.DateField(source="ticket.service_date")
    opd = serializers.UUIDField(source="ticket.opd_id")
    opd_name = serializers.CharField(source="ticket.opd.name")
    patient = serializers.UUIDField(source="ticket.patient_id")
    patient_name = serializers.CharField(source="ticket.patient.name")
    patient_number = serializers.CharField(source="ticket.patient.patient_number")
    status = serializers.ChoiceField(choices=Ticket.Status.choices)
    priority = serializers.IntegerField(source="ticket.priority")
    position = serializers.IntegerField(allow_null=True)
    expected_wait_minutes = serializers.IntegerField(allow_null=True)
    call_expires_at = serializers.DateTimeField(source="ticket.call_expires_at", allow_null=True)
    call_seconds_left = serializers.IntegerField(allow_null=True)
    consultation = serializers.UUIDField(source="consultation_id", allow_null=True)
    missed_count = serializers.IntegerField(source="ticket.missed_count")
    can_rejoin = serializers.BooleanField()
    doctors_online = serializers.IntegerField()
    doctors_busy = serializers.IntegerField()
    queue_key = QueueKeySerializer()
    as_of = serializers.DateTimeField(
        help_text="When the position was counted: skip queue.advanced events whose `at` is "
        "earlier (their change is already in the position)."
    )
    websocket = serializers.SerializerMethodField()

    def get_websocket(self, status) -> str:
        return f"/ws/opd/{status['ticket'].opd_id}/waiting/"


class FeedbackOutSerializer(serializers.Serializer):
    rating = serializers.IntegerField()
    comment = serializers.CharField()
    created_at = serializers.DateTimeField()


# --- input ---------------------------------------------------------------------------------
class TakeTokenSerializer(serializers.Serializer):
    patient = serializers.UUIDField(help_text=_("A profile of your family."))
    complaint = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class FeedbackSerializer(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class FollowUpSerializer(serializers.Serializer):
    complaint = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
