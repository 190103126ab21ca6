"""Patients: several profiles (a family) under one mobile-number account."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sanjeevani.registry.models import District, State

from .abha import format_abha_number


def new_patient_number() -> str:
    """A short display id for SMS and the prescription; not a key and not sequential."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "SJ" + "".join(secrets.choice(alphabet) for _ in range(8))


class Patient(models.Model):
    class Relation(models.TextChoices):
        SELF = "self", _("Self")
        SPOUSE = "spouse", _("Spouse")
        CHILD = "child", _("Child")
        PARENT = "parent", _("Parent")
        SIBLING = "sibling", _("Brother or sister")
        OTHER = "other", _("Other")

    class Sex(models.TextChoices):
        FEMALE = "F", _("Female")
        MALE = "M", _("Male")
        OTHER = "O", _("Other")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient_number = models.CharField(
        _("patient ID"), max_length=12, unique=True, default=new_patient_number, editable=False
    )
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="patients",
        null=True,
        blank=True,
        help_text=_("The mobile-number account this profile belongs to."),
    )
    relation = models.CharField(
        _("relation to account holder"),
        max_length=10,
        choices=Relation.choices,
        default=Relation.SELF,
    )
    name = models.CharField(_("full name"), max_length=150)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    age_years = models.PositiveSmallIntegerField(_("age in years"), null=True, blank=True)
    age_recorded_on = models.DateField(null=True, blank=True, editable=False)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    state = models.ForeignKey(State, on_delete=models.PROTECT, related_name="patients")
    # No index of its own: ``patient_district_newest`` (district, newest first) serves every
    # query by district, and one index fewer is written at each registration (0007).
    district = models.ForeignKey(
        District,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="patients",
        db_index=False,
    )
    address = models.CharField(
        _("address"),
        max_length=300,
        blank=True,
        help_text=_("Printed on prescriptions, as the Telemedicine Practice Guidelines ask."),
    )
    preferred_language = models.CharField(_("preferred language"), max_length=8, default="en")
    abha_number = models.CharField(_("ABHA number"), max_length=14, blank=True)
    abha_address = models.CharField(_("ABHA address"), max_length=100, blank=True)
    registered_at_facility_id = models.UUIDField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            # The duplicate check reads a district's newest patients
            # (hwc.selectors._names_to_compare; migration 0005 builds it concurrently).
            models.Index(fields=["district", "-created_at"], name="patient_district_newest"),
            # A centre finds a walk-in by ABHA number (hwc.selectors.find_patients; 0006).
            models.Index(
                fields=["abha_number"], condition=~Q(abha_number=""), name="patient_abha_number"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(date_of_birth__isnull=False) | Q(age_years__isnull=False),
                name="patient_has_dob_or_age",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.patient_number})"

    def save(self, *args, **kwargs):
        if self.age_years is not None and self.age_recorded_on is None:
            self.age_recorded_on = timezone.localdate()
        super().save(*args, **kwargs)

    @property
    def age(self) -> int:
        """Age in whole years today, from the date of birth or the age given on a date."""
        today = timezone.localdate()
        if self.date_of_birth:
            dob = self.date_of_birth
            return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))
        recorded = self.age_recorded_on or today
        return (self.age_years or 0) + max(0, (today - recorded).days // 365)

    @property
    def is_minor(self) -> bool:
        return self.age < 18

    @property
    def abha_number_display(self) -> str:
        return format_abha_number(self.abha_number)


def age_from(date_of_birth: dt.date | None, age_years: int | None) -> int | None:
    if date_of_birth:
        today = timezone.localdate()
        return (
            today.year
            - date_of_birth.year
            - ((today.month, today.day) < (date_of_birth.month, date_of_birth.day))
        )
    return age_years


def patient_document_path(instance: PatientDocument, filename: str) -> str:
    """Stored under MEDIA_ROOT by patient and random name; the uploader's name is not used."""
    return f"patient-documents/{instance.patient_id}/{instance.id}.{filename.rsplit('.', 1)[-1]}"


class PatientDocument(models.Model):
    """An earlier prescription or report the patient shares before a consultation.

    The file lives under ``MEDIA_ROOT``, outside the web root; it is served only by a view
    that checks who is asking (the patient's account, or the doctor of their consultation).
    """

    class Kind(models.TextChoices):
        PRESCRIPTION = "prescription", _("Earlier prescription")
        REPORT = "report", _("Test report")
        OTHER = "other", _("Other")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="documents")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(_("title"), max_length=150)
    kind = models.CharField(_("kind"), max_length=14, choices=Kind.choices, default=Kind.OTHER)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    file = models.FileField(upload_to=patient_document_path, max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["patient", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_kind_display()})"


class AssistedAction(models.Model):
    """One step an operator (a Common Service Centre, a prison, an old-age home) took for a
    patient, with the consent the patient gave for it: the record the guidelines ask for
    when someone other than the patient starts a consultation.

    The ticket and consultation are kept by id, not by key: they live in apps above this
    one (``queueing``, ``consultations``), and imports point down only.
    """

    class Kind(models.TextChoices):
        REGISTERED = "registered", _("Registered the patient")
        TOOK_TOKEN = "took_token", _("Took an Online OPD token")
        JOINED_ROOM = "joined_room", _("Joined the consultation room with the patient")
        REJOINED = "rejoined", _("Rejoined the queue after a missed call")
        CANCELLED_TOKEN = "cancelled_token", _("Cancelled the token")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assisted_actions"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="assisted_actions")
    kind = models.CharField(_("what was done"), max_length=16, choices=Kind.choices)
    consent_statement = models.TextField(
        _("consent statement"),
        help_text=_("The consent as the patient gave it, in their words or as read to them."),
    )
    consent_given_by = models.CharField(
        _("consent given by"),
        max_length=150,
        help_text=_("The patient, or the relative or guardian who consented for them."),
    )
    ticket_id = models.UUIDField(null=True, blank=True, db_index=True)
    consultation_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["operator", "patient"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.patient_id} by {self.operator_id}"
