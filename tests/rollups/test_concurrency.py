"""Many consultations ending at once, and tokens taken at once, all counted into the same
rollup rows from concurrent transactions: no count is lost (one upsert with increments per
row). Needs PostgreSQL (concurrent writers); SQLite serialises writers anyway."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.db.models import Sum

from sanjeevani.consultations import services as consultations
from sanjeevani.rollups.models import DayDetail, DoctorDay, StateDay, StateTotal
from tests.factories import OnlineOPDFactory, PatientFactory, StateFactory
from tests.prescriptions.factories import ConsultationFactory
from tests.queueing.factories import member_doctor

THREADS = 8
EACH = 8

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (concurrent writers): set DATABASE_URL")


def test_endings_and_tokens_at_once_lose_no_count():
    state = StateFactory()
    shared = OnlineOPDFactory(state=state)
    doctors = [member_doctor(shared) for _ in range(THREADS)]
    open_ones = {
        doctor.pk: [
            ConsultationFactory(
                doctor=doctor, opd=shared, patient=PatientFactory(state=state), ticket=None
            )
            for _ in range(EACH)
        ]
        for doctor in doctors
    }
    own_opds = [OnlineOPDFactory(state=state, daily_capacity=EACH * 2) for _ in range(THREADS)]
    patients = [[PatientFactory(state=state) for _ in range(EACH)] for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            barrier.wait()
            doctor = doctors[i]
            for consultation, patient in zip(open_ones[doctor.pk], patients[i], strict=True):
                consultations.end_consultation(doctor.user, consultation, "advice_only")
                consultations.take_token(patient.account, patient, own_opds[i], "fever")
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    total = THREADS * EACH
    shared_rows = DayDetail.objects.filter(opd_id=shared.pk)
    assert shared_rows.aggregate(n=Sum("consultations"), new=Sum("new_patients")) == {
        "n": total,
        "new": total,
    }
    assert DayDetail.objects.filter(state_id=state.pk).aggregate(t=Sum("tokens"))["t"] == total
    coarse = StateDay.objects.filter(state_id=state.pk).aggregate(
        n=Sum("consultations"), t=Sum("tokens")
    )
    assert coarse == {"n": total, "t": total}
    (line,) = StateTotal.objects.filter(state_id=state.pk)
    assert (line.consultations, line.tokens, line.women) == (total, total, total)
    assert DoctorDay.objects.filter(state_id=state.pk).count() == THREADS
