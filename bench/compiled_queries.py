"""Node CPU per call of the hot fixed-shape reads, as Django compiles them on every call and
as ``config/compiled_queries.py`` runs them (compiled once per connection), in the same run
on a scratch PostgreSQL database:

- the device token behind ``Authorization: Token`` (``accounts.api_tokens.token_for_key``:
  every API request), with its user;
- a family's token (``queueing.selectors.ticket_for_family``: every status poll and step of
  a waiting patient), with its patient, OPD and calling doctor;
- a consultation read by its doctor (``consultations.selectors.visible_consultation``:
  every step of the doctor's workspace), through the care-team policy, with six related
  rows; "Django" is the queryset built from ``cases_visible_to`` as before 2026-12-07;
- the consultation locked (``consultations.states.locked``: every write step of the
  workspace re-reads it ``FOR UPDATE``, in a transaction), with five related rows;
- the consultation a called token is being called to (``latest_consultation_id_of_ticket``:
  each status read of a called or seated token), before as the whole consultation;
- the tokens ahead of a waiting one (``queueing.selectors.tickets_ahead``, a
  ``CompiledCount``: each status read of a waiting token, in the OPD and at the centre).

Each is also timed as a raw cursor running the same SQL (no instances built): the floor.
The statement and the rows are the same; what differs is the node's work around them.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/compiled_queries.py [N]
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LOG_LEVEL", "WARNING")

from scratch_database import scratch_postgres  # noqa: E402


def cpu_us_per_call(call: Callable[[], object], n: int) -> float:
    for _ in range(50):
        call()
    started = time.process_time()
    for _ in range(n):
        call()
    return (time.process_time() - started) / n * 1e6


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    with scratch_postgres("sv_bench_compiled_queries", needs="the app's production database"):
        from django.db import connection, transaction
        from django.db.models import Q

        from sanjeevani.accounts.api_tokens import _tokens_with_prefix
        from sanjeevani.accounts.models import KEY_PREFIX_LENGTH, DeviceToken
        from sanjeevani.config.compiled_queries import Slot
        from sanjeevani.consultations import services
        from sanjeevani.consultations.care_team import open_visibility
        from sanjeevani.consultations.models import Consultation
        from sanjeevani.consultations.selectors import (
            _latest_of_ticket,
            _visible_query,
            consultations_visible_to,
            latest_consultation_id_of_ticket,
            visible_consultation,
        )
        from sanjeevani.consultations.states import _locked, locked
        from sanjeevani.queueing.models import Ticket
        from sanjeevani.queueing.selectors import (
            _TICKETS_AHEAD,
            _family_ticket,
            tickets_ahead,
            waiting_tickets,
        )
        from tests.opd.pages_support import make_clinic

        clinic = make_clinic()
        services.start_serving(clinic.doctor.user, clinic.opd)
        ticket = services.take_token(clinic.patient.account, clinic.patient, clinic.opd, "Cough")
        key = DeviceToken.objects.issue(clinic.patient.account, device="phone").key
        doctor = clinic.doctor.user
        consultation = services.call_next_patient(doctor).consultation
        prefix, account = key[:KEY_PREFIX_LENGTH], clinic.patient.account

        def raw(sql: str, params: list) -> Callable[[], object]:
            def run() -> object:
                with connection.cursor() as cursor:
                    cursor.execute(sql, params)
                    return cursor.fetchall()

            return run

        token_sql = str(_tokens_with_prefix._compiled_for("default").sql)
        ticket_sql = str(_family_ticket._compiled_for("default").sql)
        policy = open_visibility(doctor)
        visible = _visible_query(policy.shape, policy.build, by_line=False)
        visible_consultation(doctor, consultation.pk)
        consultation_sql = str(visible._compiled_for("default").sql)
        opened = {**policy.values, "consultation": consultation.pk}
        consultation_params = [
            opened[p.name] if isinstance(p, Slot) else p
            for p in visible._compiled_for("default").params
        ]
        with transaction.atomic():
            locked(consultation)
            locked_sql = str(_locked._compiled_for("default").sql)
        latest_id_of_ticket = lambda: latest_consultation_id_of_ticket(ticket)  # noqa: E731
        latest_id_of_ticket()
        latest_sql = str(_latest_of_ticket._compiled_for("default").sql)
        tickets_ahead(ticket)
        ahead_sql, slots = _TICKETS_AHEAD._local.by_alias["default"]
        ahead = {"queue": ticket.queue_id, "priority": ticket.priority}
        ahead |= {"queued_at": ticket.queued_at, "ticket": ticket.pk}
        ahead_params = [ahead[p.name] if isinstance(p, Slot) else p for p in slots]
        reads = {
            "device token + user": (
                lambda: list(DeviceToken.objects.select_related("user").filter(key_prefix=prefix)),
                lambda: _tokens_with_prefix(prefix=prefix),
                raw(token_sql, [prefix]),
            ),
            "family's token + 3 relations": (
                lambda: Ticket.objects.select_related("patient", "opd", "claimed_by__user").get(
                    pk=ticket.pk, patient__account=account, opd__isnull=False
                ),
                lambda: _family_ticket.one(ticket=ticket.pk, account=account.pk),
                raw(ticket_sql, [ticket.pk, account.pk]),
            ),
            "consultation, its doctor": (
                lambda: (
                    consultations_visible_to(doctor)
                    .select_related("patient__state")
                    .get(pk=consultation.pk)
                ),
                lambda: visible_consultation(doctor, consultation.pk),
                raw(consultation_sql, consultation_params),
            ),
            "consultation locked (a write)": (
                lambda: (
                    Consultation.objects.select_for_update(of=("self",))
                    .select_related("doctor__user", "patient", "opd", "ticket", "feedback")
                    .get(pk=consultation.pk)
                ),
                lambda: locked(consultation),
                raw(locked_sql, [consultation.pk]),
            ),
            "called token's consultation": (
                lambda: ticket.consultations.order_by("-created_at").first(),
                lambda: Consultation(pk=latest_id_of_ticket()),
                raw(latest_sql, [ticket.pk]),
            ),
            "tokens ahead (count)": (
                lambda: (
                    waiting_tickets(ticket.queue_id)
                    .filter(
                        Q(priority__lt=ticket.priority)
                        | Q(priority=ticket.priority, queued_at__lt=ticket.queued_at)
                    )
                    .exclude(pk=ticket.pk)
                    .count()
                ),
                lambda: tickets_ahead(ticket),
                raw(ahead_sql, ahead_params),
            ),
        }
        print(f"{n} calls each, one process, PostgreSQL; load average {os.getloadavg()[0]:.1f}")
        print(f"  {'read':<30} {'Django':>10} {'compiled':>10} {'raw SQL':>10}  compiled/Django")
        for name, (orm, compiled, floor) in reads.items():
            # One transaction around them all: the locking read needs one, the others ignore it.
            with transaction.atomic():
                assert orm_equal(orm(), compiled()), name
                before, after, bare = (cpu_us_per_call(f, n) for f in (orm, compiled, floor))
            ratio = after / before
            print(f"  {name:<30} {before:7.0f} µs {after:7.0f} µs {bare:7.0f} µs  {ratio:8.2f}")


def orm_equal(a: object, b: object) -> bool:
    """The same rows, whether read as a list or as one; the same number for a count."""
    if isinstance(a, int):
        return a == b
    return [o.pk for o in (a if isinstance(a, list) else [a])] == [
        o.pk for o in (b if isinstance(b, list) else [b])
    ]


if __name__ == "__main__":
    main()
