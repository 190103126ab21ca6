"""Who may act on a patient's case: one answer for pages, API views, consumers and selectors.

A person's *tie* to a consultation is how they come to it: the patient's own mobile account
(``family``), its doctor (``attending``), someone the doctor added to the room
(``participant``), the CHO who asked for it (``requester``), a CHO posted at the spoke it was
held from (``centre``), a coordinator posted at its hub (``hub``), an operator who took the
token for the patient (``assisting``). ``RULES`` declares, as data,
which role with which tie may do which ``Action``, and for how long after the consultation
ends. Anything not declared is refused. Like ``registry.scoping``, ties are lookup paths, so
one table answers both a single question (``may``) and a list (``cases_visible_to``).

Decisions where the seven earlier answers disagreed (the safer, realistic reading):

- A doctor's own consultation record and the prescription they issued stay readable to them
  (the Telemedicine Practice Guidelines make the doctor keep them); the patient's *other*
  data (shared documents, earlier consultations) only while the consultation runs and for
  ``DOCTOR_AFTERCARE`` after it ends, no longer "any doctor who ever saw the patient, for ever".
- The centre (CHOs posted at the spoke) reads the consultations held from it and their
  prescriptions, so a CHO who can open a prescription can open the consultation it came from.
  The requesting CHO keeps that for ``REQUESTER_FOLLOW_UP`` even after leaving the centre.
- Participants added to a room join the room only; they read no record beyond it.
- Hub and spoke: the patient is in front of the health worker, so a CHO of the centre
  answers the hub doctor's call and joins the room with the patient (the requester too,
  wherever they are now posted), and reports a dropped call.
- Hub coordinators, state and national administrators have no clinical tie: they see
  places, queues and figures (``registry.scoping``). An operator keeps family profiles for
  an account (``patients.services``), which is profile work, not the case.
- Assisted registration (an operator at a Common Service Centre, a prison or an old-age
  home, ``patients.assisted`` and ``opd.assisted``): the operator is tied to a consultation
  only through a token they took for the patient themselves (``patients.family.
  is_assisting_operator`` with the ticket), never through having registered the patient, so
  a token the patient later takes from home stays private. With that tie the operator
  answers the call and joins the room with the patient and reports a dropped call while the
  consultation is open, and reads its prescription until ``OPERATOR_HANDOVER`` after the end
  (to print it for a patient without a phone of their own, or hand medicines over at an
  institution); never the record, the history or the documents.
- The family tie is defined once, in ``patients.family.is_account_holder``; this table builds
  ``family`` on it, and the layers below (the queue's tokens, document uploads) ask it
  directly since they cannot ask upwards. Only the family uploads documents, answers a call,
  gives feedback and books a follow-up; the family or the attending doctor reports a dropped
  call.
- Joining a room is not time-limited here: the room refuses an ended consultation itself,
  with its own close code.

Room participants live in ``realtime``, which imports this app; they are reached through the
reverse relation ``room_participants`` so that imports keep pointing down.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Field, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from sanjeevani.accounts.models import Role, User
from sanjeevani.config.compiled_queries import Slot
from sanjeevani.patients.family import (
    assisted_ticket_ids,
    is_account_holder,
    is_assisting_operator,
)
from sanjeevani.patients.models import Patient, PatientDocument
from sanjeevani.registry.scoping import scope_of

from .models import Consultation


class Action(StrEnum):
    VIEW_RECORD = "view_record"
    VIEW_HISTORY = "view_history"
    VIEW_DOCUMENTS = "view_documents"
    UPLOAD_DOCUMENT = "upload_document"
    VIEW_PRESCRIPTION = "view_prescription"
    WRITE_RECORD = "write_record"
    JOIN_ROOM = "join_room"
    ANSWER_CALL = "answer_call"
    REPORT_DROPPED = "report_dropped"
    GIVE_FEEDBACK = "give_feedback"
    BOOK_FOLLOW_UP = "book_follow_up"


class Tie(StrEnum):
    FAMILY = "family"
    ATTENDING = "attending"
    PARTICIPANT = "participant"
    REQUESTER = "requester"
    CENTRE = "centre"
    HUB = "hub"
    ASSISTING = "assisting"


#: Lookups from a consultation to the user a tie names.
USER_PATHS: dict[Tie, str] = {
    Tie.FAMILY: "patient__account",
    Tie.ATTENDING: "doctor__user",
    Tie.PARTICIPANT: "room_participants__user",
    Tie.REQUESTER: "requested_by",
}
#: Lookups from a consultation to the facility a tie's posting must be at.
FACILITY_PATHS: dict[Tie, str] = {Tie.CENTRE: "spoke", Tie.HUB: "hub"}

#: A rule that holds whatever the consultation's state.
FOR_GOOD = None
#: A rule that holds only while the consultation is open.
WHILE_OPEN = dt.timedelta(0)
#: How long the doctor keeps the patient's wider case (documents, earlier consultations).
DOCTOR_AFTERCARE = dt.timedelta(days=7)
#: How long the doctor may still amend what the consultation wrote (a prescription's
#: correction; ``prescriptions.services.CORRECTION_WINDOW`` is the same hour).
RECORD_CORRECTION = dt.timedelta(hours=1)
#: How long an assisting operator may still open the prescription of a consultation they
#: joined with the patient: the rest of the visit and the next day, to print it.
OPERATOR_HANDOVER = dt.timedelta(hours=24)
#: How long the requesting CHO keeps the consultation if no longer posted at its centre.
REQUESTER_FOLLOW_UP = dt.timedelta(days=30)


@dataclass(frozen=True)
class Rule:
    """``role`` with ``tie`` may do ``action``; ``after_end`` is how long that lasts once the
    consultation has ended (``FOR_GOOD``: always). ``role`` None means any role."""

    tie: Tie
    role: Role | None
    action: Action
    after_end: dt.timedelta | None = FOR_GOOD

    def holds(self, status: str, ended_at: dt.datetime | None, now: dt.datetime) -> bool:
        if self.after_end is FOR_GOOD or status != Consultation.Status.ENDED:
            return True
        return ended_at is not None and now - ended_at <= self.after_end


def _rules(tie: Tie, role: Role | None, *grants: tuple[Action, dt.timedelta | None]) -> list[Rule]:
    return [Rule(tie, role, action, after_end) for action, after_end in grants]


A = Action
RULES: tuple[Rule, ...] = (
    *_rules(
        Tie.FAMILY,
        Role.PATIENT,
        (A.VIEW_RECORD, FOR_GOOD),
        (A.VIEW_HISTORY, FOR_GOOD),
        (A.VIEW_DOCUMENTS, FOR_GOOD),
        (A.UPLOAD_DOCUMENT, FOR_GOOD),
        (A.VIEW_PRESCRIPTION, FOR_GOOD),
        (A.JOIN_ROOM, FOR_GOOD),
        (A.ANSWER_CALL, FOR_GOOD),
        (A.REPORT_DROPPED, FOR_GOOD),
        (A.GIVE_FEEDBACK, FOR_GOOD),
        (A.BOOK_FOLLOW_UP, FOR_GOOD),
    ),
    *_rules(
        Tie.ATTENDING,
        Role.DOCTOR,
        (A.VIEW_RECORD, FOR_GOOD),
        (A.VIEW_PRESCRIPTION, FOR_GOOD),
        (A.VIEW_HISTORY, DOCTOR_AFTERCARE),
        (A.VIEW_DOCUMENTS, DOCTOR_AFTERCARE),
        (A.WRITE_RECORD, RECORD_CORRECTION),
        (A.JOIN_ROOM, FOR_GOOD),
        (A.REPORT_DROPPED, FOR_GOOD),
    ),
    *_rules(Tie.PARTICIPANT, None, (A.JOIN_ROOM, FOR_GOOD)),
    *_rules(
        Tie.REQUESTER,
        Role.CHO,
        (A.JOIN_ROOM, FOR_GOOD),
        (A.ANSWER_CALL, WHILE_OPEN),
        (A.REPORT_DROPPED, WHILE_OPEN),
        (A.VIEW_RECORD, REQUESTER_FOLLOW_UP),
        (A.VIEW_PRESCRIPTION, REQUESTER_FOLLOW_UP),
    ),
    *_rules(
        Tie.CENTRE,
        Role.CHO,
        (A.JOIN_ROOM, FOR_GOOD),
        (A.ANSWER_CALL, WHILE_OPEN),
        (A.REPORT_DROPPED, WHILE_OPEN),
        (A.VIEW_RECORD, FOR_GOOD),
        (A.VIEW_PRESCRIPTION, FOR_GOOD),
    ),
    *_rules(
        Tie.ASSISTING,
        Role.OPERATOR,
        (A.ANSWER_CALL, WHILE_OPEN),
        (A.JOIN_ROOM, WHILE_OPEN),
        (A.REPORT_DROPPED, WHILE_OPEN),
        (A.VIEW_PRESCRIPTION, OPERATOR_HANDOVER),
    ),
)

#: Actions about the patient as a whole rather than one consultation: the family holds them
#: through the patient itself, anyone else through one of the patient's consultations.
PATIENT_ACTIONS = frozenset({A.VIEW_HISTORY, A.VIEW_DOCUMENTS, A.UPLOAD_DOCUMENT, A.ANSWER_CALL})


def rules_for(role: str, action: Action) -> list[Rule]:
    return [r for r in RULES if r.action == action and r.role in (None, role)]


def _signed_in(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


def _facility_of(user: Any) -> Any:
    return scope_of(user).facility_id


def _tied(user: Any, tie: Tie, consultation: Consultation) -> bool:
    """Whether ``user`` has ``tie`` to a loaded consultation; only a participant costs a query."""
    if tie == Tie.FAMILY:
        return is_account_holder(user, consultation.patient)
    if tie == Tie.ATTENDING:
        return consultation.doctor.user_id == user.pk
    if tie == Tie.REQUESTER:
        return consultation.requested_by_id == user.pk
    if tie == Tie.PARTICIPANT:
        return consultation.room_participants.filter(user=user).exists()
    if tie == Tie.ASSISTING:
        return consultation.ticket_id is not None and is_assisting_operator(
            user, consultation.patient, ticket_id=consultation.ticket_id
        )
    facility = _facility_of(user)
    return facility is not None and getattr(consultation, f"{FACILITY_PATHS[tie]}_id") == facility


def _consultation_of(target: Any) -> Consultation:
    if isinstance(target, Consultation):
        return target
    consultation = getattr(target, "consultation", None)
    if isinstance(consultation, Consultation):
        return consultation
    raise TypeError(f"no consultation in {type(target).__name__}")


def may(user: Any, action: Action, target: Any, now: dt.datetime | None = None) -> bool:
    """Whether ``user`` may do ``action`` to ``target``: a consultation (or something of one,
    such as a prescription or a chat message), a patient, or a patient's document."""
    if not _signed_in(user):
        return False
    now = now or timezone.now()
    if isinstance(target, PatientDocument):
        target = target.patient
    rules = rules_for(user.role, action)
    if isinstance(target, Patient):
        if any(r.tie == Tie.FAMILY for r in rules) and is_account_holder(user, target):
            return True
        others = [r for r in rules if r.tie != Tie.FAMILY]
        return bool(others) and _filter(others, user, now).filter(patient=target).exists()
    consultation = _consultation_of(target)
    return any(
        rule.holds(consultation.status, consultation.ended_at, now)
        and _tied(user, rule.tie, consultation)
        for rule in rules
    )


def tied(user: Any, action: Action, target: Any) -> bool:
    """Whether a rule for ``action`` ties ``user`` to the consultation, whatever the time."""
    if not _signed_in(user):
        return False
    consultation = _consultation_of(target)
    return any(_tied(user, r.tie, consultation) for r in rules_for(user.role, action))


def lapsed(user: Any, action: Action, target: Any, now: dt.datetime | None = None) -> bool:
    """Whether ``user`` is tied for ``action`` but the rule's time is over (a page may then
    show less, or a service say why, rather than refuse outright)."""
    return tied(user, action, target) and not may(user, action, target, now)


def require(user: Any, action: Action, target: Any, now: dt.datetime | None = None) -> None:
    """``may`` or ``PermissionDenied`` (which views answer with 404, revealing nothing)."""
    if not may(user, action, target, now):
        raise PermissionDenied(_("You are not part of this patient's care."))


#: How a condition takes one of its values: as the value itself (a queryset to narrow
#: further), or as a ``Slot`` of a compiled query that records the value for the call.
Bind = Callable[[str, Any, Field], Any]


def _as_value(name: str, value: Any, field: Field) -> Any:
    return value


def _tie_condition(user: Any, tie: Tie, bind: Bind = _as_value) -> Q | None:
    if tie in USER_PATHS:
        return Q(**{f"{USER_PATHS[tie]}_id": bind("user", user.pk, User._meta.pk)})
    if tie == Tie.ASSISTING:
        return Q(ticket_id__in=assisted_ticket_ids(user))
    facility = _facility_of(user)
    if facility is None:
        return None
    path = f"{FACILITY_PATHS[tie]}_id"
    return Q(**{path: bind("facility", facility, Consultation._meta.get_field(path).target_field)})


def _window(rule: Rule, now: dt.datetime, bind: Bind = _as_value) -> Q:
    if rule.after_end is FOR_GOOD:
        return Q()
    name = f"ended_since_{int(rule.after_end.total_seconds())}"
    since = bind(name, now - rule.after_end, Consultation._meta.get_field("ended_at"))
    return ~Q(status=Consultation.Status.ENDED) | Q(ended_at__gte=since)


def _condition(
    rules: Iterable[Rule], user: Any, now: dt.datetime, bind: Bind = _as_value
) -> tuple[Q | None, bool]:
    """The rules' conditions joined, and whether one crosses a to-many relation (a room's
    participants), which would repeat a consultation once per match."""
    condition, crosses_many = None, False
    for rule in rules:
        tied = _tie_condition(user, rule.tie, bind)
        if tied is not None:
            condition = (
                tied & _window(rule, now, bind)
                if condition is None
                else condition | (tied & _window(rule, now, bind))
            )
            crosses_many |= rule.tie == Tie.PARTICIPANT
    return condition, crosses_many


def _filter(
    rules: Iterable[Rule], user: Any, now: dt.datetime, bind: Bind = _as_value
) -> QuerySet[Consultation]:
    condition, crosses_many = _condition(rules, user, now, bind)
    if condition is None:
        return Consultation.objects.none()
    if crosses_many:
        return Consultation.objects.filter(
            pk__in=Consultation.objects.filter(condition).values("pk")
        )
    return Consultation.objects.filter(condition)


@dataclass(frozen=True)
class OpenVisibility:
    """``cases_visible_to`` for one role and action with its values left open, for a
    compiled query (``config.compiled_queries``): ``shape`` names the SQL (the same for
    every user it fits), ``build`` makes the queryset with ``Slot``s, ``values`` are this
    user's."""

    shape: tuple
    build: Callable[[], QuerySet[Consultation]]
    values: dict[str, Any]


def open_visibility(
    user: Any, action: Action = Action.VIEW_RECORD, now: dt.datetime | None = None
) -> OpenVisibility | None:
    """The visibility condition with slots, or None when its SQL would depend on the user
    beyond their values (signed out, no rule, an operator's assisted tokens): the caller
    then uses ``cases_visible_to``."""
    if not _signed_in(user):
        return None
    rules = rules_for(user.role, action)
    if not rules or any(r.tie == Tie.ASSISTING for r in rules):
        return None
    now = now or timezone.now()
    values: dict[str, Any] = {}

    def record(name: str, value: Any, field: Field) -> Slot:
        values[name] = value
        return Slot(name, field)

    _condition(rules, user, now, record)
    if not values:
        return None
    return OpenVisibility(
        shape=(user.role, action, "facility" in values),
        build=lambda: _filter(rules, user, now, lambda name, value, field: Slot(name, field)),
        values=values,
    )


def cases_visible_to(
    user: Any, action: Action = Action.VIEW_RECORD, now: dt.datetime | None = None
) -> QuerySet[Consultation]:
    """The consultations ``user`` may do ``action`` to, as a queryset to narrow further."""
    if not _signed_in(user):
        return Consultation.objects.none()
    rules = rules_for(user.role, action)
    if not rules:
        return Consultation.objects.none()
    return _filter(rules, user, now or timezone.now())
