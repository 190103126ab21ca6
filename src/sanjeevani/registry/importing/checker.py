"""The whole file's check: every kind of row, in the order they depend on each other."""

from __future__ import annotations

from .doctors import DoctorChecks
from .places import PlaceChecks
from .rows import RowError


class Checker(PlaceChecks, DoctorChecks):
    """Validates the rows against the database and each other; holds what the writer needs."""

    def run(self) -> list[RowError]:
        for row in self.by_kind["district"]:
            self.check_district(row)
        for row in self.by_kind["facility"]:
            self.check_facility(row)
        for row in self.by_kind["opd"]:
            self.check_opd(row)
        for row in self.by_kind["link"]:
            self.check_link(row)
        self.check_doctors(self.by_kind["doctor"])
        self.errors.sort(key=lambda e: e.line)
        return self.errors
