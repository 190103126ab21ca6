"""State changes of the registry. Today: bulk onboarding from one CSV file.

The file format is documented in ``docs/registry-import.md``. Every row is checked before
anything is written; a file with any bad row writes nothing and reports each bad row by
its line number, so a state team can fix the sheet and load it again.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

import phonenumbers
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower, Upper
from django.http import HttpRequest
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sanjeevani.accounts.models import Role
from sanjeevani.audit.services import record_event

from .models import (
    District,
    DoctorProfile,
    Facility,
    HubSpokeLink,
    OnlineOPD,
    OpeningWindow,
    Specialty,
    State,
)
from .schedule import ScheduleError, parse_schedule
from .scoping import AdminScope, scope_of

KINDS = ("facility", "link", "opd", "doctor")
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
)
MAX_ROWS = 20_000
_KIND_LABELS = {
    "facilities": gettext_lazy("facilities"),
    "OPDs": gettext_lazy("OPDs"),
    "links": gettext_lazy("links"),
    "doctors": gettext_lazy("doctors"),
}
_TRUE = {"yes", "y", "true", "1"}
_FALSE = {"no", "n", "false", "0"}
_SEX = {"f": "F", "female": "F", "m": "M", "male": "M", "o": "O", "other": "O"}
_SLUG = re.compile(r"^[-a-z0-9_]+$")


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


class _Checker:
    """Validates the rows against the database and each other; holds what the writer needs."""

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
            f.code: f for f in Facility.objects.filter(code__in=facility_codes - {""})
        }
        opd_codes = {r.get("code") for r in by_kind["opd"]}
        for row in by_kind["doctor"]:
            opd_codes.update(row.items("opds"))
        self.db_opds = {o.code: o for o in OnlineOPD.objects.filter(code__in=opd_codes - {""})}
        self.file_facilities: dict[str, dict[str, Any]] = {}
        self.file_opds: dict[str, dict[str, Any]] = {}
        self.link_values: list[tuple[RegistryRow, dict[str, Any]]] = []
        self.facility_values: list[tuple[RegistryRow, dict[str, Any]]] = []
        self.opd_values: list[tuple[RegistryRow, dict[str, Any]]] = []
        self.doctor_values: list[tuple[RegistryRow, dict[str, Any]]] = []

    def error(self, row: RegistryRow, message: str) -> None:
        self.errors.append(RowError(row.line, message))

    def run(self) -> list[RowError]:
        for row in self.by_kind["facility"]:
            self.check_facility(row)
        for row in self.by_kind["opd"]:
            self.check_opd(row)
        for row in self.by_kind["link"]:
            self.check_link(row)
        self.check_doctors(self.by_kind["doctor"])
        self.errors.sort(key=lambda e: e.line)
        return self.errors

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
        if value.isdigit() and low <= int(value) <= high:
            return int(value)
        self.error(
            row,
            _("%(column)s '%(value)s' must be a whole number from %(low)d to %(high)d")
            % {"column": column, "value": value, "low": low, "high": high},
        )
        return default

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

    # --- facility ------------------------------------------------------------------
    def check_facility(self, row: RegistryRow) -> None:
        code = self.required(row, "code", 40)
        name = self.required(row, "name", 200)
        state = self.state(row)
        level = self.level(row)
        roles = self.roles(row)
        active = self.flag(row, "active", True)
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
        }
        self.file_facilities[code] = values
        self.facility_values.append((row, {"code": code, **values}))

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
        for earlier, values in self.link_values:
            if (values["hub"], values["spoke"]) == (hub_code, spoke_code):
                self.error(
                    row,
                    _("the link %(hub)s → %(spoke)s appears again (first on line %(line)d)")
                    % {"hub": hub_code, "spoke": spoke_code, "line": earlier.line},
                )
                ok = False
        if ok:
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

    # --- doctor --------------------------------------------------------------------
    def check_doctors(self, rows: list[RegistryRow]) -> None:
        keys = {(r.get("registration_number").upper(), r.get("council").lower()) for r in rows}
        numbers = {number for number, _council in keys if number}
        existing = {
            (d.registration_number.upper(), d.council.lower()): d
            for d in DoctorProfile.objects.annotate(number=Upper("registration_number"))
            .filter(number__in=numbers)
            .select_related("user")
        }
        first_seen: dict[tuple[str, str], int] = {}
        usernames: dict[str, int] = {}
        user_model = get_user_model()
        wanted = {
            (r.get("username") or "dr-" + slugify(r.get("registration_number"))).lower()
            for r in rows
        }
        taken = set(
            user_model.objects.annotate(lower=Lower("username"))
            .filter(lower__in=wanted)
            .values_list("lower", flat=True)
        )
        for row in rows:
            number = self.required(row, "registration_number", 40)
            council = self.required(row, "council", 120)
            key = ((number or "").upper(), (council or "").lower())
            doctor = existing.get(key)
            name = row.get("name")
            if doctor is None and not name:
                self.error(row, _("the name column is empty"))
            qualification = row.get("qualification")
            if doctor is None and not qualification:
                self.error(row, _("the qualification column is empty, e.g. MBBS, MD (Paediatrics)"))
            if number and council:
                if key in first_seen:
                    self.error(
                        row,
                        _(
                            "registration number %(number)s (%(council)s) appears again "
                            "(first on line %(line)d)"
                        )
                        % {"number": number, "council": council, "line": first_seen[key]},
                    )
                first_seen.setdefault(key, row.line)
            state = self.state(row, required=not self.scope.national)
            if doctor is not None and not self.scope.national:
                in_scope = (
                    doctor.state_id == self.scope.state_id
                    or doctor.opds.filter(state_id=self.scope.state_id).exists()
                    or doctor.hubs.filter(state_id=self.scope.state_id).exists()
                )
                if not in_scope:
                    self.existing_in_scope(row, _("doctor"), number, doctor.state_id)
            sex = ""
            if row.get("sex"):
                sex = _SEX.get(row.get("sex").lower(), "")
                if not sex:
                    self.error(row, _("sex '%(sex)s' must be F, M or O") % {"sex": row.get("sex")})
            mobile = self.mobile(row)
            email = row.get("email")
            if email:
                try:
                    validate_email(email)
                except ValidationError:
                    self.error(row, _("'%(email)s' is not an e-mail address") % {"email": email})
            username = ""
            if doctor is None and number:
                username = row.get("username") or "dr-" + slugify(f"{number}")
                if username in usernames:
                    self.error(
                        row,
                        _("username '%(username)s' appears again (first on line %(line)d)")
                        % {"username": username, "line": usernames[username]},
                    )
                usernames.setdefault(username, row.line)
                try:
                    user_model.username_validator(username)
                except ValidationError:
                    self.error(
                        row,
                        _("username '%(username)s' may hold only letters, digits and @ . + - _")
                        % {"username": username},
                    )
                if username.lower() in taken:
                    self.error(
                        row,
                        _("username '%(username)s' is taken; give another in the username column")
                        % {"username": username},
                    )
            opds = []
            for code in row.items("opds"):
                if code in self.file_opds:
                    opd_state = self.file_opds[code]["state"]
                    opds.append(code)
                    opd_state_id = opd_state.pk if opd_state else None
                elif code in self.db_opds:
                    opds.append(code)
                    opd_state_id = self.db_opds[code].state_id
                else:
                    self.error(row, _("OPD '%(code)s' is not a known OPD code") % {"code": code})
                    continue
                if not self.scope.national and opd_state_id != self.scope.state_id:
                    self.error(row, _("OPD '%(code)s' is outside your state") % {"code": code})
            hubs = []
            for code in row.items("hubs"):
                facts = self.facility_facts(code)
                if facts is None:
                    self.error(
                        row, _("hub '%(code)s' is not a known facility code") % {"code": code}
                    )
                elif not facts[0]:
                    self.error(row, _("facility '%(code)s' does not act as a hub") % {"code": code})
                elif not self.scope.national and facts[2] != self.scope.state_id:
                    self.error(row, _("hub '%(code)s' is outside your state") % {"code": code})
                else:
                    hubs.append(code)
            self.doctor_values.append(
                (
                    row,
                    {
                        "existing": doctor,
                        "registration_number": number,
                        "council": council,
                        "name": name,
                        "qualification": qualification,
                        "contact_phone": (row.get("contact_phone") or "")[:20],
                        "contact_email": (row.get("contact_email") or "")[:254],
                        "specialties": self.specialty_list(row, "specialties"),
                        "languages": self.language_list(row),
                        "sex": sex,
                        "state": state,
                        "mobile": mobile,
                        "email": email,
                        "username": username,
                        "opds": opds,
                        "hubs": hubs,
                    },
                )
            )

    def mobile(self, row: RegistryRow) -> str:
        value = row.get("mobile")
        if not value:
            return ""
        try:
            number = phonenumbers.parse(value, "IN")
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            self.error(
                row,
                _("mobile '%(mobile)s' is not a valid Indian mobile number") % {"mobile": value},
            )
            return ""
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _kinds() -> dict[str, str]:
    return {"kinds": ", ".join(KINDS)}


def _levels() -> dict[str, str]:
    return {"levels": ", ".join(Facility.Level.values)}


def read_registry_csv(source: str | bytes | IO[Any]) -> tuple[list[RegistryRow], list[RowError]]:
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
            if len(rows) > MAX_ROWS:
                return [], [
                    RowError(
                        0, _("the file has more than %(max)d rows; split it") % {"max": MAX_ROWS}
                    )
                ]
    except csv.Error as exc:
        return [], [RowError(reader.line_num, _("not a CSV file: %(error)s") % {"error": exc})]
    if header is None or not rows:
        return [], [RowError(0, _("the file holds no rows; see docs/registry-import.md"))]
    return rows, []


def import_registry_csv(
    source: str | bytes | IO[Any],
    actor: Any,
    *,
    dry_run: bool = False,
    request: HttpRequest | None = None,
) -> ImportResult:
    """Read a CSV file and import it (see :func:`import_registry_rows`)."""
    _require_importer(actor)
    rows, errors = read_registry_csv(source)
    if errors:
        return ImportResult(errors=errors, dry_run=dry_run)
    return import_registry_rows(rows, actor, dry_run=dry_run, request=request)


def import_registry_rows(
    rows: Iterable[RegistryRow | Mapping[str, str]],
    actor: Any,
    *,
    dry_run: bool = False,
    request: HttpRequest | None = None,
) -> ImportResult:
    """Check every row, then create or update facilities, OPDs, links and doctors at once.

    A row whose code (facility, OPD) or registration number and council (doctor) exists
    updates that record. With any bad row nothing is written and each error is returned.
    Plain mappings are numbered as if read from a file with a header on line 1.
    """
    scope = _require_importer(actor)
    numbered = [
        row if isinstance(row, RegistryRow) else RegistryRow(index + 2, row)
        for index, row in enumerate(rows)
    ]
    result = ImportResult(dry_run=dry_run)
    try:
        with transaction.atomic():
            checker = _Checker(numbered, scope)
            result.errors = checker.run()
            if result.errors:
                return result
            if dry_run:
                _count_planned(checker, result)
                return result
            _write(checker, result)
            record_event(
                actor,
                "registry.import",
                request=request,
                detail={
                    "via": "admin" if request is not None else "command",
                    "rows": len(numbered),
                    "created": dict(result.created),
                    "updated": dict(result.updated),
                    "doctors_without_password": result.doctors_without_password,
                },
            )
    except IntegrityError:
        return ImportResult(
            errors=[
                RowError(
                    0,
                    _(
                        "the registry changed while this file was loading; nothing was written, "
                        "load it again"
                    ),
                )
            ],
            dry_run=dry_run,
        )
    return result


def _require_importer(actor: Any) -> AdminScope:
    """The importer's reach; ``None`` is the operator running ``manage.py`` (national)."""
    if actor is None:
        return AdminScope(national=True)
    scope = scope_of(actor)
    if scope.national or (scope.is_state_wide and actor.role == Role.STATE_ADMIN):
        return scope
    raise PermissionDenied(_("Only national and state administrators can import the registry."))


def _count_planned(checker: _Checker, result: ImportResult) -> None:
    for kind, values, exists in (
        ("facilities", checker.facility_values, lambda v: v["code"] in checker.db_facilities),
        ("OPDs", checker.opd_values, lambda v: v["code"] in checker.db_opds),
        (
            "links",
            checker.link_values,
            lambda v: HubSpokeLink.objects.filter(
                hub__code=v["hub"], spoke__code=v["spoke"]
            ).exists(),
        ),
        ("doctors", checker.doctor_values, lambda v: v["existing"] is not None),
    ):
        for _row, value in values:
            (result.updated if exists(value) else result.created)[kind] += 1


def _write(checker: _Checker, result: ImportResult) -> None:
    facilities: dict[str, Facility] = dict(checker.db_facilities)
    for _row, values in checker.facility_values:
        code = values["code"]
        fields = {k: values[k] for k in ("name", "state", "district", "level", "is_hub")}
        fields.update(is_spoke=values["is_spoke"], active=values["active"])
        facility, created = Facility.objects.update_or_create(code=code, defaults=fields)
        facilities[code] = facility
        (result.created if created else result.updated)["facilities"] += 1

    opds: dict[str, OnlineOPD] = dict(checker.db_opds)
    for _row, values in checker.opd_values:
        fields = {
            k: values[k]
            for k in (
                "name",
                "scope",
                "state",
                "specialty",
                "languages",
                "daily_capacity",
                "consultation_minutes",
                "active",
            )
        }
        opd, created = OnlineOPD.objects.update_or_create(code=values["code"], defaults=fields)
        if values["windows"] is not None:
            opd.opening_windows.all().delete()
            OpeningWindow.objects.bulk_create(
                OpeningWindow(
                    opd=opd, weekday=w.weekday, start_minute=w.start_minute, end_minute=w.end_minute
                )
                for w in values["windows"]
            )
        opds[values["code"]] = opd
        (result.created if created else result.updated)["OPDs"] += 1

    for _row, values in checker.link_values:
        link, created = HubSpokeLink.objects.update_or_create(
            hub=facilities[values["hub"]],
            spoke=facilities[values["spoke"]],
            defaults={"priority": values["priority"], "active": values["active"]},
        )
        link.specialties.set(values["specialties"])
        (result.created if created else result.updated)["links"] += 1

    user_model = get_user_model()
    for _row, values in checker.doctor_values:
        doctor = values["existing"]
        if doctor is None:
            first, _sep, last = values["name"].rpartition(" ")
            user = user_model(
                username=values["username"],
                first_name=(first or last)[:150],
                last_name=(last if first else "")[:150],
                email=values["email"],
                mobile=values["mobile"],
                role=Role.DOCTOR,
            )
            user.set_unusable_password()
            user.save()
            doctor = DoctorProfile(user=user)
            result.doctors_without_password.append(user.username)
            result.created["doctors"] += 1
        else:
            user = doctor.user
            if values["email"]:
                user.email = values["email"]
            if values["mobile"]:
                user.mobile = values["mobile"]
            user.save(update_fields=["email", "mobile"])
            result.updated["doctors"] += 1
        doctor.registration_number = values["registration_number"]
        doctor.council = values["council"]
        if values["qualification"]:
            doctor.qualification = values["qualification"]
        if values.get("contact_phone"):
            doctor.contact_phone = values["contact_phone"]
        if values.get("contact_email"):
            doctor.contact_email = values["contact_email"]
        if values["languages"]:
            doctor.languages = values["languages"]
        if values["sex"]:
            doctor.sex = values["sex"]
        if values["state"] is not None:
            doctor.state = values["state"]
        doctor.save()
        if values["specialties"]:
            doctor.specialties.set(values["specialties"])
        doctor.opds.add(*(opds[code] for code in values["opds"]))
        doctor.hubs.add(*(facilities[code] for code in values["hubs"]))
