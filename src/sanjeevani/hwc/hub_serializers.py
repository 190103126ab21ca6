"""The shapes of the hub's API (``hub_api``) and of the hub's workspace mount (the mixed
queue, going online at a hub): requests are checked here, answers are documented here
(the selectors build them as plain data)."""

from __future__ import annotations

from rest_framework import serializers

from .hub_services import MAX_FOLLOW_UP_DAYS
from .models import Referral

# --- the hub doctor's queue (the workspace mount) ----------------------------------------------


class GoOnlineAtHubSerializer(serializers.Serializer):
    """Go online for one of your hubs and one of your specialties."""

    hub = serializers.UUIDField()
    specialty = serializers.SlugField(max_length=60)


class HubPlaceSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class HubQueueEntrySerializer(serializers.Serializer):
    ticket = serializers.UUIDField()
    token_number = serializers.IntegerField()
    urgent = serializers.BooleanField()
    danger_signs = serializers.ListField(child=serializers.CharField())
    mode = serializers.CharField(allow_blank=True)
    mode_label = serializers.CharField(allow_blank=True)
    age = serializers.IntegerField(allow_null=True)
    sex = serializers.CharField(allow_blank=True)
    complaint = serializers.CharField(allow_blank=True)
    spoke = serializers.CharField(allow_blank=True)
    route = serializers.CharField(allow_blank=True)
    route_label = serializers.CharField(allow_blank=True)
    specialty = serializers.CharField(allow_blank=True)
    waited_minutes = serializers.IntegerField()


class HubQueueSerializer(serializers.Serializer):
    """The hub doctor's mixed queue; only ``online`` (false) when not online for a hub."""

    online = serializers.BooleanField()
    hub = HubPlaceSerializer(required=False)
    opd = HubPlaceSerializer(required=False, help_text="The queue served (hub: specialty).")
    specialty = serializers.CharField(required=False)
    waiting = serializers.IntegerField(required=False)
    urgent = serializers.IntegerField(required=False)
    longest_wait_minutes = serializers.IntegerField(required=False)
    entries = HubQueueEntrySerializer(many=True, required=False)


# --- the coordinator ----------------------------------------------------------------------------


class HubSpecialtyLoadSerializer(serializers.Serializer):
    specialty = serializers.CharField()
    specialty_name = serializers.CharField()
    doctors_online = serializers.IntegerField()
    waiting = serializers.IntegerField()
    urgent = serializers.IntegerField()
    oldest_wait_minutes = serializers.IntegerField()
    state_overflow = serializers.IntegerField()


class HubWaitingCaseSerializer(HubQueueEntrySerializer):
    case = serializers.UUIDField()


class HubLoadSerializer(serializers.Serializer):
    hub = HubPlaceSerializer()
    specialties = HubSpecialtyLoadSerializer(many=True)
    waiting = serializers.IntegerField()
    cases = HubWaitingCaseSerializer(many=True)
    updated_at = serializers.DateTimeField()


class HubReassignRequestSerializer(serializers.Serializer):
    specialty = serializers.SlugField(max_length=60)


class HubReassignedSerializer(serializers.Serializer):
    case = serializers.UUIDField()
    specialty = serializers.CharField()
    route = serializers.CharField()


# --- referrals -----------------------------------------------------------------------------------


class ReferredPatientSerializer(serializers.Serializer):
    name = serializers.CharField()
    age = serializers.IntegerField(allow_null=True)
    sex = serializers.CharField()
    patient_number = serializers.CharField()


class HubReferralSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    patient = ReferredPatientSerializer()
    from_facility = serializers.CharField()
    to_facility = serializers.CharField()
    reason = serializers.CharField()
    urgency = serializers.ChoiceField(choices=Referral.Urgency.choices)
    urgency_label = serializers.CharField()
    referred_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    acknowledgement_note = serializers.CharField(allow_blank=True)


class ReferralAcknowledgementSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, allow_blank=True)


# --- the hub doctor's case steps ---------------------------------------------------------------


class HubForwardRequestSerializer(serializers.Serializer):
    to_hub = serializers.UUIDField()
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


class HubReferralRequestSerializer(serializers.Serializer):
    to = serializers.UUIDField()
    reason = serializers.CharField(max_length=2000)
    urgency = serializers.ChoiceField(choices=Referral.Urgency.choices)
    end = serializers.BooleanField(default=True, help_text="End the consultation as referred.")


class HubFollowUpRequestSerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=MAX_FOLLOW_UP_DAYS)


class CaseAttachmentInfoSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    title = serializers.CharField()
    content_type = serializers.CharField()


class CaseSentSerializer(serializers.Serializer):
    """What the centre sent with the case."""

    id = serializers.UUIDField()
    spoke = serializers.CharField()
    mode = serializers.CharField()
    urgent = serializers.BooleanField()
    danger_signs = serializers.ListField(child=serializers.CharField())
    route = serializers.CharField()
    route_label = serializers.CharField()
    specialty = serializers.CharField()
    complaints = serializers.ListField(child=serializers.CharField())
    complaint_text = serializers.CharField(allow_blank=True)
    history = serializers.CharField(allow_blank=True)
    vitals = serializers.DictField()
    attachments = CaseAttachmentInfoSerializer(many=True)


class HubCaseSerializer(serializers.Serializer):
    consultation = serializers.UUIDField()
    status = serializers.CharField()
    outcome = serializers.CharField(allow_blank=True)
    follow_up_on = serializers.DateField(allow_null=True)
    case = CaseSentSerializer(allow_null=True)
    referrals = HubReferralSerializer(many=True)
