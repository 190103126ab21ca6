"""Checks of the doctor rows: identity by registration number and council, the account
to create, and the OPDs and hubs the doctor serves."""

from __future__ import annotations

import phonenumbers
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models.functions import Lower, Upper
from django.utils.text import slugify
from django.utils.translation import gettext as _

from ..models import DoctorProfile
from .base import CheckerBase
from .rows import RegistryRow

_SEX = {"f": "F", "female": "F", "m": "M", "male": "M", "o": "O", "other": "O"}


class DoctorChecks(CheckerBase):
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
