"""Read queries of the centre (the health worker's side): the centre's patients and cases,
each case's status as the CHO reads it, follow-ups due, possible duplicates before a
registration, and the medicine stock. A CHO reaches only their own centre's patients and
cases: anything else is ``Http404`` (an identifier reveals nothing)."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import CharField, Q, QuerySet, Sum
from django.db.models.functions import Cast
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from rapidfuzz import fuzz, process

from sanjeevani.accounts.errors import SignInError
from sanjeevani.accounts.mobile_numbers import normalise_mobile
from sanjeevani.accounts.models import Role, User
from sanjeevani.audit.services import record_event
from sanjeevani.config.compiled_queries import CompiledQuery, Slot
from sanjeevani.consultations import selectors as consultation_selectors
from sanjeevani.consultations.models import Consultation
from sanjeevani.patients.abha import normalise_abha_number
from sanjeevani.patients.models import Patient
from sanjeevani.prescriptions.models import Prescription
from sanjeevani.queueing import selectors as queue_selectors
from sanjeevani.queueing.models import Ticket
from sanjeevani.registry.models import Facility

from .complaints import COMPLAINTS
from .models import Case, StockEntry

#: How far back and ahead the workspace lists follow-ups asked for by a hub doctor.
FOLLOW_UP_WINDOW = dt.timedelta(days=7)
#: Name similarity (rapidfuzz token-sort ratio, 0-100) from which a registration is flagged.
DUPLICATE_NAME_SCORE = 85
DUPLICATE_AGE_YEARS = 2
DUPLICATE_ADDRESS_SCORE = 70


def parse_id(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404 from None


# --- patients ------------------------------------------------------------------------------


def _centre_scopes(centre: Facility) -> tuple[QuerySet[Patient], QuerySet[Patient]]:
    """The centre's patients, in the two halves that each have their own index: registered
    there, and with a case sent from it (kept when they registered elsewhere since). Every
    read of "the centre's patients" starts here; together, with OR, PostgreSQL can read the
    halves only by scanning the table, so a read of many rows asks each half alone."""
    return (
        Patient.objects.filter(registered_at_facility_id=centre.pk),
        Patient.objects.filter(pk__in=Case.objects.filter(spoke=centre).values("patient_id")),
    )


def centre_patients(centre: Facility) -> QuerySet[Patient]:
    """Registered at the centre, or with a case sent from it: for a few rows found by an
    index of their own (one patient, a search)."""
    registered, sent_for = _centre_scopes(centre)
    return (registered | sent_for).select_related("account")


def centre_patient(user: Any, centre: Facility, patient_id: Any, audited: bool = True) -> Patient:
    patient = centre_patients(centre).filter(pk=parse_id(patient_id)).first()
    if patient is None:
        raise Http404
    if audited:
        record_event(user, "patient.view", obj=patient, patient_id=patient.pk)
    return patient


def find_patients(centre: Facility, query: str) -> list[Patient]:
    """By mobile number (the account's), patient ID or ABHA number; the centre's only.

    Each is an indexed equality, so a search reads the few matching rows and then checks
    they are the centre's, however many patients the country has."""
    query = (query or "").strip()
    if not query:
        return []
    compact = re.sub(r"[\s-]", "", query)
    # Patient IDs are made in capitals (``new_patient_number``); a CHO may type them in any.
    matches = Q(patient_number=compact.upper())
    with contextlib.suppress(ValidationError):
        matches |= Q(abha_number=normalise_abha_number(query))
    if compact.lstrip("+").isdigit():
        with contextlib.suppress(ValidationError, SignInError):
            accounts = User.objects.filter(role=Role.PATIENT, mobile=normalise_mobile(query))
            matches |= Q(account_id__in=list(accounts.values_list("pk", flat=True)))
    return list(centre_patients(centre).filter(matches).order_by("name")[:20])


@dataclass(frozen=True)
class Duplicate:
    patient: Patient
    reasons: list[str]


def possible_duplicates(
    centre: Facility, name: str, age: int | None, address: str = ""
) -> list[Duplicate]:
    """Patients of the centre (or its district) who may be the person being registered:
    a similar name, an age within two years when both are known, and a similar
    village/address when both are written. The CHO decides."""
    name = " ".join((name or "").split())
    if not name:
        return []
    names = _names_to_compare(centre)
    # rapidfuzz (in C) over the names at once; only the few similar ones are read in full.
    similar = process.extract(
        name.lower(),
        [candidate.lower() for _pk, candidate in names],
        scorer=fuzz.token_sort_ratio,
        score_cutoff=DUPLICATE_NAME_SCORE,
        limit=None,
    )
    # Best score first; among equal ones the newest.
    similar_ids = [uuid.UUID(names[index][0]) for _n, _s, index in similar]
    patients = Patient.objects.only(
        "id", "name", "patient_number", "date_of_birth", "age_years", "age_recorded_on",
        "address", "sex", "account_id",
    ).in_bulk(similar_ids)  # fmt: skip
    found = []
    for patient in (patients[pk] for pk in similar_ids if pk in patients):
        reasons = [_("Similar name: %(name)s") % {"name": patient.name}]
        if age is not None and patient.age is not None:
            if abs(patient.age - age) > DUPLICATE_AGE_YEARS:
                continue
            reasons.append(_("Age %(age)d") % {"age": patient.age})
        if address and patient.address:
            if (
                fuzz.partial_ratio(address.lower(), patient.address.lower())
                < DUPLICATE_ADDRESS_SCORE
            ):
                continue
            reasons.append(_("Same village/address: %(address)s") % {"address": patient.address})
        found.append(Duplicate(patient, reasons))
    return found[:10]


#: Names read for the comparison at most, from each scope (the district, the centre's
#: registrations, its cases): the newest.
DUPLICATE_CANDIDATES = 5000


def _names_to_compare(centre: Facility) -> list[tuple[str, str]]:
    """(id as text, name) of the district's newest patients, then the centre's own not among
    them, newest first: the likeliest to walk in again. The district's are read through an
    index in that order (``Patient.Meta.indexes``), so a check costs the same in a district
    of 5,000 patients or 500,000; a district's patients registered before its newest 5,000
    are compared only if they are the centre's own (a centre's few thousand a year, read
    through its own index). One query per scope: together, with OR, PostgreSQL scans the
    table.

    The centre's scopes skip the district's rows already read (all of the district's, when
    it has fewer than the cap): a centre's patients are mostly its district's, and reading
    them twice doubled the check. Ids are read as text and made ``UUID`` only for the few
    similar names: 5,000 rows read as ``UUID`` objects cost about 12 ms of CPU, as text 3 ms
    (PostgreSQL, 2026-12-07; ``bench/duplicate_check.py`` measures the whole check)."""
    registered, sent_for = _centre_scopes(centre)
    scopes = [registered, sent_for]
    names: dict[str, str] = {}
    if centre.district_id:
        district = _newest_names(Patient.objects.filter(district_id=centre.district_id))
        names.update(district)
        not_read = ~Q(district_id=centre.district_id)
        if len(district) >= DUPLICATE_CANDIDATES:
            oldest_read = Patient.objects.filter(pk=uuid.UUID(district[-1][0]))
            not_read |= Q(created_at__lte=oldest_read.values("created_at"))
        scopes = [scope.filter(not_read) for scope in scopes]
    for scope in scopes:
        for pk, name in _newest_names(scope):
            names.setdefault(pk, name)
    return list(names.items())


def _newest_names(scope: QuerySet[Patient]) -> list[tuple[str, str]]:
    """(id as text, name) of the scope's newest ``DUPLICATE_CANDIDATES``. Nothing else is
    read: Django's time-zone-aware loader made a ``datetime`` per row cost about ten times
    the id and name together."""
    newest = scope.order_by("-created_at").values_list(Cast("pk", output_field=CharField()), "name")
    return list(newest[:DUPLICATE_CANDIDATES])


# --- cases and their status ----------------------------------------------------------------


@dataclass
class CaseStatus:
    """What the CHO sees of one case at any moment."""

    case: Case
    code: str
    label: str
    position: int | None = None
    expected_wait_minutes: int | None = None
    doctor_name: str = ""
    hub_name: str = ""
    call_seconds_left: int | None = None
    consultation: Consultation | None = None
    prescriptions: list[Prescription] = field(default_factory=list)

    @property
    def can_join(self) -> bool:
        return self.code == "called" and self.case.mode == Case.Mode.LIVE

    def as_json(self) -> dict[str, Any]:
        case = self.case
        return {
            "case": str(case.pk),
            "patient": case.patient.name,
            "patient_number": case.patient.patient_number,
            "ticket": str(case.ticket_id) if case.ticket_id else None,
            "token": case.ticket.token_number if case.ticket_id else None,
            "specialty": case.specialty.name,
            "mode": case.mode,
            "mode_label": str(case.get_mode_display()),
            "urgent": case.urgent,
            "status": self.code,
            "label": self.label,
            "position": self.position,
            "expected_wait_minutes": self.expected_wait_minutes,
            "doctor": self.doctor_name,
            "hub": self.hub_name,
            "call_seconds_left": self.call_seconds_left,
            "consultation": str(self.consultation.pk) if self.consultation else None,
            "prescriptions": [str(p.pk) for p in self.prescriptions],
        }


def _doctor_name(doctor: Any) -> str:
    if doctor is None:
        return ""
    return doctor.user.get_full_name() or doctor.user.username


def case_status(case: Case, consultation: Consultation | None = None) -> CaseStatus:
    """Waiting (position, wait), called, in consultation, prescription ready, answered,
    referred, forwarded, missed, cancelled: from the ticket and its latest consultation."""
    ticket = case.ticket
    if consultation is None and ticket is not None:
        consultation = consultation_selectors.latest_consultation_of_ticket(ticket)
    status = CaseStatus(case=case, code="waiting", label="", consultation=consultation)
    if consultation is not None:
        status.doctor_name = _doctor_name(consultation.doctor)
        status.hub_name = consultation.hub.name if consultation.hub_id else ""
        status.prescriptions = [
            p for p in consultation.prescriptions.all() if p.status == Prescription.Status.ISSUED
        ]
    if ticket is None:
        status.label = _("Not sent")
        status.code = "not_sent"
        return status
    if ticket.hub_id and not status.hub_name:
        status.hub_name = ticket.hub.name
    waiting = queue_selectors.waiting_status(ticket)
    store_forward = case.mode == Case.Mode.STORE_FORWARD
    if waiting.status == Ticket.Status.WAITING:
        # where it waits now (a forwarded case waits at another hub than the one it left)
        status.hub_name = ticket.hub.name if ticket.hub_id else status.hub_name
        status.position = waiting.position
        status.expected_wait_minutes = waiting.expected_wait_minutes
        forwarded = (
            consultation is not None and consultation.outcome == Consultation.Outcome.FORWARDED
        )
        status.code = "forwarded" if forwarded else "waiting"
        status.label = (
            _("Forwarded, waiting at %(hub)s") % {"hub": ticket.hub.name}
            if forwarded
            else _("Waiting")
        )
    elif waiting.status == Ticket.Status.CALLED:
        status.code, status.label = (
            "called",
            _("Called by Dr %(doctor)s: join now") % {"doctor": status.doctor_name},
        )
        status.call_seconds_left = waiting.call_seconds_left
    elif waiting.status == Ticket.Status.IN_CONSULTATION:
        status.code = "in_consultation"
        status.label = (
            _("Dr %(doctor)s is writing the answer")
            if store_forward
            else _("In consultation with Dr %(doctor)s")
        ) % {"doctor": status.doctor_name}
    elif waiting.status == Ticket.Status.COMPLETED and consultation is not None:
        outcome = consultation.outcome
        if outcome == Consultation.Outcome.REFERRED:
            status.code, status.label = "referred", _("Referred")
        elif store_forward:
            status.code, status.label = (
                "answered",
                _("Answered by Dr %(doctor)s") % {"doctor": status.doctor_name},
            )
        elif status.prescriptions:
            status.code, status.label = "prescription_ready", _("Prescription ready")
        else:
            status.code, status.label = "completed", str(consultation.get_outcome_display())
    elif waiting.status == Ticket.Status.MISSED:
        status.code, status.label = "missed", _("The call was missed")
    else:
        status.code, status.label = waiting.status, str(Ticket.Status(waiting.status).label)
    return status


def todays_cases(centre: Facility, now: dt.datetime | None = None) -> list[CaseStatus]:
    """The centre's cases sent today and any still open from before, newest first."""
    now = now or timezone.now()
    start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    open_statuses = [Ticket.Status.WAITING, Ticket.Status.CALLED, Ticket.Status.IN_CONSULTATION]
    cases = (
        Case.objects.filter(spoke=centre)
        .filter(Q(created_at__gte=start) | Q(ticket__status__in=open_statuses))
        .select_related("patient", "specialty", "ticket__hub", "ticket__queue")
        .order_by("-created_at")[:100]
    )
    cases = list(cases)
    latest: dict[Any, Consultation] = {}
    consultations = (
        Consultation.objects.filter(ticket_id__in=[c.ticket_id for c in cases if c.ticket_id])
        .select_related("doctor__user", "hub")
        .prefetch_related("prescriptions")
        .order_by("created_at")
    )
    for consultation in consultations:
        latest[consultation.ticket_id] = consultation
    return [case_status(case, latest.get(case.ticket_id)) for case in cases]


#: A centre's case by id: every step and status poll of a case at the centre reads it.
_centre_case = CompiledQuery(
    lambda: Case.objects.select_related("patient", "specialty", "ticket__hub", "spoke").filter(
        pk=Slot("case", Case._meta.pk), spoke_id=Slot("centre", Facility._meta.pk)
    )
)


def centre_case(user: Any, centre: Facility, case_id: Any, audited: bool = True) -> Case:
    found = _centre_case(case=parse_id(case_id), centre=centre.pk)
    if not found:
        raise Http404
    case = found[0]
    if audited:
        record_event(user, "hwc.case.view", obj=case, patient_id=case.patient_id)
    return case


def complaint_labels(case: Case) -> list[str]:
    return [str(COMPLAINTS.get(code, code)) for code in case.complaints]


def follow_ups_due(centre: Facility, today: dt.date | None = None) -> QuerySet[Consultation]:
    """Follow-ups a hub doctor asked for, for the centre's patients, due within a week
    either side of today."""
    today = today or timezone.localdate()
    return (
        Consultation.objects.filter(
            spoke=centre,
            follow_up_on__gte=today - FOLLOW_UP_WINDOW,
            follow_up_on__lte=today + FOLLOW_UP_WINDOW,
        )
        .select_related("patient", "doctor__user")
        .order_by("follow_up_on")[:50]
    )


# --- prescriptions and stock ---------------------------------------------------------------


def case_prescription(case: Case, prescription_id: Any) -> Prescription:
    """An issued prescription of this case's consultations (404 otherwise)."""
    prescription = (
        Prescription.objects.filter(
            pk=parse_id(prescription_id),
            consultation__ticket_id=case.ticket_id,
            status=Prescription.Status.ISSUED,
        )
        .select_related(
            "consultation__doctor__user", "consultation__hub", "patient", "doctor__user"
        )
        .prefetch_related("items")
        .first()
    )
    if prescription is None or case.ticket_id is None:
        raise Http404
    return prescription


def stock_on_hand(centre: Facility) -> dict[str, int]:
    """Medicine (generic, lower case) → units on hand, for every medicine ever received."""
    totals: dict[str, int] = {}
    rows = (
        StockEntry.objects.filter(facility=centre)
        .values("medicine", "kind")
        .annotate(total=Sum("quantity"))
    )
    for row in rows:
        sign = 1 if row["kind"] == StockEntry.Kind.RECEIVED else -1
        totals[row["medicine"]] = totals.get(row["medicine"], 0) + sign * row["total"]
    return dict(sorted(totals.items()))


def stock_ledger(centre: Facility) -> QuerySet[StockEntry]:
    return StockEntry.objects.filter(facility=centre).select_related("recorded_by")[:200]


@dataclass(frozen=True)
class DispenseLine:
    item: Any
    on_hand: int
    dispensed: int

    @property
    def out_of_stock(self) -> bool:
        return self.on_hand <= 0


def dispense_lines(centre: Facility, prescription: Prescription) -> list[DispenseLine]:
    """Each medicine of the prescription with the centre's stock of it and how much was
    already given for it."""
    stock = stock_on_hand(centre)
    given = dict(
        StockEntry.objects.filter(
            facility=centre,
            kind=StockEntry.Kind.DISPENSED,
            prescription_item__prescription=prescription,
        )
        .values_list("prescription_item_id")
        .annotate(total=Sum("quantity"))
    )
    return [
        DispenseLine(item, stock.get(item.generic_name.lower(), 0), given.get(item.pk, 0))
        for item in prescription.items.all()
    ]
