"""Claims per second: Sanjeevani's claim against a bare SKIP LOCKED baseline, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/queue_claim.py

N concurrent callers (``--doctors``, default 8; one process each, as app server workers
run; ``--threads`` runs them as threads of one process, where Python's interpreter lock,
not the database, sets the pace) drain a queue of 20,000 tickets in the same run:
- the bare claim on the queue (the baseline of the target): ``SELECT id … WHERE queue_id = …
  AND status = 'waiting' ORDER BY priority, queued_at LIMIT 1 FOR UPDATE SKIP LOCKED`` then
  ``UPDATE`` in one transaction, on the queue's 20,000 tickets (a fresh copy of
  ``queueing_ticket``: its columns, indexes and constraints, without foreign keys), before
  and after ours, because the machine's load drifts (the ratio uses their mean);
- the same bare pair on a plain five-column table (id, status, priority, queued_at,
  claimed_by) with one index, before and after: what the ticket table itself costs;
- claim_next_ticket: the queue's claim as ``queueing.services.claim_next_ticket`` runs it in
  the caller's transaction: the one claim statement (presence check and lock, ticket,
  doctor busy, near-turn marks and their recipients, the OPD's doctor figures), the audit
  row, and the ``queue.advanced`` event after commit (to Redis when ``REDIS_URL`` is set, as
  in production; else the in-process layer);
- calling the next patient: what ``consultations.services.call_next_patient`` runs once it
  knows the doctor (``claim_for``): the above plus the Consultation row and the patient's
  and doctor's events.
A claim leaves the doctor busy until the consultation ends, so each of the N callers calls
for ``--desk`` doctors (default 4) in turn, as one app server worker serves many doctors,
and after each round frees them with one plain UPDATE (a bench statement, timed, so the
figures understate the claim a little). Between the runs every ticket goes back in the line.
Prints claims/s for each, their ratios to both baselines (target for claim_next_ticket: ≥ 0.5
against the bare claim on the queue),
double and lost claims (must be 0), and checks one audit row per claim (and one
consultation per call).
``--cycle N`` also times N full doctor cycles (call_next_patient + end_consultation).

It creates a scratch database ``test_<name>_bench_queue`` with the migrations, and drops it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--doctors", type=int, default=8, help="concurrent callers")
    parser.add_argument("--desk", type=int, default=4, help="doctors each caller calls for in turn")
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--cycle", type=int, default=0, help="also time N full call+end cycles")
    parser.add_argument(
        "--threads",
        dest="processes",
        action="store_false",
        help="doctors as threads of one process (default: one process each, as app servers)",
    )
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print("needs PostgreSQL: set DATABASE_URL=postgres://…", file=sys.stderr)
        return 2
    os.environ["TEST_DB_SUFFIX"] = "_bench_queue"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanjeevani.config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.test.utils import setup_databases, teardown_databases

    print(f"creating a scratch database (migrations) for {args.doctors} callers …", flush=True)
    config = setup_databases(verbosity=0, interactive=False)
    try:
        return run(args)
    finally:
        from django.db import connections

        connections.close_all()
        teardown_databases(config, verbosity=0)


def run_workers(count: int, work, processes: bool) -> tuple[float, dict[int, list]]:
    """Run ``work(index) -> claimed ids`` in ``count`` threads of this process, or in
    ``count`` forked processes (as app servers run: one process per worker, no shared
    interpreter lock); the clock starts when all are ready."""
    from django.db import connection, connections

    if not processes:
        barrier = threading.Barrier(count + 1)
        results: dict[int, list] = {}
        errors: list[BaseException] = []

        def target(index: int) -> None:
            try:
                barrier.wait()
                results[index] = work(index)
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
        return elapsed, results

    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(count + 1)
    out = context.Queue()

    def child(index: int) -> None:
        try:
            barrier.wait()
            out.put((index, work(index), None))
        except BaseException as exc:
            out.put((index, [], repr(exc)))
        finally:
            connection.close()

    connections.close_all()
    workers = [context.Process(target=child, args=(i,)) for i in range(count)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    gathered = [out.get() for _ in workers]
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join()
    failures = [error for _index, _ids, error in gathered if error]
    if failures:
        raise RuntimeError(failures[0])
    return elapsed, {index: ids for index, ids, _error in gathered}


def drain_bare(args, table: str, total: int, select: str, update: str, params: dict):
    """Doctors claim from ``table`` with the bare ``select`` (… FOR UPDATE SKIP LOCKED) and
    ``update`` (``%(id)s``: the row; ``%(doctor)s``: the worker) in one transaction each,
    until nothing waits. Returns claims/s, double claims and lost rows."""
    from django.db import connection, transaction

    def work(index: int) -> list:
        claimed = []
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(select, params)
                row = cursor.fetchone()
                if row is None:
                    return claimed
                cursor.execute(update, {**params, "id": row[0], "doctor": index})
            claimed.append(row[0])

    elapsed, claimed = run_workers(args.doctors, work, args.processes)
    ids = [i for per in claimed.values() for i in per]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE status = 'waiting'")
        lost = cursor.fetchone()[0] + (total - len(set(ids)))
    return len(ids) / elapsed, len(ids) - len(set(ids)), lost


def baseline(args, table: str) -> tuple[float, int, int]:
    from django.db import connection

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
    return drain_bare(
        args,
        table,
        args.tickets,
        f"SELECT id FROM {table} WHERE status = 'waiting' "
        "ORDER BY priority, queued_at LIMIT 1 FOR UPDATE SKIP LOCKED",
        f"UPDATE {table} SET status = 'called', claimed_by = %(doctor)s WHERE id = %(id)s",
        {},
    )


def baseline_on_ticket_table(args) -> tuple[float, int, int]:
    """The same bare SELECT … SKIP LOCKED + UPDATE on a copy of ``queueing_ticket`` (its
    columns, indexes and constraints, without foreign keys), after the tickets are built:
    what the table itself costs, apart from the service."""
    from django.db import connection

    from sanjeevani.queueing.models import Ticket

    table = Ticket._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE bench_ticket_copy (LIKE {table} INCLUDING ALL)")
        cursor.execute(
            f"INSERT INTO bench_ticket_copy SELECT * FROM {table} WHERE status = 'waiting'"
        )
        cursor.execute("SELECT count(*) FROM bench_ticket_copy")
        total = cursor.fetchone()[0]
        cursor.execute("ANALYZE bench_ticket_copy")
        cursor.execute(f"SELECT queue_id FROM {table} LIMIT 1")
        queue_id = cursor.fetchone()[0]
    try:
        return drain_bare(
            args,
            "bench_ticket_copy",
            total,
            "SELECT id FROM bench_ticket_copy WHERE queue_id = %(queue)s AND status = 'waiting' "
            "ORDER BY priority, queued_at LIMIT 1 FOR UPDATE SKIP LOCKED",
            "UPDATE bench_ticket_copy SET status = 'called', called_at = now(), "
            "updated_at = now() WHERE id = %(id)s",
            {"queue": queue_id},
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE bench_ticket_copy")


def build_queue(args):
    from django.utils import timezone

    from sanjeevani.accounts.models import Role, User
    from sanjeevani.patients.models import Patient
    from sanjeevani.queueing import services
    from sanjeevani.queueing.models import Queue, Ticket
    from sanjeevani.registry.models import DoctorProfile, OnlineOPD, OpeningWindow, State

    state = State.objects.create(code="BQ", name="Bench State")
    opd = OnlineOPD.objects.create(
        code="bench-opd", name="Bench OPD", state=state, daily_capacity=args.tickets
    )
    for day in range(7):
        OpeningWindow.objects.create(opd=opd, weekday=day, start_minute=0, end_minute=1440)
    doctors = []
    for i in range(args.doctors * args.desk):
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
    queue = Queue.objects.for_opd(opd)
    Ticket.objects.bulk_create(
        (
            Ticket(
                patient=p,
                queue=queue,
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


def reset_queue() -> None:
    """Put every ticket back in the line, as it was, for the next measurement."""
    from django.db import connection

    from sanjeevani.consultations.models import Consultation
    from sanjeevani.queueing.models import DoctorPresence, Ticket

    Consultation.objects.all().delete()
    Ticket.objects.update(
        status="waiting", claimed_by=None, called_at=None, call_expires_at=None,
        near_turn_notified=False,
    )  # fmt: skip
    DoctorPresence.objects.update(status="available")
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {Ticket._meta.db_table}")


def sanjeevani(args, opd, doctors, full: bool) -> tuple[float, int, int]:
    """``full``: what calling the next patient runs (``consultations.services.claim_for``:
    the claim, its audit row and queue event, the consultation and the personal events);
    else the queue's own claim (``queueing.services.claim_next_ticket``)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from sanjeevani.audit.models import AuditEvent
    from sanjeevani.consultations.models import Consultation
    from sanjeevani.consultations.services import claim_for
    from sanjeevani.queueing.models import DoctorPresence, Ticket
    from sanjeevani.queueing.services import claim_next_ticket

    free_again = (
        f"UPDATE {DoctorPresence._meta.db_table} SET status = 'available' WHERE doctor_id = ANY(%s)"
    )

    def work(index: int) -> list:
        desk = doctors[index * args.desk : (index + 1) * args.desk]
        claimed = []
        while True:
            for doctor in desk:
                # One transaction, as the service runs it.
                with transaction.atomic():
                    if full:
                        ticket = claim_for(doctor, None, doctor.user, timezone.now())
                    else:
                        claim = claim_next_ticket(doctor, None, doctor.user, timezone.now())
                        ticket = claim.ticket if claim else None
                if ticket is None:
                    return claimed
                claimed.append(ticket.pk)
            with connection.cursor() as cursor:
                cursor.execute(free_again, [[doctor.pk for doctor in desk]])

    audit_before = AuditEvent.objects.filter(action="ticket.claim").count()
    elapsed, claimed = run_workers(args.doctors, work, args.processes)
    ids = [i for per in claimed.values() for i in per]
    called = Ticket.objects.filter(status="called").count()
    lost = Ticket.objects.filter(status="waiting").count() + (called - len(set(ids)))
    consultations = Consultation.objects.filter(status="calling").count()
    audits = AuditEvent.objects.filter(action="ticket.claim").count() - audit_before
    expected_consultations = len(ids) if full else 0
    if consultations != expected_consultations or audits != len(ids):
        print(f"MISMATCH: {len(ids)} claims, {consultations} consultations, {audits} audit rows")
        lost += 1
    return len(ids) / elapsed, len(ids) - len(set(ids)), lost


def full_cycles(args, opd, doctors) -> float:
    """call_next_patient + end_consultation(no_show), as a doctor really calls."""
    from django.utils import timezone

    from sanjeevani.consultations.services import call_next_patient, end_consultation
    from sanjeevani.patients.models import Patient
    from sanjeevani.queueing.models import DoctorPresence, Queue, Ticket

    DoctorPresence.objects.update(status="available")
    from sanjeevani.consultations.models import Consultation

    Consultation.objects.update(status="ended", outcome="no_show")
    Ticket.objects.update(status="completed")
    patients = Patient.objects.all()[: args.cycle]
    start = timezone.now() - dt.timedelta(hours=1)
    Ticket.objects.bulk_create(
        Ticket(
            patient=p,
            queue=Queue.objects.for_opd(opd),
            opd=opd,
            service_date=timezone.localdate() + dt.timedelta(days=1),
            token_number=i + 1,
            queued_at=start + dt.timedelta(milliseconds=i),
        )
        for i, p in enumerate(patients)
    )

    def work(index: int) -> list:
        user = doctors[index * args.desk].user
        done = []
        while (ticket := call_next_patient(user)) is not None:
            end_consultation(user, ticket.consultation, "no_show")
            done.append(ticket.pk)
        return done

    elapsed, done = run_workers(args.doctors, work, args.processes)
    return sum(len(ids) for ids in done.values()) / elapsed


def run(args) -> int:
    load = os.getloadavg()[0]
    mode = "processes" if args.processes else "threads of one process"
    layer = "Redis" if os.environ.get("REDIS_URL") else "in-process"
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} at start; doctors as {mode}; "
          f"channel layer: {layer}")  # fmt: skip
    measured: list[tuple[int, int]] = []

    def show(label: str, result: tuple[float, int, int]) -> float:
        rate, double, lost = result
        measured.append((double, lost))
        print(f"{label:<62} {rate:8.0f} claims/s  double={double} lost={lost}", flush=True)
        return rate

    plain_before = show("bare claim on a five-column table", baseline(args, "bench_claim_a"))
    opd, doctors = build_queue(args)
    queue_before = show("bare claim on the queue (queueing_ticket's rows and indexes)",
                        baseline_on_ticket_table(args))  # fmt: skip
    rate = show("claim_next_ticket (claim + audit row + queue event)",
                sanjeevani(args, opd, doctors, full=False))  # fmt: skip
    reset_queue()
    queue_after = show("bare claim on the queue, again", baseline_on_ticket_table(args))
    call_rate = show("calling the next patient (+ consultation + personal events)",
                     sanjeevani(args, opd, doctors, full=True))  # fmt: skip
    plain_after = show("bare claim on a five-column table, again",
                       baseline(args, "bench_claim_b"))  # fmt: skip
    queue = (queue_before + queue_after) / 2
    plain = (plain_before + plain_after) / 2
    print(f"ratio claim_next_ticket / bare claim on the queue: {rate / queue:.2f} "
          f"(target >= 0.5); / five-column table: {rate / plain:.2f}")  # fmt: skip
    print(f"ratio calling the next patient / bare claim on the queue: {call_rate / queue:.2f}; "
          f"/ five-column table: {call_rate / plain:.2f}")  # fmt: skip
    print(f"callers={args.doctors} doctors={args.doctors * args.desk} tickets={args.tickets}; "
          f"load average {os.getloadavg()[0]:.1f} at end")  # fmt: skip
    problems = sum(double + lost for double, lost in measured)
    print(f"double or lost claims: {problems} (must be 0)")
    if args.cycle:
        print(f"full doctor cycles (call_next_patient + end_consultation): "
              f"{full_cycles(args, opd, doctors):.0f} per second")  # fmt: skip
    return 0 if problems == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
