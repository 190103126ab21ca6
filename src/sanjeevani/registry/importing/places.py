"""Checks of the district, facility, link and OPD rows."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from ..models import District, Facility, OnlineOPD, State
from ..schedule import ScheduleError, parse_schedule
from .base import CheckerBase
from .rows import RegistryRow

_SLUG = re.compile(r"^[-a-z0-9_]+$")


class PlaceChecks(CheckerBase):
    # --- facility ------------------------------------------------------------------
    def check_facility(self, row: RegistryRow) -> None:
        code = self.required(row, "code", 40)
        name = self.required(row, "name", 200)
        state = self.state(row)
        level = self.level(row)
        roles = self.roles(row)
        active = self.flag(row, "active", True)
        catchment = self.catchment(row, roles)
        district = None
        if state is not None and row.get("district"):
            district = self.district(state, row.get("district"))
            if district is None:
                self.error(
                    row,
                    _("district '%(district)s' is not a district of %(state)s")
                    % {"district": row.get("district"), "state": state.name},
                )
        if code is None:
            return
        if code in self.file_facilities:
            self.error(
                row,
                _("facility code '%(code)s' appears again (first on line %(line)d)")
                % {"code": code, "line": self.file_facilities[code]["line"]},
            )
            return
        existing = self.db_facilities.get(code)
        if existing is not None:
            self.existing_in_scope(row, _("facility"), code, existing.state_id)
        values = {
            "line": row.line,
            "name": name,
            "state": state,
            "district": district,
            "level": level,
            "is_hub": roles is not None and "hub" in roles,
            "is_spoke": roles is not None and "spoke" in roles,
            "active": active,
            "catchment_population": catchment,
        }
        self.file_facilities[code] = values
        self.facility_values.append((row, {"code": code, **values}))

    def catchment(self, row: RegistryRow, roles: set[str] | None) -> int | None:
        """The spoke's catchment population, when given (empty keeps the registry's figure)."""
        if row.get("population"):
            self.error(
                row,
                _(
                    "the population column is for district rows; a spoke's people go in "
                    "catchment_population"
                ),
            )
        catchment = self.population(row, "catchment_population")
        if catchment is not None and roles is not None and "spoke" not in roles:
            self.error(
                row,
                _(
                    "catchment_population is kept for spokes only, and this facility's roles "
                    "are '%(roles)s'; leave it empty or add spoke to the roles"
                )
                % {"roles": row.get("roles")},
            )
            return None
        return catchment

    # --- district --------------------------------------------------------------------
    def check_district(self, row: RegistryRow) -> None:
        """A district row sets an existing district's population (districts themselves are
        reference data: ``registry/data/districts.csv``)."""
        if not self.scope.national:
            self.error(
                row,
                _(
                    "only a national administrator can set a district's population (districts "
                    "are reference data); leave district rows out of this file"
                ),
            )
            return
        state = self.state(row)
        name = row.get("district")
        if not name:
            self.error(row, _("the district column is empty; name the district, e.g. Mysuru"))
        if row.get("catchment_population"):
            self.error(
                row,
                _(
                    "catchment_population is for spokes (facility rows); a district's people "
                    "go in population"
                ),
            )
        population = self.population(row, "population")
        if population is None and not row.get("population"):
            self.error(row, _("the population column is empty; a district row sets its population"))
        if state is None or not name:
            return
        district = self.district(state, name)
        if district is None:
            self.error(
                row,
                _(
                    "district '%(district)s' is not a district of %(state)s; see "
                    "/api/v1/registry/states/%(code)s/districts/"
                )
                % {"district": name, "state": state.name, "code": state.code},
            )
            return
        earlier = self.district_lines.get(district.pk)
        if earlier is not None:
            self.error(
                row,
                _("district '%(district)s' appears again (first on line %(line)d)")
                % {"district": district.name, "line": earlier},
            )
            return
        self.district_lines[district.pk] = row.line
        if population is not None:
            self.district_values.append((row, {"district": district, "population": population}))

    def district(self, state: State, name: str) -> District | None:
        if state.pk not in self.districts:
            self.districts[state.pk] = {
                d.name.lower(): d for d in District.objects.filter(state=state)
            }
        return self.districts[state.pk].get(name.lower())

    def level(self, row: RegistryRow) -> str | None:
        value = row.get("level").lower()
        for choice, label in Facility.Level.choices:
            if value in {choice, str(label).lower()}:
                return choice
        if not value:
            self.error(row, _("the level column is empty; use one of %(levels)s") % _levels())
        else:
            self.error(
                row,
                _("level '%(level)s' is not one of %(levels)s")
                % {"level": row.get("level"), **_levels()},
            )
        return None

    def roles(self, row: RegistryRow) -> set[str] | None:
        value = row.get("roles").lower().replace("+", ";").replace(",", ";")
        roles = {part.strip() for part in value.split(";") if part.strip()}
        if value == "both":
            roles = {"hub", "spoke"}
        if roles and roles <= {"hub", "spoke"}:
            return roles
        self.error(
            row,
            _("roles '%(roles)s' must be hub, spoke, or hub;spoke") % {"roles": row.get("roles")},
        )
        return None

    # --- link ----------------------------------------------------------------------
    def check_link(self, row: RegistryRow) -> None:
        hub_code, spoke_code = row.get("hub"), row.get("spoke")
        ok = True
        for column, code, role in (("hub", hub_code, "hub"), ("spoke", spoke_code, "spoke")):
            if not code:
                self.error(row, _("the %(column)s column is empty") % {"column": column})
                ok = False
                continue
            facts = self.facility_facts(code)
            if facts is None:
                self.error(
                    row,
                    _(
                        "%(column)s '%(code)s' is not a known facility code (not in this "
                        "file nor in the registry)"
                    )
                    % {"column": column, "code": code},
                )
                ok = False
                continue
            acts = facts[0] if role == "hub" else facts[1]
            if not acts:
                self.error(
                    row,
                    _("facility '%(code)s' does not act as a %(role)s")
                    % {"code": code, "role": role},
                )
                ok = False
            if not self.scope.national and facts[2] != self.scope.state_id:
                self.error(
                    row,
                    _("facility '%(code)s' is outside your state") % {"code": code},
                )
                ok = False
        if hub_code and hub_code == spoke_code:
            self.error(
                row, _("a facility cannot be linked to itself ('%(code)s')") % {"code": hub_code}
            )
            ok = False
        specialties = self.specialty_list(row, "specialties")
        if not row.items("specialties"):
            self.error(
                row, _("the specialties column is empty; name what the hub covers, e.g. obg;ent")
            )
        priority = self.number(row, "priority", 1, 1, 99)
        earlier = self.link_lines.get((hub_code, spoke_code))
        if earlier is not None:
            self.error(
                row,
                _("the link %(hub)s → %(spoke)s appears again (first on line %(line)d)")
                % {"hub": hub_code, "spoke": spoke_code, "line": earlier},
            )
            ok = False
        if ok:
            self.link_lines[(hub_code, spoke_code)] = row.line
            self.link_values.append(
                (
                    row,
                    {
                        "hub": hub_code,
                        "spoke": spoke_code,
                        "specialties": specialties,
                        "priority": priority,
                        "active": self.flag(row, "active", True),
                    },
                )
            )

    # --- opd -----------------------------------------------------------------------
    def check_opd(self, row: RegistryRow) -> None:
        code = self.required(row, "code", 60)
        name = self.required(row, "name", 200)
        if code is not None and not _SLUG.match(code):
            self.error(
                row,
                _("OPD code '%(code)s' may hold only lower-case letters, digits and hyphens")
                % {"code": code},
            )
            code = None
        national = row.get("state").lower() in {"", "national", "in"}
        if national and not self.scope.national:
            self.error(row, _("only a national administrator can import a national OPD"))
        state = None if national else self.state(row)
        specialty = None
        if row.get("specialty"):
            found = self.specialty_list(row, "specialty")
            specialty = found[0] if found else None
        languages = self.language_list(row)
        capacity = self.number(row, "capacity", 200, 1, 100_000)
        minutes = self.number(row, "minutes", 6, 1, 240)
        active = self.flag(row, "active", True)
        windows = None
        if row.get("schedule"):
            try:
                windows = parse_schedule(row.get("schedule"))
            except ScheduleError as exc:
                self.error(row, _("schedule: %(problem)s") % {"problem": exc})
        if code is None:
            return
        existing = self.db_opds.get(code)
        if windows is None and existing is None and not row.get("schedule"):
            self.error(row, _("a new OPD needs a schedule, e.g. 'Mon-Sat 08:00-14:00'"))
        if code in self.file_opds:
            self.error(
                row,
                _("OPD code '%(code)s' appears again (first on line %(line)d)")
                % {"code": code, "line": self.file_opds[code]["line"]},
            )
            return
        if existing is not None:
            self.existing_in_scope(row, _("OPD"), code, existing.state_id)
        values = {
            "line": row.line,
            "name": name,
            "scope": OnlineOPD.Scope.NATIONAL if national else OnlineOPD.Scope.STATE,
            "state": state,
            "specialty": specialty,
            "languages": languages,
            "daily_capacity": capacity,
            "consultation_minutes": minutes,
            "active": active,
        }
        self.file_opds[code] = values
        self.opd_values.append((row, {"code": code, "windows": windows, **values}))


def _levels() -> dict[str, str]:
    return {"levels": ", ".join(Facility.Level.values)}
