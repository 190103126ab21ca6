"""A doctor and a waiting patient brought together: the claim of the next ticket opens its
consultation in the same transaction, and a doctor freed by an ending is, with
auto-assign on, handed the next patient. In-transaction steps for the services above
(``calling``, ``lifecycle``, ``tokens``).

A claim sends ``ticket.called`` to ``ticket.<ticket>`` (``{"ticket", "consultation",
"call_expires_at"}``) and ``consultation.assigned`` to ``doctor.<doctor>`` (``{"consultation",
"ticket", "token_number"}``), with the queue's ``queue.advanced`` (see
``sanjeevani.queueing.services``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from sanjeevani.live.groups import doctor_group, ticket_group
from sanjeevani.live.publisher import publish_many_after_commit
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.models import Ticket
from sanjeevani.registry.models import DoctorProfile, OnlineOPD

from .models import Consultation
from .states import ACTIVE, CStatus


def _open_for_claimed(
    ticket: Ticket,
    consultation_id: uuid.UUID,
    doctor: DoctorProfile,
    now: dt.datetime,
    hub_id: uuid.UUID | None = None,
    opening: dict[str, Any] | None = None,
) -> Consultation:
    """The consultation of a ticket just claimed: calling (the claim's audit row names
    it); the patient's ring and the doctor's assignment after commit. A follow-up token
    names the completed consultation it continues (``book_follow_up`` set it), whichever
    doctor takes it. An Online OPD patient started it (implied consent); a hub-and-spoke
    case was asked for by the health worker who recorded the patient's explicit consent
    (``hwc``), and is held at ``hub_id``, the claiming doctor's hub. ``opening`` are fields the
    service line fills in from what it knows of the ticket (one INSERT, no UPDATE after)."""
    hub_line = ticket.hub_id is not None
    fields = {
        "id": consultation_id,
        "service_line": (
            Consultation.ServiceLine.HUB_SPOKE if hub_line else Consultation.ServiceLine.OPD
        ),
        "ticket": ticket,
        "patient_id": ticket.patient_id,
        "doctor": doctor,
        "opd_id": ticket.opd_id,
        "hub_id": (hub_id or ticket.hub_id) if hub_line else None,
        "spoke_id": ticket.spoke_id,
        "requested_by_id": ticket.created_by_id if hub_line else None,
        "status": CStatus.CALLING,
        "consent": "explicit" if hub_line else "implied",
        "consent_recorded_at": now,
        "complaints": ticket.complaint,
        "follow_up_of_id": ticket.follow_up_of_id,
    }
    fields.update(opening or {})
    consultation = Consultation(**fields)
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
    doctor: DoctorProfile,
    opd: OnlineOPD | None,
    actor: Any,
    now: dt.datetime,
    *,
    queues: list | None = None,
    hub_id: uuid.UUID | None = None,
    opening: Callable[[Ticket], dict[str, Any]] | None = None,
) -> Ticket | None:
    """In the caller's transaction: claim the next ticket for ``doctor`` (of ``opd``, of
    ``queues`` in the doctor's order, or of the queue they are online for) and open its
    consultation (at ``hub_id``, for a hub doctor; ``opening(ticket)`` gives the fields the
    line fills in, e.g. the centre's vitals). Returns the CALLED ticket with
    ``.consultation`` set, or None (doctor not free to call there, or nobody waits).
    What a workflow calls when a doctor with auto-assign comes online."""
    consultation_id = uuid.uuid4()
    detail = {"consultation": str(consultation_id)}
    if queues is not None:
        claim = queue.claim_from_queues(doctor, queues, actor, now, detail=detail)
    else:
        claim = queue.claim_next_ticket(doctor, opd, actor, now, detail=detail)
    if claim is None:
        return None
    ticket = claim.ticket
    fields = opening(ticket) if opening is not None else None
    ticket.consultation = _open_for_claimed(ticket, consultation_id, doctor, now, hub_id, fields)
    return ticket


def free_doctor(
    doctor: DoctorProfile, now: dt.datetime, actor: Any = None, assign: bool = True
) -> None:
    """In the caller's transaction: the doctor's consultation ended or paused, so they are
    available again unless another is still active, and, with auto-assign on (and
    ``assign``), the next patient is called for them."""
    if Consultation.objects.filter(doctor=doctor, status__in=ACTIVE).exists():
        return
    presence = queue.mark_doctor_free(doctor, now)
    if assign and presence is not None and presence.auto_assign and presence.opd_id:
        claim_for(doctor, presence.opd, actor, now)


def offer_to_auto_assign_doctors(opd: OnlineOPD, now: dt.datetime) -> int:
    """In the caller's transaction: hand waiting patients to the free doctors of ``opd``
    who asked to be assigned automatically. What a workflow calls after a token is taken
    or rejoins the queue. The number of patients called: with none, no token changed."""
    called = 0
    for doctor in queue.auto_assign_doctors(opd):
        if claim_for(doctor, opd, doctor.user, now) is None:
            break
        called += 1
    return called
