"""What every kind of row is checked with: the reference data loaded once per file, the
importer's reach, and the column checks shared by facilities, OPDs, links and doctors."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from ..models import POPULATION_MAX, District, Facility, OnlineOPD, Specialty, State
from ..scoping import AdminScope
from .rows import KINDS, RegistryRow, RowError

_WHOLE = re.compile(r"[0-9]{1,12}")
#: What a spreadsheet may put between a population's digit groups: "12,000", "30,01,127"
#: (Indian grouping), "12 000".
_GROUPING = re.compile(r"[,\s_]")
_TRUE = {"yes", "y", "true", "1"}
_FALSE = {"no", "n", "false", "0"}


class CheckerBase:
    """Loads what the rows refer to; collects errors with their line numbers."""

    def __init__(self, rows: list[RegistryRow], scope: AdminScope) -> None:
        self.rows = rows
        self.scope = scope
        self.errors: list[RowError] = []
        self.states = {s.code.upper(): s for s in State.objects.all()}
        self.specialties = {s.code: s for s in Specialty.objects.all()}
        self.languages = {code for code, _name in settings.LANGUAGES}
        self.districts: dict[int, dict[str, District]] = {}
        by_kind: dict[str, list[RegistryRow]] = {kind: [] for kind in KINDS}
        for row in rows:
            kind = row.get("kind").lower()
            if kind in by_kind:
                by_kind[kind].append(row)
            elif not kind:
                self.error(row, _("the kind column is empty; use one of %(kinds)s") % _kinds())
            else:
                self.error(
                    row, _("kind '%(kind)s' is not one of %(kinds)s") % {"kind": kind, **_kinds()}
                )
        self.by_kind = by_kind
        facility_codes = {r.get("code") for r in by_kind["facility"]}
        for row in by_kind["link"]:
            facility_codes.update({row.get("hub"), row.get("spoke")})
        for row in by_kind["doctor"]:
            facility_codes.update(row.items("hubs"))
        self.db_facilities = {
            f.code: f for f in in_chunks(Facility.objects.all(), "code", facility_codes - {""})
        }
        opd_codes = {r.get("code") for r in by_kind["opd"]}
        for row in by_kind["doctor"]:
            opd_codes.update(row.items("opds"))
        self.db_opds = {
            o.code: o for o in in_chunks(OnlineOPD.objects.all(), "code", opd_codes - {""})
        }
        self.file_facilities: dict[str, dict[str, Any]] = {}
        self.file_opds: dict[str, dict[str, Any]] = {}
        self.link_values: list[tuple[RegistryRow, dict[str, Any]]] = []
        #: (hub code, spoke code) -> the line that first named the link (repeats are errors).
        self.link_lines: dict[tuple[str, str], int] = {}
        self.facility_values: list[tuple[RegistryRow, dict[str, Any]]] = []
        self.opd_values: list[tuple[RegistryRow, dict[str, Any]]] = []
        self.doctor_values: list[tuple[RegistryRow, dict[str, Any]]] = []
        #: (district, its population) of each district row, and the line naming each first.
        self.district_values: list[tuple[RegistryRow, dict[str, Any]]] = []
        self.district_lines: dict[int, int] = {}

    def error(self, row: RegistryRow, message: str) -> None:
        self.errors.append(RowError(row.line, message))

    # --- shared checks -------------------------------------------------------------
    def state(self, row: RegistryRow, *, required: bool = True) -> State | None:
        code = row.get("state").upper()
        if not code:
            if required:
                self.error(row, _("the state column is empty; give a state code such as KA"))
            return None
        state = self.states.get(code)
        if state is None:
            self.error(
                row,
                _("state code '%(code)s' is not a known state or union territory")
                % {"code": row.get("state")},
            )
            return None
        if not self.scope.national and state.pk != self.scope.state_id:
            self.error(
                row,
                _("state '%(code)s' is outside your posting; you can import only your own state")
                % {"code": state.code},
            )
            return None
        return state

    def required(self, row: RegistryRow, column: str, max_length: int) -> str | None:
        value = row.get(column)
        if not value:
            self.error(row, _("the %(column)s column is empty") % {"column": column})
            return None
        if len(value) > max_length:
            self.error(
                row,
                _("%(column)s is longer than %(max)d characters")
                % {"column": column, "max": max_length},
            )
            return None
        return value

    def flag(self, row: RegistryRow, column: str, default: bool) -> bool:
        value = row.get(column).lower()
        if not value:
            return default
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        self.error(
            row, _("%(column)s '%(value)s' must be yes or no") % {"column": column, "value": value}
        )
        return default

    def number(self, row: RegistryRow, column: str, default: int, low: int, high: int) -> int:
        value = row.get(column)
        if not value:
            return default
        # ASCII digits only, and not too many: "²" is a digit to ``isdigit`` but not to
        # ``int``, and ``int`` refuses a number of thousands of digits.
        if _WHOLE.fullmatch(value) and low <= int(value) <= high:
            return int(value)
        self.error(
            row,
            _("%(column)s '%(value)s' must be a whole number from %(low)d to %(high)d")
            % {"column": column, "value": value, "low": low, "high": high},
        )
        return default

    def population(self, row: RegistryRow, column: str) -> int | None:
        """A population cell: None when empty (not given), else a whole number of people
        from 1 to ``POPULATION_MAX``, digit groups allowed ("12,000", "30,01,127")."""
        value = row.get(column)
        if not value:
            return None
        digits = _GROUPING.sub("", value)
        if _WHOLE.fullmatch(digits) and 1 <= int(digits) <= POPULATION_MAX:
            return int(digits)
        self.error(
            row,
            _(
                "%(column)s '%(value)s' must be a whole number of people from 1 to "
                "%(max)s, for example 12000 or 12,000"
            )
            % {"column": column, "value": value, "max": f"{POPULATION_MAX:,}"},
        )
        return None

    def specialty_list(self, row: RegistryRow, column: str) -> list[Specialty]:
        found = []
        for code in row.items(column):
            specialty = self.specialties.get(code.lower())
            if specialty is None:
                self.error(
                    row,
                    _(
                        "specialty '%(code)s' is not known; use a code from "
                        "/api/v1/registry/specialties/ such as general-medicine"
                    )
                    % {"code": code},
                )
            else:
                found.append(specialty)
        return found

    def language_list(self, row: RegistryRow) -> list[str]:
        codes = [code.lower() for code in row.items("languages")]
        for code in codes:
            if code not in self.languages:
                self.error(
                    row,
                    _("language '%(code)s' is not one of %(known)s")
                    % {"code": code, "known": ", ".join(sorted(self.languages))},
                )
        return list(dict.fromkeys(codes))

    def existing_in_scope(self, row: RegistryRow, what: str, obj: Any, state_id: Any) -> bool:
        if self.scope.national or state_id == self.scope.state_id:
            return True
        self.error(
            row,
            _("%(what)s '%(code)s' already exists outside your state; you cannot change it")
            % {"what": what, "code": obj},
        )
        return False

    def facility_facts(self, code: str) -> tuple[bool, bool, Any] | None:
        """(is_hub, is_spoke, state id) of a facility in the file or the registry."""
        if code in self.file_facilities:
            values = self.file_facilities[code]
            state = values["state"]
            return values["is_hub"], values["is_spoke"], state.pk if state else None
        facility = self.db_facilities.get(code)
        if facility is not None:
            return facility.is_hub, facility.is_spoke, facility.state_id
        return None


def in_chunks(queryset: QuerySet, field: str, values: Iterable[Any], size: int = 5_000) -> Iterator:
    """The rows whose ``field`` is one of ``values``, asked in chunks: a national file names
    over a hundred thousand codes, beyond what one ``IN (...)`` may hold on SQLite."""
    values = list(values)
    for start in range(0, len(values), size):
        yield from queryset.filter(**{f"{field}__in": values[start : start + size]})


def _kinds() -> dict[str, str]:
    return {"kinds": ", ".join(KINDS)}
