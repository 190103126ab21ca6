"""The duplicate check before a centre registers a walk-in (``possible_duplicates``): who
is offered to the CHO, for which reasons, and who is not."""

from __future__ import annotations

import pytest

from sanjeevani.hwc.selectors import possible_duplicates
from tests.factories import DistrictFactory, PatientFactory
from tests.hwc.factories import walk_in

pytestmark = pytest.mark.django_db


def _names(found) -> list[str]:
    return [d.patient.name for d in found]


def test_a_similar_name_is_offered_with_its_reasons_in_any_word_order_and_case(network):
    walk_in(network, name="Kumar Ramesh", age_years=50, date_of_birth=None, address="Rampur")
    walk_in(network, name="Sita Devi", age_years=50, date_of_birth=None)
    (found,) = possible_duplicates(network.spoke, "  RAMESH   kumaar ", 51, "rampur village")
    assert found.patient.name == "Kumar Ramesh"
    assert found.reasons == ["Similar name: Kumar Ramesh", "Age 50", "Same village/address: Rampur"]


def test_an_age_more_than_two_years_apart_or_another_village_is_not_the_same_person(network):
    walk_in(network, name="Ramesh Kumar", age_years=40, date_of_birth=None)
    walk_in(network, name="Ramesh Kumar", age_years=51, date_of_birth=None, address="Sonpur")
    assert possible_duplicates(network.spoke, "Ramesh Kumar", 50, "Rampur") == []
    assert len(possible_duplicates(network.spoke, "Ramesh Kumar", None, "")) == 2


def test_the_district_is_searched_and_other_districts_are_not(network):
    home, elsewhere = DistrictFactory(state=network.state), DistrictFactory(state=network.state)
    network.spoke.district = home
    network.spoke.save(update_fields=["district"])
    PatientFactory(state=network.state, district=home, name="Asha Bai")
    PatientFactory(state=network.state, district=elsewhere, name="Asha Bai")
    assert _names(possible_duplicates(network.spoke, "asha bai", None)) == ["Asha Bai"]


def test_at_most_ten_are_offered_and_a_blank_name_offers_none(network):
    for _ in range(12):
        walk_in(network, name="Mohan Lal")
    assert len(possible_duplicates(network.spoke, "Mohan Lal", None)) == 10
    assert possible_duplicates(network.spoke, "   ", None) == []
