"""The audit trail at national size on PostgreSQL: 10 million rows over 36 months in monthly
partitions, and the plans of the queries the app runs on it (issue 15, item 5).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/audit_at_scale.py        [--rows 10000000] [--months 36] [--keep]

It makes a scratch database ``sv_bench_audit`` with the migrations, creates the past
months' partitions with ``audit.partitions.create_month`` (as the migration does for old
rows), fills them in SQL with ``generate_series`` (rows in time order, as they are written:
5,000 staff, 2 million patients, half the rows ``patient.view``), runs ``ANALYZE``, then
for each query the app runs on the table (built with the ORM, as the app builds it) prints
its time under ``EXPLAIN (ANALYZE, BUFFERS)``, how many partitions the plan touched, and the
indexes it used (none: a sequential scan). Each query runs once to warm the cache first.
The database is dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from scratch_database import scratch_postgres  # noqa: E402

NAME = "sv_bench_audit"
STAFF = 5000
PATIENTS = 2_000_000

FILL = f"""
INSERT INTO audit_auditevent (id, at, actor_id, actor_label, actor_role, action,
                              object_type, object_id, patient_id, client_ip, user_agent,
                              detail, request_id)
SELECT gen_random_uuid(),
       %(start)s::timestamptz
           + (g::float8 / %(rows)s) * (%(end)s::timestamptz - %(start)s::timestamptz),
       ('00000000-0000-4000-8000-' || lpad(to_hex(g %% {STAFF}), 12, '0'))::uuid,
       'staff-' || (g %% {STAFF}),
       (ARRAY['doctor', 'cho', 'doctor', 'state_admin'])[1 + (g %% {STAFF}) %% 4],
       (ARRAY['patient.view', 'patient.view', 'patient.view', 'patient.view', 'patient.view',
              'consultation.closed', 'prescription.issue', 'ticket.claim', 'patient.update',
              'case.sent'])[1 + g %% 10],
       CASE WHEN g %% 10 = 5 THEN 'consultations.consultation' ELSE '' END,
       CASE WHEN g %% 10 = 5
            THEN ('00000000-0000-4000-9000-' || lpad(to_hex(g), 12, '0')) ELSE '' END,
       ('00000000-0000-4000-a000-'
        || lpad(to_hex((g::bigint * 7919) %% {PATIENTS}), 12, '0'))::uuid,
       '10.0.0.1', 'Mozilla/5.0', '{{}}'::jsonb, ''
FROM generate_series(%(low)s::bigint, %(high)s::bigint) g
"""


def _index_kind(name: str) -> str:
    rest = name.removeprefix("audit_auditevent_")
    return rest.split("_", 1)[1] if rest.startswith(("y", "default")) else rest


def _walk(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from _walk(child)


def _explain(query) -> dict:
    import json

    from django.db import connection

    sql, params = query if isinstance(query, tuple) else query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)  # warm the cache
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
        raw = cursor.fetchone()[0]
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
    nodes = list(_walk(plan["Plan"]))
    tables = {n["Relation Name"] for n in nodes if "Relation Name" in n}
    read = {n["Relation Name"] for n in nodes if "Relation Name" in n and n.get("Actual Loops")}
    # Each partition's index is named after the partition; the kind is what matters.
    indexes = sorted({_index_kind(n["Index Name"]) for n in nodes if "Index Name" in n})
    scans = sorted({n["Node Type"] for n in nodes if "Scan" in n["Node Type"]})
    return {
        "ms": plan["Execution Time"],  # the plan as executed, without the network
        "partitions": len(tables),
        "read": len(read),
        "indexes": indexes,
        "scans": scans,
        "buffers": plan["Plan"].get("Shared Hit Blocks", 0)
        + plan["Plan"].get("Shared Read Blocks", 0),
        "rows": plan["Plan"].get("Actual Rows"),
    }


def _queries(now: dt.datetime) -> list[tuple[str, object]]:
    """What the app runs on the table, built as the app builds it."""
    import uuid

    from sanjeevani.audit.models import AuditEvent

    events = AuditEvent.objects.order_by("-at", "-id")  # the admin adds the pk for a stable order
    week = now - dt.timedelta(days=7)
    patient = uuid.UUID(f"00000000-0000-4000-a000-{(123_456 * 7919) % PATIENTS:012x}")
    actor = uuid.UUID(f"00000000-0000-4000-8000-{42:012x}")
    consultation = f"00000000-0000-4000-9000-{5_000_005:012x}"
    closed = AuditEvent.objects.filter(action="consultation.closed", object_id=consultation)
    return [
        ("admin list, first page", events[:100]),
        ("admin list, past 7 days", events.filter(at__gte=week, at__lt=now)[:100]),
        (
            "admin list, action patient.* past 7 days",
            events.filter(at__gte=week, at__lt=now, action__startswith="patient.")[:100],
        ),
        ("admin list, one patient (access log)", events.filter(patient_id=patient)[:100]),
        (
            "one patient, this year",
            events.filter(patient_id=patient, at__gte=now - dt.timedelta(days=365))[:100],
        ),
        ("an actor's trail; admin's who", events.filter(actor_id__in=[actor])[:100]),
        (
            "admin list, who = recorded label",
            events.filter(actor_label__iexact="staff-42")[:100],
        ),
        (
            "admin list, object id",
            events.filter(object_id=consultation)[:100],
        ),
        (
            "workspace: how a consultation ended",
            closed.order_by("-at").only("detail", "actor_role")[:1],
        ),
        # Django's paginator counted the (filtered) list on every page (until 2026-12-07).
        ("admin list's count, no filter", ("SELECT count(*) FROM audit_auditevent", [])),
        (
            "admin list's count, past 7 days",
            ("SELECT count(*) FROM audit_auditevent WHERE at >= %s AND at < %s", [week, now]),
        ),
        # The admin's count now stops at its cap (config/admin_lists.py).
        ("admin list's capped count, no filter", _capped_count(events)),
        (
            "admin list's capped count, 7 days",
            _capped_count(events.filter(at__gte=week, at__lt=now)),
        ),
    ]


def _capped_count(events) -> tuple[str, None]:
    """The statement the admin's ``CappedCountPaginator`` runs for its count."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sanjeevani.config.admin_lists import LIST_COUNT_CAP, CappedCountPaginator

    with CaptureQueriesContext(connection) as ran:
        counted = CappedCountPaginator(events, 100, count_cap=LIST_COUNT_CAP).count
    assert counted <= LIST_COUNT_CAP
    return ran.captured_queries[-1]["sql"], None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--keep", action="store_true", help="Leave the database for another look.")
    args = parser.parse_args()
    with scratch_postgres(NAME, needs="the partitions exist only on PostgreSQL", keep=args.keep):
        from django.db import connection

        from sanjeevani.audit import partitions

        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        first = partitions.add_months(partitions.month_start(now.date()), -args.months)
        start = dt.datetime(first.year, first.month, 1, tzinfo=dt.UTC)
        with connection.cursor() as cursor:
            month = first
            while month <= partitions.month_start(now.date()):
                partitions.create_month(cursor, month)
                month = partitions.add_months(month, 1)
        print(
            f"filling {args.rows:,} audit rows from {start:%Y-%m-%d} to {now:%Y-%m-%d}", flush=True
        )
        started = time.monotonic()
        chunk = 1_000_000
        for low in range(1, args.rows + 1, chunk):
            high = min(low + chunk - 1, args.rows)
            with connection.cursor() as cursor:
                cursor.execute(
                    FILL, {"start": start, "end": now, "rows": args.rows, "low": low, "high": high}
                )
            print(f"  {high:,} rows, {time.monotonic() - started:.0f} s", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) audit_auditevent")
            cursor.execute(
                "SELECT count(*), pg_size_pretty(sum(pg_total_relation_size(inhrelid))) "
                "FROM pg_inherits WHERE inhparent = 'audit_auditevent'::regclass"
            )
            count, size = cursor.fetchone()
        print(
            f"filled and analysed in {time.monotonic() - started:.0f} s: "
            f"{count} partitions, {size} with indexes"
        )
        print(f"{'query':42} {'ms':>9} {'rows':>5} {'parts in plan/read':>18}  indexes")
        for label, queryset in _queries(now):
            result = _explain(queryset)
            used = ", ".join(result["indexes"]) or "NO INDEX (" + ", ".join(result["scans"]) + ")"
            print(
                f"{label:42} {result['ms']:9.2f} {result['rows']:5} "
                f"{result['partitions']:>13}/{result['read']:<4}  {used}",
                flush=True,
            )


if __name__ == "__main__":
    main()
