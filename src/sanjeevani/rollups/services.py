"""Counting, in the caller's transaction (never a commit of its own): the consultation's
ending (``consultations.lifecycle.close_consultation``), a token taken or cancelled, a
prescription issued. Each reads its one fact (``facts``, the same SQL the rebuild groups)
and adds it to every grain with one upsert per row, so concurrent endings never lose a
count: ``INSERT ... ON CONFLICT (key) DO UPDATE SET n = table.n + EXCLUDED.n`` (PostgreSQL;
SQLite 3.24+ runs the same under its write lock).
"""

# SQL here is assembled only from model metadata and constants; values go as parameters.
# ruff: noqa: S608

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from django.apps import apps
from django.db import connection, models

from . import facts
from .models import SCALARS, DayDetail, DoctorDay, StateDay, StateTotal


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


@functools.cache
def _sql(kind: str, vendor: str) -> str:
    dialect = facts.Dialect(vendor)
    return {
        "consultation": facts.consultation_facts(dialect, one=True),
        "token": facts.token_facts(dialect, one=True),
        "cancel": facts.cancel_facts(dialect, one=True),
        "prescription": facts.prescription_facts(dialect, one=True),
        "doctor": _doctor_insert(dialect) + " ON CONFLICT DO NOTHING",
    }[kind]


def _doctor_insert(dialect: facts.Dialect) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in DoctorDay.KEY)
    return f"INSERT INTO {quote(DoctorDay._meta.db_table)} ({columns}) " + facts.doctor_facts(
        dialect, one=True
    )


def _pk(label: str, value: Any) -> Any:
    return apps.get_model(label)._meta.pk.get_db_prep_value(value, connection)


def _count(kind: str, label: str, pk: Any) -> dict[str, int]:
    """Read one fact and add it to every grain; returns its counters (empty when the row
    is not one that counts, e.g. a consultation not ended)."""
    with connection.cursor() as cursor:
        cursor.execute(_sql(kind, connection.vendor), [_pk(label, pk)])
        row = cursor.fetchone()
        names = [column[0] for column in cursor.description]
    if row is None:
        return {}
    fact = dict(zip(names, row, strict=True))
    detail_key = {name: fact[name] for name in DayDetail.KEY}
    counters = {name: fact[name] for name in DayDetail.COUNTERS}
    scalars = {name: fact[name] for name in SCALARS}
    increment(DayDetail, detail_key, counters)
    increment(StateDay, {name: fact[name] for name in StateDay.KEY}, scalars)
    increment(StateTotal, {name: fact[name] for name in StateTotal.KEY}, scalars)
    return counters


def count_consultation_closed(consultation: Any) -> None:
    """Every ending (called by ``close_consultation`` after the consultation is saved as
    ended): completed, missed, dropped, forwarded; and, when completed, the doctor among
    those who consulted that day."""
    counters = _count("consultation", facts.Consultation, consultation.pk)
    if counters.get("consultations"):
        with connection.cursor() as cursor:
            cursor.execute(
                _sql("doctor", connection.vendor), [_pk(facts.Consultation, consultation.pk)]
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
