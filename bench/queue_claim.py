"""Claims per second: Sanjeevani's claim against a bare SKIP LOCKED baseline, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/queue_claim.py

N threads (doctors, default 8) drain a queue of 20,000 tickets twice in the same run:
- baseline: ``SELECT id … ORDER BY priority, queued_at LIMIT 1 FOR UPDATE SKIP LOCKED`` then
  ``UPDATE`` in one transaction, on a plain table of the same shape;
- sanjeevani: ``queueing.services.claim_ticket_for`` (what ``claim_next_ticket`` runs after
  its presence checks): the one-statement claim, the Consultation, presence, audit row,
  near-turn check and the events after commit (in-memory channel layer).
Prints claims/s for both, the ratio (target ≥ 0.5) and double or lost claims (must be 0).
``--cycle N`` also times N full doctor cycles (claim_next_ticket + end_consultation).

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


def baseline(args) -> tuple[float, int, int]:
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_claim (id bigserial PRIMARY KEY, status varchar(20) NOT NULL, "
            "priority smallint NOT NULL, queued_at timestamptz NOT NULL, claimed_by int)"
        )
        cursor.execute(
            "CREATE INDEX bench_claim_waiting ON bench_claim (priority, queued_at) "
            "WHERE status = 'waiting'"
        )
        cursor.execute(
            "INSERT INTO bench_claim (status, priority, queued_at) SELECT 'waiting', 10, "
            "now() - make_interval(secs => %s - g) FROM generate_series(1, %s) g",
            [args.tickets, args.tickets],
        )
        cursor.execute("ANALYZE bench_claim")
    claimed: dict[int, list[int]] = {i: [] for i in range(args.doctors)}

    def work(index: int) -> None:
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT id FROM bench_claim WHERE status = 'waiting' "
                    "ORDER BY priority, queued_at LIMIT 1 FOR UPDATE SKIP LOCKED"
                )
                row = cursor.fetchone()
                if row is None:
                    return
                cursor.execute(
                    "UPDATE bench_claim SET status = 'called', claimed_by = %s WHERE id = %s",
                    [index, row[0]],
                )
            claimed[index].append(row[0])

    elapsed = run_threads(args.doctors, work)
    ids = [i for per in claimed.values() for i in per]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_claim WHERE status = 'waiting'")
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
    from sanjeevani.queueing.models import Ticket
    from sanjeevani.queueing.services import claim_ticket_for

    claimed: dict[int, list] = {i: [] for i in range(args.doctors)}

    def work(index: int) -> None:
        doctor = doctors[index]
        while True:
            ticket = claim_ticket_for(doctor, opd, actor=doctor.user)
            if ticket is None:
                return
            claimed[index].append(ticket.pk)

    elapsed = run_threads(args.doctors, work)
    ids = [i for per in claimed.values() for i in per]
    called = Ticket.objects.filter(status="called").count()
    lost = Ticket.objects.filter(status="waiting").count() + (called - len(set(ids)))
    return len(ids) / elapsed, len(ids) - len(set(ids)), lost


def full_cycles(args, opd, doctors) -> float:
    """claim_next_ticket + end_consultation(no_show), as a doctor really calls."""
    from django.utils import timezone

    from sanjeevani.consultations.services import end_consultation
    from sanjeevani.patients.models import Patient
    from sanjeevani.queueing.models import DoctorPresence, Ticket
    from sanjeevani.queueing.services import claim_next_ticket

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
        while (ticket := claim_next_ticket(user)) is not None:
            end_consultation(user, ticket.consultation, "no_show")
            done[index] += 1

    elapsed = run_threads(args.doctors, work)
    return sum(done.values()) / elapsed


def run(args) -> int:
    base_rate, base_double, base_lost = baseline(args)
    print(f"baseline   (SELECT … FOR UPDATE SKIP LOCKED + UPDATE): {base_rate:8.0f} claims/s  "
          f"double={base_double} lost={base_lost}")  # fmt: skip
    opd, doctors = build_queue(args)
    rate, double, lost = sanjeevani(args, opd, doctors)
    print(f"sanjeevani (claim_ticket_for: claim + consultation + audit + events): {rate:8.0f} "
          f"claims/s  double={double} lost={lost}")  # fmt: skip
    ratio = rate / base_rate
    print(f"ratio {ratio:.2f} (target >= 0.5); doctors={args.doctors} tickets={args.tickets}")
    print(f"double or lost claims: {double + lost + base_double + base_lost} (must be 0)")
    if args.cycle:
        print(f"full doctor cycles (claim_next_ticket + end_consultation): "
              f"{full_cycles(args, opd, doctors):.0f} per second")  # fmt: skip
    return 0 if double + lost == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
