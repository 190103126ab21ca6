"""Read queries of the hub's pages: the hub doctor's mixed queue, what the centre sent with
a case, the coordinator's live load, and the referral inbox.

Scoping is here, not in the views: a hub doctor reads the cases of the queues they call
from (the state's overflow for their specialty, then their hub's own queue) and those in
their care; a coordinator reads the waiting cases of the hub they are posted at and the
referrals addressed to it. Anything else is ``Http404``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from sanjeevani.accounts.models import Role
from sanjeevani.consultations import care_team
from sanjeevani.consultations.care_team import Action
from sanjeevani.consultations.models import Consultation
from sanjeevani.queueing.models import DoctorPresence, Queue, Ticket
from sanjeevani.queueing.selectors import ONLINE_STATUSES
from sanjeevani.registry.models import DoctorProfile, Facility, Specialty
from sanjeevani.registry.scoping import scope_of

from . import routing
from .complaints import COMPLAINTS
from .models import Case, CaseAttachment, Referral

# --- the hub doctor ----------------------------------------------------------------------------


def hub_presence(doctor: DoctorProfile) -> DoctorPresence | None:
    """The doctor's presence when they are online for a hub (not an OPD)."""
    return (
        DoctorPresence.objects.select_related("hub__state", "queue__specialty")
        .filter(doctor=doctor, hub__isnull=False, status__in=ONLINE_STATUSES)
        .filter(queue__kind=Queue.Kind.HUB_SPECIALTY)
        .first()
    )


def hubs_of(doctor: DoctorProfile) -> QuerySet[Facility]:
    """The active hubs the doctor is posted at: the console's choice."""
    return doctor.hubs.filter(active=True, is_hub=True).order_by("name")


def specialties_of(doctor: DoctorProfile) -> QuerySet[Specialty]:
    return doctor.specialties.order_by("name")


def _called_queues(presence: DoctorPresence) -> list:
    """The queues the doctor calls from, in order, without making any (a GET writes nothing)."""
    specialty = presence.queue.specialty_id
    overflow = Queue.objects.filter(
        kind=Queue.Kind.STATE_OVERFLOW, state_id=presence.hub.state_id, specialty_id=specialty
    ).values_list("pk", flat=True)
    return [*overflow, presence.queue_id]


def route_label(case: Case) -> str:
    """Why the case reached this doctor, as the queue shows it."""
    return str(Case.Route(case.route).label)


def _case_row(ticket: Ticket, case: Case | None, now: dt.datetime) -> dict[str, Any]:
    patient = ticket.patient
    return {
        "ticket": str(ticket.pk),
        "token_number": ticket.token_number,
        "urgent": bool(case and case.urgent),
        "danger_signs": list(case.urgent_reasons) if case else [],
        "mode": case.mode if case else "",
        "mode_label": str(Case.Mode(case.mode).label) if case else "",
        "age": patient.age,
        "sex": patient.get_sex_display(),
        "complaint": ticket.complaint,
        "spoke": case.spoke.name if case else "",
        "route": case.route if case else "",
        "route_label": route_label(case) if case else "",
        "specialty": ticket.specialty.name if ticket.specialty_id else "",
        "waited_minutes": max(0, int((now - ticket.queued_at).total_seconds() // 60)),
    }


def doctor_hub_queue(doctor: DoctorProfile) -> dict[str, Any] | None:
    """The one queue a hub doctor sees: live and store-and-forward cases mixed, in the
    order they will be called (overflow first, then urgency, then arrival). None when the
    doctor is not online for a hub."""
    presence = hub_presence(doctor)
    if presence is None:
        return None
    queues = _called_queues(presence)
    order = {pk: i for i, pk in enumerate(queues)}
    tickets = list(
        Ticket.objects.filter(queue_id__in=queues, status=Ticket.Status.WAITING)
        .select_related("patient", "specialty", "hwc_case__spoke")
        .order_by("priority", "queued_at")[:200]
    )
    tickets.sort(key=lambda t: (order[t.queue_id], t.priority, t.queued_at))
    now = timezone.now()
    rows = [_case_row(t, getattr(t, "hwc_case", None), now) for t in tickets]
    return {
        "online": True,
        "hub": {"id": str(presence.hub_id), "name": presence.hub.name},
        "opd": {"id": str(presence.hub_id), "name": presence.queue.label},
        "specialty": presence.queue.specialty.name,
        "waiting": len(rows),
        "urgent": sum(1 for r in rows if r["urgent"]),
        "longest_wait_minutes": max((r["waited_minutes"] for r in rows), default=0),
        "entries": rows,
    }


# --- one case ------------------------------------------------------------------------------------


def case_of(consultation: Consultation) -> Case | None:
    if consultation.ticket_id is None:
        return None
    return (
        Case.objects.select_related("spoke", "requested_by", "specialty", "forwarded_from")
        .filter(ticket_id=consultation.ticket_id)
        .first()
    )


def complaint_labels(case: Case) -> list[str]:
    return [str(COMPLAINTS.get(code, code)) for code in case.complaints]


def referral_destinations(consultation: Consultation) -> QuerySet[Facility]:
    """Where the doctor may refer: the active hubs of the state other than their own."""
    return (
        Facility.objects.filter(state_id=consultation.patient.state_id, active=True, is_hub=True)
        .exclude(pk=consultation.hub_id)
        .order_by("name")
    )


def forward_targets(consultation: Consultation, case: Case) -> list[Facility]:
    if consultation.hub is None:
        return []
    return routing.forward_targets(consultation.hub, case.specialty)


def referrals_of(consultation: Consultation) -> QuerySet[Referral]:
    return consultation.referrals.select_related("to_facility", "acknowledged_by")


def in_case_care(user: Any, case: Case) -> bool:
    """Whether ``user`` is in the case's care: a CHO of its centre (or who sent it), or a
    doctor or CHO the care-team policy lets read one of its consultations."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.role == Role.CHO and (
        case.requested_by_id == user.pk or scope_of(user).facility_id == case.spoke_id
    ):
        return True
    if case.ticket_id is None:
        return False
    consultations = Consultation.objects.filter(ticket_id=case.ticket_id).select_related(
        "doctor", "patient"
    )
    return any(care_team.may(user, Action.VIEW_RECORD, c) for c in consultations)


def attachment_for(user: Any, attachment_id: Any) -> CaseAttachment:
    """One attachment, for those in its case's care; 404 for anyone else."""
    try:
        attachment = CaseAttachment.objects.select_related("case").get(pk=attachment_id)
    except (CaseAttachment.DoesNotExist, ValueError):
        raise Http404(_("No such file.")) from None
    if not in_case_care(user, attachment.case):
        raise Http404(_("No such file."))
    return attachment


# --- the coordinator ------------------------------------------------------------------------


def coordinator_hub(user: Any) -> Facility:
    """The hub a coordinator is posted at; 404 when they are posted at none."""
    hub = Facility.objects.filter(pk=scope_of(user).facility_id, is_hub=True).first()
    if hub is None:
        raise Http404(_("You are not posted at a hub; ask your state administrator."))
    return hub


def hub_specialties(hub: Facility) -> QuerySet[Specialty]:
    """The specialties the hub offers: those of its doctors, or of its queues."""
    return (
        Specialty.objects.filter(Q(doctors__hubs=hub) | Q(queues__hub=hub))
        .distinct()
        .order_by("name")
    )


def waiting_at_hub(hub: Facility) -> QuerySet[Ticket]:
    """Cases waiting for the hub: in its own queues, and those routed to it that wait in
    the state's overflow (urgent ones go there at once)."""
    return (
        Ticket.objects.filter(status=Ticket.Status.WAITING)
        .filter(
            Q(queue__kind=Queue.Kind.HUB_SPECIALTY, queue__hub=hub)
            | Q(queue__kind=Queue.Kind.STATE_OVERFLOW, hub=hub)
        )
        .select_related("patient", "specialty", "hwc_case__spoke")
        .order_by("priority", "queued_at")
    )


def _is_urgent(ticket: Ticket) -> bool:
    case = getattr(ticket, "hwc_case", None)
    return bool(case and case.urgent)


def hub_load(hub: Facility, now: dt.datetime | None = None) -> dict[str, Any]:
    """The hub's live load per specialty: doctors online, cases waiting for the hub, the
    oldest wait, how many are urgent, and how many wait in the state's overflow (which the
    hub's doctors call first); and the hub's waiting cases themselves (for reassigning)."""
    now = now or timezone.now()
    waiting = list(waiting_at_hub(hub)[:300])
    online = DoctorPresence.objects.filter(
        hub=hub, status__in=ONLINE_STATUSES, queue__kind=Queue.Kind.HUB_SPECIALTY
    ).values_list("queue__specialty_id", flat=True)
    in_overflow = dict(
        Ticket.objects.filter(
            status=Ticket.Status.WAITING,
            queue__kind=Queue.Kind.STATE_OVERFLOW,
            queue__state_id=hub.state_id,
        )
        .values_list("queue__specialty_id")
        .annotate(count=Count("pk"))
    )
    online_by: dict[Any, int] = {}
    for specialty_id in online:
        online_by[specialty_id] = online_by.get(specialty_id, 0) + 1
    rows = []
    for specialty in hub_specialties(hub):
        mine = [t for t in waiting if t.specialty_id == specialty.pk]
        rows.append(
            {
                "specialty": specialty.code,
                "specialty_name": specialty.name,
                "doctors_online": online_by.get(specialty.pk, 0),
                "waiting": len(mine),
                "urgent": sum(1 for t in mine if _is_urgent(t)),
                "state_overflow": in_overflow.get(specialty.pk, 0),
                "oldest_wait_minutes": max(
                    (int((now - t.queued_at).total_seconds() // 60) for t in mine), default=0
                ),
            }
        )
    cases = []
    for ticket in waiting:
        case = getattr(ticket, "hwc_case", None)
        if case is None:
            continue
        cases.append({"case": str(case.pk), **_case_row(ticket, case, now)})
    return {
        "hub": {"id": str(hub.pk), "name": hub.name},
        "specialties": rows,
        "waiting": len(waiting),
        "cases": cases,
        "updated_at": now.isoformat(),
    }


def waiting_case_at(hub: Facility, case_id: Any) -> Case:
    """A case waiting at the coordinator's hub; 404 otherwise."""
    try:
        return Case.objects.select_related("ticket").get(
            pk=case_id, ticket__hub=hub, ticket__status=Ticket.Status.WAITING
        )
    except (Case.DoesNotExist, ValueError):
        raise Http404(_("No such case waiting at your hub.")) from None


# --- referrals -------------------------------------------------------------------------------


def referrals_to(facility: Facility) -> QuerySet[Referral]:
    """The referrals sent to ``facility``: not yet acknowledged first, then newest."""
    return (
        Referral.objects.filter(to_facility=facility)
        .select_related("patient", "from_facility", "referred_by", "acknowledged_by")
        .order_by("acknowledged_at", "-created_at")
    )


def referral_for(user: Any, referral_id: Any) -> Referral:
    """A referral to the facility ``user`` is posted at; 404 for anyone else's."""
    facility_id = scope_of(user).facility_id
    try:
        return (
            Referral.objects.select_related(
                "patient", "from_facility", "to_facility", "referred_by", "consultation"
            )
            .filter(to_facility_id=facility_id)
            .get(pk=referral_id)
        )
    except (Referral.DoesNotExist, ValueError):
        raise Http404(_("No such referral.")) from None


def referral_data(referral: Referral) -> dict[str, Any]:
    patient = referral.patient
    return {
        "id": str(referral.pk),
        "patient": {
            "name": patient.name,
            "age": patient.age,
            "sex": patient.get_sex_display(),
            "patient_number": patient.patient_number,
        },
        "from_facility": referral.from_facility.name,
        "to_facility": referral.to_facility.name,
        "reason": referral.reason,
        "urgency": referral.urgency,
        "urgency_label": referral.get_urgency_display(),
        "referred_by": referral.referred_by.get_full_name() or referral.referred_by.username,
        "created_at": referral.created_at.isoformat(),
        "acknowledged_at": (
            referral.acknowledged_at.isoformat() if referral.acknowledged_at else None
        ),
        "acknowledgement_note": referral.acknowledgement_note,
    }
