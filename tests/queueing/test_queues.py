"""A queue of its own: each OPD has one, tickets and doctors' presence belong to it, and one
claim takes the best ticket across a doctor's ordered list of queues."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from sanjeevani.live.groups import queue_group
from sanjeevani.queueing import events, selectors, services
from sanjeevani.queueing.models import DoctorPresence, Queue, Ticket
from tests.factories import HubFactory, OnlineOPDFactory, PatientFactory, SpecialtyFactory
from tests.queueing.factories import TicketFactory, member_doctor

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


def _hub_queue() -> Queue:
    hub, specialty = HubFactory(), SpecialtyFactory()
    return Queue.objects.create(
        kind=Queue.Kind.HUB_SPECIALTY, hub=hub, specialty=specialty, state=hub.state, label="H"
    )


def test_positions_and_wait_estimates_count_the_tickets_own_queue():
    """Two lines that share nothing but the table: a hub's tickets neither push an OPD's
    patients back nor count in its figures, and a hub queue without an OPD still gets a
    wait estimate from the default consultation length."""
    opd = OnlineOPDFactory(consultation_minutes=6)
    doctor = member_doctor(opd)
    services.go_online(doctor.user, opd)
    hub_queue = _hub_queue()
    earlier_at_hub = [
        TicketFactory(opd=None, queue=hub_queue, hub=hub_queue.hub, priority=Ticket.Priority.HEAD)
        for _ in range(3)
    ]
    at_opd = _join(opd)
    status = selectors.waiting_status(at_opd)
    assert (status.position, status.doctors_online) == (1, 1)
    assert status.expected_wait_minutes == 6
    at_hub = selectors.waiting_status(earlier_at_hub[-1])
    assert (at_hub.position, at_hub.doctors_online, at_hub.expected_wait_minutes) == (3, 0, None)
    assert selectors.mean_consultation_seconds(hub_queue.pk) == (
        selectors.DEFAULT_CONSULTATION_MINUTES * 60
    )
    board = selectors.opd_board(opd)
    assert (board.patients_waiting, board.doctors_online) == (1, 1)


def test_queue_events_go_to_the_queues_own_group(django_capture_on_commit_callbacks, monkeypatch):
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(events, "publish_now", lambda batch: sent.extend(batch))
    opd = OnlineOPDFactory()
    with django_capture_on_commit_callbacks(execute=True):
        ticket = _join(opd)
    group, event = sent[0]
    assert group == queue_group(ticket.queue_id) == f"queue.{ticket.queue_id}"
    assert (event["type"], event["queue"], event["change"]) == (
        "queue.advanced",
        str(ticket.queue_id),
        "joined",
    )
    sent.clear()
    hub_queue = _hub_queue()
    with django_capture_on_commit_callbacks(execute=True):
        services.publish_queue_events(hub_queue, "doctors")
    assert [group for group, _event in sent] == [queue_group(hub_queue.pk)]


def test_a_new_token_says_whether_its_near_turn_sms_is_due(settings):
    """The token join_queue returns carries its near-turn mark as stored: marked when it
    joined near the front, not when it joined further back (and then it is not re-read)."""
    settings.QUEUE_NEAR_TURN_POSITION = 2
    opd = OnlineOPDFactory()
    first, second, third = (_join(opd) for _ in range(3))
    assert [first.near_turn_notified, second.near_turn_notified] == [True, True]
    assert third.near_turn_notified is False
    stored = dict(Ticket.objects.values_list("pk", "near_turn_notified"))
    assert stored == {first.pk: True, second.pk: True, third.pk: False}
