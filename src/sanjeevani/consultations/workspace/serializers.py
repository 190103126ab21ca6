"""Shapes of the clinician's workspace API. Input serializers only check types; the services
decide."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from sanjeevani.config.model_serializers import ModelSerializer
from sanjeevani.consultations.models import Consultation
from sanjeevani.consultations.services import VITAL_INPUTS, identity_confirmed
from sanjeevani.queueing.models import DoctorPresence


# --- output -------------------------------------------------------------------------------
class DoctorSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.SerializerMethodField()
    qualification = serializers.CharField()
    registration_number = serializers.CharField()
    council = serializers.CharField()

    def get_name(self, doctor) -> str:
        return doctor.user.get_full_name() or doctor.user.get_username()


class PatientBriefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    patient_number = serializers.CharField()
    age = serializers.IntegerField()
    sex = serializers.CharField()
    preferred_language = serializers.CharField()


class DiagnosisSerializer(serializers.Serializer):
    code = serializers.CharField(help_text=_("ICD-10 code, e.g. J06.9"))
    label = serializers.CharField(required=False, allow_blank=True)


class ConsultationSerializer(ModelSerializer):
    """The consultation summary and its record, for its patient's family and its doctor."""

    doctor = DoctorSerializer()
    patient = PatientBriefSerializer()
    opd_name = serializers.CharField(source="opd.name", default=None, allow_null=True)
    token_number = serializers.IntegerField(
        source="ticket.token_number",
        default=None,
        allow_null=True,
        help_text=_("Null for a consultation that did not come from a queue."),
    )
    identity_confirmed = serializers.SerializerMethodField()
    diagnoses = DiagnosisSerializer(many=True)
    prescriptions = serializers.SerializerMethodField()
    feedback_rating = serializers.SerializerMethodField()

    class Meta:
        model = Consultation
        fields = [
            "id", "status", "outcome", "mode", "observed_mode", "mode_confirmed_at",
            "had_video", "service_line", "opd", "opd_name",
            "token_number", "doctor", "patient", "follow_up_of", "created_at", "started_at",
            "ended_at", "identity_confirmed", "identity_confirmed_at", "identity_method",
            "confirmed_age_years", "consent", "complaints", "history", "findings", "vitals",
            "diagnoses", "investigations", "advice", "follow_up_on", "referral",
            "record_revision", "prescriptions", "feedback_rating",
        ]  # fmt: skip

    def get_identity_confirmed(self, consultation) -> bool:
        return identity_confirmed(consultation)

    def get_prescriptions(self, consultation) -> list[str]:
        related = getattr(consultation, "prescriptions", None)
        return [str(pk) for pk in related.values_list("pk", flat=True)] if related else []

    def get_feedback_rating(self, consultation) -> int | None:
        feedback = getattr(consultation, "feedback", None)
        return feedback.rating if feedback else None


class PresenceSerializer(ModelSerializer):
    opd_name = serializers.CharField(source="opd.name", default=None, allow_null=True)
    since = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = DoctorPresence
        fields = ["status", "opd", "opd_name", "auto_assign", "since"]


class QueueEntrySerializer(serializers.Serializer):
    ticket = serializers.UUIDField(source="ticket_id")
    token_number = serializers.IntegerField()
    priority = serializers.IntegerField()
    age = serializers.IntegerField()
    sex = serializers.CharField()
    language = serializers.CharField()
    complaint = serializers.CharField()
    waited_seconds = serializers.IntegerField()
    follow_up_for_me = serializers.BooleanField()


class DoctorQueueSerializer(serializers.Serializer):
    opd = serializers.UUIDField(source="opd.id")
    opd_name = serializers.CharField(source="opd.name")
    waiting = serializers.IntegerField()
    longest_wait_seconds = serializers.IntegerField()
    entries = QueueEntrySerializer(many=True)
    websocket = serializers.SerializerMethodField()

    def get_websocket(self, queue) -> str:
        return "/ws/doctor/queue/"


class CallNextSerializer(serializers.Serializer):
    ticket = serializers.UUIDField(allow_null=True)
    token_number = serializers.IntegerField(allow_null=True)
    consultation = serializers.UUIDField(allow_null=True)
    call_expires_at = serializers.DateTimeField(allow_null=True)
    message = serializers.CharField()


# --- input ---------------------------------------------------------------------------------


class GoOnlineSerializer(serializers.Serializer):
    opd = serializers.UUIDField()
    auto_assign = serializers.BooleanField(required=False, default=False)


class IdentitySerializer(serializers.Serializer):
    method = serializers.CharField(
        max_length=120, help_text=_("How you confirmed it, e.g. “Aadhaar card seen on video”.")
    )
    age_years = serializers.IntegerField(min_value=0, max_value=130)


class VitalsSerializer(serializers.Serializer):
    """Every vital sign is optional; ranges are checked by the service. Send the
    temperature as ``temperature_c`` or ``temperature_f`` (stored as °C)."""

    def get_fields(self):
        return {
            name: serializers.FloatField(required=False, allow_null=True, help_text=unit)
            for name, (_low, _high, unit) in VITAL_INPUTS.items()
        }


class RecordPatchSerializer(serializers.Serializer):
    """Send only the parts that changed, with the revision your window last saw."""

    base_revision = serializers.IntegerField(min_value=0)
    complaints = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    history = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    findings = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    vitals = VitalsSerializer(required=False)
    diagnoses = DiagnosisSerializer(many=True, required=False)
    investigations = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    advice = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    follow_up_on = serializers.DateField(required=False, allow_null=True)
    referral = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


class EndSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=[
            (Consultation.Outcome.PRESCRIPTION, Consultation.Outcome.PRESCRIPTION.label),
            (Consultation.Outcome.ADVICE_ONLY, Consultation.Outcome.ADVICE_ONLY.label),
            (Consultation.Outcome.REFERRED, Consultation.Outcome.REFERRED.label),
            (Consultation.Outcome.NO_SHOW, Consultation.Outcome.NO_SHOW.label),
        ]
    )


class ModeConfirmSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(
        choices=Consultation.Mode.choices,
        help_text=_("The observed mode or a lower one (video > audio > chat)."),
    )


class MediaObservationSerializer(serializers.Serializer):
    reporter = serializers.UUIDField(help_text=_("The participant whose page reported."))
    source = serializers.UUIDField(help_text=_("The participant whose media it received."))
    level = serializers.ChoiceField(choices=Consultation.Mode.choices)
    video_frames = serializers.IntegerField()
    video_bytes = serializers.IntegerField()
    audio_packets = serializers.IntegerField()
    audio_bytes = serializers.IntegerField()
    last_reported_at = serializers.DateTimeField()


class ConsultationModeSerializer(serializers.Serializer):
    """The mode the room observed from both ends, and the doctor's confirmation."""

    observed_mode = serializers.ChoiceField(choices=Consultation.Mode.choices)
    mode = serializers.ChoiceField(
        choices=Consultation.Mode.choices,
        help_text=_("The mode of record: the observed one until the doctor confirms it."),
    )
    confirmed = serializers.BooleanField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    observations = MediaObservationSerializer(many=True)
