"""A synthetic but realistic country for trying and measuring the dashboards at national
scale (``manage.py seed_national``): every state and UT with its districts, 115,234 spokes,
15,731 hubs, 1,152 OPDs, their doctors, patients, and N consultations over the years since
2019, with the state, service-line and outcome shares of the real service.

``country`` is the plan (pure numbers), ``places`` writes the registry, ``history`` the
patients, tickets, consultations and prescriptions, ``writer`` the fast bulk path (COPY on
PostgreSQL). Deterministic for a given seed.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from .country import CountryPlan, plan_country
from .history import History
from .places import build_places, seeded_already

__all__ = ["SeedReport", "plan_country", "seed_national"]


@dataclass
class SeedReport:
    plan: CountryPlan
    consultations: int
    patients: int
    seconds: dict[str, float] = field(default_factory=dict)
    rollups: bool = False  # written with the rows (no rebuild needed)


def _any_rollups() -> bool:
    from sanjeevani.rollups.models import ROLLUP_MODELS

    return any(model.objects.exists() for model in ROLLUP_MODELS)


def seed_tag(seed: int, small: bool) -> int:
    """The ids' prefix for this seed and scale (56 bits)."""
    return (seed * 0x9E3779B1 + (0x5A5A if small else 0x7F4A7C15)) & ((1 << 56) - 1)


def seed_national(
    consultations: int,
    *,
    seed: int = 1,
    small: bool = False,
    last_day: dt.date | None = None,
    stream: Any = None,
    rollups: bool = False,
) -> SeedReport:
    """Write the country (unless this seed's is there already) and ``consultations`` more
    consultations. The caller decides whether the database may be written (the command
    refuses production and databases with consultations unless told). ``rollups``: write
    the rollups of the new rows too, counted while generating them (``tally``), when the
    database has no ticket and no rollup yet (``report.rollups`` tells whether it did;
    otherwise the caller rebuilds them)."""
    from sanjeevani.consultations.models import Consultation
    from sanjeevani.patients.models import Patient
    from sanjeevani.queueing.models import Ticket

    stream = stream or sys.stderr
    plan = plan_country(small=small)
    tag = seed_tag(seed, small)
    report = SeedReport(plan=plan, consultations=consultations, patients=0)
    started = time.monotonic()
    exists = seeded_already(tag)
    stream.write(
        f"seed_national: {len(plan.states)} states, {plan.total_spokes:,} spokes, "
        f"{plan.total_hubs:,} hubs, {plan.total_opds:,} OPDs"
        f"{' (already there)' if exists else ''}; {consultations:,} consultations\n"
    )
    with transaction.atomic():
        country = build_places(plan, random.Random(seed), tag, write=not exists)
    report.seconds["places"] = time.monotonic() - started
    offsets = (Patient.objects.count(), Ticket.objects.count(), Consultation.objects.count())
    report.rollups = rollups and not offsets[1] and not _any_rollups()
    history = History(
        country,
        consultations,
        last_day or timezone.localdate(),
        random.Random(seed * 7919 + offsets[2]),
        offsets,
        tally=report.rollups,
    )
    mark = time.monotonic()
    history.run(stream)
    report.patients = history.patient_count
    report.seconds["history"] = time.monotonic() - mark
    _analyze(stream)
    return report


def _analyze(stream: Any) -> None:
    """PostgreSQL: fresh planner statistics for the tables just filled (autovacuum would
    come to them later; until then the planner takes millions of rows for a handful)."""
    from django.apps import apps
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    mark = time.monotonic()
    labels = ("patients", "queueing", "consultations", "prescriptions", "registry", "rollups")
    from sanjeevani.rollups.models import SpokeDay

    # The spokes' days are read by an index-only scan (its covering index), which needs the
    # pages marked all-visible: a VACUUM, outside a transaction (not in the tests').
    vacuum = {SpokeDay._meta.db_table} if not connection.in_atomic_block else set()
    with connection.cursor() as cursor:
        for label in labels:
            for model in apps.get_app_config(label).get_models():
                if model._meta.managed and not model._meta.proxy:
                    table = model._meta.db_table
                    command = "VACUUM (ANALYZE)" if table in vacuum else "ANALYZE"
                    cursor.execute(f"{command} {connection.ops.quote_name(table)}")
    stream.write(f"  statistics analysed in {time.monotonic() - mark:,.1f} s\n")
