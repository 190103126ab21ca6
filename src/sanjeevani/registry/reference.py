"""Reference data every database carries: states and union territories, districts, specialties.

The rows live in ``data/*.csv`` (sources in ``data/README.md``); the data migration and the
``load_reference_data`` command both call :func:`load_reference_data`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps as current_apps

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class ReferenceCounts:
    states: int
    districts: int
    specialties: int


def read_data_file(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as handle:
        return [
            {key: (value or "").strip() for key, value in row.items()}
            for row in csv.DictReader(handle)
            if any((value or "").strip() for value in row.values())
        ]


def load_reference_data(apps: Any = None) -> ReferenceCounts:
    """Upsert the data files; ``apps`` is the migration's app registry (None: current models)."""
    if apps is None:
        apps = current_apps
    state_model = apps.get_model("registry", "State")
    district_model = apps.get_model("registry", "District")
    specialty_model = apps.get_model("registry", "Specialty")

    states = {}
    for row in read_data_file("states.csv"):
        state, _created = state_model.objects.update_or_create(
            code=row["code"], defaults={"name": row["name"], "kind": row["kind"]}
        )
        states[state.code] = state
    district_count = 0
    for row in read_data_file("districts.csv"):
        district_model.objects.get_or_create(state=states[row["state"]], name=row["name"])
        district_count += 1
    for row in read_data_file("specialties.csv"):
        specialty_model.objects.update_or_create(code=row["code"], defaults={"name": row["name"]})
    return ReferenceCounts(
        states=len(states), districts=district_count, specialties=specialty_model.objects.count()
    )
