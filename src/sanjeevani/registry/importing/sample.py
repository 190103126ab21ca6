"""A registry file of national size, made up (the same plan as ``seed_national``): every
hub and spoke of the country as facility rows, then each spoke's one or two links to hubs
of its district (the counts of ``seed_national``'s plan).
For measuring the import (``bench/registry_file.py``) and for tests."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
HEADER = ("kind", "code", "name", "state", "district", "level", "roles", "hub", "spoke",
          "specialties", "priority")  # fmt: skip
HUB_SPECIALTIES = ("general-medicine", "general-medicine;obg", "general-medicine;paediatrics",
                   "general-medicine;dermatology;ent")  # fmt: skip


def _reference_districts() -> dict[str, list[str]]:
    """Real district names by state (``registry/data/districts.csv``); states without them
    get facilities with an empty district column, which the import accepts."""
    by_state: dict[str, list[str]] = {}
    with (DATA / "districts.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_state.setdefault(row["state"], []).append(row["name"])
    return by_state


def registry_rows(
    spokes: dict[str, int], hubs_per_state: dict[str, int], *, seed: int = 1, prefix: str = "RF"
) -> Iterator[tuple]:
    """The file's data rows for these many spokes and hubs per state code: all facilities
    first, then all links (the national counts: ``dashboard.seeding.country.plan_country``,
    passed in by the caller since the registry sits below the dashboard)."""
    rng = random.Random(seed)
    names = _reference_districts()
    links: list[tuple] = []
    for code in spokes:
        districts = names.get(code) or [""]
        district_hubs: dict[str, list[str]] = {}
        hubs: list[str] = []
        for number in range(1, hubs_per_state[code] + 1):
            district = districts[(number - 1) % len(districts)]
            hub = f"{prefix}-{code}-H{number:05d}"
            level = rng.choice(("phc", "phc", "chc", "dh"))
            yield ("facility", hub, f"{code} hub {number}", code, district, level, "hub",
                   "", "", "", "")  # fmt: skip
            district_hubs.setdefault(district, []).append(hub)
            hubs.append(hub)
        for number in range(1, spokes[code] + 1):
            district = districts[(number - 1) % len(districts)]
            spoke = f"{prefix}-{code}-S{number:06d}"
            level = "sc" if rng.random() < 0.85 else "phc"
            yield ("facility", spoke, f"{code} health centre {number}", code, district, level,
                   "spoke", "", "", "", "")  # fmt: skip
            near = district_hubs.get(district) or hubs
            chosen = [near[number % len(near)]]
            if len(near) > 1 and rng.random() < 0.5:
                chosen.append(near[(number + 1) % len(near)])
            for priority, hub in enumerate(chosen, start=1):
                specialties = HUB_SPECIALTIES[int(hub.rsplit("H", 1)[1]) % len(HUB_SPECIALTIES)]
                links.append(("link", "", "", "", "", "", "", hub, spoke, specialties,
                              str(priority)))  # fmt: skip
    yield from links


def registry_csv(
    spokes: dict[str, int], hubs_per_state: dict[str, int], *, seed: int = 1, prefix: str = "RF"
) -> str:
    """The whole file as text (a national one is about 20 MB)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(registry_rows(spokes, hubs_per_state, seed=seed, prefix=prefix))
    return buffer.getvalue()
