"""Populations for the equity view (consultations per 100,000 people): a district's people and
a spoke's catchment, set in the admin or by the bulk import, refused with a message a
person can act on (and by the import with its line, writing nothing) when not a whole
number of people."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from sanjeevani.registry.models import District, Facility
from sanjeevani.registry.services import import_registry_csv, import_registry_rows
from tests.factories import FacilityFactory, HubFactory

pytestmark = pytest.mark.django_db


def mysuru() -> District:
    return District.objects.get(state__code="KA", name="Mysuru")


# --- the import ------------------------------------------------------------------------------

GOOD = (
    "kind,code,name,state,district,level,roles,population,catchment_population\n"
    'district,,,KA,mysuru,,,"30,01,127",\n'  # Indian digit grouping, any case of the name
    "facility,KA-SC-P1,Sub-centre P1,KA,Mysuru,sc,spoke,,4800\n"
    'facility,KA-SC-P2,Sub-centre P2,KA,Mysuru,sc,spoke,,"12,500"\n'
    "facility,KA-SC-P3,Sub-centre P3,KA,Mysuru,sc,spoke,,\n"
)


def test_a_file_sets_district_populations_and_spoke_catchments():
    result = import_registry_csv(GOOD, None)
    assert result.ok, result.errors
    assert result.updated["districts"] == 1 and result.created["facilities"] == 3
    assert "1 districts updated" in result.summary()
    assert mysuru().population == 3_001_127
    catchments = dict(
        Facility.objects.filter(code__startswith="KA-SC-P").values_list(
            "code", "catchment_population"
        )
    )
    assert catchments == {"KA-SC-P1": 4_800, "KA-SC-P2": 12_500, "KA-SC-P3": None}


def test_the_documented_example_loads():
    """The example under "Populations" in docs/registry-import.md."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "registry-import.md").read_text()
    section = doc[doc.index("### Populations") :]
    opening = section.index("```\n") + 4
    example = section[opening : section.index("\n```", opening)]
    result = import_registry_csv(example, None)
    assert result.ok, result.errors
    assert mysuru().population == 3_001_127
    assert Facility.objects.get(code="KA-SC-BLK").catchment_population == 4_800


def test_an_empty_cell_keeps_the_figure_and_a_hub_only_facility_has_none():
    spoke = FacilityFactory(code="KA-SC-KEEP", state=mysuru().state, catchment_population=7_000)
    District.objects.filter(pk=mysuru().pk).update(population=3_000_000)
    rows = [
        {"kind": "facility", "code": "KA-SC-KEEP", "name": "Renamed", "state": "KA",
         "level": "sc", "roles": "spoke", "catchment_population": ""},
    ]  # fmt: skip
    assert import_registry_rows(rows, None).ok
    spoke.refresh_from_db()
    assert (spoke.name, spoke.catchment_population) == ("Renamed", 7_000)
    rows[0]["roles"] = "hub"  # no longer a spoke: no catchment
    assert import_registry_rows(rows, None).ok
    spoke.refresh_from_db()
    assert spoke.catchment_population is None
    assert mysuru().population == 3_000_000  # no district row: untouched


BAD = [
    # (row, the message for its line)
    ({"kind": "district", "state": "KA", "district": "Mysuru", "population": "-5"},
     "population '-5' must be a whole number of people from 1 to 50,000,000, for example "
     "12000 or 12,000"),
    ({"kind": "district", "state": "KA", "district": "Mandya", "population": "1.8e6"},
     "population '1.8e6' must be a whole number of people"),
    ({"kind": "district", "state": "KA", "district": "Hassan", "population": "0"},
     "population '0' must be a whole number of people"),
    ({"kind": "district", "state": "KA", "district": "Udupi", "population": "900000000"},
     "population '900000000' must be a whole number of people from 1 to 50,000,000"),
    ({"kind": "district", "state": "KA", "district": "Kodagu", "population": ""},
     "the population column is empty; a district row sets its population"),
    ({"kind": "district", "state": "KA", "district": "Atlantis", "population": "1000"},
     "district 'Atlantis' is not a district of Karnataka; see "
     "/api/v1/registry/states/KA/districts/"),
    ({"kind": "district", "state": "KA", "district": "mysuru", "population": "3000000"},
     "district 'Mysuru' appears again (first on line 2)"),
    ({"kind": "district", "state": "KA", "district": "Bidar", "population": "1700000",
      "catchment_population": "5000"},
     "catchment_population is for spokes (facility rows); a district's people go in population"),
    ({"kind": "facility", "code": "KA-SC-X1", "name": "X1", "state": "KA", "level": "sc",
      "roles": "spoke", "catchment_population": "five thousand"},
     "catchment_population 'five thousand' must be a whole number of people"),
    ({"kind": "facility", "code": "KA-DH-X2", "name": "X2", "state": "KA", "level": "dh",
      "roles": "hub", "catchment_population": "20000"},
     "catchment_population is kept for spokes only, and this facility's roles are 'hub'; "
     "leave it empty or add spoke to the roles"),
    ({"kind": "facility", "code": "KA-SC-X3", "name": "X3", "state": "KA", "level": "sc",
      "roles": "spoke", "population": "5000"},
     "the population column is for district rows; a spoke's people go in "
     "catchment_population"),
    ({"kind": "opd", "code": "ka-x4", "name": "X4", "state": "KA", "schedule": "24x7",
      "capacity": "\u00b2"},  # a digit to str.isdigit, not to int(): refused, not a crash
     "capacity '\u00b2' must be a whole number from 1 to 100000"),
]  # fmt: skip


def test_bad_populations_are_each_reported_by_line_and_nothing_is_written():
    spoke = FacilityFactory(code="KA-SC-OLD", state=mysuru().state, catchment_population=6_000)
    good = {"kind": "facility", "code": "KA-SC-OLD", "name": "Old", "state": "KA",
            "level": "sc", "roles": "spoke", "catchment_population": "9000"}  # fmt: skip
    rows = [row for row, _message in BAD] + [good]
    result = import_registry_rows(rows, None)
    messages = [str(e) for e in result.errors]
    for line, (_row, message) in enumerate(BAD, start=2):
        assert any(m.startswith(f"line {line}: {message}") for m in messages), (line, messages)
    assert not any(m.startswith(f"line {len(rows) + 1}:") for m in messages)  # the good row
    assert District.objects.filter(state__code="KA", population__isnull=False).count() == 0
    assert not Facility.objects.filter(code__startswith="KA-SC-X").exists()
    spoke.refresh_from_db()
    assert spoke.catchment_population == 6_000  # the good row was not written either


def test_only_a_national_administrator_sets_a_districts_population(ka_admin):
    row = {"kind": "district", "state": "KA", "district": "Mysuru", "population": "3001127"}
    result = import_registry_rows([row], ka_admin)
    assert [str(e) for e in result.errors] == [
        "line 2: only a national administrator can set a district's population (districts "
        "are reference data); leave district rows out of this file"
    ]
    assert mysuru().population is None
    catchment = {"kind": "facility", "code": "KA-SC-MINE", "name": "Mine", "state": "KA",
                 "level": "sc", "roles": "spoke", "catchment_population": "5000"}  # fmt: skip
    assert import_registry_rows([catchment], ka_admin).ok  # a spoke of their own state
    assert Facility.objects.get(code="KA-SC-MINE").catchment_population == 5_000


def test_a_check_only_run_counts_the_districts_and_writes_nothing():
    result = import_registry_csv(GOOD, None, dry_run=True)
    assert result.ok and result.updated["districts"] == 1
    assert mysuru().population is None


# --- the database and the admin ----------------------------------------------------------------


def test_the_database_refuses_a_population_of_zero():
    with transaction.atomic(), pytest.raises(IntegrityError):
        District.objects.filter(pk=mysuru().pk).update(population=0)
    with transaction.atomic(), pytest.raises(IntegrityError):
        FacilityFactory(catchment_population=0)


def district_form(client, population: str):
    district = mysuru()
    url = reverse("admin:registry_district_change", args=[district.pk])
    return client.post(
        url, {"name": district.name, "state": district.state_id, "population": population}
    )


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0", "A population is at least 1 person; leave it empty when it is not known."),
        ("-3", "A population is at least 1 person; leave it empty when it is not known."),
        ("60000000", "A population cannot be more than 50,000,000"),
        ("3.5", "Enter a whole number."),
    ],
)
def test_the_admin_refuses_a_district_population_with_a_reason(client, national, typed, message):
    client.force_login(national)
    response = district_form(client, typed)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["population"]
    assert any(e.startswith(message) for e in errors), errors
    assert len(errors) == 1  # one reason, not Django's "greater than or equal to 0" as well
    assert mysuru().population is None


def test_the_admin_sets_and_clears_a_district_population(client, national):
    client.force_login(national)
    assert district_form(client, "3001127").status_code == 302
    assert mysuru().population == 3_001_127
    assert district_form(client, "").status_code == 302
    assert mysuru().population is None


def facility_data(facility: Facility, **changes) -> dict:
    data = {
        "code": facility.code,
        "name": facility.name,
        "level": facility.level,
        "state": facility.state_id,
        "district": facility.district_id or "",
        "active": "on",
        "catchment_population": "",
    }
    if facility.is_hub:
        data["is_hub"] = "on"
    if facility.is_spoke:
        data["is_spoke"] = "on"
    return {**data, **changes}


def test_a_state_administrator_sets_a_spokes_catchment_in_the_admin(client, ka_admin, ka):
    spoke = FacilityFactory(state=ka)
    client.force_login(ka_admin)
    url = reverse("admin:registry_facility_change", args=[spoke.pk])
    refused = client.post(url, facility_data(spoke, catchment_population="0"))
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["catchment_population"] == [
        "A population is at least 1 person; leave it empty when it is not known."
    ]
    assert client.post(url, facility_data(spoke, catchment_population="8000")).status_code == 302
    spoke.refresh_from_db()
    assert spoke.catchment_population == 8_000


def test_a_hub_only_facility_has_no_catchment(client, national, ka):
    hub = HubFactory(state=ka)
    client.force_login(national)
    url = reverse("admin:registry_facility_change", args=[hub.pk])
    refused = client.post(url, facility_data(hub, catchment_population="8000"))
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["catchment_population"] == [
        'Only a spoke has a catchment population: tick "acts as spoke" or leave it empty.'
    ]
    hub.refresh_from_db()
    assert hub.catchment_population is None
