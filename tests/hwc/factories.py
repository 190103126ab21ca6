"""A small hub-and-spoke network for the hwc tests: one state, a spoke linked to two hubs
(priority 1 and 2), a district hospital above hub A (tiers), a CHO at the spoke and a
doctor at each hub."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sanjeevani.accounts.models import Role
from sanjeevani.hwc import services as hwc
from sanjeevani.registry.models import Facility, Specialty, State
from tests.factories import (
    DoctorFactory,
    FacilityFactory,
    HubFactory,
    HubSpokeLinkFactory,
    PatientFactory,
    PostingFactory,
    StaffUserFactory,
    StateFactory,
)


@dataclass
class Network:
    state: State
    general: Specialty
    skin: Specialty
    hub_a: Facility
    hub_b: Facility
    district: Facility
    spoke: Facility
    cho: Any
    doctor_a: Any
    doctor_b: Any
    doctor_district: Any


def hub_doctor(hub: Facility, *specialties: Specialty, languages=("en", "hi")):
    doctor = DoctorFactory(state=hub.state, languages=list(languages))
    doctor.hubs.add(hub)
    doctor.specialties.add(*specialties)
    return doctor


def cho_at(spoke: Facility):
    user = StaffUserFactory(role=Role.CHO)
    PostingFactory(user=user, state=spoke.state, facility=spoke)
    return user


def link(spoke: Facility, hub: Facility, *specialties: Specialty, priority: int = 1):
    created = HubSpokeLinkFactory(spoke=spoke, hub=hub, priority=priority)
    created.specialties.add(*specialties)
    return created


def build_network() -> Network:
    state = StateFactory(hub_overflow_minutes=15)
    general = Specialty.objects.get(code="general-medicine")
    skin = Specialty.objects.get(code="dermatology")
    district = HubFactory(state=state, name="District Hospital", level=Facility.Level.DISTRICT)
    hub_a = HubFactory(state=state, name="PHC A", level=Facility.Level.PHC, is_spoke=True)
    hub_b = HubFactory(state=state, name="CHC B", level=Facility.Level.CHC)
    spoke = FacilityFactory(state=state, name="HWC Spoke")
    link(spoke, hub_a, general, skin, priority=1)
    link(spoke, hub_b, general, priority=2)
    link(hub_a, district, general, skin, priority=1)
    return Network(
        state=state,
        general=general,
        skin=skin,
        hub_a=hub_a,
        hub_b=hub_b,
        district=district,
        spoke=spoke,
        cho=cho_at(spoke),
        doctor_a=hub_doctor(hub_a, general, skin),
        doctor_b=hub_doctor(hub_b, general),
        doctor_district=hub_doctor(district, general, skin),
    )


def walk_in(network: Network, **kwargs):
    """A patient registered at the network's spoke."""
    return PatientFactory(state=network.state, registered_at_facility_id=network.spoke.pk, **kwargs)


def case_data(specialty: str = "general-medicine", **overrides) -> dict:
    data = {
        "client_key": str(uuid.uuid4()),
        "complaints": ["fever"],
        "complaint_text": "Fever for three days",
        "history": "No known illness",
        "vitals": {"temperature_c": 38.4, "pulse": 96, "spo2": 97},
        "specialty": specialty,
        "mode": "live",
        "consent": True,
        "consent_by": "patient",
        "identity_method": "Aadhaar card seen",
    }
    data.update(overrides)
    return data


def send_case(network: Network, patient=None, **overrides):
    patient = patient or walk_in(network)
    case, _created = hwc.submit_case(network.cho, patient, case_data(**overrides))
    return case


def fill_patients(
    count: int,
    state_id: int,
    *,
    district: str = "NULL",
    centre: str = "NULL",
    abha_number: str = "''",
    params: dict[str, Any] | None = None,
) -> None:
    """``count`` patients written in one ``INSERT ... SELECT`` (as bench/audit_at_scale.py
    fills its table), then ``ANALYZE``, for tests of the plans PostgreSQL picks at size.
    ``district``, ``centre`` (``registered_at_facility_id``) and ``abha_number`` are SQL
    expressions of the row number ``i`` (and of ``params``); the i-th patient was registered
    i seconds ago. PostgreSQL only."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO patients_patient (
                id, patient_number, relation, name, age_years, sex, preferred_language,
                abha_number, abha_address, registered_at_facility_id, created_at,
                district_id, state_id, address)
            SELECT gen_random_uuid(), 'T' || lpad(i::text, 11, '0'), 'self',
                   'Name ' || md5(i::text), 30, 'F', 'en', {abha_number}, '', {centre},
                   now() - make_interval(secs => i), {district}, %(state)s, ''
              FROM generate_series(1, %(count)s) AS i
            """,
            {**(params or {}), "state": state_id, "count": count},
        )
        cursor.execute("ANALYZE patients_patient")
