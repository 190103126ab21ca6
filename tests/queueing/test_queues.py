"""A queue of its own: each OPD has one, tickets and doctors' presence belong to it, and one
claim takes the best ticket across a doctor's ordered list of queues."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from sanjeevani.queueing import services
from sanjeevani.queueing.models import DoctorPresence, Queue, Ticket
from tests.factories import HubFactory, OnlineOPDFactory, PatientFactory, SpecialtyFactory
from tests.queueing.factories import member_doctor

pytestmark = pytest.mark.django_db


def _join(opd) -> Ticket:
    patient = PatientFactory()
    return services.join_queue(patient.account, patient, opd)


def _claim(doctor, queues):
    with transaction.atomic():
        claim = services.claim_from_queues(doctor, queues, doctor.user, timezone.now())
    if claim is None:
        return None
    services.mark_doctor_free(doctor, timezone.now())
    return claim.ticket


def test_an_opd_has_one_queue_which_its_tickets_and_doctors_join():
    opd = OnlineOPDFactory()
    doctor = member_doctor(opd)
    ticket = _join(opd)
    presence = services.go_online(doctor.user, opd)
    queue = Queue.objects.get(opd=opd)
    assert (queue.kind, queue.label, queue.state_id) == ("opd", opd.name, opd.state_id)
    assert ticket.queue_id == presence.queue_id == queue.pk
    assert Queue.objects.for_opd(opd) == queue


def test_a_doctor_takes_the_first_queue_of_their_list_first_then_the_next():
    home, overflow = OnlineOPDFactory(), OnlineOPDFactory()
    doctor = member_doctor(home)
    services.go_online(doctor.user, home)
    later_at_home = _join(home)
    earlier_elsewhere = _join(overflow)
    Ticket.objects.filter(pk=earlier_elsewhere.pk).update(priority=Ticket.Priority.HEAD)
    queues = [Queue.objects.for_opd(home), Queue.objects.for_opd(overflow)]
    assert _claim(doctor, queues).pk == later_at_home.pk
    assert _claim(doctor, queues).pk == earlier_elsewhere.pk
    assert _claim(doctor, queues) is None


def test_a_doctor_claims_only_with_a_list_holding_their_own_queue():
    home, elsewhere = OnlineOPDFactory(), OnlineOPDFactory()
    doctor = member_doctor(home)
    services.go_online(doctor.user, home)
    _join(elsewhere)
    assert _claim(doctor, [Queue.objects.for_opd(elsewhere)]) is None
    assert DoctorPresence.objects.get(doctor=doctor).status == "available"


def test_two_doctors_never_share_a_ticket_across_their_lists():
    first_opd, second_opd = OnlineOPDFactory(), OnlineOPDFactory()
    a, b = member_doctor(first_opd), member_doctor(second_opd)
    services.go_online(a.user, first_opd)
    services.go_online(b.user, second_opd)
    tickets = [_join(first_opd), _join(second_opd), _join(first_opd)]
    first, second = Queue.objects.for_opd(first_opd), Queue.objects.for_opd(second_opd)
    taken = []
    while True:
        got = [_claim(a, [first, second]), _claim(b, [second, first])]
        taken += [t.pk for t in got if t is not None]
        if not any(got):
            break
    assert sorted(taken) == sorted(t.pk for t in tickets)
    assert len(set(taken)) == len(taken)


def test_claim_next_ticket_still_takes_the_opd_it_names():
    opd = OnlineOPDFactory()
    doctor = member_doctor(opd)
    services.go_online(doctor.user, opd)
    ticket = _join(opd)
    with transaction.atomic():
        claim = services.claim_next_ticket(doctor, opd, doctor.user, timezone.now())
    assert claim.ticket.pk == ticket.pk
    other = OnlineOPDFactory()
    with transaction.atomic():
        assert services.claim_next_ticket(doctor, other, doctor.user, timezone.now()) is None


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "opd"},
        {"kind": "hub_specialty", "with_hub": True},
        {"kind": "state_overflow", "with_specialty": True},
    ],
)
def test_each_kind_of_queue_needs_its_references(fields):
    fields = dict(fields)
    kind = fields.pop("kind")
    values = {"kind": kind, "label": "Q"}
    if fields.pop("with_hub", False):
        values["hub"] = HubFactory()
    if fields.pop("with_specialty", False):
        values["specialty"] = SpecialtyFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Queue.objects.create(**values)


def test_a_hub_queue_and_a_state_overflow_queue_for_one_specialty():
    hub, specialty = HubFactory(), SpecialtyFactory()
    hub_queue = Queue.objects.create(
        kind=Queue.Kind.HUB_SPECIALTY, hub=hub, specialty=specialty, state=hub.state, label="H"
    )
    overflow = Queue.objects.create(
        kind=Queue.Kind.STATE_OVERFLOW, specialty=specialty, state=hub.state, label="S"
    )
    assert {hub_queue.kind, overflow.kind} == {"hub_specialty", "state_overflow"}
    with pytest.raises(IntegrityError), transaction.atomic():
        Queue.objects.create(
            kind=Queue.Kind.HUB_SPECIALTY, hub=hub, specialty=specialty, label="again"
        )
