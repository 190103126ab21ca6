"""Every rollup recomputed from the raw rows in set-based SQL (one ``INSERT ... SELECT ...
GROUP BY`` per table, in one transaction, after emptying them): the same facts the live
counting adds one at a time (``facts``), so the numbers are the same. No Python per row, so
it runs over tens of millions of consultations (``seed_national`` calls it)."""

# SQL here is assembled only from model metadata and constants; values go as parameters.
# ruff: noqa: S608

from __future__ import annotations

import time

from django.db import connection, transaction

from . import facts
from .models import (
    ROLLUP_MODELS,
    SCALARS,
    DayDetail,
    DistrictDay,
    DoctorDay,
    PlaceDay,
    SpokeDay,
    StateDay,
    StateTotal,
)


def _grouped(
    target, source: str, key: tuple[str, ...], counters: tuple[str, ...], where: str = ""
) -> str:
    """The rows of ``target`` summed from ``source``; a group whose counters are all 0 is
    left out, as the live counting never makes such a row."""
    quote = connection.ops.quote_name
    keys = ", ".join(quote(c) for c in key)
    sums = ", ".join(f"SUM({quote(c)})" for c in counters)
    columns = ", ".join(quote(c) for c in (*key, *counters))
    some = " OR ".join(f"SUM({quote(c)}) <> 0" for c in counters)
    return (
        f"INSERT INTO {quote(target._meta.db_table)} ({columns})"
        f" SELECT {keys}, {sums} FROM ({source}) f{where} GROUP BY {keys} HAVING {some}"
    )


def _without_indexes(cursor, tables: list[str]) -> list[str]:
    """PostgreSQL: drop the rollup tables' unique keys and secondary indexes, returning the
    statements that make them again. Building an index once over the refilled table is
    far cheaper than maintaining it row by row while millions of rows go in."""
    remake = []
    for table in tables:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype = 'u'",
            [table],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)"
            " FROM pg_index i WHERE i.indrelid = %s::regclass AND NOT i.indisprimary"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
            [table],
        )
        indexes = cursor.fetchall()
        for name, definition in constraints:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
            remake.append(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
        for name, definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
            remake.append(definition)
    return remake


def rebuild_rollups(progress=None) -> dict[str, int]:
    """Empty and refill every rollup table, in one transaction; returns the rows in each.
    ``progress`` (optional) is called with a line after each step."""
    dialect = facts.Dialect()
    quote = connection.ops.quote_name
    all_facts = " UNION ALL ".join(
        [
            facts.consultation_facts(dialect, bulk=True),
            facts.token_facts(dialect),
            facts.cancel_facts(dialect),
            facts.prescription_facts(dialect),
        ]
    )
    detail = quote(DayDetail._meta.db_table)
    state_day = quote(StateDay._meta.db_table)
    doctors = ", ".join(quote(c) for c in DoctorDay.KEY)
    from_detail = f"SELECT * FROM {detail}"
    statements = {
        "day detail": _grouped(DayDetail, all_facts, DayDetail.KEY, DayDetail.COUNTERS),
        "district days": _grouped(DistrictDay, from_detail, DistrictDay.KEY, DistrictDay.COUNTERS),
        "place days": _grouped(PlaceDay, from_detail, PlaceDay.KEY, PlaceDay.COUNTERS),
        "spoke days": _grouped(
            SpokeDay,
            from_detail,
            SpokeDay.KEY,
            SpokeDay.COUNTERS,
            where=f" WHERE spoke_id <> {dialect.no_place()}",
        ),
        "state days": _grouped(
            StateDay, f"SELECT * FROM {quote(DistrictDay._meta.db_table)}", StateDay.KEY, SCALARS
        ),
        "state totals": _grouped(StateTotal, f"SELECT * FROM {state_day}", StateTotal.KEY, SCALARS),
        "doctor days": f"INSERT INTO {quote(DoctorDay._meta.db_table)} ({doctors})"
        f" SELECT DISTINCT {doctors} FROM ({facts.doctor_facts(dialect)}) f",
    }
    started = time.monotonic()

    def step(what: str) -> None:
        if progress is not None:
            progress(f"{what}: {time.monotonic() - started:.1f} s")

    remake: list[str] = []
    with transaction.atomic(), connection.cursor() as cursor:
        tables = [quote(m._meta.db_table) for m in reversed(ROLLUP_MODELS)]
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)}")
            # After a bulk load the planner's statistics are stale (it would pick nested
            # loops for millions of rows), and the grouping wants memory, not disk.
            for label in (facts.Consultation, facts.Ticket, facts.Prescription, facts.Patient):
                cursor.execute(f"ANALYZE {facts.table(label)}")
            # A one-off pass over every row: memory enough that the grouping and the index
            # builds of tens of millions of rows stay off the disk as far as they can.
            cursor.execute("SET LOCAL work_mem = '1GB'")
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
            cursor.execute("SET LOCAL jit = off")  # seconds of compiling for one pass
            remake = _without_indexes(cursor, tables)
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")
        step("emptied")
        for what, sql in statements.items():
            cursor.execute(sql)
            step(what)
        for sql in remake:
            cursor.execute(sql)
        if remake:
            step("indexes")
    return {m.__name__: m.objects.count() for m in ROLLUP_MODELS}
