"""The rollups, counted live in the transaction of each change, equal the same figures
computed from the raw rows (``scenario.raw_counts``), per IST day, state, service line and
place; and the rebuild gives the very same rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sanjeevani.consultations.models import Consultation
from sanjeevani.rollups import services as rollups
from sanjeevani.rollups.models import (
    GRAINS,
    ROLLUP_MODELS,
    SCALARS,
    DayDetail,
    DoctorDay,
    StateDay,
    StateTotal,
)
from tests.prescriptions.factories import ConsultationFactory

from .scenario import D, nonzero, raw_counts, rollup_counts

pytestmark = pytest.mark.django_db
NEXT = D + dt.timedelta(days=1)


def test_every_counter_equals_the_raw_rows(world):
    raw = nonzero(raw_counts())
    assert rollup_counts() == raw
    # The scenario does cover what it claims to.
    totals = {name: sum(c.get(name, 0) for c in raw.values()) for name in SCALARS}
    assert totals["consultations"] == 7  # 5 at the OPD, 2 at hubs
    assert totals["missed"] == 4 and totals["dropped"] == 1 and totals["forwarded"] == 1
    assert totals["cancelled"] == 2 and totals["referrals"] == 2
    assert totals["prescriptions"] == 1 and totals["new_patients"] == 6  # p1 came back
    assert totals["tokens"] == 13
    assert totals["seniors"] == 4  # p1 twice, p3 by the age given, q1; not p8 (60 on D+1)
    assert totals["wait_count"] == 7 and totals["women"] == 4


def test_the_day_is_the_ist_day(world):
    """23:50 IST on D and 00:10 IST on D+1 are the same UTC day, two IST days."""
    late = Consultation.objects.get(patient=world.patients["p2"])
    early = Consultation.objects.get(patient=world.patients["p3"])
    assert late.ended_at.date() == early.ended_at.date() == D
    opd = StateDay.objects.filter(state_id=world.state_a.pk, service_line="opd")
    by_day = dict(opd.values_list("day").annotate(n=Sum("consultations")))
    assert by_day == {D: 3, NEXT: 2}
    detail = DayDetail.objects.get(day=D, opd_id=world.opd.pk, consultations__gt=0)
    assert detail.hour_23 == 1 and detail.hour_10 == 1 and detail.hour_11 == 1
    # Its token was taken on D (23:55 IST), the consultation ended on D+1.
    assert DayDetail.objects.filter(day=D, opd_id=world.opd.pk).aggregate(t=Sum("tokens")) == {
        "t": 8
    }


def test_the_coarse_grains_add_up_to_the_detail(world):
    detail = DayDetail.objects.values("day", "state_id", "service_line").annotate(
        **{name: Sum(name) for name in SCALARS}
    )
    day_rows = {
        (r["day"], r["state_id"], r["service_line"]): {n: r[n] for n in SCALARS} for r in detail
    }
    assert {
        (r.day, r.state_id, r.service_line): {n: getattr(r, n) for n in SCALARS}
        for r in StateDay.objects.all()
    } == day_rows
    totals = StateTotal.objects.get(state_id=world.state_b.pk, service_line="hub_spoke")
    assert (totals.consultations, totals.forwarded, totals.missed) == (1, 1, 1)
    # The case answered in writing is the third line, from its request to its answer.
    written = StateTotal.objects.get(state_id=world.state_b.pk, service_line="store_forward")
    assert (written.consultations, written.tokens, written.seniors) == (1, 1, 1)


def test_doctors_who_consulted_are_a_set(world):
    rows = set(DoctorDay.objects.values_list("day", "doctor_id"))
    doctor, network = world.doctor.pk, world.network
    assert rows == {
        (D, doctor),
        (NEXT, doctor),
        (D, network.doctor_a.pk),
        (D, network.doctor_district.pk),
    }


def _snapshot() -> dict:
    return {
        model.__name__: sorted(
            tuple(v for k, v in row.items() if k != "id") for row in model.objects.values()
        )
        for model in ROLLUP_MODELS
    }


def test_rebuild_gives_identical_rollups(world):
    live = _snapshot()
    assert all(live.values())
    for model in ROLLUP_MODELS:
        model.objects.all().delete()
    call_command("rebuild_rollups", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert _snapshot() == live
    call_command("rebuild_rollups", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert _snapshot() == live


def test_an_ending_costs_five_statements_whatever_the_history(db):
    """The fact and every grain's upsert and the doctor's day: the same at the first
    consultation and the millionth (no statement reads more than its one row and its
    patient's). PostgreSQL: one statement (the fact in a WITH, each upsert a data-modifying
    CTE), fewer round trips than the five of one upsert per grain; SQLite: one
    ``INSERT ... SELECT`` of the fact per grain, and the doctor's day."""
    postgres = connection.vendor == "postgresql"
    ended = ConsultationFactory(status="ended", outcome="advice_only", ended_at=timezone.now())
    with CaptureQueriesContext(connection) as queries:
        rollups.count_consultation_closed(ended)
    assert len(queries) == (1 if postgres else len(GRAINS) + 1)
    assert len(queries) <= 5 or not postgres
    assert StateTotal.objects.get().consultations == 1
    assert DoctorDay.objects.count() == 1
    missed = ConsultationFactory(status="ended", outcome="no_show", ended_at=timezone.now())
    with CaptureQueriesContext(connection) as queries:
        rollups.count_consultation_closed(missed)
    assert len(queries) == (1 if postgres else len(GRAINS))  # nobody consulted: no doctor's day
    assert DoctorDay.objects.count() == 1
