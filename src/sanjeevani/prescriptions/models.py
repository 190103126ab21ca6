"""The medicine catalogue and signed, immutable e-prescriptions.

A prescription is a legal document: once issued nothing on it changes. A correction is a new
prescription that supersedes the old one; the old row only changes its status.
"""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from sanjeevani.consultations.models import Consultation
from sanjeevani.patients.models import Patient
from sanjeevani.registry.models import DoctorProfile


class TPGList(models.TextChoices):
    """The medicine lists of the Telemedicine Practice Guidelines 2020."""

    O = "O", pgettext_lazy("prescription", "List O (any mode of consultation)")  # noqa: E741
    A = "A", pgettext_lazy("prescription", "List A (first by video, or refill)")
    B = "B", pgettext_lazy("prescription", "List B (add-on at a follow-up)")
    PROHIBITED = "prohibited", pgettext_lazy("prescription", "Prohibited by teleconsultation")


class Medicine(models.Model):
    """One generic medicine in one form and strength, loaded from ``data/medicines.csv``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    generic_name = models.CharField(_("generic name"), max_length=120)
    form = models.CharField(_("form"), max_length=60)
    strength = models.CharField(_("strength"), max_length=80)
    tpg_list = models.CharField(_("TPG list"), max_length=10, choices=TPGList.choices)
    category = models.CharField(_("category"), max_length=80, blank=True)
    basis = models.CharField(
        max_length=20, blank=True, help_text="tpg-example, statute or judgment"
    )
    source = models.CharField(_("source"), max_length=200, blank=True)
    search_name = models.CharField(max_length=120, db_index=True, editable=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["generic_name", "form", "strength"]
        constraints = [
            models.UniqueConstraint(
                fields=["generic_name", "form", "strength"], name="medicine_unique_product"
            )
        ]

    def __str__(self) -> str:
        return f"{self.generic_name} {self.form} {self.strength}"

    def save(self, *args, **kwargs):
        self.search_name = self.generic_name.casefold()
        super().save(*args, **kwargs)


def new_verification_code() -> str:
    """A short random code for the QR URL; unguessable, not a key to anything else."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


class PrescriptionIsImmutable(Exception):
    """An issued prescription was about to be changed or deleted."""


class PrescriptionQuerySet(models.QuerySet):
    def update(self, **kwargs):  # type: ignore[override]
        if set(kwargs) != {"status"} or kwargs["status"] != Prescription.Status.SUPERSEDED:
            raise PrescriptionIsImmutable("An issued prescription cannot be changed.")
        return super().update(**kwargs)

    def delete(self):  # type: ignore[override]
        raise PrescriptionIsImmutable("An issued prescription cannot be deleted.")


class Prescription(models.Model):
    class Status(models.TextChoices):
        ISSUED = "issued", pgettext_lazy("prescription", "Issued")
        SUPERSEDED = "superseded", pgettext_lazy("prescription", "Superseded")

    class Language(models.TextChoices):
        ENGLISH = "en", "English"
        HINDI = "hi", "हिन्दी"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    consultation = models.ForeignKey(
        Consultation, on_delete=models.PROTECT, related_name="prescriptions"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="prescriptions")
    doctor = models.ForeignKey(
        DoctorProfile, on_delete=models.PROTECT, related_name="prescriptions"
    )
    issued_at = models.DateTimeField(_("issued at"), db_index=True)
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.ENGLISH
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ISSUED)
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    content = models.JSONField(help_text="Snapshot of everything printed; this is what is signed.")
    signature = models.CharField(max_length=128, help_text="Base64 Ed25519 signature")
    key_id = models.CharField(max_length=32)
    doctor_signature = models.CharField(
        max_length=128,
        blank=True,
        help_text="Base64 Ed25519 signature of the same content by the doctor's own key "
        "(empty on prescriptions issued before doctors signed).",
    )
    doctor_key_id = models.CharField(max_length=32, blank=True)
    verification_code = models.CharField(
        max_length=16, unique=True, default=new_verification_code, editable=False
    )
    client_key = models.UUIDField(
        null=True,
        blank=True,
        unique=True,
        editable=False,
        help_text="The signing form's own key: the same form sent again (a retry after a "
        "dropped answer) gets this prescription back instead of signing a second one.",
    )

    objects = PrescriptionQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at"]
        indexes = [models.Index(fields=["patient", "-issued_at"])]

    def __str__(self) -> str:
        return f"Prescription {self.id} ({self.status})"

    _IMMUTABLE_FIELDS = (
        "consultation_id",
        "patient_id",
        "doctor_id",
        "issued_at",
        "language",
        "supersedes_id",
        "content",
        "signature",
        "key_id",
        "doctor_signature",
        "doctor_key_id",
        "verification_code",
        "client_key",
    )

    def save(self, *args, **kwargs):
        if not self._state.adding:
            stored = type(self).objects.filter(pk=self.pk).values(*self._IMMUTABLE_FIELDS, "status")
            stored = stored.first()
            if stored is not None:
                changed = [f for f in self._IMMUTABLE_FIELDS if stored[f] != getattr(self, f)]
                status_ok = self.status == stored["status"] or (
                    stored["status"] == self.Status.ISSUED and self.status == self.Status.SUPERSEDED
                )
                if changed or not status_ok:
                    raise PrescriptionIsImmutable(
                        "An issued prescription cannot be changed; issue a correction instead."
                    )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PrescriptionIsImmutable("An issued prescription cannot be deleted.")


class PrescriptionItemQuerySet(models.QuerySet):
    def update(self, **kwargs):  # type: ignore[override]
        raise PrescriptionIsImmutable("An issued prescription cannot be changed.")

    def delete(self):  # type: ignore[override]
        raise PrescriptionIsImmutable("An issued prescription cannot be deleted.")


class PrescriptionItem(models.Model):
    """One medicine line. ``medicine`` is empty for a free-entry medicine."""

    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="items")
    position = models.PositiveSmallIntegerField(default=0)
    medicine = models.ForeignKey(
        Medicine, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    generic_name = models.CharField(_("generic name"), max_length=120)
    form = models.CharField(_("form"), max_length=60, blank=True)
    strength = models.CharField(_("strength"), max_length=80, blank=True)
    dose = models.CharField(_("dose"), max_length=80)
    frequency = models.CharField(_("frequency"), max_length=80)
    route = models.CharField(_("route"), max_length=40, blank=True)
    duration = models.CharField(_("duration"), max_length=60)
    quantity = models.CharField(
        _("quantity"), max_length=60, blank=True, help_text=_("e.g. 10 tablets, 1 bottle of 60 mL")
    )
    instructions = models.CharField(_("instructions"), max_length=300, blank=True)
    tpg_list = models.CharField(max_length=10, choices=TPGList.choices)

    objects = PrescriptionItemQuerySet.as_manager()

    class Meta:
        ordering = ["prescription", "position"]

    def __str__(self) -> str:
        return f"{self.generic_name} {self.strength}".strip()

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PrescriptionIsImmutable("An issued prescription cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PrescriptionIsImmutable("An issued prescription cannot be deleted.")


class DoctorSigningKeyQuerySet(models.QuerySet):
    def delete(self):  # type: ignore[override]
        raise PrescriptionIsImmutable("A signing key is kept for verification; retire it instead.")


class DoctorSigningKey(models.Model):
    """A doctor's own Ed25519 key. The public key stays forever, so every prescription it
    signed keeps verifying after the key is retired (rotated). The private key is stored
    encrypted (see ``signing.seal_private_key``); a retired key never signs again."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    doctor = models.ForeignKey(DoctorProfile, on_delete=models.PROTECT, related_name="signing_keys")
    key_id = models.CharField(max_length=32, unique=True, help_text="SHA-256 of the public key")
    public_key = models.CharField(max_length=64, help_text="Base64 raw Ed25519 public key")
    sealed_private_key = models.TextField(
        help_text="The private key, encrypted (AES-256-GCM) with a key derived from the "
        "platform secret; unreadable from a copy of the database alone."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    objects = DoctorSigningKeyQuerySet.as_manager()

    class Meta:
        ordering = ["doctor", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["doctor"],
                condition=models.Q(retired_at__isnull=True),
                name="one_active_signing_key_per_doctor",
            )
        ]

    def __str__(self) -> str:
        state = "retired" if self.retired_at else "active"
        return f"Signing key {self.key_id} ({state})"

    def delete(self, *args, **kwargs):
        raise PrescriptionIsImmutable("A signing key is kept for verification; retire it instead.")


class PrescriptionDocument(models.Model):
    """The prescription's PDF, rendered once and kept: at issue (in the issuing
    transaction), or on the first download for a prescription issued before PDFs were kept.
    Rendering is the costliest thing a download could do, and the bytes of a signed
    prescription never change; only the "superseded" banner does, so the status it was
    rendered for is kept beside it and a stale copy is rendered again."""

    prescription = models.OneToOneField(
        Prescription, on_delete=models.PROTECT, primary_key=True, related_name="document"
    )
    pdf = models.BinaryField()
    rendered_for_status = models.CharField(max_length=10, choices=Prescription.Status.choices)
    rendered_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"PDF of prescription {self.prescription_id} ({self.rendered_for_status})"
