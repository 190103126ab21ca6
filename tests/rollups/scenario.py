"""A hand-made set of consultations, driven through the real services on a clock the test
sets, and the same figures computed from the raw rows (plain ORM reads and Python), so
each rollup can be held to what actually happened.

Two states: an online OPD in state A, a hub-and-spoke network (``tests.hwc.factories``) in
state B. Day D and D+1 (IST): a consultation ends at 23:50 IST on D and another at 00:10
IST on D+1 — the same UTC day. Endings: prescription, advice only, referred (OPD and hub),
no-show by the doctor, missed (the call window passed), cancelled during the call,
cancelled while waiting (twice: counted once), dropped (then served), forwarded up a tier;
a returning patient; a senior by date of birth and one by the age given.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from sanjeevani.consultations import services as consultations
from sanjeevani.consultations.models import Consultation
from sanjeevani.hwc import hub_services
from sanjeevani.hwc import services as hwc
from sanjeevani.hwc.models import Case
from sanjeevani.patients.models import Patient
from sanjeevani.prescriptions import services as prescriptions
from sanjeevani.prescriptions.models import Medicine, Prescription
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.models import Ticket
from sanjeevani.rollups import services as rollups
from sanjeevani.rollups.models import (
    HOURS,
    WAIT_BUCKETS,
    WAIT_EDGES_MINUTES,
    DayDetail,
)
from tests.factories import PASSWORD, DoctorFactory, OnlineOPDFactory, PatientFactory
from tests.hwc.factories import build_network, case_data, walk_in

IST = zoneinfo.ZoneInfo("Asia/Kolkata")
D = dt.date(2026, 3, 10)
COMPLETED = ("prescription", "advice_only", "referred")


class Clock:
    """``timezone.now`` for the test: set to an IST wall time; each reading moves on one
    millisecond, so no two events share an instant."""

    def __init__(self) -> None:
        self.at = dt.datetime.combine(D, dt.time(8, 0), IST).astimezone(dt.UTC)

    def set(self, day: dt.date, hhmm: str) -> None:
        hour, minute = (int(x) for x in hhmm.split(":"))
        self.at = dt.datetime.combine(day, dt.time(hour, minute), IST).astimezone(dt.UTC)

    def __call__(self) -> dt.datetime:
        self.at += dt.timedelta(milliseconds=1)
        return self.at


@dataclass
class World:
    opd: Any
    doctor: Any
    network: Any
    patients: dict[str, Patient] = field(default_factory=dict)
    waiting: Ticket | None = None

    @property
    def state_a(self):
        return self.opd.state

    @property
    def state_b(self):
        return self.network.state


def _prescribe(doctor, consultation: Consultation, clock: Clock) -> Prescription:
    """The record a prescription needs (a diagnosis, the mode confirmed), then the real
    issuing service."""
    Consultation.objects.filter(pk=consultation.pk).update(
        diagnoses=[{"code": "R50.9", "label": "Fever, unspecified"}],
        mode=Consultation.Mode.AUDIO,
        mode_confirmed_at=clock(),
    )
    consultation.refresh_from_db()
    paracetamol = Medicine.objects.filter(generic_name="paracetamol").order_by("form").first()
    item = {
        "medicine": str(paracetamol.pk),
        "dose": "1 tablet",
        "frequency": "twice a day",
        "duration": "5 days",
        "quantity": "10 tablets",
    }
    return prescriptions.issue_prescription(doctor.user, consultation, [item], password=PASSWORD)


def _end(doctor, consultation: Consultation, outcome: str, **record) -> None:
    consultation.refresh_from_db()
    if record:
        consultation = consultations.save_clinical_record(
            doctor.user, consultation, record, consultation.record_revision
        )
    if outcome in COMPLETED and consultation.identity_confirmed_at is None:
        consultations.confirm_identity(doctor.user, consultation, "Name and age asked", 40)
    consultations.end_consultation(doctor.user, consultation, outcome)


def _send_case(network, patient, **data):
    """``hwc.submit_case``, and its ticket counted as taken: until ``submit_case`` calls
    ``rollups.count_token_taken`` itself (the lead's change in hwc/cases.py), the test makes
    that call where it will be made; once it does, this adds nothing."""
    before = sum(DayDetail.objects.values_list("tokens", flat=True))
    case, _created = hwc.submit_case(network.cho, patient, case_data(**data))
    if sum(DayDetail.objects.values_list("tokens", flat=True)) == before:
        rollups.count_token_taken(case.ticket)
    return case


def build(clock: Clock) -> World:
    """Drive the whole scenario; returns who is who."""
    network = build_network()
    opd = OnlineOPDFactory()
    doctor = DoctorFactory(state=opd.state)
    doctor.opds.add(opd)
    world = World(opd=opd, doctor=doctor, network=network)
    a = opd.state
    people = {
        "p1": {"sex": "F", "date_of_birth": dt.date(1950, 1, 2)},  # senior by birth
        "p2": {"sex": "M"},
        "p3": {"sex": "F", "date_of_birth": None, "age_years": 65},  # senior by age given
        "p4": {"sex": "M"},
        "p5": {"sex": "F"},
        "p6": {"sex": "M"},
        "p7": {"sex": "F"},
        "p8": {"sex": "M", "date_of_birth": dt.date(1966, 3, 11)},  # 60 on D+1, not on D
        "p9": {"sex": "F"},
    }
    clock.set(D - dt.timedelta(days=400), "09:00")
    for name, fields in people.items():
        world.patients[name] = PatientFactory(state=a, **fields)
    p = world.patients

    def token(name: str, day: dt.date, hhmm: str) -> Ticket:
        clock.set(day, hhmm)
        return consultations.take_token(p[name].account, p[name], opd, "fever")

    def call(day: dt.date, hhmm: str) -> Consultation:
        clock.set(day, hhmm)
        return consultations.call_next_patient(doctor.user).consultation

    def join(name: str, consultation: Consultation, day: dt.date, hhmm: str) -> Consultation:
        clock.set(day, hhmm)
        return consultations.accept_call(p[name].account, consultation.ticket)

    clock.set(D, "09:00")
    queue.go_online(doctor.user, opd)
    next_day = D + dt.timedelta(days=1)

    # 1. prescription (issued 10:10, ended 10:12)
    token("p1", D, "10:00")
    c = join("p1", call(D, "10:07"), D, "10:08")
    clock.set(D, "10:09")
    consultations.confirm_identity(doctor.user, c, "Name and age asked", 76)
    clock.set(D, "10:10")
    _prescribe(doctor, c, clock)
    clock.set(D, "10:12")
    _end(doctor, c, "prescription")
    # 2. the doctor ends a call nobody joined: no-show
    token("p4", D, "10:20")
    c = call(D, "10:21")
    clock.set(D, "10:24")
    _end(doctor, c, "no_show")
    # 3. the call window passes: missed
    token("p5", D, "10:30")
    call(D, "10:31")
    clock.set(D, "11:00")
    consultations.expire_unanswered_calls(now=clock())
    # 4. cancelled by the patient during the call
    token("p6", D, "11:10")
    c = call(D, "11:11")
    clock.set(D, "11:12")
    consultations.cancel_token(p["p6"].account, c.ticket)
    # 5. cancelled while waiting, and again (counted once)
    waiting = token("p7", D, "11:20")
    clock.set(D, "11:21")
    consultations.cancel_token(p["p7"].account, waiting)
    consultations.cancel_token(p["p7"].account, waiting)
    # 6. dropped, back at the head, then served
    token("p8", D, "11:30")
    c = join("p8", call(D, "11:31"), D, "11:32")
    clock.set(D, "11:40")
    consultations.return_dropped_ticket(doctor.user, c)
    c = join("p8", call(D, "11:45"), D, "11:46")
    clock.set(D, "11:50")
    _end(doctor, c, "advice_only", advice="Rest and fluids")
    # 7. ends 23:50 IST on D (18:20 UTC)
    token("p2", D, "23:30")
    c = join("p2", call(D, "23:40"), D, "23:41")
    clock.set(D, "23:50")
    _end(doctor, c, "advice_only", advice="Rest")
    # 8. token on D, ends 00:10 IST on D+1 (18:40 UTC on D): referred
    token("p3", D, "23:55")
    c = join("p3", call(next_day, "00:02"), next_day, "00:03")
    clock.set(next_day, "00:10")
    _end(doctor, c, "referred", referral="District hospital, cardiology")
    # 9. p1 returns on D+1
    token("p1", next_day, "09:00")
    c = join("p1", call(next_day, "09:05"), next_day, "09:06")
    clock.set(next_day, "09:15")
    _end(doctor, c, "advice_only", advice="Continue")
    # 10. one still waiting
    world.waiting = token("p9", next_day, "10:00")

    # Hub and spoke, state B.
    n = network
    q = {
        "q1": walk_in(n, sex="F", date_of_birth=dt.date(1940, 6, 1)),
        "q2": walk_in(n, sex="M"),
        "q3": walk_in(n, sex="F"),
    }
    world.patients.update(q)
    clock.set(D, "13:00")
    hwc.go_online_at_hub(n.doctor_a.user, n.hub_a, n.general)
    hwc.go_online_at_hub(n.doctor_district.user, n.district, n.general)
    # 11. store-and-forward, answered in writing
    clock.set(D, "14:00")
    _send_case(n, q["q1"], mode="store_forward")
    clock.set(D, "14:20")
    c = hwc.call_next_case(n.doctor_a.user).consultation
    clock.set(D, "14:30")
    _end(n.doctor_a, c, "advice_only", advice="Apply the cream twice a day")
    # 12. live: forwarded up a tier, then referred by the district hospital
    clock.set(D, "15:00")
    _send_case(n, q["q2"])
    clock.set(D, "15:05")
    c = hwc.call_next_case(n.doctor_a.user).consultation
    clock.set(D, "15:06")
    consultations.accept_call(n.cho, c.ticket)
    clock.set(D, "15:08")
    hwc.forward_case(n.doctor_a.user, c, n.district, "Needs a physician")
    clock.set(D, "15:20")
    c = hwc.call_next_case(n.doctor_district.user).consultation
    clock.set(D, "15:21")
    consultations.accept_call(n.cho, c.ticket)
    clock.set(D, "15:30")
    hub_services.refer_and_end(n.doctor_district.user, c, n.hub_b, "Needs imaging", "soon")
    # 13. live, after midnight IST: nobody joins, the doctor ends it
    clock.set(next_day, "00:05")
    _send_case(n, q["q3"])
    clock.set(next_day, "00:06")
    c = hwc.call_next_case(n.doctor_a.user).consultation
    clock.set(next_day, "00:09")
    _end(n.doctor_a, c, "no_show")
    return world


# --- the same figures from the raw rows -------------------------------------------------


def age_on(patient: Patient, day: dt.date) -> int:
    if patient.date_of_birth:
        dob = patient.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))
    recorded = patient.age_recorded_on or day
    return (patient.age_years or 0) + max(0, (day - recorded).days // 365)


def place_state(row: Any) -> int:
    """The state where care happened: the OPD's (a national OPD's: the patient's), else the
    spoke's, else the hub's."""
    if row.opd_id and row.opd.state_id:
        return row.opd.state_id
    if row.spoke_id:
        return row.spoke.state_id
    if row.hub_id:
        return row.hub.state_id
    return row.patient.state_id


def wait_bucket(seconds: int) -> str:
    for bucket, edge in zip(WAIT_BUCKETS, WAIT_EDGES_MINUTES, strict=False):
        if seconds < edge * 60:
            return bucket
    return WAIT_BUCKETS[-1]


def raw_counts() -> dict[tuple, dict[str, int]]:
    """Every counter per (day, state id, service line, OPD or hub id), from the raw rows."""
    out: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    # A case sent for a written answer is its own line, from its request to its answer.
    written = set(Case.objects.filter(mode="store_forward").values_list("ticket_id", flat=True))

    def line(ticket_id, line: str) -> str:
        return "store_forward" if ticket_id in written else line

    ended = (
        Consultation.objects.filter(status="ended")
        .select_related("opd", "spoke", "hub", "patient", "ticket")
        .order_by("ended_at")
    )
    served_before: set = set()
    for c in ended:
        day = timezone.localdate(c.ended_at)
        key = (day, place_state(c), line(c.ticket_id, c.service_line), c.hub_id or c.opd_id)
        n = out[key]
        done = c.outcome in COMPLETED
        n["consultations"] += done
        n["referrals"] += c.outcome == "referred"
        n["missed"] += c.outcome == "no_show"
        n["dropped"] += c.outcome == "dropped"
        n["forwarded"] += c.outcome == "forwarded"
        if not done:
            continue
        n["new_patients"] += c.patient_id not in served_before
        served_before.add(c.patient_id)
        n["women"] += c.patient.sex == "F"
        n["seniors"] += age_on(c.patient, day) >= 60
        n[f"hour_{timezone.localtime(c.ended_at).hour:02d}"] += 1
        if c.started_at:
            n["duration_count"] += 1
            n["duration_seconds"] += round((c.ended_at - c.started_at).total_seconds())
            if c.ticket_id:
                wait = round((c.started_at - c.ticket.created_at).total_seconds())
                n["wait_count"] += 1
                n["wait_seconds"] += wait
                n[wait_bucket(wait)] += 1
    for t in Ticket.objects.select_related("opd", "spoke", "hub", "patient"):
        asked = line(t.pk, "opd" if t.opd_id else "hub_spoke")
        # A request counts at its OPD or spoke: the hub it waits at changes when forwarded.
        out[(timezone.localdate(t.created_at), place_state(t), asked, t.opd_id)]["tokens"] += 1
        if t.status == Ticket.Status.CANCELLED:
            key = (timezone.localdate(t.updated_at), place_state(t), asked, t.opd_id)
            out[key]["cancelled"] += 1
    for r in Prescription.objects.filter(supersedes__isnull=True).select_related(
        "consultation__opd", "consultation__spoke", "consultation__hub", "consultation__patient"
    ):
        c = r.consultation
        key = (
            timezone.localdate(r.issued_at),
            place_state(c),
            line(c.ticket_id, c.service_line),
            c.hub_id or c.opd_id,
        )
        out[key]["prescriptions"] += 1
    return {k: dict(v) for k, v in out.items()}


def rollup_counts() -> dict[tuple, dict[str, int]]:
    """The detailed rollup summed to the same keys, zero counters left out."""
    out: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in DayDetail.objects.values():
        place = row["hub_id"] if row["hub_id"].int else row["opd_id"]
        place = place if place.int else None
        n = out[(row["day"], row["state_id"], row["service_line"], place)]
        for name in DayDetail.COUNTERS:
            n[name] += row[name]
    return {k: {n: v for n, v in c.items() if v} for k, c in out.items()}


def nonzero(counts: dict[tuple, dict[str, int]]) -> dict[tuple, dict[str, int]]:
    return {k: {n: v for n, v in c.items() if v} for k, c in counts.items()}


__all__ = ["D", "HOURS", "Clock", "World", "build", "nonzero", "raw_counts", "rollup_counts"]
