"""Loading the medicine catalogue from the data file shipped with the project."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

CATALOGUE_FILE = Path(__file__).resolve().parent / "data" / "medicines.csv"
VALID_LISTS = {"O", "A", "B", "prohibited"}


def read_catalogue(path: Path = CATALOGUE_FILE) -> list[dict[str, str]]:
    """Every row of the file, checked; a bad row stops the load with its line number."""
    rows = []
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            row = {key: (value or "").strip() for key, value in row.items()}
            if not row.get("generic_name") or row.get("tpg_list") not in VALID_LISTS:
                raise ValueError(f"{path.name} line {line}: needs a generic name and a TPG list")
            rows.append(row)
    return rows


def load_catalogue(medicine_model: Any, path: Path = CATALOGUE_FILE) -> tuple[int, int, int]:
    """Upsert the file into ``medicine_model`` (the real or the migration's historical model).

    Rows missing from the file are deactivated rather than deleted: issued prescriptions
    point at them. Returns (created, updated, deactivated).
    """
    created = updated = 0
    seen = set()
    for row in read_catalogue(path):
        key = (row["generic_name"], row["form"], row["strength"])
        _, was_created = medicine_model.objects.update_or_create(
            generic_name=key[0],
            form=key[1],
            strength=key[2],
            defaults={
                "tpg_list": row["tpg_list"],
                "category": row.get("category", ""),
                "basis": row.get("basis", ""),
                "source": row.get("source", "")[:200],
                "search_name": key[0].casefold(),
                "is_active": True,
            },
        )
        seen.add(key)
        created += was_created
        updated += not was_created
    stale = [
        m.pk
        for m in medicine_model.objects.filter(is_active=True)
        if (m.generic_name, m.form, m.strength) not in seen
    ]
    medicine_model.objects.filter(pk__in=stale).update(is_active=False)
    return created, updated, len(stale)
