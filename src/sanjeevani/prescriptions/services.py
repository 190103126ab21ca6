"""Issuing and correcting e-prescriptions: one transaction each, guideline rules enforced,
content snapshotted and signed, audited, the patient told by SMS after commit."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from sanjeevani.accounts.reauthentication import ReauthenticationError, confirm_identity
from sanjeevani.accounts.sms import SMSKind, send_sms
from sanjeevani.audit.services import client_ip, record_event
from sanjeevani.config.compiled_queries import locked_row
from sanjeevani.config.loaded_relations import know_written_relation
from sanjeevani.consultations import care_team
from sanjeevani.consultations.care_team import Action
from sanjeevani.consultations.models import Consultation
from sanjeevani.registry.selectors import doctor_profile_of
from sanjeevani.rollups.services import count_prescription_issued

from . import selectors
from .addresses import download_url
from .doctor_keys import active_key_for_signing, check_doctor_can_sign
from .documents import pdf_for as pdf_for  # re-exported: downloads serve the stored PDF
from .documents import store_pdf, store_pdf_at_issue
from .guidelines import ProposedMedicine, check_prescription
from .models import Medicine, Prescription, PrescriptionItem
from .rendering import IST
from .signing import SigningKeyUnavailable, sign_as_doctor, sign_content

#: How long after a consultation ends its doctor may still issue or correct a prescription.
#: How long after the consultation the doctor may still issue or correct its prescription
#: (the care-team policy's window for writing the record).
CORRECTION_WINDOW = care_team.RECORD_CORRECTION
MAX_ITEMS = 30
TELECONSULTATION_STATEMENT = "This prescription is generated on a teleconsultation"
#: 2: diagnosis required (provisional marked), quantity per line, contacts, findings, vitals,
#: the identity statement and the doctor's own key id.
CONTENT_VERSION = 2
_ITEM_TEXT_FIELDS = {
    "generic_name": 120,
    "form": 60,
    "strength": 80,
    "dose": 80,
    "frequency": 80,
    "route": 40,
    "duration": 60,
    "quantity": 60,
    "instructions": 300,
}
#: What a pharmacist needs on every line before dispensing (route defaults from the form).
_REQUIRED_ITEM_FIELDS = (
    "generic_name",
    "form",
    "strength",
    "dose",
    "frequency",
    "duration",
    "quantity",
)
_FIELD_LABELS = {
    "generic_name": gettext_lazy("medicine name"),
    "form": gettext_lazy("form"),
    "strength": gettext_lazy("strength"),
    "dose": gettext_lazy("dose"),
    "frequency": gettext_lazy("frequency"),
    "route": gettext_lazy("route"),
    "duration": gettext_lazy("duration"),
    "quantity": gettext_lazy("quantity (e.g. 10 tablets)"),
    "instructions": gettext_lazy("instructions"),
}
_DEFAULT_ROUTES = {
    "eye drops": "eye",
    "ear drops": "ear",
    "nasal drops": "nose",
    "cream": "skin",
    "ointment": "skin",
    "lotion": "skin",
    "metered-dose inhaler": "inhaled",
    "dry powder inhaler": "inhaled",
    "vaginal pessary": "vaginal",
    "injection": "injection",
}


def _initials(name: str) -> str:
    return " ".join(f"{part[0].upper()}." for part in name.split() if part)


def _doctor_of(user: Any, consultation: Consultation):
    """The consultation's doctor, while the care-team policy lets them write its record:
    anyone else is refused; its own doctor is told when the correction window has closed."""
    if not care_team.tied(user, Action.WRITE_RECORD, consultation):
        raise PermissionDenied(
            _("Only the doctor of this consultation can write its prescription.")
        )
    if care_team.lapsed(user, Action.WRITE_RECORD, consultation):
        raise ValidationError(
            _(
                "This consultation ended more than an hour ago, so its prescription can no "
                "longer be issued or corrected. Ask the patient to book a follow-up."
            )
        )
    return doctor_profile_of(user)


def _signed_before(
    doctor_user: Any, client_key: uuid.UUID | None, consultation: Consultation
) -> Prescription | None:
    """The prescription already signed from this form, if any. A doctor's answer can be
    lost after the commit (a dropped connection, a 503 from a restarting node), and the
    form is then sent again: it must get the same prescription back, never a second one
    signed and sent to the patient."""
    if client_key is None:
        return None
    signed = Prescription.objects.filter(client_key=client_key).first()
    if signed is None:
        return None
    if signed.consultation_id != consultation.pk or signed.doctor.user_id != doctor_user.pk:
        raise ValidationError(
            _("This form was already used for another prescription: reload the page.")
        )
    return signed


def _check_consultation(consultation: Consultation) -> None:
    if consultation.identity_confirmed_at is None:
        raise ValidationError(
            _("Confirm the patient's identity and age before writing a prescription.")
        )
    patient = consultation.patient
    if consultation.confirmed_age_years is None and (
        patient.date_of_birth is None and patient.age_years is None
    ):
        raise ValidationError(_("Record the patient's age before writing a prescription."))
    if consultation.mode_confirmed_at is None:
        # The signed content carries the mode; the room observes it, the doctor confirms it
        # (consultations.modes.confirm_consultation_mode).
        raise ValidationError(
            _(
                "Confirm how this consultation was held (video, audio only or chat) before "
                "signing: the room shows what it observed."
            )
        )


def _check_completeness(consultation: Consultation) -> None:
    """What the guidelines and a pharmacist need besides the medicines: a diagnosis (a
    provisional one will do) and a way to reach the patient."""
    diagnoses = [d for d in (consultation.diagnoses or []) if isinstance(d, dict)]
    if not diagnoses:
        raise ValidationError(
            {
                "diagnoses": [
                    _(
                        "Add a diagnosis before signing: search ICD-10 by name in the record "
                        "and pick the closest code. A provisional diagnosis will do; mark it "
                        "provisional."
                    )
                ]
            }
        )
    patient = consultation.patient
    mobile = patient.account.mobile if patient.account_id else ""
    if not (mobile or patient.address):
        raise ValidationError(
            _(
                "The patient has neither a mobile number nor an address on record, and the "
                "prescription must show one. Ask for the address and add it to the patient's "
                "profile."
            )
        )


def _clean_items(raw_items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Resolve catalogue picks and check each line is complete; errors name the line."""
    if len(raw_items) > MAX_ITEMS:
        raise ValidationError(
            {"items": [_("A prescription holds at most %(n)d medicines.") % {"n": MAX_ITEMS}]}
        )
    ids = [item["medicine"] for item in raw_items if item.get("medicine")]
    ids = [getattr(m, "pk", m) for m in ids]
    catalogue = selectors.medicines_by_id(ids) if ids else {}
    cleaned, errors = [], []
    for number, raw in enumerate(raw_items, start=1):
        item = {key: str(raw.get(key) or "").strip() for key in _ITEM_TEXT_FIELDS}
        medicine = raw.get("medicine")
        if medicine is not None and not isinstance(medicine, Medicine):
            medicine = catalogue.get(str(medicine))
            if medicine is None:
                errors.append(
                    _("Line %(n)d: that medicine is not in the catalogue; pick it again.")
                    % {"n": number}
                )
                continue
        if medicine is not None:
            item["generic_name"] = medicine.generic_name
            item["form"] = medicine.form
            item["strength"] = medicine.strength
        label = _("Line %(n)d — %(medicine)s") % {
            "n": number,
            "medicine": item["generic_name"] or _("no medicine name"),
        }
        missing = [str(_FIELD_LABELS[f]) for f in _REQUIRED_ITEM_FIELDS if not item[f]]
        if missing:
            errors.append(
                _("%(medicine)s: give the %(fields)s.")
                % {"medicine": label, "fields": ", ".join(missing)}
            )
            continue
        too_long = [f for f, limit in _ITEM_TEXT_FIELDS.items() if len(item[f]) > limit]
        if too_long:
            errors.append(
                _("%(medicine)s: shorten the %(field)s.")
                % {"medicine": label, "field": _FIELD_LABELS[too_long[0]]}
            )
            continue
        if not item["route"]:
            item["route"] = _DEFAULT_ROUTES.get(item["form"].casefold(), "oral")
        item["medicine"] = medicine
        cleaned.append(item)
    if errors:
        raise ValidationError({"items": errors})
    return cleaned


def _apply_guidelines(consultation: Consultation, items: list[dict[str, Any]]) -> None:
    """Resolve every line's names (brands, misspellings, scripts, and drugs named in its form,
    strength or instructions) and hold it to the guideline rules against the patient's own
    record (``guidelines``, ``medicine_names``); any refusal refuses the prescription."""
    proposed = [
        ProposedMedicine(
            generic_name=item["generic_name"],
            tpg_list=item["medicine"].tpg_list if item["medicine"] else None,
            reason=item["medicine"].source if item["medicine"] else "",
            form=item.get("form", ""),
            strength=item.get("strength", ""),
            instructions=item.get("instructions", ""),
        )
        for item in items
    ]
    decisions = check_prescription(proposed, selectors.patient_history(consultation))
    refusals = [d.refusal for d in decisions if d.refusal]
    if refusals:
        raise ValidationError({"items": refusals})
    for item, decision in zip(items, decisions, strict=True):
        item["tpg_list"] = decision.tpg_list


def build_content(
    prescription: Prescription,
    consultation: Consultation,
    items: list[dict[str, Any]],
    investigations: str,
    advice: str,
    follow_up_on: dt.date | None,
    doctor_key_id: str = "",
    provisional_diagnosis: bool = False,
) -> dict[str, Any]:
    """Everything printed on the prescription, as plain JSON; this is what gets signed (by
    the platform and by the doctor, whose key id is inside so the platform vouches for it)."""
    doctor, patient = consultation.doctor, consultation.patient
    doctor_name = doctor.user.get_full_name() or doctor.user.get_username()
    age = (
        consultation.confirmed_age_years
        if consultation.confirmed_age_years is not None
        else patient.age
    )
    return {
        "version": CONTENT_VERSION,
        "prescription_id": str(prescription.pk),
        "verification_code": prescription.verification_code,
        "issued_at": prescription.issued_at.astimezone(IST).isoformat(),
        "language": prescription.language,
        "supersedes": str(prescription.supersedes_id) if prescription.supersedes_id else None,
        "doctor": {
            "name": doctor_name,
            "qualification": doctor.qualification,
            "registration_number": doctor.registration_number,
            "council": doctor.council,
            "phone": doctor.contact_phone,
            "email": doctor.contact_email,
            "key_id": doctor_key_id,
        },
        "patient": {
            "name": patient.name,
            "initials": _initials(patient.name),
            "age_years": age,
            "sex": patient.sex,
            "patient_number": patient.patient_number,
            "mobile": patient.account.mobile if patient.account_id else "",
            "address": patient.address,
        },
        "consultation": {
            "id": str(consultation.pk),
            "mode": consultation.mode,
            "had_video": bool(consultation.had_video),
        },
        "identity": {
            "confirmed_by": doctor_name,
            "method": consultation.identity_method,
            "confirmed_at": consultation.identity_confirmed_at.astimezone(IST).isoformat()
            if consultation.identity_confirmed_at
            else None,
            "age_years": consultation.confirmed_age_years,
        },
        "complaints": consultation.complaints,
        "findings": consultation.findings,
        "vitals": {str(k): v for k, v in (consultation.vitals or {}).items()},
        "diagnoses": [
            {
                "code": str(d.get("code", "")),
                "label": str(d.get("label", "")),
                "provisional": bool(d.get("provisional")) or provisional_diagnosis,
            }
            for d in (consultation.diagnoses or [])
            if isinstance(d, dict)
        ],
        "medicines": [
            {key: item[key] for key in (*_ITEM_TEXT_FIELDS, "tpg_list")} for item in items
        ],
        "investigations": investigations,
        "advice": advice,
        "follow_up_on": follow_up_on.isoformat() if follow_up_on else None,
        "statement": TELECONSULTATION_STATEMENT,
    }


_locked_for_signing = locked_row(Consultation, "patient__account", "doctor__user")


def _issue(
    doctor_user: Any,
    consultation: Consultation,
    items: Sequence[dict[str, Any]],
    investigations: str | None,
    advice: str | None,
    follow_up_on: dt.date | None,
    language: str | None,
    supersedes: Prescription | None,
    request: HttpRequest | None,
    reconfirmed_by: str = "",
    provisional_diagnosis: bool = False,
    client_key: uuid.UUID | None = None,
) -> tuple[Prescription, bool]:
    """(prescription, signed now): the one already signed from ``client_key`` when the
    same form arrives twice at once (both wait on the consultation's lock)."""
    consultation = _locked_for_signing.one(pk=consultation.pk)
    signed = _signed_before(doctor_user, client_key, consultation)
    if signed is not None:
        return signed, False
    doctor = _doctor_of(doctor_user, consultation)
    _check_consultation(consultation)
    check_doctor_can_sign(doctor)
    _check_completeness(consultation)
    cleaned = _clean_items(items)
    investigations = (
        consultation.investigations if investigations is None else investigations
    ).strip()
    advice = (consultation.advice if advice is None else advice).strip()
    if follow_up_on is None:
        follow_up_on = consultation.follow_up_on
    if not cleaned and not investigations and not advice:
        raise ValidationError(
            _("Add at least one medicine, investigation or advice to the prescription.")
        )
    _apply_guidelines(consultation, cleaned)

    patient = consultation.patient
    if language not in Prescription.Language.values:
        preferred = patient.preferred_language
        language = preferred if preferred in Prescription.Language.values else "en"
    prescription = Prescription(
        consultation=consultation,
        patient=patient,
        doctor=doctor,
        issued_at=timezone.now(),
        language=language,
        supersedes=supersedes,
        client_key=client_key,
    )
    doctor_key = active_key_for_signing(doctor)
    prescription.content = build_content(
        prescription,
        consultation,
        cleaned,
        investigations,
        advice,
        follow_up_on,
        doctor_key_id=doctor_key.key_id,
        provisional_diagnosis=provisional_diagnosis,
    )
    prescription.signature, prescription.key_id = sign_content(prescription.content)
    try:
        prescription.doctor_signature = sign_as_doctor(
            prescription.content, doctor_key.sealed_private_key, doctor_key.key_id
        )
    except SigningKeyUnavailable as exc:
        raise ValidationError(
            _(
                "Your signing key cannot be opened on this server (the platform secret was "
                "changed). Ask your administrator to rotate your signing key, then sign again."
            )
        ) from exc
    prescription.doctor_key_id = doctor_key.key_id
    prescription.save(force_insert=True)
    written = PrescriptionItem.objects.bulk_create(
        PrescriptionItem(
            prescription=prescription,
            position=position,
            medicine=item["medicine"],
            tpg_list=item["tpg_list"],
            **{key: item[key] for key in _ITEM_TEXT_FIELDS},
        )
        for position, item in enumerate(cleaned)
    )
    # The doctor's answer shows the lines in their order and that nothing supersedes it yet.
    know_written_relation(prescription, "items", written)
    know_written_relation(prescription, "superseded_by", None)
    # Rendered once, here, and served from storage on every download.
    store_pdf_at_issue(prescription, request)
    record_event(
        doctor_user,
        "prescription.issue",
        obj=prescription,
        patient_id=patient.pk,
        request=request,
        detail={
            "consultation": str(consultation.pk),
            "medicines": [item["generic_name"] for item in cleaned],
            "supersedes": str(supersedes.pk) if supersedes else None,
            "doctor_key": doctor_key.key_id,
            "reconfirmed_by": reconfirmed_by,
        },
    )
    mobile = patient.account.mobile if patient.account_id else ""
    if mobile:
        link = download_url(prescription, request)
        doctor_name = prescription.content["doctor"]["name"]
        registration = doctor.registration_number

        def notify() -> None:
            with translation.override(language):
                body = pgettext(
                    "prescription",
                    "Sanjeevani: your prescription from Dr %(doctor)s (Reg. No. %(reg)s) is "
                    "ready. Download it: %(link)s",
                ) % {"doctor": doctor_name, "reg": registration, "link": link}
            send_sms(mobile, body, kind=SMSKind.NOTIFICATION)

        transaction.on_commit(notify)
    return prescription, True


def _reconfirm(
    doctor_user: Any,
    consultation: Consultation,
    password: str | None,
    totp: str | None,
    request: HttpRequest | None,
) -> str:
    """The doctor's own signature is made only right after they prove it is them. Runs
    before the issuing transaction: a wrong answer leaves its audit row (the lockout counts
    them) and nothing else."""
    _doctor_of(doctor_user, consultation)
    try:
        return confirm_identity(
            doctor_user,
            password=password,
            totp=totp,
            client_ip=client_ip(request) if request is not None else None,
        )
    except ReauthenticationError as exc:
        raise ValidationError({exc.field or "password": [exc.message]}, code=exc.code) from exc


def issue_prescription(
    doctor_user: Any,
    consultation: Consultation,
    items: Sequence[dict[str, Any]],
    investigations: str | None = None,
    advice: str | None = None,
    follow_up_on: dt.date | None = None,
    language: str | None = None,
    *,
    password: str | None = None,
    totp: str | None = None,
    provisional_diagnosis: bool = False,
    client_key: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> Prescription:
    """Issue a signed prescription for ``consultation``.

    ``items`` are dicts with ``medicine`` (a catalogue ``Medicine`` or its id, or None for
    free entry), ``generic_name`` (for free entry), ``dose``, ``frequency``, ``route``,
    ``duration`` and ``instructions``. ``investigations``/``advice``/``follow_up_on`` left
    as None are taken from the consultation record. Raises ``PermissionDenied`` for anyone
    but the consultation's doctor and ``ValidationError`` (naming each refused medicine and
    the rule) when the guidelines or the consultation's state forbid it.

    Every line needs form, strength, dose, frequency, duration and ``quantity``; the
    consultation needs a diagnosis (``provisional_diagnosis`` marks all of them
    provisional). The doctor re-confirms with ``password`` or ``totp`` (a wrong one is a
    ``ValidationError`` on that field); the prescription is then signed by the platform and
    by the doctor's own key.

    ``client_key`` names the signing form: sent again (a retry after a lost answer), it
    returns the prescription already signed from it, without re-confirming (nothing new is
    signed, and an authenticator code cannot be used twice).
    """
    signed = _signed_before(doctor_user, client_key, consultation)
    if signed is not None:
        return signed
    method = _reconfirm(doctor_user, consultation, password, totp, request)
    with transaction.atomic():
        prescription, signed_now = _issue(
            doctor_user,
            consultation,
            items,
            investigations,
            advice,
            follow_up_on,
            language,
            None,
            request,
            reconfirmed_by=method,
            provisional_diagnosis=provisional_diagnosis,
            client_key=client_key,
        )
        if signed_now:
            count_prescription_issued(prescription)
        return prescription


def correct_prescription(
    doctor_user: Any,
    prescription: Prescription,
    items: Sequence[dict[str, Any]],
    investigations: str | None = None,
    advice: str | None = None,
    follow_up_on: dt.date | None = None,
    language: str | None = None,
    *,
    password: str | None = None,
    totp: str | None = None,
    provisional_diagnosis: bool = False,
    client_key: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> Prescription:
    """Issue a new prescription that supersedes ``prescription`` (which is never edited);
    the doctor re-confirms as for ``issue_prescription``, and ``client_key`` makes a resent
    correction return the one already signed."""
    signed = _signed_before(doctor_user, client_key, prescription.consultation)
    if signed is not None:
        return signed
    method = _reconfirm(doctor_user, prescription.consultation, password, totp, request)
    with transaction.atomic():
        old = Prescription.objects.select_for_update().get(pk=prescription.pk)
        signed = _signed_before(doctor_user, client_key, old.consultation)
        if signed is not None:
            return signed
        if old.status != Prescription.Status.ISSUED:
            raise ValidationError(
                _("This prescription was already corrected; correct the newest one instead.")
            )
        new, _signed_now = _issue(
            doctor_user,
            old.consultation,
            items,
            investigations,
            advice,
            follow_up_on,
            language or old.language,
            old,
            request,
            reconfirmed_by=method,
            provisional_diagnosis=provisional_diagnosis,
            client_key=client_key,
        )
        Prescription.objects.filter(pk=old.pk).update(status=Prescription.Status.SUPERSEDED)
        old.status = Prescription.Status.SUPERSEDED
        store_pdf(old, request)
        record_event(
            doctor_user,
            "prescription.supersede",
            obj=old,
            patient_id=old.patient_id,
            request=request,
            detail={"superseded_by": str(new.pk)},
        )
        return new
