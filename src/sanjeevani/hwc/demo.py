"""The demo centre's starting point: medicines on its shelf, so that a CHO trying the demo
can dispense what a hub doctor prescribes (and see one that is out of stock)."""

from __future__ import annotations

from typing import Any

from sanjeevani.registry.models import Facility

from .models import StockEntry

#: Generic names as prescriptions resolve them, and units on the shelf.
DEMO_STOCK = (
    ("paracetamol", 200),
    ("amlodipine", 60),
    ("metformin", 120),
    ("oral rehydration salts", 50),
    ("albendazole", 20),
    ("ferrous sulphate + folic acid", 100),
)


def seed_centre(centre: Facility, cho: Any) -> None:
    """Opening stock at ``centre`` (once)."""
    if not StockEntry.objects.filter(facility=centre).exists():
        StockEntry.objects.bulk_create(
            StockEntry(
                facility=centre,
                medicine=name,
                kind=StockEntry.Kind.RECEIVED,
                quantity=quantity,
                note="Demo: opening stock",
                recorded_by=cho,
            )
            for name, quantity in DEMO_STOCK
        )
