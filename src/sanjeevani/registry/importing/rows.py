"""The file: its columns, its rows with their line numbers, and what an import reports.

The format is documented in ``docs/registry-import.md``.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

KINDS = ("facility", "link", "opd", "doctor", "district")
COLUMNS = (
    "kind",
    "code",
    "name",
    "state",
    "district",
    "level",
    "roles",
    "active",
    "hub",
    "spoke",
    "specialties",
    "priority",
    "specialty",
    "languages",
    "capacity",
    "minutes",
    "schedule",
    "registration_number",
    "council",
    "qualification",
    "contact_phone",
    "contact_email",
    "sex",
    "mobile",
    "email",
    "username",
    "opds",
    "hubs",
    "population",
    "catchment_population",
)
#: Rows an upload through the administration may hold (a request must end in seconds).
MAX_ROWS = 20_000
#: Rows ``manage.py import_registry`` takes in one run: the national registry (115,234
#: spokes, 15,731 hubs and their links) with room to spare.
MAX_COMMAND_ROWS = 1_000_000
_KIND_LABELS = {
    "districts": gettext_lazy("districts"),
    "facilities": gettext_lazy("facilities"),
    "OPDs": gettext_lazy("OPDs"),
    "links": gettext_lazy("links"),
    "doctors": gettext_lazy("doctors"),
}


@dataclass(frozen=True)
class RegistryRow:
    """One data row of the file; ``line`` is its line number in the file (the header is 1)."""

    line: int
    data: Mapping[str, str]

    def get(self, column: str) -> str:
        return (self.data.get(column) or "").strip()

    def items(self, column: str) -> list[str]:
        return [part.strip() for part in re.split(r"[;|]", self.get(column)) if part.strip()]


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        if self.line:
            return _("line %(line)d: %(message)s") % {"line": self.line, "message": self.message}
        return self.message


@dataclass
class ImportResult:
    errors: list[RowError] = field(default_factory=list)
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    doctors_without_password: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        """One sentence a person reads after an import (or a check) that went through."""
        parts = []
        for key, label in _KIND_LABELS.items():
            if self.created[key]:
                parts.append(
                    _("%(count)d %(kind)s created") % {"count": self.created[key], "kind": label}
                )
            if self.updated[key]:
                parts.append(
                    _("%(count)d %(kind)s updated") % {"count": self.updated[key], "kind": label}
                )
        text = ", ".join(parts) or _("nothing to change")
        if self.dry_run:
            return _("The file is valid (nothing written): %(text)s.") % {"text": text}
        return _("Imported: %(text)s.") % {"text": text}


def read_registry_csv(
    source: str | bytes | IO[Any], *, max_rows: int = MAX_ROWS
) -> tuple[list[RegistryRow], list[RowError]]:
    """Rows of the file with their line numbers, or errors about the file as a whole."""
    if hasattr(source, "read"):
        source = source.read()
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8-sig")
        except UnicodeDecodeError:
            return [], [RowError(0, _("the file is not UTF-8 text; save the sheet as 'CSV UTF-8'"))]
    source = source.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(source))
    header: list[str] | None = None
    rows: list[RegistryRow] = []
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells) or cells[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in cells]
                unknown = [name for name in header if name not in COLUMNS]
                if unknown or "kind" not in header:
                    return [], [
                        RowError(
                            reader.line_num,
                            _("the header must name the column 'kind' and only known columns")
                            + (
                                _(" (unknown: %(unknown)s)") % {"unknown": ", ".join(unknown)}
                                if unknown
                                else ""
                            )
                            + _("; the columns are: %(columns)s") % {"columns": ", ".join(COLUMNS)},
                        )
                    ]
                continue
            if len(cells) > len(header):
                return [], [
                    RowError(
                        reader.line_num,
                        _("this row has %(cells)d cells but the header names %(columns)d columns")
                        % {"cells": len(cells), "columns": len(header)},
                    )
                ]
            rows.append(RegistryRow(reader.line_num, dict(zip(header, cells, strict=False))))
            if len(rows) > max_rows:
                return [], [
                    RowError(
                        0, _("the file has more than %(max)d rows; split it") % {"max": max_rows}
                    )
                ]
    except csv.Error as exc:
        return [], [RowError(reader.line_num, _("not a CSV file: %(error)s") % {"error": exc})]
    if header is None or not rows:
        return [], [RowError(0, _("the file holds no rows; see docs/registry-import.md"))]
    return rows, []
