import pytest


@pytest.fixture(autouse=True)
def _no_staff_2fa(settings):
    """The audit admin's reach is tested on its own; the 2FA gate has its own tests."""
    settings.REQUIRE_STAFF_2FA = False
