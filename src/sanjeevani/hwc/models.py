"""Hub and spoke: the health worker's case, its photos and reports, the rule table that
suggests a specialty, referrals to higher facilities, and each centre's medicine stock.

A case waits as a ``queueing.Ticket`` and is held as a ``consultations.Consultation``
like any Online OPD token; what is its own is what the health worker recorded and how
it was routed (``routing``)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from sanjeevani.consultations.models import Consultation
from sanjeevani.patients.models import Patient
from sanjeevani.prescriptions.models import PrescriptionItem
from sanjeevani.queueing.models import Ticket
from sanjeevani.registry.models import Facility, Specialty


class Case(models.Model):
    """What a Community Health Officer sends to a hub about a patient in front of them."""

    class Mode(models.TextChoices):
        LIVE = "live", _("Live: video consultation now")
        STORE_FORWARD = "store_forward", _("Store and forward: the doctor answers in writing")

    class Route(models.TextChoices):
        OWN_HUB = "own_hub", _("A hub linked to this spoke")
        OVERFLOW = "overflow", _("Overflow: every hub of the state")
        FORWARDED = "forwarded", _("Forwarded up by a hub doctor")
        REASSIGNED = "reassigned", _("Reassigned by the hub coordinator")

    class ConsentBy(models.TextChoices):
        PATIENT = "patient", _("The patient")
        GUARDIAN = "guardian", _("A parent or guardian (minor or unable to consent)")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    #: Made by the health worker's browser when the form is opened: a draft sent twice
    #: (a retry after a dropped connection) is one case.
    client_key = models.UUIDField(_("draft key"), unique=True)
    spoke = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="cases")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="hwc_cases")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    ticket = models.OneToOneField(
        Ticket, on_delete=models.PROTECT, null=True, blank=True, related_name="hwc_case"
    )
    specialty = models.ForeignKey(Specialty, on_delete=models.PROTECT, related_name="+")
    suggested_specialty = models.ForeignKey(
        Specialty, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    suggestion_reasons = models.JSONField(_("why it was suggested"), default=list, blank=True)
    mode = models.CharField(_("mode"), max_length=14, choices=Mode.choices)
    urgent = models.BooleanField(_("urgent"), default=False)
    urgent_reasons = models.JSONField(_("danger signs"), default=list, blank=True)
    complaints = models.JSONField(_("chief complaints"), default=list, blank=True)
    complaint_text = models.TextField(_("complaints in own words"), blank=True)
    history = models.TextField(_("history"), blank=True)
    vitals = models.JSONField(_("vitals"), default=dict, blank=True)
    identity_method = models.CharField(_("how identity was checked"), max_length=120)
    consent_by = models.CharField(_("consent given by"), max_length=10, choices=ConsentBy.choices)
    consent_recorded_at = models.DateTimeField(_("consent recorded at"))
    route = models.CharField(
        pgettext_lazy("how a case reached its queue", "route"),
        max_length=12,
        choices=Route.choices,
        default=Route.OWN_HUB,
    )
    forwarded_from = models.ForeignKey(
        Facility, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["spoke", "-created_at"])]

    def __str__(self) -> str:
        return f"Case {self.ticket.token_number if self.ticket_id else '-'} at {self.spoke_id}"


def attachment_path(instance: CaseAttachment, filename: str) -> str:
    return f"hwc/{instance.case_id}/{uuid.uuid4().hex}"


class CaseAttachment(models.Model):
    """A photo (skin lesion, wound), an ECG or a report taken at the centre."""

    class Kind(models.TextChoices):
        PHOTO = "photo", _("Photo")
        ECG = "ecg", _("ECG")
        REPORT = "report", _("Report")
        OTHER = "other", _("Other")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.PHOTO)
    title = models.CharField(_("title"), max_length=150)
    file = models.FileField(upload_to=attachment_path)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at"]

    def __str__(self) -> str:
        return self.title


class SpecialtyRule(models.Model):
    """One line of the table that suggests a specialty: a complaint, or a vital sign
    beyond a threshold, or an age band, points to a specialty, for the stated reason.
    Administrators edit it; the suggestion quotes the reasons of the lines that matched."""

    class Comparison(models.TextChoices):
        ABOVE = "above", _("above")
        BELOW = "below", _("below")

    complaint = models.CharField(_("complaint (pick-list code)"), max_length=40, blank=True)
    vital = models.CharField(_("vital sign"), max_length=20, blank=True)
    comparison = models.CharField(max_length=5, choices=Comparison.choices, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    max_age_years = models.PositiveSmallIntegerField(
        _("only for patients up to this age"), null=True, blank=True
    )
    min_age_years = models.PositiveSmallIntegerField(
        _("only for patients from this age"), null=True, blank=True
    )
    specialty = models.ForeignKey(Specialty, on_delete=models.CASCADE, related_name="+")
    weight = models.PositiveSmallIntegerField(_("weight"), default=1)
    reason = models.CharField(_("reason shown to the health worker"), max_length=200)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["specialty__name", "complaint", "vital"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(complaint="") | ~Q(vital=""), name="rule_has_complaint_or_vital"
            ),
            models.CheckConstraint(
                condition=Q(vital="") | (~Q(comparison="") & Q(threshold__isnull=False)),
                name="rule_vital_has_threshold",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.complaint or self.vital} → {self.specialty}"


class Referral(models.Model):
    """A hub doctor sends the patient to a higher facility, which acknowledges it."""

    class Urgency(models.TextChoices):
        ROUTINE = "routine", _("Routine (within a week)")
        SOON = "soon", _("Soon (within 24 hours)")
        EMERGENCY = "emergency", _("Emergency (now)")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    consultation = models.ForeignKey(
        Consultation, on_delete=models.PROTECT, related_name="referrals"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="referrals")
    from_facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    to_facility = models.ForeignKey(
        Facility, on_delete=models.PROTECT, related_name="incoming_referrals"
    )
    reason = models.TextField(_("reason"))
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices)
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledgement_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["to_facility", "acknowledged_at"])]

    def __str__(self) -> str:
        return f"Referral of {self.patient_id} to {self.to_facility_id}"


class StockEntry(models.Model):
    """One line of a centre's medicine ledger; on hand is received minus dispensed."""

    class Kind(models.TextChoices):
        RECEIVED = "received", _("Received")
        DISPENSED = "dispensed", _("Dispensed")

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="stock")
    #: The generic molecule as the prescription resolved it, lower case.
    medicine = models.CharField(_("medicine (generic)"), max_length=120)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    quantity = models.PositiveIntegerField(_("quantity (units)"))
    prescription_item = models.ForeignKey(
        PrescriptionItem, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-recorded_at"]
        indexes = [models.Index(fields=["facility", "medicine"])]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="stock_quantity_positive")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity} {self.medicine} at {self.facility_id}"
