"""Sample data for family-profile tests: a state with two districts and one elsewhere."""

from __future__ import annotations

from typing import Any

from sanjeevani.patients.models import Patient
from tests.factories import DistrictFactory, StateFactory


def place() -> dict[str, Any]:
    """A state with a district, and a district of another state."""
    state = StateFactory()
    return {
        "state": state,
        "district": DistrictFactory(state=state),
        "other_district": DistrictFactory(state=StateFactory()),
    }


def member_data(where: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """Valid service input for one family member."""
    data: dict[str, Any] = {
        "name": "Meera Sharma",
        "relation": Patient.Relation.SELF,
        "date_of_birth": "1990-04-02",
        "sex": Patient.Sex.FEMALE,
        "state": where["state"].pk,
        "district": where["district"].pk,
        "preferred_language": "hi",
        "abha_number": "",
        "abha_address": "",
    }
    data.update(overrides)
    return data
