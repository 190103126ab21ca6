"""Claims per second: Sanjeevani's claim against a bare SKIP LOCKED baseline, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/queue_claim.py

N threads (doctors, default 8) drain a queue of 20,000 tickets in the same run:
- baseline: ``SELECT id … ORDER BY priority, queued_at LIMIT 1 FOR UPDATE SKIP LOCKED`` then
  ``UPDATE`` in one transaction, on a plain table of the same shape; run before and after
  ours, because the machine's load drifts (the ratio uses their mean);
- sanjeevani: ``consultations.services.call_next_patient(doctor_user)``, the production
  entry point the API and the doctor's page call: the presence check and claim statement,
  the Consultation row, the audit row, the events after commit (in-memory channel layer)
  and the near-turn check after commit. A claim leaves the doctor busy, so after each
  claim the thread marks its doctor available again with one plain UPDATE (what ending a
  consultation would do, minus its own work); that statement is inside the timing, so
  the figure understates the claim a little.
Prints claims/s for each, the ratio (target ≥ 0.5), double and lost claims (must be 0),
and checks one consultation and one audit row per claim.
``--cycle N`` also times N full doctor cycles (call_next_patient + end_consultation).

It creates a scratch database ``test_<name>_bench_queue`` with the migrations, and drops it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--doctors", type=int, default=8)
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--cycle", type=int, default=0, help="also time N full call+end cycles")
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print("needs PostgreSQL: set DATABASE_URL=postgres://…", file=sys.stderr)
        return 2
    os.environ["TEST_DB_SUFFIX"] = "_bench_queue"
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanjeevani.config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.test.utils import setup_databases, teardown_databases

    print(f"creating a scratch database (migrations) for {args.doctors} doctors …", flush=True)
    config = setup_databases(verbosity=0, interactive=False)
    try:
        return run(args)
    finally:
        from django.db import connections

        connections.close_all()
        teardown_databases(config, verbosity=0)


def run_threads(count: int, work) -> float:
    barrier = threading.Barrier(count + 1)
    errors: list[BaseException] = []

    def target(index: int) -> None:
        from django.db import connection

        try:
            barrier.wait()
            work(index)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return elapsed


def baseline(args, table: str) -> tuple[float, int, int]:
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {table} (id bigserial PRIMARY KEY, status varchar(20) NOT NULL, "
            "priority smallint NOT NULL, queued_at timestamptz NOT NULL, claimed_by int)"
        )
        cursor.execute(
            f"CREATE INDEX {table}_waiting ON {table} (priority, queued_at) "
            "WHERE status = 'waiting'"
        )
        cursor.execute(
            f"INSERT INTO {table} (status, priority, queued_at) SELECT 'waiting', 10, "
            "now() - make_interval(secs => %s - g) FROM generate_series(1, %s) g",
            [args.tickets, args.tickets],
        )
        cursor.execute(f"ANALYZE {table}")
    claimed: dict[int, list[int]] = {i: [] for i in range(args.doctors)}

    def work(index: int) -> None:
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT id FROM {table} WHERE status = 'waiting' "
                    "ORDER BY priority, queued_at LIMIT 1 FOR UPDATE SKIP LOCKED"
                )
                row = cursor.fetchone()
                if row is None:
                    return
                cursor.execute(
                    f"UPDATE {table} SET status = 'called', claimed_by = %s WHERE id = %s",
                    [index, row[0]],
                )
            claimed[index].append(row[0])

    elapsed = run_threads(args.doctors, work)
    ids = [i for per in claimed.values() for i in per]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE status = 'waiting'")
        lost = cursor.fetchone()[0] + (args.tickets - len(set(ids)))
    return len(ids) / elapsed, len(ids) - len(set(ids)), lost


def build_queue(args):
    from django.utils import timezone

    from sanjeevani.accounts.models import Role, User
    from sanjeevani.patients.models import Patient
    from sanjeevani.queueing import services
    from sanjeevani.queueing.models import Ticket
    from sanjeevani.registry.models import DoctorProfile, OnlineOPD, OpeningWindow, State

    state = State.objects.create(code="BQ", name="Bench State")
    opd = OnlineOPD.objects.create(
        code="bench-opd", name="Bench OPD", state=state, daily_capacity=args.tickets
    )
    for day in range(7):
        OpeningWindow.objects.create(opd=opd, weekday=day, start_minute=0, end_minute=1440)
    doctors = []
    for i in range(args.doctors):
        user = User.objects.create(username=f"bench-dr-{i}", role=Role.DOCTOR)
        doctor = DoctorProfile.objects.create(
            user=user, registration_number=f"BENCH-{i}", council="Bench", qualification="MBBS"
        )
        doctor.opds.add(opd)
        services.go_online(user, opd)
        doctors.append(doctor)
    patients = Patient.objects.bulk_create(
        Patient(name=f"Bench {i}", date_of_birth=dt.date(1980, 1, 1), sex="F", state=state)
        for i in range(args.tickets)
    )
    start = timezone.now() - dt.timedelta(hours=2)
    Ticket.objects.bulk_create(
        (
            Ticket(
                patient=p,
                opd=opd,
                service_date=timezone.localdate(),
                token_number=i + 1,
                queued_at=start + dt.timedelta(milliseconds=i),
            )
            for i, p in enumerate(patients)
        ),
        batch_size=2000,
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return opd, doctors


def sanjeevani(args, opd, doctors) -> tuple[float, int, int]:
    from django.db import connection

    from sanjeevani.audit.models import AuditEvent
    from sanjeevani.consultations.models import Consultation
    from sanjeevani.consultations.services import call_next_patient
    from sanjeevani.queueing.models import DoctorPresence, Ticket

    claimed: dict[int, list] = {i: [] for i in range(args.doctors)}
    free_again = (
        f"UPDATE {DoctorPresence._meta.db_table} SET status = 'available' WHERE doctor_id = %s"
    )

    def work(index: int) -> None:
        doctor = doctors[index]
        user = doctor.user
        while True:
            ticket = call_next_patient(user)
            if ticket is None:
                return
            claimed[index].append(ticket.pk)
            with connection.cursor() as cursor:
                cursor.execute(free_again, [doctor.pk])

    audit_before = AuditEvent.objects.filter(action="ticket.claim").count()
    elapsed = run_threads(args.doctors, work)
    ids = [i for per in claimed.values() for i in per]
    called = Ticket.objects.filter(status="called").count()
    lost = Ticket.objects.filter(status="waiting").count() + (called - len(set(ids)))
    consultations = Consultation.objects.filter(status="calling").count()
    audits = AuditEvent.objects.filter(action="ticket.claim").count() - audit_before
    if consultations != len(ids) or audits != len(ids):
        print(f"MISMATCH: {len(ids)} claims, {consultations} consultations, {audits} audit rows")
        lost += 1
    return len(ids) / elapsed, len(ids) - len(set(ids)), lost


def full_cycles(args, opd, doctors) -> float:
    """call_next_patient + end_consultation(no_show), as a doctor really calls."""
    from django.utils import timezone

    from sanjeevani.consultations.services import call_next_patient, end_consultation
    from sanjeevani.patients.models import Patient
    from sanjeevani.queueing.models import DoctorPresence, Ticket

    DoctorPresence.objects.update(status="available")
    from sanjeevani.consultations.models import Consultation

    Consultation.objects.update(status="ended", outcome="no_show")
    Ticket.objects.update(status="completed")
    patients = Patient.objects.all()[: args.cycle]
    start = timezone.now() - dt.timedelta(hours=1)
    Ticket.objects.bulk_create(
        Ticket(
            patient=p,
            opd=opd,
            service_date=timezone.localdate() + dt.timedelta(days=1),
            token_number=i + 1,
            queued_at=start + dt.timedelta(milliseconds=i),
        )
        for i, p in enumerate(patients)
    )
    done = Counter()

    def work(index: int) -> None:
        user = doctors[index].user
        while (ticket := call_next_patient(user)) is not None:
            end_consultation(user, ticket.consultation, "no_show")
            done[index] += 1

    elapsed = run_threads(args.doctors, work)
    return sum(done.values()) / elapsed


def run(args) -> int:
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} at start")
    base_rate, base_double, base_lost = baseline(args, "bench_claim_a")
    print(f"baseline   (SELECT … FOR UPDATE SKIP LOCKED + UPDATE): {base_rate:8.0f} claims/s  "
          f"double={base_double} lost={base_lost}")  # fmt: skip
    opd, doctors = build_queue(args)
    rate, double, lost = sanjeevani(args, opd, doctors)
    print(f"sanjeevani (call_next_patient: claim + consultation + audit + events): {rate:8.0f} "
          f"claims/s  double={double} lost={lost}")  # fmt: skip
    again_rate, again_double, again_lost = baseline(args, "bench_claim_b")
    print(f"baseline again:                                         {again_rate:8.0f} claims/s  "
          f"double={again_double} lost={again_lost}")  # fmt: skip
    ratio = rate / ((base_rate + again_rate) / 2)
    print(f"ratio {ratio:.2f} (target >= 0.5); doctors={args.doctors} tickets={args.tickets}; "
          f"load average {os.getloadavg()[0]:.1f} at end")  # fmt: skip
    problems = double + lost + base_double + base_lost + again_double + again_lost
    print(f"double or lost claims: {problems} (must be 0)")
    if args.cycle:
        print(f"full doctor cycles (call_next_patient + end_consultation): "
              f"{full_cycles(args, opd, doctors):.0f} per second")  # fmt: skip
    return 0 if problems == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
