"""Read queries of the OPD's patient pages: the family, the OPD boards, tokens, history.

Every lookup is scoped to the asking user, so that a URL naming someone else's ticket or
consultation finds nothing (the view answers 404).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, fields
from types import SimpleNamespace

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from sanjeevani.consultations import selectors as consultation_selectors
from sanjeevani.consultations.models import Consultation, Feedback
from sanjeevani.patients.models import Patient
from sanjeevani.queueing import selectors as queue_selectors
from sanjeevani.queueing.models import LIVE_STATUSES, Ticket
from sanjeevani.registry.models import OnlineOPD, RosterShift, State


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


@dataclass(frozen=True)
class Availability:
    """Whether a patient will find a doctor now, in the words the page uses.

    ``kind``: ``online`` (open, a doctor is online), ``expected`` (open, none online yet but
    one is rostered for now), ``no_doctor`` (open, nobody online or rostered), ``closed``
    (outside the opening hours; ``next_opening`` says when, if known). "Open now" is only
    said for the first two: an opening window alone does not mean anyone will answer."""

    kind: str
    doctors_online: int
    next_opening: dt.datetime | None

    @property
    def open_now(self) -> bool:
        return self.kind in ("online", "expected")


def rostered_now(opd_ids, now: dt.datetime | None = None) -> set:
    """The OPDs (of ``opd_ids``) with a doctor's roster shift covering this minute (IST)."""
    local = timezone.localtime(now or timezone.now())
    minute = local.hour * 60 + local.minute
    return set(
        RosterShift.objects.filter(
            opd_id__in=list(opd_ids),
            weekday=local.weekday(),
            start_minute__lte=minute,
            end_minute__gt=minute,
        ).values_list("opd_id", flat=True)
    )


def availability_of(board, rostered: bool) -> Availability:
    """The plain answer for one OPD board (``queueing.selectors.OPDBoard``)."""
    if not board.open_now:
        kind = "closed"
    elif board.doctors_online:
        kind = "online"
    elif rostered:
        kind = "expected"
    else:
        kind = "no_doctor"
    return Availability(kind, board.doctors_online, board.next_opening)


def patient_order(opd: OnlineOPD, state: State) -> tuple:
    """The order a patient of ``state`` looks for an OPD in: the state's general OPD, the
    state's specialist OPDs, then the national ones (general first), each by name."""
    own_state = opd.scope == OnlineOPD.Scope.STATE and opd.state_id == state.pk
    return (0 if own_state else 1, 0 if opd.specialty_id is None else 1, opd.name.casefold())


def _row(board, rostered: set) -> dict:
    return {
        "board": board,
        "opd": board.opd,
        "languages": language_names(board.opd.languages),
        "availability": availability_of(board, board.opd.pk in rostered),
    }


def opd_board(state: State, now: dt.datetime | None = None) -> list[dict]:
    """The state's OPDs and the national ones, each with its live figures and plain
    availability, in the order the patient looks for them (``patient_order``)."""
    opds = sorted(queue_selectors.opds_of_state(state.code), key=lambda o: patient_order(o, state))
    boards = queue_selectors.opd_boards(opds, now)
    rostered = rostered_now([b.opd.pk for b in boards], now)
    return [_row(b, rostered) for b in boards]


def opd_row(opd: OnlineOPD, now: dt.datetime | None = None) -> dict:
    board = queue_selectors.opd_board(opd, now)
    return _row(board, rostered_now([opd.pk], now))


def waiting_status(ticket: Ticket) -> dict:
    """The queue's figures for a token (``queueing.selectors.WaitingStatus`` as a dict)
    with ``consultation_id``: the consultation it is being called to or is in."""
    status = queue_selectors.waiting_status(ticket)
    values = {f.name: getattr(status, f.name) for f in fields(status)}
    consultation_id = None
    if ticket.status in (Ticket.Status.CALLED, Ticket.Status.IN_CONSULTATION):
        consultation_id = consultation_selectors.latest_consultation_id_of_ticket(ticket)
    values["consultation_id"] = consultation_id
    return values


def ticket_status(ticket: Ticket) -> dict:
    """The waiting room's figures as JSON-safe values (page and polling fallback alike).
    A passed call window reads as missed; housekeeping records it (a read never writes)."""
    status = SimpleNamespace(**waiting_status(ticket))
    consultation_url = ""
    if status.consultation_id and ticket.status == Ticket.Status.IN_CONSULTATION:
        consultation_url = reverse("opd:consultation", args=[status.consultation_id])
    elif ticket.status == Ticket.Status.COMPLETED:
        latest_id = consultation_selectors.latest_consultation_id_of_ticket(ticket)
        if latest_id is not None:
            consultation_url = reverse("opd:consultation", args=[latest_id])
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
