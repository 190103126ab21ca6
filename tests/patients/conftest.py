import pytest

from tests.factories import PatientAccountFactory, StaffUserFactory

from .factories import place


@pytest.fixture
def where(db):
    return place()


@pytest.fixture
def account(db):
    return PatientAccountFactory()


@pytest.fixture
def other_account(db):
    return PatientAccountFactory()


@pytest.fixture
def doctor(db):
    return StaffUserFactory()
