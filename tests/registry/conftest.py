import pytest

from sanjeevani.registry.models import Facility
from tests.factories import FacilityFactory, HubFactory

from .factories import national_admin, state, state_admin


@pytest.fixture(autouse=True)
def _no_staff_2fa(settings):
    """Admin scoping is tested on its own; the 2FA gate has its own tests."""
    settings.REQUIRE_STAFF_2FA = False


@pytest.fixture
def ka(db):
    return state("KA")


@pytest.fixture
def tn(db):
    return state("TN")


@pytest.fixture
def ka_admin(ka):
    return state_admin(ka)


@pytest.fixture
def national(db):
    return national_admin()


@pytest.fixture
def ka_hub(ka) -> Facility:
    return HubFactory(state=ka, name="Mysuru District Hospital", code="KA-DH-1")


@pytest.fixture
def ka_spoke(ka) -> Facility:
    return FacilityFactory(state=ka, name="Bilikere Sub-centre", code="KA-SC-1")


@pytest.fixture
def tn_hub(tn) -> Facility:
    return HubFactory(state=tn, name="Madurai Medical College", code="TN-MC-1")
