"""Demo data: three states with hubs, spokes, OPDs, doctors, staff and a patient family.

Everything is found or created by a stable code or username, so running it again changes
nothing. Registry rows are written through the models directly (like a data migration):
the demo must load whatever state the registry services are in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from sanjeevani.accounts.checks import DEMO_PASSWORD
from sanjeevani.accounts.models import Role
from sanjeevani.hwc.demo import seed_centre
from sanjeevani.patients.models import Patient
from sanjeevani.prescriptions.doctor_keys import ensure_signing_key
from sanjeevani.registry.models import (
    District,
    DoctorProfile,
    Facility,
    HubSpokeLink,
    OnlineOPD,
    OpeningWindow,
    Posting,
    RosterShift,
    Specialty,
    State,
)

__all__ = ["DEMO_PASSWORD", "DemoRefused", "demo_loaded", "demo_sign_ins", "seed_demo"]
DEMO_PATIENT_MOBILE = "+919876543210"
#: Present once the demo has loaded; ``seed_demo --once`` looks for it.
MARKER_USERNAME = "demo.national"

ALL_DAY = (0, 24 * 60)
EVERY_DAY = range(7)
MON_TO_SAT = range(6)

STATES = [("KA", "Karnataka"), ("TN", "Tamil Nadu"), ("UP", "Uttar Pradesh")]
SPECIALTIES = [
    ("general-medicine", "General Medicine"),
    ("paediatrics", "Paediatrics"),
    ("dermatology", "Dermatology"),
    ("obg", "Obstetrics & Gynaecology"),
    ("psychiatry", "Psychiatry"),
    ("ent", "ENT (Otorhinolaryngology)"),
]

# state code -> (district, [facility code, name, level, is_hub, is_spoke])
FACILITIES: dict[str, tuple[str, list[tuple[str, str, str, bool, bool]]]] = {
    "KA": (
        "Mysuru",
        [
            ("DEMO-KA-MC", "Mysuru Medical College (demo)", "mc", True, False),
            ("DEMO-KA-DH", "District Hospital Mysuru (demo)", "dh", True, True),
            ("DEMO-KA-PHC", "PHC Hunsur (demo)", "phc", True, True),
            ("DEMO-KA-SC1", "AAM Sub-centre Bilikere (demo)", "sc", False, True),
            ("DEMO-KA-SC2", "AAM Sub-centre Gavadagere (demo)", "sc", False, True),
        ],
    ),
    "TN": (
        "Madurai",
        [
            ("DEMO-TN-MC", "Madurai Medical College (demo)", "mc", True, False),
            ("DEMO-TN-DH", "District Hospital Usilampatti (demo)", "dh", True, True),
            ("DEMO-TN-PHC", "PHC Melur (demo)", "phc", True, True),
            ("DEMO-TN-SC1", "HWC Sub-centre Kottampatti (demo)", "sc", False, True),
        ],
    ),
    "UP": (
        "Lucknow",
        [
            ("DEMO-UP-MC", "Lucknow Medical College (demo)", "mc", True, False),
            ("DEMO-UP-DH", "District Hospital Lucknow (demo)", "dh", True, True),
            ("DEMO-UP-PHC", "PHC Malihabad (demo)", "phc", True, True),
            ("DEMO-UP-SC1", "HWC Sub-centre Kakori (demo)", "sc", False, True),
        ],
    ),
}

GENERAL = ["general-medicine"]
PRIMARY = ["general-medicine", "paediatrics", "obg"]
SPECIALIST = ["dermatology", "psychiatry", "ent", "paediatrics", "obg"]

# (spoke suffix, hub suffix, specialties, priority): the tier chain in each state.
LINKS = [
    ("SC1", "PHC", GENERAL, 1),
    ("SC1", "DH", PRIMARY + ["dermatology"], 2),
    ("SC2", "PHC", GENERAL, 1),
    ("SC2", "DH", PRIMARY + ["dermatology"], 2),
    ("PHC", "DH", PRIMARY + ["dermatology", "ent"], 1),
    ("DH", "MC", SPECIALIST, 1),
]

# code, name, scope, state, specialty, languages, weekdays, (start, end) minutes
# fmt: off
OPDS = [
    ("ka-general", "Karnataka General OPD", "state", "KA", None,
     ["kn", "en", "hi"], EVERY_DAY, ALL_DAY),
    ("ka-dermatology", "Karnataka Dermatology OPD", "state", "KA", "dermatology",
     ["kn", "en"], MON_TO_SAT, (480, 840)),
    ("tn-general", "Tamil Nadu General OPD", "state", "TN", None,
     ["ta", "en"], MON_TO_SAT, (540, 1020)),
    ("national-psychiatry", "National Psychiatry OPD", "national", None, "psychiatry",
     ["en", "hi"], EVERY_DAY, ALL_DAY),
]
# fmt: on


@dataclass(frozen=True)
class DemoDoctor:
    username: str
    first_name: str
    last_name: str
    sex: str
    state: str
    registration_number: str
    council: str
    qualification: str
    specialties: tuple[str, ...]
    languages: tuple[str, ...]
    opds: tuple[str, ...]
    hubs: tuple[str, ...]
    # (opd code or facility code, weekdays, (start, end))
    shifts: tuple[tuple[str, Any, tuple[int, int]], ...]


# fmt: off
DOCTORS = [
    DemoDoctor(
        "dr.anita", "Anita", "Rao", "F", "KA", "KMC-DEMO-10001", "Karnataka Medical Council",
        "MBBS, MD (General Medicine)", ("general-medicine",), ("kn", "en", "hi"),
        ("ka-general",), ("DEMO-KA-DH", "DEMO-KA-PHC"),
        (("ka-general", EVERY_DAY, ALL_DAY), ("DEMO-KA-DH", EVERY_DAY, ALL_DAY)),
    ),
    DemoDoctor(
        "dr.suresh", "Suresh", "Gowda", "M", "KA", "KMC-DEMO-10002", "Karnataka Medical Council",
        "MBBS, MD (Dermatology)", ("dermatology",), ("kn", "en"),
        ("ka-dermatology",), ("DEMO-KA-MC",),
        (("ka-dermatology", MON_TO_SAT, (480, 840)), ("DEMO-KA-MC", MON_TO_SAT, (840, 1080))),
    ),
    DemoDoctor(
        "dr.meena", "Meena", "Subramanian", "F", "TN", "TNMC-DEMO-20001",
        "Tamil Nadu Medical Council", "MBBS, DCH", ("general-medicine", "paediatrics"),
        ("ta", "en"), ("tn-general",), ("DEMO-TN-DH",),
        (("tn-general", MON_TO_SAT, (540, 1020)), ("DEMO-TN-DH", EVERY_DAY, ALL_DAY)),
    ),
    DemoDoctor(
        "dr.farhan", "Farhan", "Siddiqui", "M", "UP", "UPMC-DEMO-30001",
        "Uttar Pradesh Medical Council", "MBBS, MD (Psychiatry)", ("psychiatry",),
        ("hi", "en", "ur"),
        ("national-psychiatry",), ("DEMO-UP-MC",),
        (("national-psychiatry", EVERY_DAY, ALL_DAY), ("DEMO-UP-MC", MON_TO_SAT, (600, 960))),
    ),
    DemoDoctor(
        "dr.priya", "Priya", "Verma", "F", "UP", "UPMC-DEMO-30002",
        "Uttar Pradesh Medical Council", "MBBS, MS (Obstetrics & Gynaecology)",
        ("general-medicine", "obg"), ("hi", "en"), (), ("DEMO-UP-DH", "DEMO-UP-PHC"),
        (("DEMO-UP-DH", EVERY_DAY, ALL_DAY),),
    ),
]
# fmt: on

# username, first, last, role, state, facility code or None
STAFF = [
    ("cho.ka", "Kavya", "Hegde", Role.CHO, "KA", "DEMO-KA-SC1"),
    ("cho.tn", "Lakshmi", "Murugan", Role.CHO, "TN", "DEMO-TN-SC1"),
    ("cho.up", "Sunita", "Yadav", Role.CHO, "UP", "DEMO-UP-SC1"),
    ("coord.ka", "Manjunath", "Shetty", Role.HUB_COORDINATOR, "KA", "DEMO-KA-DH"),
    ("admin.ka", "Karnataka", "Administrator", Role.STATE_ADMIN, "KA", None),
    ("admin.tn", "Tamil Nadu", "Administrator", Role.STATE_ADMIN, "TN", None),
    ("admin.up", "Uttar Pradesh", "Administrator", Role.STATE_ADMIN, "UP", None),
    ("operator.ka", "Ramesh", "Naik", Role.OPERATOR, "KA", None),
    (MARKER_USERNAME, "National", "Administrator", Role.NATIONAL_ADMIN, None, None),
]

# name, relation, date of birth, age, sex, preferred language
FAMILY = [
    ("Savitha Kumar", "self", dt.date(1986, 3, 12), None, "F", "kn"),
    ("Ravi Kumar", "spouse", None, 42, "M", "kn"),
    ("Ananya Kumar", "child", dt.date(2016, 7, 1), None, "F", "en"),
]


@dataclass(frozen=True)
class SignIn:
    role: str
    username: str
    password: str
    where: str


class DemoRefused(Exception):
    """The demo must never reach a production deployment: its passwords are published."""


def refuse_in_production() -> None:
    """Raise ``DemoRefused`` when this is a production deployment (``SANJEEVANI_ENV``)."""
    if settings.PRODUCTION:
        raise DemoRefused(
            _(
                "seed_demo refuses to run in production (SANJEEVANI_ENV=production): the demo "
                "accounts' password is published and their administrators have no "
                "authenticator. Load the demo on a trial machine without SANJEEVANI_ENV; on a "
                "real deployment create staff through the admin or import_registry, which "
                "hand out one-time set-password links."
            )
        )


def demo_loaded() -> bool:
    return get_user_model().objects.filter(username=MARKER_USERNAME).exists()


def _staff_user(username: str, first: str, last: str, role: str) -> Any:
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=username,
        defaults={
            "first_name": first,
            "last_name": last,
            "role": role,
            "is_staff": role in {Role.STATE_ADMIN, Role.NATIONAL_ADMIN, Role.HUB_COORDINATOR},
            "is_superuser": role == Role.NATIONAL_ADMIN,
        },
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        # Marked so that `check --deploy` finds it cheaply (accounts/checks.py).
        user.demo_password_set = True
        user.save(update_fields=["password", "demo_password_set"])
    return user


def _windows(opd: OnlineOPD, weekdays: Any, hours: tuple[int, int]) -> None:
    for day in weekdays:
        OpeningWindow.objects.get_or_create(
            opd=opd, weekday=day, start_minute=hours[0], end_minute=hours[1]
        )


@transaction.atomic
def seed_demo() -> list[SignIn]:
    """Create (or find) every demo row; return the sign-ins to print. Never in production."""
    refuse_in_production()
    states = {
        code: State.objects.get_or_create(code=code, defaults={"name": name})[0]
        for code, name in STATES
    }
    specialties = {
        code: Specialty.objects.get_or_create(code=code, defaults={"name": name})[0]
        for code, name in SPECIALTIES
    }

    facilities: dict[str, Facility] = {}
    for state_code, (district_name, rows) in FACILITIES.items():
        district, _ = District.objects.get_or_create(state=states[state_code], name=district_name)
        for code, name, level, is_hub, is_spoke in rows:
            facilities[code], _ = Facility.objects.get_or_create(
                code=code,
                defaults={
                    "name": name,
                    "level": level,
                    "state": states[state_code],
                    "district": district,
                    "is_hub": is_hub,
                    "is_spoke": is_spoke,
                },
            )
        for spoke, hub, codes, priority in LINKS:
            spoke_code, hub_code = f"DEMO-{state_code}-{spoke}", f"DEMO-{state_code}-{hub}"
            if spoke_code not in facilities or hub_code not in facilities:
                continue
            link, created = HubSpokeLink.objects.get_or_create(
                hub=facilities[hub_code],
                spoke=facilities[spoke_code],
                defaults={"priority": priority},
            )
            if created:
                link.specialties.set([specialties[c] for c in codes])

    opds: dict[str, OnlineOPD] = {}
    for code, name, scope, state_code, specialty, languages, weekdays, hours in OPDS:
        opds[code], _ = OnlineOPD.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "scope": scope,
                "state": states[state_code] if state_code else None,
                "specialty": specialties[specialty] if specialty else None,
                "languages": languages,
            },
        )
        _windows(opds[code], weekdays, hours)

    for doc in DOCTORS:
        user = _staff_user(doc.username, doc.first_name, doc.last_name, Role.DOCTOR)
        profile, created = DoctorProfile.objects.get_or_create(
            user=user,
            defaults={
                "registration_number": doc.registration_number,
                "council": doc.council,
                "qualification": doc.qualification,
                "languages": list(doc.languages),
                "sex": doc.sex,
                "state": states[doc.state],
            },
        )
        if not (profile.contact_phone or profile.contact_email):
            # Printed on every prescription; a doctor without one cannot sign.
            profile.contact_email = f"{doc.username}@demo.sanjeevani.example"
            profile.save(update_fields=["contact_email"])
        ensure_signing_key(profile)
        if created:
            profile.specialties.set([specialties[c] for c in doc.specialties])
            profile.opds.set([opds[c] for c in doc.opds])
            profile.hubs.set([facilities[c] for c in doc.hubs])
        for target, weekdays, (start, end) in doc.shifts:
            place = {"opd": opds[target]} if target in opds else {"hub": facilities[target]}
            for day in weekdays:
                RosterShift.objects.get_or_create(
                    doctor=profile, weekday=day, start_minute=start, end_minute=end, **place
                )
        Posting.objects.get_or_create(user=user, defaults={"state": states[doc.state]})

    for username, first, last, role, state_code, facility_code in STAFF:
        user = _staff_user(username, first, last, role)
        state = states[state_code] if state_code else None
        facility = facilities[facility_code] if facility_code else None
        if state is not None:
            Posting.objects.get_or_create(
                user=user, defaults={"state": state, "facility": facility}
            )
        if role == Role.CHO and facility is not None:
            seed_centre(facility, user)

    account, created = get_user_model().objects.get_or_create(
        role=Role.PATIENT,
        mobile=DEMO_PATIENT_MOBILE,
        defaults={"username": DEMO_PATIENT_MOBILE, "first_name": "Savitha", "last_name": "Kumar"},
    )
    if created:
        account.set_unusable_password()
        account.save(update_fields=["password"])
    mysuru = District.objects.get(state=states["KA"], name="Mysuru")
    for name, relation, dob, age, sex, language in FAMILY:
        Patient.objects.get_or_create(
            account=account,
            name=name,
            defaults={
                "relation": relation,
                "date_of_birth": dob,
                "age_years": age,
                "sex": sex,
                "state": states["KA"],
                "district": mysuru,
                "address": "Vijayanagar 2nd Stage, Mysuru",
                "preferred_language": language,
            },
        )
    return demo_sign_ins()


def demo_sign_ins() -> list[SignIn]:
    """Who can sign in to the demo, from the definitions above (no database access)."""
    opd_names = {code: name for code, name, *_ in OPDS}
    facility_names = {code: name for _, (_, rows) in FACILITIES.items() for code, name, *_ in rows}
    state_names = dict(STATES)
    sign_ins = [
        SignIn(
            str(Role.DOCTOR.label),
            doc.username,
            DEMO_PASSWORD,
            ", ".join([opd_names[c] for c in doc.opds] + [facility_names[c] for c in doc.hubs]),
        )
        for doc in DOCTORS
    ]
    for username, _first, _last, role, state_code, facility_code in STAFF:
        where = (
            facility_names[facility_code]
            if facility_code
            else state_names.get(state_code, "India (national)")
        )
        sign_ins.append(SignIn(str(Role(role).label), username, DEMO_PASSWORD, where))
    sign_ins.append(
        SignIn(
            str(Role.PATIENT.label),
            "+91 98765 43210",
            "OTP shown on this console",
            "family of 3 in Mysuru, Karnataka",
        )
    )
    return sign_ins


def sign_in_table(sign_ins: list[SignIn]) -> str:
    header = SignIn("Role", "Sign in as", "Password", "Works at")
    rows = [header, *sign_ins]
    widths = [max(len(str(getattr(r, f))) for r in rows) for f in ("role", "username", "password")]
    lines = []
    for i, r in enumerate(rows):
        lines.append(
            f"{str(r.role):<{widths[0]}}  {r.username:<{widths[1]}}  "
            f"{r.password:<{widths[2]}}  {r.where}"
        )
        if i == 0:
            lines.append("-" * (sum(widths) + 6 + len("Works at")))
    return "\n".join(lines)
