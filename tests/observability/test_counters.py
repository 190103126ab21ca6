"""The claim, ending and token counters move once per committed change, through the real
services, and not at all for a change that rolls back."""

from __future__ import annotations

import pytest
from django.db import transaction
from prometheus_client import REGISTRY

from sanjeevani.consultations import services as consultations
from sanjeevani.consultations.models import Consultation
from sanjeevani.queueing import services as queue
from tests.factories import DoctorFactory, OnlineOPDFactory, PatientFactory

pytestmark = pytest.mark.django_db

CLAIMS = ("sanjeevani_claims_total", {"line": "opd"})
PLACED = ("sanjeevani_tickets_placed_total", {"line": "opd"})
NO_SHOW = (
    "sanjeevani_consultations_ended_total",
    {"line": "opd", "outcome": "no_show", "reason": "no_show"},
)


class Rollback(Exception):
    pass


def _value(metric: tuple[str, dict]) -> float:
    return REGISTRY.get_sample_value(*metric) or 0.0


@pytest.fixture(name="world")
def world_fixture():
    opd = OnlineOPDFactory()
    doctor = DoctorFactory()
    doctor.opds.add(opd)
    queue.go_online(doctor.user, opd)
    return opd, doctor


def _take_token(opd):
    patient = PatientFactory()
    return consultations.take_token(patient.account, patient, opd, "fever")


def test_a_token_a_claim_and_an_ending_are_counted_once_each(
    world, django_capture_on_commit_callbacks
):
    opd, doctor = world
    before = {metric[0]: _value(metric) for metric in (CLAIMS, PLACED, NO_SHOW)}
    with django_capture_on_commit_callbacks(execute=True):
        _take_token(opd)
    assert _value(PLACED) == before[PLACED[0]] + 1
    assert _value(CLAIMS) == before[CLAIMS[0]]

    with django_capture_on_commit_callbacks(execute=True):
        ticket = consultations.call_next_patient(doctor.user)
    assert ticket is not None
    assert _value(CLAIMS) == before[CLAIMS[0]] + 1

    with django_capture_on_commit_callbacks(execute=True):
        consultations.end_consultation(
            doctor.user, ticket.consultation, Consultation.Outcome.NO_SHOW
        )
    assert _value(NO_SHOW) == before[NO_SHOW[0]] + 1
    assert _value(CLAIMS) == before[CLAIMS[0]] + 1
    assert _value(PLACED) == before[PLACED[0]] + 1


def test_nothing_is_counted_for_changes_that_roll_back(world, django_capture_on_commit_callbacks):
    opd, doctor = world
    before = {metric[0]: _value(metric) for metric in (CLAIMS, PLACED, NO_SHOW)}
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(Rollback), transaction.atomic():
            _take_token(opd)
            raise Rollback
        _take_token(opd)  # committed: the claim below needs someone waiting
    assert _value(PLACED) == before[PLACED[0]] + 1

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(Rollback),
        transaction.atomic(),
    ):
        ticket = consultations.call_next_patient(doctor.user)
        assert ticket is not None
        raise Rollback
    assert _value(CLAIMS) == before[CLAIMS[0]]

    with django_capture_on_commit_callbacks(execute=True):
        ticket = consultations.call_next_patient(doctor.user)
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(Rollback),
        transaction.atomic(),
    ):
        consultations.end_consultation(
            doctor.user, ticket.consultation, Consultation.Outcome.NO_SHOW
        )
        raise Rollback
    assert _value(NO_SHOW) == before[NO_SHOW[0]]
    assert _value(CLAIMS) == before[CLAIMS[0]] + 1
