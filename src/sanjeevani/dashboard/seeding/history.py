"""Years of consultations: patients, then day by day the tickets, the consultations they led
to and the prescriptions issued, written in chunks (one transaction each).

Every row is as the real services leave it: a ticket in the queue of its OPD or hub, with
a token number unique per OPD (or spoke) and day; a consultation that ended with an outcome
and the ticket moved to match (completed, missed, expired); a prescription for each
consultation that ended with one. Times are IST, within the OPD's or hub's hours.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import math
import random
from collections.abc import Iterator
from typing import Any

from django.db import connection, transaction

from sanjeevani.consultations.models import Consultation
from sanjeevani.patients.models import Patient
from sanjeevani.prescriptions.models import Prescription
from sanjeevani.queueing.models import Ticket
from sanjeevani.rollups.models import StateTotal

from . import tally as tally_
from .bulk import bulk_load
from .country import (
    CANCELLED_PER_HUNDRED,
    CONSULTATIONS_PER_PATIENT,
    LINE_SHARE,
    OUTCOME_SHARE,
    SENIOR_SHARE,
    WOMEN_SHARE,
    apportion,
    daily_volumes,
)
from .places import Country
from .tally import NIL, Tally
from .writer import Progress, Table, copy_pipelined
from .writer import ordered_uid as uid

K_PATIENT, K_TICKET, K_CONSULTATION, K_PRESCRIPTION = 11, 12, 13, 14
CHUNK = 100_000
ONE_TOKEN = [(tally_.TOKENS, 1)]
ONE_CANCEL = [(tally_.CANCELLED, 1)]
ONE_MISSED = [(tally_.MISSED, 1)]
ONE_DROPPED = [(tally_.DROPPED, 1)]
ONE_NEW = [(tally_.NEW, 1)]
#: From this many consultations the load drops and rebuilds indexes (``bulk``).
BULK_FROM = 200_000
_ALPHABET_NUMBER = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_ALPHABET_CODE = "abcdefghjkmnpqrstuvwxyz23456789"
WOMEN = ("Lakshmi", "Priya", "Anjali", "Fatima", "Kavita", "Meena", "Sunita", "Deepa", "Asha")
MEN = ("Ravi", "Suresh", "Arjun", "Imran", "Manoj", "Venkat", "Rahul", "Gopal", "Kiran")
SURNAMES = ("Reddy", "Kumar", "Devi", "Das", "Sharma", "Naidu", "Singh", "Patel", "Rao", "Khan")
COMPLAINTS = (
    "Fever",
    "Cough and cold",
    "Joint pain",
    "Skin rash",
    "Headache",
    "Follow-up of diabetes",
    "Blood pressure check",
    "Stomach pain",
    "Eye redness",
)
TICKET_COLUMNS = [
    "id", "patient_id", "queue_id", "opd_id", "hub_id", "spoke_id", "specialty_id",
    "service_date", "token_number", "status", "queued_at", "complaint", "language",
    "claimed_by_id", "called_at", "service_started_at", "service_ended_at", "missed_count",
    "created_at", "updated_at",
]  # fmt: skip
CONSULTATION_COLUMNS = [
    "id", "service_line", "ticket_id", "patient_id", "doctor_id", "opd_id", "hub_id",
    "spoke_id", "outcome", "mode", "observed_mode", "had_video", "created_at", "started_at",
    "ended_at", "identity_confirmed_at", "identity_method", "confirmed_age_years", "consent",
    "consent_recorded_at", "complaints", "advice", "referral",
]  # fmt: skip


def _code(value: int, alphabet: str, length: int) -> str:
    chars = []
    base = len(alphabet)
    for _ in range(length):
        value, digit = divmod(value, base)
        chars.append(alphabet[digit])
    return "".join(chars)


def _bijective(index: int, tag: int, modulus: int) -> int:
    """A scrambled but one-to-one number below ``modulus`` for each index (unique codes)."""
    return (
        index * 0x5DEECE66D + tag
    ) % modulus  # the multiplier shares no factor with 31^k or 32^k


def _stamp(day: str, minute: float) -> str:
    whole = int(minute * 60)
    hours, rest = divmod(whole, 3600)
    return f"{day} {hours:02d}:{rest // 60:02d}:{rest % 60:02d}+05:30"


class History:
    """Generates and writes N consultations over the days up to ``last_day``."""

    def __init__(
        self,
        country: Country,
        consultations: int,
        last_day: dt.date,
        rng: random.Random,
        offsets: tuple[int, int, int] = (0, 0, 0),
        tally: bool = False,
    ) -> None:
        """``offsets``: rows of patients, tickets and consultations already in the database
        (``--append``), so the new rows' ids and codes follow on and never collide.
        ``tally``: count the rollups while generating and write them with the rows (only
        into empty rollup tables, with no consultation before: ``tally``)."""
        self.country = country
        self.total = consultations
        self.rng = rng
        self.tag = country.tag
        self.patient_offset, self._tickets_made, self._consultations_made = offsets
        self.days = [(day, n) for day, n in daily_volumes(consultations, last_day) if n]
        states = [code for code in country.spokes if country.spokes[code]]
        shares = {code: _share(code) for code in states}
        self.states = states
        weight = sum(shares.values())
        running, self.state_cum = 0.0, []
        for code in states:
            running += shares[code] / weight
            self.state_cum.append(running)
        # Patients: about 2.5 consultations each, split between states like the use.
        patients = max(len(states), math.ceil(consultations / CONSULTATIONS_PER_PATIENT))
        self.patients_per_state = apportion(patients, shares)
        self.patient_base: dict[str, int] = {}
        base = 0
        for code in states:
            self.patient_base[code] = base + self.patient_offset
            base += self.patients_per_state[code]
        self.patient_count = base
        self.tally = Tally() if tally else None
        self.seen = bytearray(base if tally else 0)  # patients with a completed consultation
        # Cumulative share of the consultations by the end of each day: patients "appear"
        # as the service grows, so a patient is never seen before they were registered.
        done, self.day_fraction = 0, []
        for _day, n in self.days:
            done += n
            self.day_fraction.append(done / max(consultations, 1))
        # Hubs rest on Sundays (only general OPDs open), so on other days hub-and-spoke takes
        # a little more than its share for the whole to come out at about three quarters.
        sundays = sum(n for day, n in self.days if day.weekday() == 6) / max(consultations, 1)
        self.hub_share = min(0.95, LINE_SHARE["hub_spoke"] / max(1e-9, 1 - sundays))
        outcome_total = sum(OUTCOME_SHARE.values())
        running, self.outcome_cum = 0.0, []
        for outcome, share in OUTCOME_SHARE.items():
            running += share / outcome_total
            self.outcome_cum.append((running, outcome))

    # --- patients ------------------------------------------------------------------------
    def patient_rows(self) -> Iterator[tuple]:
        fractions = self.day_fraction
        for code in self.states:
            state_id = self.country.state_ids[code]
            districts = self.country.state_districts[code]
            size = self.patients_per_state[code]
            base = self.patient_base[code]
            for local in range(size):
                index = base + local
                mix = (index * 2654435761 + self.tag) & 0xFFFFFFFF
                day_index = min(bisect.bisect_right(fractions, local / size), len(self.days) - 1)
                created = self.days[day_index][0].isoformat()
                female = (mix % 1000) < WOMEN_SHARE * 1000
                senior = ((mix >> 10) % 1000) < SENIOR_SHARE * 1000
                age = 60 + (mix >> 20) % 30 if senior else (mix >> 20) % 60
                first = (WOMEN if female else MEN)[(mix >> 4) % 9]
                number = "SJ" + _code(_bijective(index, self.tag, 32**8), _ALPHABET_NUMBER, 8)
                yield (
                    uid(K_PATIENT, index, self.tag),
                    number,
                    f"{first} {SURNAMES[(mix >> 8) % 10]}",
                    age,
                    created,
                    "F" if female else "M",
                    state_id,
                    districts[index % len(districts)],
                    f"{created} 00:00:00+05:30",
                )

    def write_patients(self) -> None:
        progress = Progress("patients", self.patient_count)
        table = Table(
            Patient,
            ["id", "patient_number", "name", "age_years", "age_recorded_on", "sex", "state_id",
             "district_id", "created_at"],
            {"account_id": None, "relation": "self", "date_of_birth": None, "address": "",
             "preferred_language": "en", "abha_number": "", "abha_address": "",
             "registered_at_facility_id": None},
        )  # fmt: skip
        if self.pipelined:
            copy_pipelined(
                self._patient_chunks(), [table], loaded=lambda counts: progress.add(counts[0])
            )
        else:
            with transaction.atomic():
                table.write(self.patient_rows(), progress)
        progress.done()

    def _patient_chunks(self) -> Iterator[list[tuple[int, list]]]:
        rows: list[tuple] = []
        for row in self.patient_rows():
            rows.append(row)
            if len(rows) >= 2 * CHUNK:
                yield [(0, rows)]
                rows = []
        yield [(0, rows)]

    # --- consultations -------------------------------------------------------------------
    def write_consultations(self) -> None:
        tickets_table = Table(
            Ticket,
            TICKET_COLUMNS,
            {
                "priority": 10,
                "preferred_doctor_id": None,
                "follow_up_of_id": None,
                "call_expires_at": None,
                "near_turn_notified": False,
                "created_by_id": None,
            },
        )
        consultations_table = Table(
            Consultation,
            CONSULTATION_COLUMNS,
            {
                "requested_by_id": None,
                "follow_up_of_id": None,
                "status": "ended",
                "mode_confirmed_at": None,
                "history": "",
                "findings": "",
                "vitals": {},
                "diagnoses": [],
                "investigations": "",
                "follow_up_on": None,
                "record_revision": 0,
            },
        )
        prescriptions_table = Table(
            Prescription,
            ["id", "consultation_id", "patient_id", "doctor_id", "issued_at", "verification_code"],
            {"language": "en", "status": "issued", "supersedes_id": None,
             "content": {"synthetic": True, "note": "seed_national"}, "signature": "synthetic",
             "key_id": "synthetic", "doctor_signature": "", "doctor_key_id": "",
             "client_key": None},
        )  # fmt: skip
        tables = [tickets_table, consultations_table, prescriptions_table]
        if self.tally is not None:
            tables += tally_.tables()
        progress = Progress("consultations", self.total)
        if self.pipelined:
            copy_pipelined(self._chunks(), tables, loaded=lambda counts: progress.add(counts[1]))
            progress.done()
            return
        for chunk in self._chunks():
            with transaction.atomic():
                for index, rows in chunk:
                    tables[index].write(rows)
            progress.add(len(chunk[1][1]))
        progress.done()

    def _chunks(self) -> Iterator[list[tuple[int, list]]]:
        """The tickets, consultations and prescriptions, about ``CHUNK`` consultations at a
        time (whole days), as ``(table index, rows)``."""
        tickets: list[tuple] = []
        consultations: list[tuple] = []
        prescriptions: list[tuple] = []
        tally = self.tally

        def chunk(last: bool = False) -> list[tuple[int, list]]:
            rows = [(0, tickets), (1, consultations), (2, prescriptions)]
            if tally is not None:
                rows += [(3 + i, grain) for i, grain in enumerate(tally.drain())]
                if last:
                    rows.append((3 + len(tally_.DAY_MODELS), tally.total_rows()))
            return rows

        for day_index, (day, count) in enumerate(self.days):
            self._day(day_index, day, count, tickets, consultations, prescriptions)
            if len(consultations) >= CHUNK:
                yield chunk()
                tickets, consultations, prescriptions = [], [], []
        yield chunk(last=True)

    def _day(
        self,
        day_index: int,
        day: dt.date,
        count: int,
        tickets: list[tuple],
        consultations: list[tuple],
        prescriptions: list[tuple],
    ) -> None:
        rng = self.rng
        random_ = rng.random
        country = self.country
        day_text = day.isoformat()
        fraction = self.day_fraction[day_index]
        tokens: dict[str, int] = {}
        sunday = day.weekday() == 6
        hub_share = self.hub_share
        whole, part = divmod(count * CANCELLED_PER_HUNDRED, 100)
        cancelled = whole + (1 if rng.random() * 100 < part else 0)
        tickets_made, consultations_made = self._tickets_made, self._consultations_made
        tally = self.tally
        candidates: dict[int, tuple] = {}  # a patient's first completion this day, if new
        for _n in range(count + cancelled):
            is_consultation = _n < count
            code = self.states[bisect.bisect_left(self.state_cum, random_())]
            opds = country.opds.get(code) or []
            if random_() < 0.1 and country.opds.get(""):
                opds = country.opds[""]
            hub_line = (random_() < hub_share and not sunday) or not opds
            if hub_line:
                spoke_index = int(random_() * len(country.spokes[code]))
                spoke_id, linked = country.spokes[code][spoke_index]
                hub = country.hubs[linked[0] if len(linked) == 1 or random_() < 0.7 else linked[1]]
                which = 0 if random_() < 0.7 else int(random_() * len(hub.specialties))
                doctor, queue, specialty = (
                    hub.doctors[which],
                    hub.queues[which],
                    hub.specialties[which],
                )
                place, opd_id, hub_id = spoke_id, None, hub.id
                open_from, open_to = 9 * 60, 16 * 60
                line, consent = "hub_spoke", "explicit"
            else:
                opd = opds[int(random_() * len(opds))]
                if sunday and opd.hours[1] - opd.hours[0] < 12 * 60:
                    opd = opds[0]  # the general OPD opens every day
                doctor = opd.doctors[int(random_() * len(opd.doctors))]
                queue, specialty = opd.queue, opd.specialty
                place, opd_id, hub_id, spoke_id = opd.id, opd.id, None, None
                open_from, open_to = opd.hours
                line, consent = "opd", "implied"
            token = tokens.get(place, 0) + 1
            tokens[place] = token
            size = self.patients_per_state[code]
            patient_index = self.patient_base[code] + int(
                random_() * max(1, math.ceil(fraction * size))
            )
            patient = uid(K_PATIENT, patient_index, self.tag)
            mix = (patient_index * 2654435761 + self.tag) & 0xFFFFFFFF
            senior = ((mix >> 10) % 1000) < SENIOR_SHARE * 1000
            age = 60 + (mix >> 20) % 30 if senior else (mix >> 20) % 60
            if tally is not None:
                # Where the care is counted: the spoke's district, else the patient's.
                districts = country.state_districts[code]
                district = districts[(spoke_index if hub_line else patient_index) % len(districts)]
                state_id = country.state_ids[code]
                where = (
                    day_text, state_id, district, line, specialty or 0,
                    opd_id or NIL, NIL, spoke_id or NIL,
                )  # fmt: skip
                tally.add(where, ONE_TOKEN)
            queued = open_from + random_() * (open_to - open_from - 45)
            tickets_made += 1
            ticket = uid(K_TICKET, tickets_made, self.tag)
            complaint = COMPLAINTS[int(random_() * len(COMPLAINTS))]
            queued_at = _stamp(day_text, queued)
            if not is_consultation:
                if tally is not None:
                    tally.add(where, ONE_CANCEL)
                tickets.append(
                    (
                        ticket,
                        patient,
                        queue,
                        opd_id,
                        hub_id,
                        spoke_id,
                        specialty,
                        day_text,
                        token,
                        "cancelled",
                        queued_at,
                        complaint,
                        "",
                        None,
                        None,
                        None,
                        None,
                        0,
                        queued_at,
                        _stamp(day_text, queued + 3),
                    )
                )
                continue
            wait = min(-math.log(1.0 - random_()) * 9.0, 40.0)
            called = queued + wait
            roll = random_()
            outcome = next(name for edge, name in self.outcome_cum if roll <= edge)
            called_at = _stamp(day_text, called)
            if outcome == "no_show":
                started_at = None
                ended_at = _stamp(day_text, called + 2)
                status, missed = "missed", 1
                mode = "chat"
            else:
                length = 2 + random_() * 10 if outcome != "dropped" else 0.5 + random_() * 2
                started_at = _stamp(day_text, called + 0.3)
                ended_at = _stamp(day_text, called + 0.3 + length)
                status = "expired" if outcome == "dropped" else "completed"
                missed = 0
                mode = "video" if random_() < 0.85 else "audio"
            completed = status == "completed"
            consultations_made += 1
            if tally is not None:
                self._count(
                    tally, where, hub_id, outcome, day, queued, called,
                    0.0 if outcome == "no_show" else length, patient_index,
                    code, age, mix, consultations_made, doctor, candidates,
                )  # fmt: skip
            consultation_number = consultations_made
            consultation = uid(K_CONSULTATION, consultation_number, self.tag)
            tickets.append(
                (
                    ticket,
                    patient,
                    queue,
                    opd_id,
                    hub_id,
                    spoke_id,
                    specialty,
                    day_text,
                    token,
                    status,
                    queued_at,
                    complaint,
                    "",
                    doctor,
                    called_at,
                    started_at,
                    ended_at if completed else None,
                    missed,
                    queued_at,
                    ended_at,
                )
            )
            consultations.append(
                (
                    consultation,
                    line,
                    ticket,
                    patient,
                    doctor,
                    opd_id,
                    hub_id,
                    spoke_id,
                    outcome,
                    mode,
                    mode,
                    mode == "video",
                    called_at,
                    started_at,
                    ended_at,
                    started_at,
                    "patient ID and mobile number" if started_at else "",
                    age if started_at else None,
                    consent if started_at else "",
                    started_at,
                    complaint if started_at else "",
                    "Rest, fluids; review if not better" if completed else "",
                    "District hospital" if outcome == "referred" else "",
                )
            )
            if outcome == "prescription":
                code_number = _bijective(consultation_number, self.tag, 31**12)
                prescriptions.append(
                    (
                        uid(K_PRESCRIPTION, consultation_number, self.tag),
                        consultation,
                        patient,
                        doctor,
                        ended_at,
                        _code(code_number, _ALPHABET_CODE, 12),
                    )
                )
        self._tickets_made, self._consultations_made = tickets_made, consultations_made
        if tally is not None:
            for patient_index, (_ended, _number, key) in candidates.items():
                tally.add(key, ONE_NEW)
                self.seen[patient_index - self.patient_offset] = 1

    def _count(
        self,
        tally: Tally,
        where: tuple,
        hub_id: str | None,
        outcome: str,
        day: dt.date,
        queued: float,
        called: float,
        length: float,
        patient_index: int,
        code: str,
        age: int,
        mix: int,
        number: int,
        doctor: str,
        candidates: dict[int, tuple],
    ) -> None:
        """One ending's facts, as ``rollups.facts.consultation_facts`` reads them from the
        rows ``_day`` writes (the same float expressions give the same whole seconds)."""
        key = where[:6] + (hub_id or NIL,) + where[7:]
        if outcome == "no_show":
            tally.add(key, ONE_MISSED)
            return
        if outcome == "dropped":
            tally.add(key, ONE_DROPPED)
            return
        started = int((called + 0.3) * 60)
        ended = int((called + 0.3 + length) * 60)
        wait = started - int(queued * 60)
        counts = [
            (tally_.CONSULTATIONS, 1),
            (tally_.WAIT_COUNT, 1),
            (tally_.WAIT_SECONDS, wait),
            (tally_.wait_bucket(wait), 1),
            (tally_.DURATION_COUNT, 1),
            (tally_.DURATION_SECONDS, ended - started),
            (tally_.HOUR_AT[ended // 3600], 1),
        ]
        if (mix % 1000) < WOMEN_SHARE * 1000:
            counts.append((tally_.WOMEN, 1))
        if age < 60 and age >= 40:  # the age given, plus the whole years since
            local = patient_index - self.patient_base[code]
            recorded = self.days[
                min(
                    bisect.bisect_right(self.day_fraction, local / self.patients_per_state[code]),
                    len(self.days) - 1,
                )
            ][0]
            age += max(0, (day - recorded).days // 365)
        if age >= 60:
            counts.append((tally_.SENIORS, 1))
        if outcome == "referred":
            counts.append((tally_.REFERRALS, 1))
        elif outcome == "prescription":
            counts.append((tally_.PRESCRIPTIONS, 1))
        tally.add(key, counts)
        tally.doctor(where[0], doctor, where[1], where[3], hub_id or where[5])
        if not self.seen[patient_index - self.patient_offset]:
            first = candidates.get(patient_index)
            if first is None or (ended, number) < first[:2]:
                candidates[patient_index] = (ended, number, key)

    @property
    def pipelined(self) -> bool:
        """From ``BULK_FROM`` rows on PostgreSQL the rows are made in a child process while
        this one loads them (``writer.copy_pipelined``)."""
        return self.total >= BULK_FROM and connection.vendor == "postgresql"

    def run(self, stream: Any = None) -> None:
        """Patients, then the consultations; in bulk mode from ``BULK_FROM`` rows."""
        tables = [Patient, Ticket, Consultation, Prescription]
        if self.tally is not None:
            tables += [*tally_.DAY_MODELS, StateTotal]
        bulk = bulk_load(tables, stream) if self.total >= BULK_FROM else contextlib.nullcontext()
        with bulk:
            self.write_patients()
            self.write_consultations()


def _share(code: str) -> float:
    from .country import CONSULTATION_SHARE

    return CONSULTATION_SHARE[code]
