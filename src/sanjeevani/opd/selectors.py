"""Read queries of the OPD's patient pages: the family, the OPD boards, tokens, history.

Every lookup is scoped to the asking user, so that a URL naming someone else's ticket or
consultation finds nothing (the view answers 404).
"""

from __future__ import annotations

import uuid
from dataclasses import fields
from types import SimpleNamespace

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _

from sanjeevani.consultations import selectors as consultation_selectors
from sanjeevani.consultations.models import Consultation, Feedback
from sanjeevani.patients.models import Patient
from sanjeevani.queueing import selectors as queue_selectors
from sanjeevani.queueing.models import LIVE_STATUSES, Ticket
from sanjeevani.registry.models import OnlineOPD, State


def family_patients(user) -> QuerySet[Patient]:
    return Patient.objects.filter(account=user).order_by("created_at")


def family_patient(user, patient_id) -> Patient:
    """One profile of this account's family; a malformed or foreign id is not found."""
    try:
        patient_id = uuid.UUID(str(patient_id))
    except ValueError:
        raise Http404 from None
    return get_object_or_404(family_patients(user), pk=patient_id)


# --- figures from the queue and consultation layers, shaped for the pages ---------------------


def live_ticket_of(patient: Patient) -> Ticket | None:
    return patient.tickets.filter(status__in=LIVE_STATUSES).select_related("opd").first()


def live_tickets_of(patients) -> QuerySet[Ticket]:
    return Ticket.objects.filter(
        patient__in=patients, status__in=LIVE_STATUSES, opd__isnull=False
    ).select_related("opd", "patient")


def language_names(codes) -> list[str]:
    names = dict(settings.LANGUAGES)
    return [str(names.get(code, code)) for code in codes or []]


def opd_board(state: State) -> list[dict]:
    """The state's OPDs and the national ones, each with its live figures."""
    boards = queue_selectors.opd_boards(queue_selectors.opds_of_state(state.code))
    return [
        {"board": b, "opd": b.opd, "languages": language_names(b.opd.languages)} for b in boards
    ]


def opd_row(opd: OnlineOPD) -> dict:
    board = queue_selectors.opd_board(opd)
    return {"board": board, "opd": opd, "languages": language_names(opd.languages)}


def waiting_status(ticket: Ticket) -> dict:
    """The queue's figures for a token (``queueing.selectors.WaitingStatus`` as a dict)
    with ``consultation_id``: the consultation it is being called to or is in."""
    status = queue_selectors.waiting_status(ticket)
    values = {f.name: getattr(status, f.name) for f in fields(status)}
    consultation = None
    if ticket.status in (Ticket.Status.CALLED, Ticket.Status.IN_CONSULTATION):
        consultation = consultation_selectors.latest_consultation_of_ticket(ticket)
    values["consultation_id"] = consultation.pk if consultation else None
    return values


def ticket_status(ticket: Ticket) -> dict:
    """The waiting room's figures as JSON-safe values (page and polling fallback alike).
    A passed call window reads as missed; housekeeping records it (a read never writes)."""
    status = SimpleNamespace(**waiting_status(ticket))
    consultation_url = ""
    if status.consultation_id and ticket.status == Ticket.Status.IN_CONSULTATION:
        consultation_url = reverse("opd:consultation", args=[status.consultation_id])
    elif ticket.status == Ticket.Status.COMPLETED:
        latest = consultation_selectors.latest_consultation_of_ticket(ticket)
        if latest is not None:
            consultation_url = reverse("opd:consultation", args=[latest.pk])
    messages = {
        Ticket.Status.IN_CONSULTATION: _("Your consultation has started."),
        Ticket.Status.COMPLETED: _("Your consultation is over."),
        Ticket.Status.CANCELLED: _("This token was cancelled."),
        Ticket.Status.EXPIRED: _("The OPD closed before your turn. Take a new token."),
    }
    return {
        "ticket": str(ticket.pk),
        "token_number": ticket.token_number,
        "status": status.status,
        "status_label": str(Ticket.Status(status.status).label),
        "position": status.position,
        "expected_wait_minutes": status.expected_wait_minutes,
        "seconds_left": status.call_seconds_left,
        "can_rejoin": status.can_rejoin,
        "doctors_online": status.doctors_online,
        "doctors_busy": status.doctors_busy,
        "queue_key": status.queue_key,
        "as_of": status.as_of.isoformat() if status.as_of else None,
        "consultation_url": consultation_url,
        "message": str(messages.get(status.status, "")),
    }


def feedback_given(consultation: Consultation) -> bool:
    return Feedback.objects.filter(consultation=consultation).exists()


def can_book_follow_up(consultation: Consultation) -> bool:
    """A follow-up with the same doctor, while that doctor is on this OPD's roster and the
    patient holds no live token."""
    if consultation.is_open or consultation.opd_id is None:
        return False
    if consultation.outcome in (Consultation.Outcome.NO_SHOW, Consultation.Outcome.DROPPED):
        return False
    if live_ticket_of(consultation.patient) is not None:
        return False
    return consultation.doctor.opds.filter(pk=consultation.opd_id, active=True).exists()


def family_history(patients) -> list[dict]:
    consultations = (
        Consultation.objects.filter(patient__in=patients, status=Consultation.Status.ENDED)
        .select_related("doctor__user", "opd", "patient")
        .prefetch_related("prescriptions")
        .order_by("-created_at")
    )
    return [
        {
            "consultation": c,
            "prescriptions": sorted(c.prescriptions.all(), key=lambda p: p.issued_at),
        }
        for c in consultations
    ]
