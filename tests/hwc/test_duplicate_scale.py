"""The duplicate check in a district with many patients: which names it reads before
comparing (``hwc.selectors._names_to_compare``). Each scope's newest, through an index in
that order, so the people registered last (the likeliest to walk in again) are always
compared and a large district costs no more than a small one. Until 2026-12-06 it read a
district's 5,000 oldest, so nobody registered after them was ever offered."""

from __future__ import annotations

import pytest
from django.db import connection

from sanjeevani.hwc import selectors
from sanjeevani.hwc.selectors import possible_duplicates
from tests.factories import DistrictFactory, PatientFactory
from tests.hwc.factories import fill_patients, send_case, walk_in

pytestmark = pytest.mark.django_db

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (DATABASE_URL=postgres://...): the plan of a 120,000-patient "
    "table is PostgreSQL's; SQLite reads the same rows",
)


@pytest.fixture
def district_centre(network):
    network.spoke.district = DistrictFactory(state=network.state)
    network.spoke.save(update_fields=["district"])
    return network.spoke


def test_a_district_past_the_cap_still_finds_its_newest_registration(district_centre, monkeypatch):
    monkeypatch.setattr(selectors, "DUPLICATE_CANDIDATES", 20)
    for n in range(25):
        PatientFactory(
            state=district_centre.state, district=district_centre.district, name=f"Person {n:04}"
        )
    newest = PatientFactory(
        state=district_centre.state, district=district_centre.district, name="Ramesh Kumar"
    )
    (found,) = possible_duplicates(district_centre, "ramesh kumaar", None)
    assert found.patient == newest


def test_the_centres_own_patients_are_compared_however_full_the_district(
    network, district_centre, monkeypatch
):
    monkeypatch.setattr(selectors, "DUPLICATE_CANDIDATES", 20)
    own = walk_in(network, name="Sunita Devi")
    sent_for = walk_in(network, name="Gurpreet Kaur")
    send_case(network, patient=sent_for)
    # Registered elsewhere since: the case sent from the centre keeps them in its scope.
    selectors.Patient.objects.filter(pk=sent_for.pk).update(registered_at_facility_id=None)
    for n in range(25):
        PatientFactory(
            state=district_centre.state, district=district_centre.district, name=f"Person {n:04}"
        )
    assert [d.patient for d in possible_duplicates(district_centre, "sunita devii", None)] == [own]
    assert [d.patient for d in possible_duplicates(district_centre, "kaur gurpreet", None)] == [
        sent_for
    ]


def test_the_centres_older_patients_of_its_own_district_are_compared(
    network, district_centre, monkeypatch
):
    """Past the district's cap the centre's scope reads only what the district's read did
    not: its patients registered before the district's newest, and none read twice."""
    monkeypatch.setattr(selectors, "DUPLICATE_CANDIDATES", 20)
    old_own = walk_in(network, name="Lakshmi Bai", district=district_centre.district)
    for n in range(25):
        walk_in(network, name=f"Person {n:04}", district=district_centre.district)
    found = possible_duplicates(district_centre, "lakshmi baai", None)
    assert [d.patient for d in found] == [old_own]
    names = selectors._names_to_compare(district_centre)
    assert len(names) == len({pk for pk, _name in names}) == 26


def test_under_the_cap_the_centres_patients_are_read_once(network, district_centre):
    for n in range(5):
        walk_in(network, name=f"Person {n:04}", district=district_centre.district)
    walk_in(network, name="Elsewhere Person")
    names = selectors._names_to_compare(district_centre)
    assert sorted(name for _pk, name in names) == [
        "Elsewhere Person",
        *(f"Person {n:04}" for n in range(5)),
    ]


def test_the_best_match_comes_first_and_among_equals_the_newest(district_centre):
    def registered(name: str):
        return PatientFactory(
            state=district_centre.state, district=district_centre.district, name=name
        )

    near, older, newer = registered("Ramesh Kumaar"), registered("Ramesh Kumar"), None
    newer = registered("Ramesh Kumar")
    found = [d.patient for d in possible_duplicates(district_centre, "Ramesh Kumar", None)]
    assert found == [newer, older, near]


@needs_postgresql
def test_the_newest_of_a_large_district_are_read_through_the_index(district_centre):
    """The plan PostgreSQL picks for a district of 20,000 patients among 120,000 in eleven
    districts (filled as bench/audit_at_scale.py fills its table: INSERT ... SELECT): the
    newest 5,000 read in index order, nothing sorted. (A centre's own patients, a few
    thousand a year, are read through their centre's index and sorted.)"""
    others = [DistrictFactory(state=district_centre.state).pk for _ in range(10)]
    fill_patients(
        120_000,
        district_centre.state_id,
        district="CASE WHEN i <= 20000 THEN %(district)s "
        "ELSE (%(others)s::bigint[])[1 + i %% 10] END",
        params={"district": district_centre.district_id, "others": others},
    )
    newest = (
        selectors.Patient.objects.filter(district_id=district_centre.district_id)
        .order_by("-created_at")
        .values_list("pk", "name", "created_at")
    )
    plan = newest[: selectors.DUPLICATE_CANDIDATES].explain()
    assert "patient_district_newest" in plan, plan
    assert "Sort" not in plan and "Seq Scan" not in plan, plan
