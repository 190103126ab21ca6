"""The hub's steps: a doctor goes online for a hub and specialty and calls the next case
(a live case rings the centre, a store-and-forward one opens for a written answer),
forwards it up a tier or refers the patient; the destination acknowledges a referral;
the coordinator reassigns a waiting case."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sanjeevani.accounts.models import Role, User
from sanjeevani.audit.services import record_event
from sanjeevani.config.prepared_statements import run_prepared
from sanjeevani.consultations import care_team
from sanjeevani.consultations import services as consultations
from sanjeevani.consultations.models import Consultation
from sanjeevani.patients.models import Patient
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.errors import ConsultationError, QueueError
from sanjeevani.queueing.models import DoctorPresence, Queue, Ticket
from sanjeevani.registry.models import Facility, Specialty

from . import routing
from .actors import facility_of
from .models import Case, Referral


def go_online_at_hub(doctor_user: Any, hub: Facility, specialty: Specialty) -> DoctorPresence:
    """Serve the hub's cases of one specialty (and the state's overflow of it)."""
    return queue.go_online_at_hub(doctor_user, hub, specialty)


def _opening(now: Any):
    """The consultation's first fields from the centre's case: what the CHO recorded, the
    identity they checked in person (the doctor may confirm it again) and the consent they
    recorded; a store-and-forward case starts at once."""

    def fields(ticket: Ticket) -> dict[str, Any]:
        case = _recorded_at_centre(ticket)
        cho = User(
            username=case["requested_by__username"],
            first_name=case["requested_by__first_name"],
            last_name=case["requested_by__last_name"],
        )
        patient = Patient(
            date_of_birth=case["patient__date_of_birth"],
            age_years=case["patient__age_years"],
            age_recorded_on=case["patient__age_recorded_on"],
        )
        opened = {
            "history": case["history"],
            "vitals": case["vitals"],
            "identity_confirmed_at": case["consent_recorded_at"],
            "identity_method": (
                _("In person at %(centre)s by %(cho)s: %(how)s")
                % {
                    "centre": case["spoke__name"],
                    "cho": cho.get_full_name() or cho.username,
                    "how": case["identity_method"],
                }
            )[:120],
            "confirmed_age_years": patient.age,
            "consent": "guardian" if case["consent_by"] == Case.ConsentBy.GUARDIAN else "explicit",
            "consent_recorded_at": case["consent_recorded_at"],
        }
        if case["mode"] == Case.Mode.STORE_FORWARD:
            opened.update(status=Consultation.Status.IN_PROGRESS, started_at=now)
        return opened

    return fields


_RECORDED = (
    "history",
    "vitals",
    "consent_recorded_at",
    "identity_method",
    "consent_by",
    "mode",
    "spoke__name",
    "requested_by__username",
    "requested_by__first_name",
    "requested_by__last_name",
    "patient__date_of_birth",
    "patient__age_years",
    "patient__age_recorded_on",
)


def _recorded_sql() -> str:
    user = User._meta
    # Table names from model metadata, the columns in _RECORDED's order; the ticket as a
    # parameter.
    return (
        "SELECT c.history, c.vitals, c.consent_recorded_at, c.identity_method,"  # noqa: S608
        " c.consent_by, c.mode, s.name, u.username, u.first_name, u.last_name,"
        " p.date_of_birth, p.age_years, p.age_recorded_on"
        f" FROM {Case._meta.db_table} c"
        f" JOIN {Facility._meta.db_table} s ON s.id = c.spoke_id"
        f" JOIN {user.db_table} u ON u.{user.pk.column} = c.requested_by_id"
        f" JOIN {Patient._meta.db_table} p ON p.id = c.patient_id"
        " WHERE c.ticket_id = %s"
    )


def _recorded_at_centre(ticket: Ticket) -> dict[str, Any]:
    """What the centre recorded for the claimed ticket's case, as columns (each call pays
    this read). PostgreSQL: one prepared statement, since the ORM's building of the
    four-table join cost more than running it (bench/hwc_routing.py); SQLite keeps the
    ORM, whose fields convert its stored text."""
    if connection.vendor != "postgresql":
        return Case.objects.filter(ticket=ticket).values(*_RECORDED).get()
    row = run_prepared(_recorded_sql(), [Ticket._meta.pk.get_db_prep_value(ticket.pk, connection)])
    if row is None:
        raise Case.DoesNotExist(f"no case for ticket {ticket.pk}")
    recorded = dict(zip(_RECORDED, row, strict=True))
    if isinstance(recorded["vitals"], str):
        recorded["vitals"] = Case._meta.get_field("vitals").from_db_value(
            recorded["vitals"], None, connection
        )
    return recorded


def call_next_case(doctor_user: Any) -> Ticket | None:
    """The hub doctor takes the next case they may take (``routing.claim_queues``): a live
    case rings the centre (the CHO joins with the patient within the call window); a
    store-and-forward case opens at once for a written answer. The claim's audit row names
    the consultation, which starts with what the centre recorded. None when nobody
    waits."""
    doctor = queue.doctor_of(doctor_user)
    desk = routing.serving_presence(doctor)
    if desk is None:
        raise QueueError("not_online", _("Go online for your hub before calling a case."))
    queues = routing.claim_queues(desk)
    with transaction.atomic():
        now = timezone.now()
        ticket = consultations.claim_for(
            doctor, None, doctor_user, now, queues=queues, hub_id=desk.hub_id, opening=_opening(now)
        )
        if ticket is None:
            refusal = queue.claim_refusal(doctor, None)
            if refusal is not None:
                raise refusal
            return None
        if ticket.consultation.status == Consultation.Status.IN_PROGRESS:
            queue.start_service(ticket, now)
    return ticket


def forward_case(
    doctor_user: Any, consultation: Consultation, to_hub: Facility, note: str = ""
) -> Case:
    """Send the case up a tier: to a hub the doctor's own hub is a spoke of."""
    case = Case.objects.select_related("specialty").get(ticket_id=consultation.ticket_id)
    hub = consultation.hub
    if hub is None or to_hub.pk not in {h.pk for h in routing.forward_targets(hub, case.specialty)}:
        raise ConsultationError(
            "not_linked_up",
            _("%(hub)s is not a higher hub linked to yours for %(specialty)s.")
            % {"hub": to_hub.name, "specialty": case.specialty.name},
        )
    to_queue = Queue.objects.for_hub(to_hub, case.specialty)
    with transaction.atomic():
        consultations.forward_consultation(doctor_user, consultation, to_queue, to_hub, note)
        Case.objects.filter(pk=case.pk).update(route=Case.Route.FORWARDED, forwarded_from=hub)
    case.refresh_from_db()
    return case


def refer_patient(
    doctor_user: Any, consultation: Consultation, to_facility: Facility, reason: str, urgency: str
) -> Referral:
    """The attending doctor refers the patient to a higher facility, which sees and
    acknowledges it. The consultation then ends as ``referred`` (or with a prescription)
    by the usual ending."""
    care_team.require(doctor_user, care_team.Action.WRITE_RECORD, consultation)
    reason = (reason or "").strip()
    errors = {}
    if not reason:
        errors["reason"] = _("Say why the patient is referred and what is needed there.")
    elif len(reason) > 2000:
        errors["reason"] = _("Keep the reason under 2,000 characters.")
    if urgency not in Referral.Urgency.values:
        errors["urgency"] = _("Choose how urgent the referral is.")
    if not to_facility.active:
        errors["to_facility"] = _("This facility is not active.")
    elif consultation.hub_id and to_facility.pk == consultation.hub_id:
        errors["to_facility"] = _("Refer to another facility than your own hub.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        referral = Referral.objects.create(
            consultation=consultation,
            patient_id=consultation.patient_id,
            from_facility_id=consultation.hub_id or to_facility.pk,
            to_facility=to_facility,
            reason=reason,
            urgency=urgency,
            referred_by=doctor_user,
        )
        line = _("Referred to %(to)s (%(urgency)s): %(reason)s") % {
            "to": to_facility.name,
            "urgency": referral.get_urgency_display(),
            "reason": reason,
        }
        Consultation.objects.filter(pk=consultation.pk).update(referral=line[:2000])
        record_event(
            doctor_user,
            "hwc.referral_sent",
            obj=referral,
            patient_id=consultation.patient_id,
            detail={"to": str(to_facility.pk), "urgency": urgency},
        )
    return referral


def acknowledge_referral(user: Any, referral: Referral, note: str = "") -> Referral:
    """Staff posted at the destination confirm they have the referral."""
    if facility_of(user).pk != referral.to_facility_id:
        raise PermissionDenied(_("This referral is for another facility."))
    with transaction.atomic():
        referral = Referral.objects.select_for_update().get(pk=referral.pk)
        if referral.acknowledged_at is None:
            referral.acknowledged_at = timezone.now()
            referral.acknowledged_by = user
            referral.acknowledgement_note = (note or "").strip()[:300]
            referral.save(
                update_fields=["acknowledged_at", "acknowledged_by", "acknowledgement_note"]
            )
            record_event(
                user, "hwc.referral_acknowledged", obj=referral, patient_id=referral.patient_id
            )
    return referral


def reassign_case(coordinator: Any, case: Case, specialty: Specialty) -> Case:
    """A hub coordinator moves a case waiting at their hub to another specialty's queue
    there (the CHO chose the wrong one, or that specialty's doctors are all busy)."""
    if getattr(coordinator, "role", None) != Role.HUB_COORDINATOR:
        raise PermissionDenied(_("Only the hub coordinator can reassign a case."))
    hub = facility_of(coordinator)
    with transaction.atomic():
        ticket = queue.lock_ticket(case.ticket_id)
        if ticket.hub_id != hub.pk or ticket.status != Ticket.Status.WAITING:
            raise QueueError(
                "not_waiting_here", _("Only a case waiting at your hub can be reassigned.")
            )
        queue.move_to_queue(ticket, Queue.objects.for_hub(hub, specialty), "reassigned")
        Ticket.objects.filter(pk=ticket.pk).update(specialty=specialty)
        Case.objects.filter(pk=case.pk).update(specialty=specialty, route=Case.Route.REASSIGNED)
        record_event(
            coordinator,
            "hwc.case_reassigned",
            obj=case,
            patient_id=case.patient_id,
            detail={"specialty": specialty.code},
        )
    case.refresh_from_db()
    return case
