"""Medicine-name resolution per item, in microseconds.

Resolves the names of the test table (tests/prescriptions/data/medicine_names.csv: brands,
misspellings, scripts, NDPS substances, safe medicines) and a set of instruction texts, and
prints the time per item: the index build (once per process), a cold pass (each distinct
text resolved for the first time: the figure a new name costs) and a warm pass (the
process cache). The target is under 1 ms per item cold. No database is needed.

    .venv/bin/python bench/medicine_names.py [ROUNDS]
"""

from __future__ import annotations

import csv
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sanjeevani.prescriptions import medicine_names  # noqa: E402

TABLE = ROOT / "tests" / "prescriptions" / "data" / "medicine_names.csv"
INSTRUCTIONS = [
    "after food, twice a day for five days",
    "take with plenty of water; avoid driving if drowsy",
    "morning and evening, empty stomach, continue the whole course",
    "take with alprazolam at night",
]


def per_item_us(func, texts: list[str]) -> float:
    start = time.perf_counter()
    for text in texts:
        func(text)
    return (time.perf_counter() - start) / len(texts) * 1e6


def main(rounds: int = 5) -> None:
    with TABLE.open(newline="", encoding="utf-8") as handle:
        names = [row["name"] for row in csv.DictReader(handle)]
    start = time.perf_counter()
    index = medicine_names.medicine_index()
    build_ms = (time.perf_counter() - start) * 1e3
    sizes = f"{len(index.names)} names, {len(index.generics)} generics"
    print(f"index: {sizes}, built in {build_ms:.0f} ms")

    cold, cold_text, warm = [], [], []
    for round_ in range(rounds):
        medicine_names.resolve.cache_clear()
        medicine_names.hidden_prohibited.cache_clear()
        # Trailing spaces make each text new to the caches without changing its words.
        salted = [name + " " * round_ for name in names]
        texts = [text + " " * i for i, text in enumerate(INSTRUCTIONS * 25)]
        cold.append(per_item_us(medicine_names.resolve, salted))
        cold_text.append(per_item_us(medicine_names.hidden_prohibited, texts))
        warm.append(per_item_us(medicine_names.resolve, salted))
    print(f"names resolved per round: {len(names)}; rounds: {rounds}")
    print(
        f"resolve, new name:          median {statistics.median(cold):7.1f} us/item "
        f"(max {max(cold):.1f})"
    )
    print(
        f"instructions, new text:     median {statistics.median(cold_text):7.1f} us/text "
        f"(max {max(cold_text):.1f})"
    )
    print(f"resolve, cached:            median {statistics.median(warm):7.1f} us/item")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
