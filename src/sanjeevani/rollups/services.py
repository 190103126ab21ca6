"""Counting, in the caller's transaction (never a commit of its own): the consultation's
ending (``consultations.lifecycle.close_consultation``), a token taken or cancelled, a
prescription issued. Each runs its one fact (``facts``, the same SQL the rebuild groups)
and adds it to every grain (``models.GRAINS``), so concurrent endings never lose a count:
``INSERT ... SELECT ... ON CONFLICT (key) DO UPDATE SET n = table.n + EXCLUDED.n``.

PostgreSQL: one statement per counted event, whatever the number of grains: the fact is
read once in a ``WITH`` and every grain (and, for an ending, the doctor's day) is upserted
from it by data-modifying CTEs, so the fact never travels to Python and back. SQLite (3.24+,
under its write lock) runs one ``INSERT ... SELECT`` of the fact per grain.
"""

# SQL here is assembled only from model metadata and constants; values go as parameters.
# ruff: noqa: S608

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from django.apps import apps
from django.db import connection, models

from sanjeevani.config.prepared_statements import fetch_prepared

from . import facts
from .models import GRAINS, DoctorDay, SpokeDay


def increment(model: type[models.Model], key: Mapping[str, Any], increments: Mapping[str, int]):
    """Add ``increments`` to the ``model`` row at ``key`` (made at 0 when missing), in one
    statement. Counters not named stay as they are."""
    changed = [name for name, value in increments.items() if value]
    if not changed:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    counters = list(model.COUNTERS)
    columns = [*key, *counters]
    values = [*key.values(), *(int(increments.get(name, 0)) for name in counters)]
    sets = ", ".join(f"{quote(c)} = {table}.{quote(c)} + EXCLUDED.{quote(c)}" for c in changed)
    sql = (
        f"INSERT INTO {table} ({', '.join(quote(c) for c in columns)})"
        f" VALUES ({', '.join(['%s'] * len(columns))})"
        f" ON CONFLICT ({', '.join(quote(c) for c in model.KEY)}) DO UPDATE SET {sets}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)


def _upsert(model: type[models.Model], source: str, dialect: facts.Dialect) -> str:
    """``INSERT`` into ``model`` the rows of ``source`` (a fact: one row, or none) that
    count there, adding to the row at the same key. A fact with every counter of the grain
    at 0 makes no row (the rebuild leaves out a group whose sums are all 0: the same rows);
    ``SpokeDay`` takes only facts with a spoke."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    keys = [quote(c) for c in model.KEY]
    counters = [quote(c) for c in model.COUNTERS]
    counts = " OR ".join(f"f.{c} <> 0" for c in counters)
    where = f"({counts})"
    if model is SpokeDay:
        where += f" AND f.spoke_id <> {dialect.no_place()}"
    sets = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in counters)
    return (
        f"INSERT INTO {table} ({', '.join(keys + counters)})"
        f" SELECT {', '.join('f.' + c for c in keys + counters)} FROM {source} f"
        f" WHERE {where} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"
    )


def _fact_sql(kind: str, dialect: facts.Dialect) -> str:
    return {
        "consultation": facts.consultation_facts(dialect, one=True),
        "token": facts.token_facts(dialect, one=True),
        "cancel": facts.cancel_facts(dialect, one=True),
        "prescription": facts.prescription_facts(dialect, one=True),
    }[kind]


def _doctor_insert(dialect: facts.Dialect) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in DoctorDay.KEY)
    return (
        f"INSERT INTO {quote(DoctorDay._meta.db_table)} ({columns}) "
        + facts.doctor_facts(dialect, one=True)
        + " ON CONFLICT DO NOTHING"
    )


@functools.cache
def _statements(kind: str, vendor: str) -> tuple[tuple[str, int], ...]:
    """The statements that count one event of ``kind``, each with the number of times it
    takes the row's id as a parameter."""
    dialect = facts.Dialect(vendor)
    fact = _fact_sql(kind, dialect)
    with_doctor = kind == "consultation"
    if dialect.postgres:
        ctes = [f"f AS MATERIALIZED ({fact})"]
        ctes += [f"g{i} AS ({_upsert(model, 'f', dialect)})" for i, model in enumerate(GRAINS)]
        if with_doctor:
            ctes.append(f"d AS ({_doctor_insert(dialect)})")
        return ((f"WITH {', '.join(ctes)} SELECT 1", 2 if with_doctor else 1),)
    # SQLite: "WHERE" after the fact's SELECT keeps ON CONFLICT from being read as a join.
    statements = [(_upsert(model, f"({fact})", dialect), 1) for model in GRAINS]
    if with_doctor:
        statements.append((_doctor_insert(dialect), 1))
    return tuple(statements)


def _pk(label: str, value: Any) -> Any:
    return apps.get_model(label)._meta.pk.get_db_prep_value(value, connection)


def _count(kind: str, label: str, pk: Any, doctor: bool = True) -> None:
    """Add the row's one fact to every grain (nothing when the row is not one that counts,
    e.g. a consultation not ended). ``doctor`` (an ending, SQLite only): whether the
    doctor's day is worth a statement; PostgreSQL folds it into the one statement."""
    param = _pk(label, pk)
    for sql, uses in _statements(kind, connection.vendor):
        if not doctor and sql.startswith(f"INSERT INTO {_doctor_table()}"):
            continue
        # Prepared on PostgreSQL: planning the fact's joins and the grains' upserts cost
        # about three times running them (1.4 ms against 0.5 ms, EXPLAIN ANALYZE).
        fetch_prepared(sql, [param] * uses)


def _doctor_table() -> str:
    return connection.ops.quote_name(DoctorDay._meta.db_table)


def count_consultation_closed(consultation: Any) -> None:
    """Every ending (called by ``close_consultation`` after the consultation is saved as
    ended): completed, missed, dropped, forwarded; and, when completed, the doctor among
    those who consulted that day."""
    completed = getattr(consultation, "outcome", None) in facts.COMPLETED_OUTCOMES
    _count("consultation", facts.Consultation, consultation.pk, doctor=completed)


#: PostgreSQL functions that run ``_count``'s statement for one event, for writers that
#: are one PL/pgSQL call themselves (``hwc_send_case``): a case's sending is then one
#: statement, with no transaction block around it.
COUNTING_FUNCTIONS = {"token": "rollups_count_token"}


def counting_function_sql(kind: str) -> str:
    """``CREATE OR REPLACE FUNCTION rollups_count_<kind>(p_row uuid)``: the statement that
    counts one event of ``kind`` (its row's id as ``p_row``), in PL/pgSQL so that each
    connection plans it once. Installed by migrations, which run this again whenever the
    facts or the grains change (a test compares the installed body with this one)."""
    ((sql, uses),) = _statements(kind, "postgresql")
    if sql.count("%s") != uses:
        raise ValueError(f"the {kind} statement has other placeholders than its row's id")
    body = sql.replace("%s", "p_row")
    return (
        f"CREATE OR REPLACE FUNCTION {COUNTING_FUNCTIONS[kind]}(p_row uuid) RETURNS void\n"
        f"LANGUAGE plpgsql AS $fn$\nDECLARE\n    v_done integer;\nBEGIN\n"
        f"    {body} INTO v_done;\nEND\n$fn$"
    )


def count_token_taken(ticket: Any) -> None:
    """A token taken: an OPD token (``consultations.tokens.take_token``) or a hub case's
    ticket (``hwc.cases.submit_case``, after the ticket is placed)."""
    _count("token", facts.Ticket, ticket.pk)


def count_token_cancelled(ticket: Any) -> None:
    """A token cancelled (once: the caller counts only the change to CANCELLED)."""
    _count("cancel", facts.Ticket, ticket.pk)


def count_prescription_issued(prescription: Any) -> None:
    """A prescription first issued (a correction is not counted again)."""
    if getattr(prescription, "supersedes_id", None) is None:
        _count("prescription", facts.Prescription, prescription.pk)
