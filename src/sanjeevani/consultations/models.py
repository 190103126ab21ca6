"""A consultation: one meeting of a doctor with a patient (and, hub-and-spoke, a CHO), its
clinical record, and how it ended. Prescriptions hang off it in ``prescriptions``."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from sanjeevani.patients.models import Patient
from sanjeevani.queueing.models import Ticket
from sanjeevani.registry.models import DoctorProfile, Facility, OnlineOPD


class Consultation(models.Model):
    class ServiceLine(models.TextChoices):
        OPD = "opd", _("Online OPD")
        HUB_SPOKE = "hub_spoke", _("Hub and spoke")

    class Status(models.TextChoices):
        CALLING = "calling", _("Calling the patient")
        IN_PROGRESS = "in_progress", _("In progress")
        ON_HOLD = "on_hold", _("On hold")
        ENDED = "ended", _("Ended")

    class Outcome(models.TextChoices):
        PRESCRIPTION = "prescription", _("Completed with prescription")
        ADVICE_ONLY = "advice_only", _("Completed with advice only")
        REFERRED = "referred", _("Referred")
        NO_SHOW = "no_show", _("Patient did not join")
        DROPPED = "dropped", _("Connection dropped: patient returned to the queue")
        FORWARDED = "forwarded", _("Forwarded to a higher hub")

    class Mode(models.TextChoices):
        VIDEO = "video", _("Video")
        AUDIO = "audio", _("Audio only")
        CHAT = "chat", _("Chat")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service_line = models.CharField(max_length=10, choices=ServiceLine.choices)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, related_name="consultations", null=True, blank=True
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consultations")
    doctor = models.ForeignKey(
        DoctorProfile, on_delete=models.PROTECT, related_name="consultations"
    )
    opd = models.ForeignKey(
        OnlineOPD, on_delete=models.PROTECT, null=True, blank=True, related_name="consultations"
    )
    hub = models.ForeignKey(
        Facility, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    spoke = models.ForeignKey(
        Facility, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The CHO who asked for this consultation (hub and spoke)."),
    )
    follow_up_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="follow_ups"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.CALLING)
    outcome = models.CharField(max_length=14, choices=Outcome.choices, blank=True)
    # The mode is observed, not claimed: ``observed_mode`` is what both ends of the room
    # reported receiving (``consultations.modes``); ``mode`` is the mode of record, the
    # observed one until the doctor confirms it or a lower one (``mode_confirmed_at``).
    # ``had_video`` is derived from ``mode`` and means "video was observed" (List A).
    mode = models.CharField(
        _("mode"),
        max_length=6,
        choices=Mode.choices,
        default=Mode.CHAT,
        help_text=_("As observed by the room, or lower as the doctor confirmed it."),
    )
    observed_mode = models.CharField(
        _("observed mode"), max_length=6, choices=Mode.choices, default=Mode.CHAT
    )
    mode_confirmed_at = models.DateTimeField(_("mode confirmed at"), null=True, blank=True)
    had_video = models.BooleanField(
        _("video was observed"),
        default=False,
        help_text=_("Telemedicine Practice Guidelines: List A first prescriptions need video."),
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    # Identity and consent, as the guidelines ask.
    identity_confirmed_at = models.DateTimeField(null=True, blank=True)
    identity_method = models.CharField(max_length=120, blank=True)
    confirmed_age_years = models.PositiveSmallIntegerField(null=True, blank=True)
    consent = models.CharField(
        max_length=20,
        choices=[
            ("implied", _("Implied: the patient started the consultation")),
            ("explicit", _("Explicit: recorded by the health worker or caregiver")),
            ("guardian", _("Given by a guardian for a minor")),
        ],
        blank=True,
    )
    consent_recorded_at = models.DateTimeField(null=True, blank=True)

    # The clinical record; saved as the doctor types.
    complaints = models.TextField(_("complaints"), blank=True)
    history = models.TextField(_("history"), blank=True)
    findings = models.TextField(_("findings"), blank=True)
    vitals = models.JSONField(_("vitals"), default=dict, blank=True)
    diagnoses = models.JSONField(
        _("provisional diagnosis"), default=list, blank=True, help_text=_('[{"code", "label"}]')
    )
    investigations = models.TextField(_("investigations advised"), blank=True)
    advice = models.TextField(_("advice"), blank=True)
    follow_up_on = models.DateField(_("follow-up date"), null=True, blank=True)
    referral = models.TextField(_("referral"), blank=True)
    record_revision = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["patient", "-created_at"]),
            models.Index(fields=["doctor", "status"]),
        ]

    def __str__(self) -> str:
        return f"Consultation {self.id} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.ENDED


class MediaObservation(models.Model):
    """What one participant's browser received from another in the room: cumulative
    WebRTC ``getStats()`` counters (inbound-rtp), the largest ever reported. Only the
    doctor and the patient's side (the patient's account, or the CHO who requested a
    hub-and-spoke consultation) count towards the observed mode."""

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="media_observations"
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    source = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The participant whose media the reporter received."),
    )
    video_frames = models.BigIntegerField(_("video frames decoded"), default=0)
    video_bytes = models.BigIntegerField(_("video bytes received"), default=0)
    audio_packets = models.BigIntegerField(_("audio packets received"), default=0)
    audio_bytes = models.BigIntegerField(_("audio bytes received"), default=0)
    first_reported_at = models.DateTimeField(auto_now_add=True)
    last_reported_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "reporter", "source"], name="media_observation_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reporter_id} received from {self.source_id} in {self.consultation_id}"


class Feedback(models.Model):
    """The patient's short rating of one consultation (one per consultation)."""

    consultation = models.OneToOneField(
        Consultation, on_delete=models.CASCADE, related_name="feedback"
    )
    rating = models.PositiveSmallIntegerField(_("rating (1 to 5)"))
    comment = models.TextField(_("comment"), max_length=1000, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__gte=1, rating__lte=5), name="feedback_rating_1_to_5"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 for {self.consultation_id}"
