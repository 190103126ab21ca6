"""Doctors' own signing keys: the active key a doctor signs with, made on first use, and
rotation (the old key is retired, never deleted, so what it signed keeps verifying)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sanjeevani.audit.services import record_event
from sanjeevani.registry.models import DoctorProfile

from .models import DoctorSigningKey
from .signing import new_doctor_key, verify_doctor_content


def _create_key(doctor: DoctorProfile) -> DoctorSigningKey:
    kid, public_b64, sealed = new_doctor_key()
    return DoctorSigningKey.objects.create(
        doctor=doctor, key_id=kid, public_key=public_b64, sealed_private_key=sealed
    )


def active_key_for_signing(doctor: DoctorProfile) -> DoctorSigningKey:
    """The doctor's active key, made now if they have none. Call inside a transaction: the
    doctor's row is locked so two prescriptions signed at once cannot make two keys."""
    _lock_doctor(doctor)
    key = (
        DoctorSigningKey.objects.filter(doctor=doctor, retired_at__isnull=True)
        .order_by("-created_at")
        .first()
    )
    return key or _create_key(doctor)


def _lock_doctor(doctor: DoctorProfile) -> None:
    """Lock the doctor's row alone. The models' default orderings (a key's by its doctor,
    a doctor's by their name) would join the user's row into the statement, and
    ``FOR UPDATE`` would lock that too."""
    DoctorProfile.objects.select_for_update().filter(pk=doctor.pk).order_by().values_list(
        "pk", flat=True
    ).first()


def ensure_signing_key(doctor: DoctorProfile) -> DoctorSigningKey:
    """The doctor's active key, made if missing (demo data, onboarding)."""
    with transaction.atomic():
        return active_key_for_signing(doctor)


def rotate_doctor_key(
    actor: Any, doctor: DoctorProfile, *, reason: str = "", request: Any = None
) -> DoctorSigningKey:
    """Retire the doctor's active key (if any) and make a new one, in one transaction.

    Prescriptions signed with the retired key keep verifying: its public key stays. Use it
    when a key may be exposed, when the platform secret was replaced without keeping the old
    one, or on a schedule.
    """
    reason = (reason or "").strip()[:200]
    with transaction.atomic():
        _lock_doctor(doctor)
        old = list(
            DoctorSigningKey.objects.select_for_update()
            .filter(doctor=doctor, retired_at__isnull=True)
            .order_by("created_at")
        )
        now = timezone.now()
        for key in old:
            key.retired_at = now
            key.save(update_fields=["retired_at"])
        new = _create_key(doctor)
        record_event(
            actor,
            "prescription.doctor_key_rotated",
            obj=new,
            request=request,
            detail={
                "doctor": str(doctor.pk),
                "retired": [k.key_id for k in old],
                "new": new.key_id,
                "reason": reason,
            },
        )
    return new


def doctor_signature_status(prescription: Any) -> str:
    """``valid``, ``invalid`` or ``absent`` (issued before doctors signed). The key must be
    one of the prescribing doctor's, named in the platform-signed content, and its
    fingerprint must match its public key."""
    if not prescription.doctor_signature:
        return "absent"
    named = (prescription.content.get("doctor") or {}).get("key_id")
    if named != prescription.doctor_key_id:
        return "invalid"
    key = DoctorSigningKey.objects.filter(
        key_id=prescription.doctor_key_id, doctor_id=prescription.doctor_id
    ).first()
    if key is None:
        return "invalid"
    ok = verify_doctor_content(
        prescription.content, prescription.doctor_signature, key.key_id, key.public_key
    )
    return "valid" if ok else "invalid"


def check_doctor_can_sign(doctor: DoctorProfile) -> None:
    """Refuse before any work when the doctor's record lacks what every prescription prints."""
    if not (doctor.contact_phone or doctor.contact_email):
        raise ValidationError(
            _(
                "Your professional phone or email is missing from your profile, and every "
                "prescription must show how to reach you. Ask your administrator to add it."
            )
        )
