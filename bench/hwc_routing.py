"""Hub and spoke at national size: cases per second routed and claimed, against the Online
OPD's claim on the same machine in the same run, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/hwc_routing.py

The network is eSanjeevani's 2023 size (``bench/hwc_network.py``, written with COPY):
15,731 hubs and 115,234 spokes in the 36 states and union territories, each spoke linked
to 1–3 hubs of its state with priorities, for general medicine and up to three more
specialties, every hub's queue for each and the states' overflow queues. On it, N
concurrent callers (``--callers``, default 8; one process each, as app server workers run)
each serving ``--desk`` doctors (default 4) in turn, as in ``bench/queue_claim.py``:
- the OPD claim, before and after (the machine's load drifts; the ratios use the mean):
  ``consultations.services.call_next_patient`` on one Online OPD's queue of ``--cases``
  tokens: the claim statement, its audit row, the consultation and the events;
- routed: ``hwc.services.submit_case`` for ``--cases`` cases from the spokes that ask the
  doctors' hubs first (one in twenty urgent: the state's overflow at once): checks,
  the specialty suggestion, routing (linked hubs by priority, doctors online and their
  languages), the spoke's token number, the ticket, the case, the audit rows and events;
- the OPD token, for what a case's sending compares with: ``consultations.services.take_token``
  for ``--cases`` patients of their own accounts at a second Online OPD (no doctor online,
  so nobody is assigned): the OPD row's lock, the token number, the ticket, its rollups,
  audit row and events;
- claimed: ``hwc.services.call_next_case`` until every case is taken: the doctor's hub
  presence, the queues they call from (the state's overflow for their specialty, then
  their hub's), the claim, the consultation started with what the centre recorded.
Routed is compared with both the OPD claim (the issue's target) and the OPD token (the
same kind of step: one place in a line, written with its rollups and audit row). A claim
leaves the doctor busy; after each round the caller frees its desk with one plain
UPDATE (timed, so the figures understate the claim a little). Prints each rate, the
ratios of routed and claimed to the OPD claim (target >= 0.5), double and lost claims
(must be 0), and checks one ``ticket.claim`` audit row and one consultation per claim.
``--overflow`` also times the overflow housekeeping moving that many waiting cases.

It creates a scratch database ``test_<name>_bench_hwc`` with the migrations, and drops it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callers", type=int, default=8, help="concurrent callers")
    parser.add_argument("--desk", type=int, default=4, help="doctors each caller serves")
    parser.add_argument("--cases", type=int, default=4000, help="cases routed and claimed")
    parser.add_argument("--hubs", type=int, default=15_731)
    parser.add_argument("--spokes", type=int, default=115_234)
    parser.add_argument("--overflow", type=int, default=0, help="also time N overflow moves")
    parser.add_argument(
        "--threads",
        dest="processes",
        action="store_false",
        help="callers as threads of one process (default: one process each, as app servers)",
    )
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print("needs PostgreSQL: set DATABASE_URL=postgres://…", file=sys.stderr)
        return 2
    os.environ["TEST_DB_SUFFIX"] = "_bench_hwc"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanjeevani.config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.test.utils import setup_databases, teardown_databases

    print("creating a scratch database (migrations) …", flush=True)
    config = setup_databases(verbosity=0, interactive=False)
    try:
        return run(args)
    finally:
        from django.db import connections

        connections.close_all()
        teardown_databases(config, verbosity=0)


def hub_desks(args, national) -> tuple[list, list]:
    """Doctors online at ``callers × desk`` hubs, one specialty each, and the cases to
    route to them: from the spokes that ask that hub first for that specialty, the same
    number for each doctor (so that no desk runs dry long before the others)."""
    from sanjeevani.accounts.models import Role, User
    from sanjeevani.hwc import services as hwc
    from sanjeevani.patients.models import Patient
    from sanjeevani.registry.models import DoctorProfile, Facility, Posting, Specialty

    rng = random.Random(13)
    specialty_code = dict(Specialty.objects.values_list("pk", "code"))
    candidates = [h for h, links in national.first_choice_of.items() if len(links) >= 4]
    pairs = []
    for hub_id in rng.sample(candidates, args.callers * args.desk):
        links = national.first_choice_of[hub_id]
        specialty = rng.choice(rng.choice(links).specialties)
        pairs.append((hub_id, specialty, [lk.spoke for lk in links if specialty in lk.specialties]))
    facilities = Facility.objects.in_bulk(
        [h for h, _s, _sp in pairs] + [s for _h, _s, spokes in pairs for s in spokes]
    )
    specialties = Specialty.objects.in_bulk([s for _h, s, _sp in pairs])
    doctors = []
    for i, (hub_id, specialty, _spokes) in enumerate(pairs):
        user = User.objects.create(username=f"hub-dr-{i}", role=Role.DOCTOR)
        doctor = DoctorProfile.objects.create(
            user=user, registration_number=f"HUB-{i}", council="Bench", qualification="MBBS",
            languages=["en", "hi"], state_id=national.state_of[hub_id],
        )  # fmt: skip
        doctor.hubs.add(hub_id)
        doctor.specialties.add(specialty)
        hwc.go_online_at_hub(user, facilities[hub_id], specialties[specialty])
        doctors.append(doctor)

    spokes = sorted({s for _h, _s, spokes in pairs for s in spokes})
    chos = User.objects.bulk_create(
        User(username=f"cho-{n}", role=Role.CHO) for n in range(len(spokes))
    )
    Posting.objects.bulk_create(
        Posting(user=cho, facility_id=spoke, state_id=national.state_of[spoke])
        for cho, spoke in zip(chos, spokes, strict=True)
    )
    cho_at = dict(zip(spokes, chos, strict=True))
    per_doctor = args.cases // len(pairs)
    plan = []
    for _hub_id, specialty, spoke_ids in pairs:
        for n in range(per_doctor):
            plan.append((spoke_ids[n % len(spoke_ids)], specialty_code[specialty]))
    rng.shuffle(plan)
    patients = Patient.objects.bulk_create(
        (
            Patient(
                name=f"Walk-in {n}",
                date_of_birth=dt.date(1980, 1, 1),
                sex="F",
                state_id=national.state_of[spoke],
                registered_at_facility_id=spoke,
                preferred_language="hi",
            )  # fmt: skip
            for n, (spoke, _code) in enumerate(plan)
        ),
        batch_size=2000,
    )
    cases = []
    for n, ((spoke, code), patient) in enumerate(zip(plan, patients, strict=True)):
        urgent = n % 20 == 0
        data = {
            "client_key": str(uuid.uuid4()),
            "complaints": ["fever", "cough"] if n % 2 else ["skin_rash"],
            "complaint_text": "Since three days",
            "history": "No known illness",
            "vitals": {"spo2": 86, "pulse": 124} if urgent else {"temperature_c": 38.2},
            "specialty": code,
            "mode": "store_forward" if n % 3 == 0 else "live",
            "consent": True,
            "consent_by": "patient",
            "identity_method": "Aadhaar card seen",
        }
        cases.append((cho_at[spoke], patient, data))
    return doctors, cases


def route_cases(args, cases) -> float:
    """Each caller sends its share of the cases through ``submit_case``."""
    from queue_claim import run_workers

    from sanjeevani.hwc import services as hwc

    def work(index: int) -> list:
        sent = []
        for cho, patient, data in cases[index :: args.callers]:
            case, _created = hwc.submit_case(cho, patient, data)
            sent.append(case.ticket_id)
        return sent

    elapsed, sent = run_workers(args.callers, work, args.processes)
    return sum(len(ids) for ids in sent.values()) / elapsed


def opd_tokens(args) -> list:
    """Patients, each signed in on their own account, for tokens at an OPD nobody serves."""
    from sanjeevani.accounts.models import Role, User
    from sanjeevani.patients.models import Patient
    from sanjeevani.registry.models import OnlineOPD, OpeningWindow, State

    state = State.objects.create(code="BT", name="Bench Token State")
    opd = OnlineOPD.objects.create(
        code="bench-token-opd", name="Bench Token OPD", state=state, daily_capacity=args.cases
    )
    OpeningWindow.objects.bulk_create(
        OpeningWindow(opd=opd, weekday=day, start_minute=0, end_minute=1440) for day in range(7)
    )
    users = User.objects.bulk_create(
        User(username=f"token-patient-{n}", role=Role.PATIENT, mobile=f"+91700{n:07d}")
        for n in range(args.cases)
    )
    patients = Patient.objects.bulk_create(
        (
            Patient(
                account=user,
                name=f"Token {n}",
                date_of_birth=dt.date(1980, 1, 1),
                sex="F",
                state=state,
                preferred_language="hi",
            )  # fmt: skip
            for n, user in enumerate(users)
        ),
        batch_size=2000,
    )
    return [(user, patient, opd) for user, patient in zip(users, patients, strict=True)]


def take_tokens(args, tokens) -> float:
    """Each caller takes its share of the OPD tokens through ``take_token``."""
    from queue_claim import run_workers

    from sanjeevani.consultations.services import take_token

    def work(index: int) -> list:
        return [
            take_token(user, patient, opd, "Fever since three days").pk
            for user, patient, opd in tokens[index :: args.callers]
        ]

    elapsed, taken = run_workers(args.callers, work, args.processes)
    return sum(len(ids) for ids in taken.values()) / elapsed


def drain(args, doctors, call) -> tuple[float, list]:
    """Each caller calls ``call(user)`` for its desk of doctors in turn, freeing them after
    each round, until none of its doctors has anyone left to call."""
    from django.db import connection
    from queue_claim import run_workers

    from sanjeevani.queueing.models import DoctorPresence

    free_again = (
        f"UPDATE {DoctorPresence._meta.db_table} SET status = 'available' WHERE doctor_id = ANY(%s)"
    )

    def work(index: int) -> list:
        desk = doctors[index * args.desk : (index + 1) * args.desk]
        claimed = []
        while desk:
            for doctor in list(desk):
                ticket = call(doctor.user)
                if ticket is None:
                    desk.remove(doctor)
                else:
                    claimed.append(ticket.pk)
            with connection.cursor() as cursor:
                cursor.execute(free_again, [[doctor.pk for doctor in desk]])
        return claimed

    elapsed, claimed = run_workers(args.callers, work, args.processes)
    ids = [pk for per in claimed.values() for pk in per]
    return len(ids) / elapsed, ids


def check(ids: list, tickets, label: str, since: dt.datetime) -> int:
    """Double claims, lost tickets and missing audit rows or consultations (all must be 0);
    ``since``: when the measurement started."""
    from sanjeevani.audit.models import AuditEvent
    from sanjeevani.consultations.models import Consultation

    double = len(ids) - len(set(ids))
    lost = tickets.filter(status="waiting").count() + tickets.exclude(pk__in=ids).count()
    audits = AuditEvent.objects.filter(
        action="ticket.claim", object_id__in=[str(pk) for pk in set(ids)], at__gte=since
    ).count()
    consultations = Consultation.objects.filter(ticket_id__in=set(ids)).count()
    mismatch = int(audits != len(set(ids))) + int(consultations != len(set(ids)))
    if double or lost or mismatch:
        print(f"{label}: double={double} lost={lost} audit rows={audits} "
              f"consultations={consultations} for {len(set(ids))} claims")  # fmt: skip
    return double + lost + mismatch


def reset_opd(opd) -> None:
    """Every OPD token back in the line, for the second measurement."""
    from django.db import connection

    from sanjeevani.consultations.models import Consultation
    from sanjeevani.queueing.models import DoctorPresence, Ticket

    Consultation.objects.filter(opd=opd).delete()
    Ticket.objects.filter(opd=opd).update(
        status="waiting", claimed_by=None, called_at=None, call_expires_at=None,
        near_turn_notified=False,
    )  # fmt: skip
    DoctorPresence.objects.filter(opd=opd).update(status="available")
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {Ticket._meta.db_table}")


def time_overflow(args, national, cases) -> float:
    """Route ``--overflow`` more cases, then one housekeeping pass past every state's
    time: cases moved to their state's overflow per second."""
    from django.utils import timezone

    from sanjeevani.hwc import routing
    from sanjeevani.hwc import services as hwc
    from sanjeevani.patients.models import Patient

    extra = []
    for cho, patient, data in cases[: args.overflow]:
        again = Patient.objects.create(
            name=patient.name, date_of_birth=patient.date_of_birth, sex="F",
            state_id=patient.state_id, registered_at_facility_id=patient.registered_at_facility_id,
        )  # fmt: skip
        extra.append((cho, again, {**data, "client_key": str(uuid.uuid4()), "vitals": {}}))
    for cho, patient, data in extra:
        hwc.submit_case(cho, patient, data)
    started = time.perf_counter()
    moved = routing.overflow_waiting_cases(now=timezone.now() + dt.timedelta(hours=2))
    return moved / (time.perf_counter() - started)


def run(args) -> int:
    import hwc_network
    from django.utils import timezone
    from queue_claim import build_queue

    from sanjeevani.consultations.services import call_next_patient
    from sanjeevani.hwc import services as hwc
    from sanjeevani.queueing.models import Ticket

    load = os.getloadavg()[0]
    mode = "processes" if args.processes else "threads of one process"
    layer = "Redis" if os.environ.get("REDIS_URL") else "in-process"
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} at start; callers as {mode}; "
          f"channel layer: {layer}")  # fmt: skip
    national = hwc_network.build(hubs=args.hubs, spokes=args.spokes)
    print(f"network: {national.hubs:,} hubs, {national.spokes:,} spokes, {national.links:,} "
          f"links ({national.link_specialties:,} link specialties), {national.queues:,} queues "
          f"in {national.seconds:.0f} s", flush=True)  # fmt: skip
    opd_args = SimpleNamespace(doctors=args.callers, desk=args.desk, tickets=args.cases)
    opd, opd_doctors = build_queue(opd_args)
    hub_doctors, cases = hub_desks(args, national)
    tokens = opd_tokens(args)
    opd_tickets = Ticket.objects.filter(opd=opd)
    problems = 0

    def show(label: str, rate: float) -> float:
        print(f"{label:<58} {rate:8.0f} cases/s", flush=True)
        return rate

    since = timezone.now()
    opd_rate, ids = drain(args, opd_doctors, call_next_patient)
    problems += check(ids, opd_tickets, "OPD claim", since)
    opd_before = show("OPD claim (call_next_patient)", opd_rate)
    token_rate = show("OPD token (take_token)", take_tokens(args, tokens))
    routed = show("hub and spoke: routed (submit_case)", route_cases(args, cases))
    hub_tickets = Ticket.objects.filter(hub__isnull=False)
    waiting = hub_tickets.filter(status="waiting").count()
    if waiting != len(cases):
        print(f"routed: {waiting} waiting tickets for {len(cases)} cases")
        problems += 1
    since = timezone.now()
    claim_rate, ids = drain(args, hub_doctors, hwc.call_next_case)
    problems += check(ids, hub_tickets, "hub claim", since)
    claimed = show("hub and spoke: claimed (call_next_case)", claim_rate)
    reset_opd(opd)
    since = timezone.now()
    opd_rate, ids = drain(args, opd_doctors, call_next_patient)
    problems += check(ids, opd_tickets, "OPD claim, again", since)
    opd_after = show("OPD claim, again", opd_rate)
    opd_mean = (opd_before + opd_after) / 2
    print(f"ratio routed / OPD claim: {routed / opd_mean:.2f}; "
          f"claimed / OPD claim: {claimed / opd_mean:.2f} (target >= 0.5)")  # fmt: skip
    print(f"ratio routed / OPD token: {routed / token_rate:.2f} (the same kind of step)")
    print(f"callers={args.callers} doctors={args.callers * args.desk} cases={len(cases)}; "
          f"load average {os.getloadavg()[0]:.1f} at end")  # fmt: skip
    print(f"double or lost claims, missing audit rows or consultations: {problems} (must be 0)")
    if args.overflow:
        rate = time_overflow(args, national, cases)
        print(f"overflow housekeeping: {rate:.0f} cases moved/s ({args.overflow} cases)")
    return 0 if problems == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
