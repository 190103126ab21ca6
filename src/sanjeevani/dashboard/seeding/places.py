"""The seeded country's places and people who serve: districts, spokes, hubs and their links,
online OPDs with opening hours, queues, doctors (with accounts, specialties and weekly
shifts). What the history needs to pick from is kept in memory as small index lists."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from django.db import connection
from django.utils.text import slugify

from sanjeevani.accounts.models import User
from sanjeevani.queueing.models import Queue
from sanjeevani.registry.models import (
    District,
    DoctorProfile,
    Facility,
    HubSpokeLink,
    OnlineOPD,
    OpeningWindow,
    RosterShift,
    Specialty,
    State,
)

from .country import (
    CountryPlan,
    catchment,
    district_populations,
    plan_country,
    spokes_per_district,
    state_populations,
)
from .writer import Progress, Table, uid

# Kinds of row in the deterministic ids (``writer.uid``).
K_FACILITY, K_OPD, K_QUEUE, K_USER, K_DOCTOR = 1, 2, 3, 4, 5
GENERAL = "general-medicine"
#: Specialist hubs and OPDs draw from these (the commonest specialty OPDs).
SPECIALIST = (
    "obg", "paediatrics", "dermatology", "psychiatry", "ent", "ophthalmology", "orthopaedics",
    "cardiology", "neurology", "endocrinology", "pulmonary-medicine", "dentistry", "ayurveda",
    "homoeopathy", "general-surgery", "geriatrics",
)  # fmt: skip
SPOKE_LEVELS = (("sc", 85), ("phc", 15))
HUB_LEVELS = (("phc", 60), ("chc", 20), ("dh", 15), ("mc", 5))
HUB_HOURS = (9 * 60, 16 * 60)  # Mon-Sat
GENERAL_OPD_HOURS = (8 * 60, 20 * 60)  # every day
SPECIALIST_OPD_HOURS = (10 * 60, 14 * 60)  # Mon-Sat
LANGUAGES = {"AP": "te", "TN": "ta", "WB": "bn", "KA": "kn", "KL": "ml", "MH": "mr", "GJ": "gu"}


@dataclass
class Hub:
    id: str
    state: str
    specialties: list[int]  # specialty ids, general medicine first
    doctors: list[str]  # doctor ids, one per specialty (same order)
    queues: list[str]  # queue ids, one per specialty (same order)


@dataclass
class Opd:
    id: str
    state: str  # "" for a national OPD
    specialty: int | None
    doctors: list[str]
    queue: str
    hours: tuple[int, int]


@dataclass
class Country:
    """What the history draws from: per state, its spokes (with their hubs) and its OPDs."""

    tag: int
    state_ids: dict[str, int]
    state_districts: dict[str, list[int]]
    spokes: dict[str, list[tuple[str, list[int]]]] = field(default_factory=dict)  # id, hubs
    hubs: list[Hub] = field(default_factory=list)
    opds: dict[str, list[Opd]] = field(default_factory=dict)


def ensure_districts(plan: CountryPlan) -> dict[str, list[int]]:
    """Each planned state's districts (ids, by name): the real ones from the reference data,
    and "<State> district N" made up to the state's real count where names are missing."""
    states = {s.code: s for s in State.objects.filter(code__in=plan.states)}
    missing = []
    for code in plan.states:
        have = District.objects.filter(state=states[code]).count()
        for number in range(have + 1, plan.districts[code] + 1):
            missing.append(
                District(state=states[code], name=f"{states[code].name} district {number}")
            )
    District.objects.bulk_create(missing, ignore_conflicts=True)
    result: dict[str, list[int]] = {code: [] for code in plan.states}
    for district_id, code in (
        District.objects.filter(state__code__in=plan.states)
        .order_by("state__code", "name")
        .values_list("id", "state__code")
    ):
        result[code].append(district_id)
    return result


def fill_district_populations(
    plan: CountryPlan, state_districts: dict[str, list[int]], rng: random.Random
) -> dict[int, int]:
    """Every planned district's people (by id): a figure already in the registry is kept,
    the others are synthetic (``country.district_populations``) and written. A few
    hundred rows, so an update of those still empty."""
    people = state_populations()
    ids = [pk for code in plan.states for pk in state_districts[code]]
    known = dict(District.objects.filter(pk__in=ids).values_list("pk", "population"))
    result: dict[int, int] = {}
    empty: list[District] = []
    for code in plan.states:
        districts = state_districts[code]
        synthetic = district_populations(people[code], len(districts), rng)
        for district_id, population in zip(districts, synthetic, strict=True):
            if known.get(district_id):
                result[district_id] = known[district_id]
            else:
                result[district_id] = population
                empty.append(District(pk=district_id, population=population))
    District.objects.bulk_update(empty, ["population"], batch_size=500)
    return result


def _pick(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    roll = rng.randrange(100)
    for value, share in choices:
        if roll < share:
            return value
        roll -= share
    return choices[-1][0]


def build_places(plan: CountryPlan, rng: random.Random, tag: int, *, write: bool) -> Country:
    """Plan every place (and, with ``write``, write them); the same ids either way."""
    state_rows = dict(State.objects.filter(code__in=plan.states).values_list("code", "id"))
    state_names = dict(State.objects.filter(code__in=plan.states).values_list("code", "name"))
    specialties = dict(Specialty.objects.values_list("code", "id"))
    specialist_ids = [specialties[code] for code in SPECIALIST if code in specialties]
    general_id = specialties[GENERAL]
    country = Country(tag=tag, state_ids=state_rows, state_districts=ensure_districts(plan))
    # The populations draw from their own generator, so the places drawn from ``rng`` are
    # the same with them as without.
    people_rng = random.Random(tag ^ 0x50_4F_50)
    district_people = fill_district_populations(plan, country.state_districts, people_rng)
    national_spokes = plan_country().spokes
    now = "2019-10-01 09:00:00+05:30"

    facilities: list[tuple] = []
    links: list[tuple] = []
    link_specialties: list[tuple] = []
    queues: list[tuple] = []
    users: list[tuple] = []
    doctors: list[tuple] = []
    doctor_specialties: list[tuple] = []
    doctor_hubs: list[tuple] = []
    doctor_opds: list[tuple] = []
    shifts: list[tuple] = []
    opd_rows: list[tuple] = []
    windows: list[tuple] = []
    facility_index = 0
    doctor_index = 0
    link_id = _next_id(HubSpokeLink) if write else 1

    def new_doctor(state: str, specialty: int, hub: str | None, opd: Opd | None) -> str:
        nonlocal doctor_index
        doctor_index += 1
        user_id = uid(K_USER, doctor_index, tag)
        doctor_id = uid(K_DOCTOR, doctor_index, tag)
        sex = "F" if rng.random() < 0.45 else "M"
        users.append(
            (
                user_id,
                f"sn{tag % 100_000:05d}-dr{doctor_index:06d}",
                "Doctor",
                f"{doctor_index:06d}",
            )
        )
        council = f"{state_names.get(state, 'National')} Medical Council"
        doctors.append(
            (
                doctor_id,
                user_id,
                f"SN{tag % 1000:03d}-{doctor_index:07d}",
                council,
                "MBBS" if specialty == general_id else "MBBS, MD",
                ["en", LANGUAGES.get(state, "hi")],
                sex,
                state_rows.get(state),
            )
        )
        doctor_specialties.append((doctor_id, specialty))
        days = range(7) if opd is not None and opd.hours == GENERAL_OPD_HOURS else range(6)
        start, end = opd.hours if opd is not None else HUB_HOURS
        if hub is not None:
            doctor_hubs.append((doctor_id, hub))
        if opd is not None:
            doctor_opds.append((doctor_id, opd.id))
        for weekday in days:
            shifts.append((doctor_id, opd.id if opd else None, hub, weekday, start, end))
        return doctor_id

    for code in plan.states:
        districts = country.state_districts[code]
        state_id = state_rows[code]
        # Hubs, spread over the districts in turn.
        district_hubs: dict[int, list[int]] = {d: [] for d in districts}
        state_hubs: list[int] = []
        for number in range(1, plan.hubs[code] + 1):
            facility_index += 1
            hub_id = uid(K_FACILITY, facility_index, tag)
            district = districts[(number - 1) % len(districts)]
            facilities.append(
                (
                    hub_id,
                    f"SN{tag % 100_000:05d}-{code}-H{number:05d}",
                    f"{state_names[code]} hub {number}",
                    _pick(rng, HUB_LEVELS),
                    state_id,
                    district,
                    True,
                    False,
                    None,  # a hub has no catchment
                )
            )
            hub_specialties = [general_id]
            if number % 3 == 0 or number == 1:
                hub_specialties.append(specialist_ids[number % len(specialist_ids)])
            if number % 5 == 0:
                hub_specialties.append(specialist_ids[(number * 7 + 3) % len(specialist_ids)])
            hub_specialties = list(dict.fromkeys(hub_specialties))
            hub = Hub(hub_id, code, hub_specialties, [], [])
            for specialty in hub_specialties:
                queue_id = uid(K_QUEUE, len(queues) + 1, tag)
                queues.append(
                    (
                        queue_id,
                        "hub_specialty",
                        f"{state_names[code]} hub {number}"[:200],
                        None,
                        hub_id,
                        specialty,
                        state_id,
                    )
                )
                hub.queues.append(queue_id)
                hub.doctors.append(new_doctor(code, specialty, hub_id, None))
            district_hubs[district].append(len(country.hubs))
            state_hubs.append(len(country.hubs))
            country.hubs.append(hub)
        # Spokes, each linked to one or two hubs of its district, each with a catchment: a
        # share of the district among the spokes it has in the national plan (``--small``'s
        # few spokes would each serve a hundred thousand people).
        spokes: list[tuple[str, list[int]]] = []
        dealt = spokes_per_district(national_spokes[code], len(districts))
        for number in range(1, plan.spokes[code] + 1):
            facility_index += 1
            spoke_id = uid(K_FACILITY, facility_index, tag)
            turn = (number - 1) % len(districts)
            district = districts[turn]
            level = _pick(rng, SPOKE_LEVELS)
            facilities.append(
                (
                    spoke_id,
                    f"SN{tag % 100_000:05d}-{code}-S{number:06d}",
                    f"{state_names[code]} health centre {number}",
                    level,
                    state_id,
                    district,
                    False,
                    True,
                    catchment(level, district_people[district], dealt[turn], people_rng),
                )
            )
            near = district_hubs[district] or state_hubs
            first = near[number % len(near)]
            linked = [first]
            if len(near) > 1 and rng.random() < 0.5:
                linked.append(near[(number + 1) % len(near)])
            for priority, hub_index in enumerate(linked, start=1):
                links.append((link_id, country.hubs[hub_index].id, spoke_id, priority, True))
                for specialty in country.hubs[hub_index].specialties:
                    link_specialties.append((link_id, specialty))
                link_id += 1
            spokes.append((spoke_id, linked))
        country.spokes[code] = spokes

    # Online OPDs: a few general ones per state, the rest specialist; national ones too.
    opd_index = 0
    for code, count in plan.opds.items():
        general_count = max(1, round(count * (1 - 0.88)))
        country.opds[code] = []
        label = state_names.get(code, "National")
        for number in range(1, count + 1):
            opd_index += 1
            opd_id = uid(K_OPD, opd_index, tag)
            specialty = (
                None if number <= general_count else specialist_ids[number % len(specialist_ids)]
            )
            hours = GENERAL_OPD_HOURS if specialty is None else SPECIALIST_OPD_HOURS
            queue_id = uid(K_QUEUE, len(queues) + 1, tag)
            opd = Opd(opd_id, code, specialty, [], queue_id, hours)
            kind = "General OPD" if specialty is None else "Specialist OPD"
            name = f"{label} {kind} {number}"
            opd_rows.append(
                (
                    opd_id,
                    f"sn-{slugify(code or 'in')}-{tag % 100_000}-{number}",
                    name,
                    "state" if code else "national",
                    state_rows.get(code),
                    specialty,
                    ["en", LANGUAGES.get(code, "hi")],
                )
            )
            for weekday in range(7) if specialty is None else range(6):
                windows.append((opd_id, weekday, hours[0], hours[1]))
            queues.append(
                (queue_id, "opd", name[:200], opd_id, None, specialty, state_rows.get(code))
            )
            for _doctor in range(3):
                opd.doctors.append(new_doctor(code, specialty or general_id, None, opd))
            country.opds[code].append(opd)

    if not write:
        return country
    progress = Progress("places")
    Table(
        Facility,
        [
            "id",
            "code",
            "name",
            "level",
            "state_id",
            "district_id",
            "is_hub",
            "is_spoke",
            "catchment_population",
        ],
        {"active": True},
    ).write(facilities, progress)
    Table(HubSpokeLink, ["id", "hub_id", "spoke_id", "priority", "active"], {}).write(
        links, progress
    )
    Table(HubSpokeLink.specialties.through, ["hubspokelink_id", "specialty_id"], {}).write(
        link_specialties, progress
    )
    Table(
        OnlineOPD,
        ["id", "code", "name", "scope", "state_id", "specialty_id", "languages"],
        {"daily_capacity": 2000, "consultation_minutes": 6, "active": True},
    ).write(opd_rows, progress)
    Table(OpeningWindow, ["opd_id", "weekday", "start_minute", "end_minute"], {}).write(
        windows, progress
    )
    Table(Queue, ["id", "kind", "label", "opd_id", "hub_id", "specialty_id", "state_id"], {}).write(
        queues, progress
    )
    Table(User, ["id", "username", "first_name", "last_name"],
          {"password": "!seeded", "last_login": None, "is_superuser": False, "email": "",
           "is_staff": False, "is_active": True, "date_joined": now, "role": "doctor",
           "mobile": "", "preferred_language": "en", "demo_password_set": False,
           "session_epoch": 0},
          ).write(users, progress)  # fmt: skip
    Table(
        DoctorProfile,
        [
            "id",
            "user_id",
            "registration_number",
            "council",
            "qualification",
            "languages",
            "sex",
            "state_id",
        ],
        {"contact_phone": "", "contact_email": ""},
    ).write(doctors, progress)
    Table(DoctorProfile.specialties.through, ["doctorprofile_id", "specialty_id"], {}).write(
        doctor_specialties, progress
    )
    Table(DoctorProfile.hubs.through, ["doctorprofile_id", "facility_id"], {}).write(
        doctor_hubs, progress
    )
    Table(DoctorProfile.opds.through, ["doctorprofile_id", "onlineopd_id"], {}).write(
        doctor_opds, progress
    )
    Table(
        RosterShift, ["doctor_id", "opd_id", "hub_id", "weekday", "start_minute", "end_minute"], {}
    ).write(shifts, progress)
    progress.done()
    _reset_sequences(HubSpokeLink)
    return country


def _next_id(model: type) -> int:
    last = model.objects.order_by("-id").values_list("id", flat=True).first()
    return (last or 0) + 1


def _reset_sequences(*models: type) -> None:
    """After writing explicit ids, the sequence continues after the largest (PostgreSQL)."""
    from django.core.management.color import no_style

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), list(models)):
            cursor.execute(sql)


def seeded_already(tag: int) -> bool:
    """Whether this seed's places are in the database (``--append`` reuses them)."""
    return Facility.objects.filter(id=uid(K_FACILITY, 1, tag)).exists()


def today_ist() -> dt.date:
    from django.utils import timezone

    return timezone.localdate()
