"""Where a case waits and who calls it: own hub first, the links' priority, overflow after
the state's time, urgent cases at once, forwarding up a tier, the patient's language."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from sanjeevani.hwc import routing
from sanjeevani.hwc import services as hwc
from sanjeevani.hwc.models import Case
from sanjeevani.queueing.models import Queue, Ticket

from .factories import hub_doctor, send_case, walk_in

pytestmark = pytest.mark.django_db


def online(doctor, hub, specialty):
    return hwc.go_online_at_hub(doctor.user, hub, specialty)


def test_a_case_waits_at_the_first_linked_hub_when_nobody_is_online(network):
    case = send_case(network)
    assert case.route == Case.Route.OWN_HUB
    assert case.ticket.queue.hub == network.hub_a
    assert case.ticket.queue.specialty == network.general


def test_the_links_priority_gives_way_to_a_hub_with_a_doctor_online(network):
    online(network.doctor_b, network.hub_b, network.general)
    case = send_case(network)
    assert case.ticket.queue.hub == network.hub_b


def test_a_hub_doctor_calls_their_own_hubs_case_and_not_anothers(network):
    case = send_case(network)
    online(network.doctor_b, network.hub_b, network.general)
    assert hwc.call_next_case(network.doctor_b.user) is None
    online(network.doctor_a, network.hub_a, network.general)
    ticket = hwc.call_next_case(network.doctor_a.user)
    assert ticket.pk == case.ticket_id
    consultation = ticket.consultation
    assert consultation.service_line == "hub_spoke"
    assert consultation.hub == network.hub_a
    assert consultation.spoke == network.spoke
    assert consultation.requested_by == network.cho
    assert consultation.consent == "explicit"
    assert consultation.vitals["temperature_c"] == 38.4


def test_a_case_overflows_to_every_hub_of_the_state_after_the_states_time(network):
    case = send_case(network)
    online(network.doctor_b, network.hub_b, network.general)
    assert routing.overflow_waiting_cases(timezone.now() + dt.timedelta(minutes=14)) == 0
    assert hwc.call_next_case(network.doctor_b.user) is None
    assert routing.overflow_waiting_cases(timezone.now() + dt.timedelta(minutes=16)) == 1
    case.refresh_from_db()
    assert case.route == Case.Route.OVERFLOW
    assert case.ticket.queue.kind == Queue.Kind.STATE_OVERFLOW
    ticket = hwc.call_next_case(network.doctor_b.user)
    assert ticket.pk == case.ticket_id
    assert ticket.consultation.hub == network.hub_b


def test_an_urgent_case_overflows_at_once_and_comes_before_routine_ones(network):
    routine = send_case(network)
    urgent = send_case(network, vitals={"spo2": 85, "pulse": 120})
    assert urgent.urgent and urgent.urgent_reasons
    assert urgent.ticket.queue.kind == Queue.Kind.STATE_OVERFLOW
    assert urgent.ticket.priority == Ticket.Priority.URGENT
    online(network.doctor_a, network.hub_a, network.general)
    assert hwc.call_next_case(network.doctor_a.user).pk == urgent.ticket_id
    assert routine.ticket.status == Ticket.Status.WAITING


def test_a_case_prefers_a_hub_whose_online_doctor_speaks_the_patients_language(network):
    tamil = hub_doctor(network.hub_b, network.general, languages=["ta", "en"])
    online(network.doctor_a, network.hub_a, network.general)
    online(tamil, network.hub_b, network.general)
    patient = walk_in(network, preferred_language="ta")
    case = send_case(network, patient=patient)
    assert case.ticket.queue.hub == network.hub_b
    hindi = send_case(network)
    assert hindi.ticket.queue.hub == network.hub_a


def test_a_hub_doctor_forwards_a_case_up_a_tier(network):
    case = send_case(network)
    online(network.doctor_a, network.hub_a, network.general)
    ticket = hwc.call_next_case(network.doctor_a.user)
    hwc.forward_case(network.doctor_a.user, ticket.consultation, network.district, "Needs CT")
    case.refresh_from_db()
    assert case.route == Case.Route.FORWARDED
    assert case.forwarded_from == network.hub_a
    assert case.ticket.status == Ticket.Status.WAITING
    assert case.ticket.queue.hub == network.district
    online(network.doctor_district, network.district, network.general)
    again = hwc.call_next_case(network.doctor_district.user)
    assert again.pk == case.ticket_id


def test_a_store_and_forward_case_opens_for_a_written_answer(network):
    case = send_case(network, mode="store_forward")
    online(network.doctor_a, network.hub_a, network.general)
    ticket = hwc.call_next_case(network.doctor_a.user)
    assert ticket.status == Ticket.Status.IN_CONSULTATION
    assert ticket.consultation.status == "in_progress"
    assert case.pk
