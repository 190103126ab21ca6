"""The care-team policy as a table: every person x every action on one hub-and-spoke case,
open and at explicit times after it ended (no frozen clock: ``now`` is passed in)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from sanjeevani.accounts.models import Role
from sanjeevani.consultations import care_team, selectors
from sanjeevani.consultations.care_team import (
    DOCTOR_AFTERCARE,
    RECORD_CORRECTION,
    REQUESTER_FOLLOW_UP,
    RULES,
    Action,
    Tie,
)
from sanjeevani.consultations.models import Consultation
from sanjeevani.realtime.models import RoomParticipant, RoomRole
from sanjeevani.registry.models import Posting
from sanjeevani.registry.scoping import forget_scope
from tests.factories import (
    DoctorFactory,
    FacilityFactory,
    HubFactory,
    PatientFactory,
    PostingFactory,
    StaffUserFactory,
)
from tests.realtime.factories import HubSpokeConsultationFactory

pytestmark = pytest.mark.django_db

A = Action
CASE_ACTIONS = (
    A.VIEW_RECORD,
    A.VIEW_PRESCRIPTION,
    A.WRITE_RECORD,
    A.JOIN_ROOM,
    A.REPORT_DROPPED,
    A.GIVE_FEEDBACK,
    A.BOOK_FOLLOW_UP,
)
PATIENT_ACTIONS = (A.VIEW_HISTORY, A.VIEW_DOCUMENTS, A.UPLOAD_DOCUMENT, A.ANSWER_CALL)
#: What only the patient's own family does for them.
FAMILY_STEPS = {A.ANSWER_CALL, A.REPORT_DROPPED, A.GIVE_FEEDBACK, A.BOOK_FOLLOW_UP}
PEOPLE = (
    "family",
    "doctor",
    "participant",
    "requester",
    "centre_cho",
    "other_centre_cho",
    "hub_coordinator",
    "other_hub_doctor",
    "other_patient",
    "state_admin",
    "national_admin",
    "operator",
    "anonymous",
)

#: The patient is in front of the health worker: the centre's CHOs answer the hub doctor's
#: call and report a dropped one while the consultation runs (issue 13).
CHO_CALL_STEPS = {A.ANSWER_CALL, A.REPORT_DROPPED}
#: Who may do what while the consultation runs; everyone else nothing.
WHILE_OPEN: dict[str, set[Action]] = {
    "family": {A.VIEW_RECORD, A.VIEW_PRESCRIPTION, A.JOIN_ROOM, *PATIENT_ACTIONS, *FAMILY_STEPS},
    "doctor": {*CASE_ACTIONS, A.VIEW_HISTORY, A.VIEW_DOCUMENTS} - FAMILY_STEPS | {A.REPORT_DROPPED},
    "participant": {A.JOIN_ROOM},
    "requester": {A.VIEW_RECORD, A.VIEW_PRESCRIPTION, A.JOIN_ROOM, *CHO_CALL_STEPS},
    "centre_cho": {A.VIEW_RECORD, A.VIEW_PRESCRIPTION, A.JOIN_ROOM, *CHO_CALL_STEPS},
}


@dataclass
class Case:
    consultation: Consultation
    people: dict[str, Any]

    @property
    def patient(self):
        return self.consultation.patient

    def end(self, at: dt.datetime) -> None:
        self.consultation.status = Consultation.Status.ENDED
        self.consultation.ended_at = at
        self.consultation.save(update_fields=["status", "ended_at"])


@pytest.fixture
def case() -> Case:
    hub, other_hub = HubFactory(), HubFactory()
    spoke = FacilityFactory(state=hub.state)
    other_spoke = FacilityFactory(state=hub.state)
    requester = PostingFactory(user__role=Role.CHO, facility=spoke, state=spoke.state).user
    consultation = HubSpokeConsultationFactory(
        hub=hub, spoke=spoke, requested_by=requester, patient=PatientFactory(state=hub.state)
    )
    specialist = DoctorFactory().user
    RoomParticipant.objects.create(
        consultation=consultation,
        user=specialist,
        role=RoomRole.SPECIALIST,
        invited_by=consultation.doctor.user,
    )
    other_hub_doctor = DoctorFactory()
    other_hub_doctor.hubs.add(other_hub)

    def posted(role: Role, **where) -> Any:
        return PostingFactory(user__role=role, **where).user

    return Case(
        consultation=consultation,
        people={
            "family": consultation.patient.account,
            "doctor": consultation.doctor.user,
            "participant": specialist,
            "requester": requester,
            "centre_cho": posted(Role.CHO, facility=spoke, state=spoke.state),
            "other_centre_cho": posted(Role.CHO, facility=other_spoke, state=spoke.state),
            "hub_coordinator": posted(Role.HUB_COORDINATOR, facility=hub, state=hub.state),
            "other_hub_doctor": other_hub_doctor.user,
            "other_patient": PatientFactory().account,
            "state_admin": posted(Role.STATE_ADMIN, state=hub.state),
            "national_admin": StaffUserFactory(role=Role.NATIONAL_ADMIN),
            "operator": StaffUserFactory(role=Role.OPERATOR),
            "anonymous": None,
        },
    )


def allowed(case: Case, who: str, now: dt.datetime | None = None) -> set[Action]:
    user = case.people[who]
    found = {a for a in CASE_ACTIONS if care_team.may(user, a, case.consultation, now)}
    found |= {a for a in PATIENT_ACTIONS if care_team.may(user, a, case.patient, now)}
    return found


def listed(case: Case, who: str, now: dt.datetime | None = None) -> set[Action]:
    user = case.people[who]
    return {
        a
        for a in CASE_ACTIONS
        if care_team.cases_visible_to(user, a, now).filter(pk=case.consultation.pk).exists()
    }


def opened(case: Case, who: str, service_line: str | None = None) -> bool:
    """Whether the record opens for them (``selectors.visible_consultation``: the compiled
    query of their role's shape, the same SQL for every user of that shape)."""
    try:
        selectors.visible_consultation(case.people[who], case.consultation.pk, service_line)
    except Http404:
        return False
    return True


@pytest.mark.parametrize("who", PEOPLE)
def test_every_person_and_action_while_the_consultation_runs(case, who):
    expected = WHILE_OPEN.get(who, set())
    assert allowed(case, who) == expected
    assert listed(case, who) == expected & set(CASE_ACTIONS), "the list filter disagrees"
    assert opened(case, who) == (A.VIEW_RECORD in expected), "the record's read disagrees"


def test_a_compiled_read_takes_each_persons_own_values(case):
    """The first doctor's read compiles the doctor's shape; the next doctor's read runs the
    same SQL with their own id, and finds only their own consultation."""
    theirs = HubSpokeConsultationFactory()
    for _ in range(2):
        assert opened(case, "doctor")
        assert selectors.visible_consultation(theirs.doctor.user, theirs.pk) == theirs
        with pytest.raises(Http404):
            selectors.visible_consultation(theirs.doctor.user, case.consultation.pk)
        with pytest.raises(Http404):
            selectors.visible_consultation(case.people["doctor"], theirs.pk)
    assert opened(case, "centre_cho") and not opened(case, "other_centre_cho")
    assert opened(case, "doctor", Consultation.ServiceLine.HUB_SPOKE)
    assert not opened(case, "doctor", Consultation.ServiceLine.OPD)
    with pytest.raises(Http404):
        selectors.visible_consultation(case.people["doctor"], "not-a-consultation")


def test_the_requesters_window_is_read_at_each_call(case):
    requester = case.people["requester"]
    Posting.objects.filter(user=requester).update(facility=FacilityFactory())
    forget_scope(requester)
    case.end(timezone.now() - REQUESTER_FOLLOW_UP + dt.timedelta(days=1))
    assert opened(case, "requester")
    case.end(timezone.now() - REQUESTER_FOLLOW_UP - dt.timedelta(days=1))
    assert not opened(case, "requester")


def test_the_doctor_keeps_their_own_record_but_the_wider_case_only_for_the_aftercare(case):
    ended = timezone.now() - dt.timedelta(days=60)
    case.end(ended)
    doctor_at = {
        ended + RECORD_CORRECTION / 2: WHILE_OPEN["doctor"],
        ended + RECORD_CORRECTION * 2: WHILE_OPEN["doctor"] - {A.WRITE_RECORD},
        ended + DOCTOR_AFTERCARE - dt.timedelta(hours=1): WHILE_OPEN["doctor"] - {A.WRITE_RECORD},
        ended + DOCTOR_AFTERCARE + dt.timedelta(hours=1): {
            A.VIEW_RECORD,
            A.VIEW_PRESCRIPTION,
            A.JOIN_ROOM,
            A.REPORT_DROPPED,
        },
    }
    for now, expected in doctor_at.items():
        assert allowed(case, "doctor", now) == expected, now - ended
        assert listed(case, "doctor", now) == expected & set(CASE_ACTIONS), now - ended


def test_what_a_lapsed_rule_leaves(case):
    ended = timezone.now() - dt.timedelta(days=60)
    case.end(ended)
    later = ended + DOCTOR_AFTERCARE * 2
    doctor = case.people["doctor"]
    assert care_team.lapsed(doctor, A.VIEW_HISTORY, case.consultation, later)
    assert not care_team.lapsed(doctor, A.VIEW_RECORD, case.consultation, later)
    assert care_team.tied(doctor, A.WRITE_RECORD, case.consultation)
    stranger = case.people["other_hub_doctor"]
    assert not care_team.lapsed(stranger, A.VIEW_HISTORY, case.consultation, later)
    assert not care_team.tied(stranger, A.WRITE_RECORD, case.consultation)


@pytest.mark.parametrize("who", ["family", "centre_cho", "requester", "participant"])
def test_other_ties_do_not_lapse_while_their_posting_holds(case, who):
    ended = timezone.now() - dt.timedelta(days=400)
    case.end(ended)
    expected = WHILE_OPEN[who] - (CHO_CALL_STEPS if who in {"centre_cho", "requester"} else set())
    assert allowed(case, who, ended + dt.timedelta(days=365)) == expected


def test_a_requester_who_left_the_centre_keeps_the_case_for_the_follow_up_only(case):
    ended = timezone.now() - dt.timedelta(days=60)
    case.end(ended)
    requester = case.people["requester"]
    Posting.objects.filter(user=requester).update(facility=FacilityFactory())
    forget_scope(requester)
    within = ended + REQUESTER_FOLLOW_UP - dt.timedelta(days=1)
    after = ended + REQUESTER_FOLLOW_UP + dt.timedelta(days=1)
    assert allowed(case, "requester", within) == WHILE_OPEN["requester"] - CHO_CALL_STEPS
    assert allowed(case, "requester", after) == {A.JOIN_ROOM}
    assert listed(case, "requester", after) == {A.JOIN_ROOM}


def test_a_prescription_or_message_is_judged_by_its_consultation(case):
    class Prescription:
        consultation = case.consultation

    for who in PEOPLE:
        user = case.people[who]
        assert care_team.may(user, A.VIEW_PRESCRIPTION, Prescription()) == (
            A.VIEW_PRESCRIPTION in WHILE_OPEN.get(who, set())
        )


def test_require_refuses_with_permission_denied(case):
    care_team.require(case.people["doctor"], A.WRITE_RECORD, case.consultation)
    with pytest.raises(PermissionDenied):
        care_team.require(case.people["other_centre_cho"], A.VIEW_RECORD, case.consultation)


def test_an_inactive_account_has_no_ties(case):
    doctor = case.people["doctor"]
    doctor.is_active = False
    assert allowed(case, "doctor") == set()


def test_the_family_sees_its_documents_before_any_consultation():
    patient = PatientFactory()
    assert care_team.may(patient.account, A.VIEW_DOCUMENTS, patient)
    assert care_team.may(patient.account, A.UPLOAD_DOCUMENT, patient)
    assert not care_team.may(DoctorFactory().user, A.VIEW_DOCUMENTS, patient)


def test_the_table_names_only_known_ties_actions_and_roles():
    for rule in RULES:
        assert rule.tie in Tie and rule.action in Action
        assert rule.role is None or rule.role in Role
    # no clinical rule for these roles, by decision (see the module docstring); an operator
    # has rules only through a token they took for the patient (the ``assisting`` tie)
    roles = {rule.role for rule in RULES}
    for role in (Role.HUB_COORDINATOR, Role.STATE_ADMIN, Role.NATIONAL_ADMIN):
        assert role not in roles
    assert {rule.tie for rule in RULES if rule.role == Role.OPERATOR} == {Tie.ASSISTING}
