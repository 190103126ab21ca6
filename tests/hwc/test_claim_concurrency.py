"""30 hub doctors at 3 hubs (2 states) call at once from 600 cases sent by 50 spokes, while
the housekeeping moves cases that waited past their state's time to the state's overflow
and health workers keep sending cases: every case is claimed exactly once, none is lost,
and none by a doctor who was not eligible for it. Needs PostgreSQL (SKIP LOCKED and
concurrent writers); SQLite serialises writers anyway. Also: the one-query presence a
call starts from names the same queues as looking them up."""

from __future__ import annotations

import datetime as dt
import random
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field

import pytest
from django.db import connection
from django.utils import timezone

from sanjeevani.accounts.models import Role, User
from sanjeevani.audit.models import AuditEvent
from sanjeevani.consultations import services as consultations
from sanjeevani.consultations.models import Consultation
from sanjeevani.hwc import routing
from sanjeevani.hwc import services as hwc
from sanjeevani.hwc.models import Case
from sanjeevani.patients.models import Patient
from sanjeevani.queueing.models import Queue, Ticket
from sanjeevani.registry.models import Facility, Posting, Specialty
from tests.factories import HubFactory, StateFactory

from .factories import case_data, hub_doctor, link

CASES = 600
SENT_DURING_RUN = 120
SPOKES = 50
#: Doctors per (hub, specialty they go online for). Hub A1 has one dermatologist for the
#: dermatology cases of its 18 spokes, so they pile up and overflow to A2's four.
ROSTER = {
    "A1": {"general-medicine": 5, "dermatology": 1, "paediatrics": 4},
    "A2": {"general-medicine": 4, "dermatology": 4, "paediatrics": 2},
    "B1": {"general-medicine": 6, "dermatology": 2, "paediatrics": 2},
}
OVERFLOW_PASSES = 4


@pytest.fixture
def needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (concurrent SKIP LOCKED claims): set DATABASE_URL")


@dataclass
class Network:
    states: dict
    specialties: dict
    hubs: dict
    spokes: list
    chos: dict  # spoke id -> CHO user
    doctors: list = field(default_factory=list)  # (doctor, hub, specialty)


def build() -> Network:
    states = {
        "A": StateFactory(hub_overflow_minutes=15),
        "B": StateFactory(hub_overflow_minutes=10),
    }
    # An earlier transactional test's flush may have removed the specialties the
    # migrations load: make sure the ones the roster names exist.
    specialties = {
        code: Specialty.objects.get_or_create(code=code, defaults={"name": code.title()})[0]
        for code in ROSTER["A1"]
    }
    general, skin, child = (specialties[c] for c in ROSTER["A1"])
    hubs = {name: HubFactory(state=states[name[0]], name=f"Hub {name}") for name in ROSTER}
    spokes, chos = [], {}
    for i in range(SPOKES):
        state = states["A"] if i < 35 else states["B"]
        spoke = Facility.objects.create(
            code=f"HC-{i:03d}", name=f"Centre {i}", level="sc", state=state, is_spoke=True
        )
        if i < 18:  # A1 first for all three; A2 second for general and skin
            link(spoke, hubs["A1"], general, skin, child, priority=1)
            link(spoke, hubs["A2"], general, skin, priority=2)
        elif i < 30:  # A2 first; A1 second without skin
            link(spoke, hubs["A2"], general, skin, child, priority=1)
            link(spoke, hubs["A1"], general, child, priority=2)
        elif i < 35:  # no hub linked for skin: such cases overflow to the state at once
            link(spoke, hubs["A2"], general, child, priority=1)
        else:
            link(spoke, hubs["B1"], general, skin, child, priority=1)
        cho = User.objects.create(username=f"cho-{i}", role=Role.CHO, first_name=f"CHO {i}")
        Posting.objects.create(user=cho, state=state, facility=spoke)
        spokes.append(spoke)
        chos[spoke.pk] = cho
    network = Network(states, specialties, hubs, spokes, chos)
    for name, roster in ROSTER.items():
        for code, count in roster.items():
            for n in range(count):
                tamil = (name, code, n) == ("A2", "general-medicine", 0)
                doctor = hub_doctor(
                    hubs[name], specialties[code], general,
                    languages=["ta", "en"] if tamil else ["en", "hi"],
                )  # fmt: skip
                hwc.go_online_at_hub(doctor.user, hubs[name], specialties[code])
                network.doctors.append((doctor, hubs[name], specialties[code]))
    return network


def plan_cases(network: Network) -> list[tuple]:
    """(spoke, patient, data) for every case, seeded: specialty, mode and language vary;
    about one in twelve has danger signs (urgent)."""
    rng = random.Random(13)
    spokes = [rng.choice(network.spokes) for _ in range(CASES)]
    patients = Patient.objects.bulk_create(
        Patient(
            name=f"Walk-in {i}",
            date_of_birth=dt.date(1975, 1, 1),
            sex="F",
            state_id=spoke.state_id,
            registered_at_facility_id=spoke.pk,
            preferred_language=rng.choice(["en", "hi", "hi", "ta"]),
        )
        for i, spoke in enumerate(spokes)
    )
    planned = []
    for spoke, patient in zip(spokes, patients, strict=True):
        urgent = rng.random() < 1 / 12
        vitals = {"spo2": 86, "pulse": 124} if urgent else {"temperature_c": 37.9, "pulse": 90}
        data = case_data(
            rng.choice(["general-medicine", "dermatology", "paediatrics"]),
            mode=rng.choice(["live", "live", "store_forward"]),
            vitals=vitals,
        )
        planned.append((spoke, patient, data))
    return planned


def send(network: Network, planned: list[tuple]) -> None:
    for spoke, patient, data in planned:
        hwc.submit_case(network.chos[spoke.pk], patient, data)


def finish(doctor_user, ticket: Ticket, cho, turn: int) -> None:
    """End the consultation as a doctor would: a store-and-forward case answered in
    writing; a live case answered with advice after the centre joins, or (every third)
    closed as 'did not join'."""
    consultation = ticket.consultation
    if consultation.status == Consultation.Status.CALLING:
        if turn % 3 == 0:
            consultations.end_consultation(doctor_user, consultation, "no_show")
            return
        consultation = consultations.accept_call(cho, ticket)
    consultations.save_clinical_record(
        doctor_user, consultation, {"advice": "Rest, fluids; review in 3 days."}, 0
    )
    consultations.end_consultation(doctor_user, consultation, "advice_only")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_thirty_hub_doctors_claim_six_hundred_cases_once_each_and_only_eligible_ones(
    needs_postgres,
):
    network = build()
    planned = plan_cases(network)
    before, during = planned[: CASES - SENT_DURING_RUN], planned[CASES - SENT_DURING_RUN :]
    send(network, before)
    first, last = (
        Ticket.objects.order_by("queued_at").values_list("queued_at", flat=True)[0],
        Ticket.objects.order_by("-queued_at").values_list("queued_at", flat=True)[0],
    )
    claims: list[tuple] = []  # (doctor id, ticket id)
    errors: list[BaseException] = []
    passes: list[dt.datetime] = []
    progress = threading.Condition()
    claimed_count = [0]
    all_sent = threading.Event()
    overflow_done = threading.Event()
    start = threading.Barrier(len(network.doctors) + 3)

    def doctor_work(index: int) -> None:
        doctor, _hub, _specialty = network.doctors[index]
        try:
            start.wait()
            turn = 0
            while True:
                ticket = hwc.call_next_case(doctor.user)
                if ticket is None:
                    if overflow_done.is_set():
                        return
                    overflow_done.wait(0.05)
                    continue
                with progress:
                    claims.append((doctor.pk, ticket.pk))
                    claimed_count[0] += 1
                    progress.notify_all()
                finish(doctor.user, ticket, network.chos[ticket.spoke_id], turn)
                turn += 1
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    def sender_work() -> None:
        try:
            start.wait()
            send(network, during)
        except BaseException as exc:
            errors.append(exc)
        finally:
            all_sent.set()
            connection.close()

    def overflow_work() -> None:
        """Passes at a quarter, half... of the run, each with a clock that has moved on by
        a slice of the span over which the first cases were sent; the last, once every
        case is sent, with everything still waiting past its state's time."""
        try:
            start.wait()
            for k in range(1, OVERFLOW_PASSES + 1):
                with progress:
                    progress.wait_for(lambda k=k: claimed_count[0] >= k * CASES // 8, 240)
                now = first + dt.timedelta(minutes=15) + (last - first) * k / OVERFLOW_PASSES
                passes.append(now)
                routing.overflow_waiting_cases(now=now)
            all_sent.wait(240)
            now = timezone.now() + dt.timedelta(minutes=15)
            passes.append(now)
            routing.overflow_waiting_cases(now=now)
        except BaseException as exc:
            errors.append(exc)
        finally:
            overflow_done.set()
            connection.close()

    threads = [threading.Thread(target=doctor_work, args=(i,)) for i in range(30)]
    threads += [threading.Thread(target=sender_work), threading.Thread(target=overflow_work)]
    for thread in threads:
        thread.start()
    start.wait()
    for thread in threads:
        thread.join(timeout=280)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads)

    # Every case claimed exactly once, none lost.
    cases = {c.ticket_id: c for c in Case.objects.select_related("ticket")}
    assert len(cases) == CASES
    once = Counter(list(cases))
    assert Counter(t for _d, t in claims) == once
    audit = list(AuditEvent.objects.filter(action="ticket.claim"))
    assert Counter(a.object_id for a in audit) == Counter(str(t) for t in cases)
    assert Counter(Consultation.objects.values_list("ticket_id", flat=True)) == once
    assert not Ticket.objects.filter(status__in=("waiting", "called", "in_consultation")).exists()
    assert not Consultation.objects.exclude(status="ended").exists()

    # None by a doctor who was not eligible: the queue it came from was the doctor's own
    # hub and specialty, or the overflow of the doctor's state and specialty, and a case
    # was in the overflow only if urgent, without a linked hub, or waited past its time.
    queues = {q.pk: q for q in Queue.objects.all()}
    serving = {d.user_id: (d, hub, specialty) for d, hub, specialty in network.doctors}
    claimed_by = {t: d for d, t in claims}
    unlinked_skin = {s.pk for s in network.spokes[30:35]}
    from_overflow = {"urgent": 0, "unlinked": 0, "waited": 0}
    from_own = 0
    for row in audit:
        queue = queues[_uuid(row.detail["queue"])]
        case = cases[_uuid(row.object_id)]
        doctor, hub, specialty = serving[row.actor_id]
        assert claimed_by[case.ticket_id] == doctor.pk == case.ticket.claimed_by_id
        assert queue.specialty_id == specialty.pk == case.specialty_id
        if queue.kind == Queue.Kind.HUB_SPECIALTY:
            assert queue.hub_id == hub.pk, f"case of {queue} claimed by a doctor of {hub}"
            assert case.route == Case.Route.OWN_HUB
            from_own += 1
            continue
        assert queue.kind == Queue.Kind.STATE_OVERFLOW and queue.state_id == hub.state_id
        assert case.route == Case.Route.OVERFLOW
        if case.urgent:
            from_overflow["urgent"] += 1
        elif case.spoke_id in unlinked_skin and case.specialty.code == "dermatology":
            from_overflow["unlinked"] += 1
        else:
            minutes = dt.timedelta(minutes=case.spoke.state.hub_overflow_minutes)
            assert any(case.ticket.queued_at < now - minutes for now in passes), case.pk
            from_overflow["waited"] += 1
    # The run did what it says: overflow happened mid-run, both ways were used.
    assert from_own > 0 and all(from_overflow.values()), (from_own, from_overflow)
    assert len(passes) == OVERFLOW_PASSES + 1
    assert AuditEvent.objects.filter(action="hwc.overflow").exists()
    assert len({d for d, _t in claims}) > len(network.doctors) // 2


def _uuid(value: str) -> uuid.UUID:
    return uuid.UUID(str(value))


@pytest.mark.django_db
def test_the_one_query_presence_names_the_same_queues_to_call_from(network):
    """``routing.serving_presence`` reads the overflow queue with the presence; the
    queues it gives are those ``claim_queues`` finds by looking the overflow up."""
    hwc.go_online_at_hub(network.doctor_b.user, network.hub_b, network.general)
    presence = routing.serving_presence(network.doctor_b)
    assert presence.overflow_queue_id is None  # no overflow queue yet: made on first use
    looked_up = routing.claim_queues(presence)
    overflow = Queue.objects.get(pk=looked_up[0])
    assert overflow.kind == Queue.Kind.STATE_OVERFLOW and overflow.state == network.state
    presence = routing.serving_presence(network.doctor_b)
    assert presence.overflow_queue_id == overflow.pk
    assert routing.claim_queues(presence) == looked_up == [overflow.pk, presence.queue_id]
    own = Queue.objects.get(pk=presence.queue_id)
    assert own.hub == network.hub_b and own.specialty == network.general
    assert (presence.hub_id, presence.state_id) == (network.hub_b.pk, network.state.pk)
    assert presence.specialty_id == network.general.pk
    hwc.go_online_at_hub(network.doctor_a.user, network.hub_a, network.skin)
    skin = routing.serving_presence(network.doctor_a)
    assert skin.overflow_queue_id is None  # another specialty's overflow
