from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from sanjeevani.accounts.models import Role
from sanjeevani.patients.models import Patient
from sanjeevani.registry.models import (
    DoctorProfile,
    Facility,
    HubSpokeLink,
    OnlineOPD,
    OpeningWindow,
    Posting,
    RosterShift,
)

pytestmark = pytest.mark.django_db

MODELS = [
    get_user_model(),
    Facility,
    HubSpokeLink,
    OnlineOPD,
    OpeningWindow,
    DoctorProfile,
    RosterShift,
    Posting,
    Patient,
]


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def _seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_seed_demo_is_idempotent_and_prints_the_sign_ins():
    first_output = _seed()
    first = _counts()
    second_output = _seed()

    assert _counts() == first
    assert first["Patient"] == 3 and first["Facility"] >= 9
    for output in (first_output, second_output):
        assert "dr.anita" in output
        assert "sanjeevani-demo" in output
        assert "+91 98765 43210" in output
        assert "OTP shown on this console" in output


def test_seed_demo_once_does_nothing_the_second_time():
    _seed("--once")
    before = _counts()

    output = _seed("--once")

    assert _counts() == before
    assert "already loaded" in output


def test_demo_has_every_role_and_an_opd_open_around_the_clock():
    _seed()
    users = get_user_model().objects

    assert set(users.values_list("role", flat=True)) == set(Role.values)
    national = users.get(role=Role.NATIONAL_ADMIN)
    assert national.is_superuser and national.is_staff
    assert national.check_password("sanjeevani-demo")
    patient = users.get(role=Role.PATIENT)
    assert patient.mobile == "+919876543210"
    assert patient.patients.count() == 3

    always = OnlineOPD.objects.get(code="ka-general")
    assert always.opening_windows.filter(start_minute=0, end_minute=1440).count() == 7
    national_opd = OnlineOPD.objects.get(code="national-psychiatry")
    assert national_opd.scope == "national" and national_opd.state is None
    derm = OnlineOPD.objects.get(code="ka-dermatology")
    assert sorted(derm.opening_windows.values_list("weekday", flat=True)) == list(range(6))

    sc = Facility.objects.get(code="DEMO-KA-SC1")
    chain = [sc]
    while chain[-1].level != Facility.Level.MEDICAL_COLLEGE:
        link = chain[-1].hub_links.order_by("priority").first()
        assert link is not None, f"{chain[-1].code} has no hub"
        chain.append(link.hub)
    assert [f.level for f in chain] == ["sc", "phc", "dh", "mc"]

    cho = users.get(username="cho.ka")
    assert cho.posting.facility == sc
    assert users.get(username="admin.tn").posting.state.code == "TN"
    assert DoctorProfile.objects.get(user__username="dr.anita").shifts.count() == 14


def test_seed_demo_refuses_in_production_and_writes_nothing(settings):
    from django.core.management.base import CommandError

    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="refuses to run in production"):
        _seed()
    with pytest.raises(CommandError):
        _seed("--once")
    assert _counts() == dict.fromkeys(_counts(), 0)


def test_demo_staff_are_marked_for_the_deployment_check():
    _seed()
    users = get_user_model().objects
    staff = users.exclude(role=Role.PATIENT)
    assert staff.count() == staff.filter(demo_password_set=True).count() >= 14
    assert not users.get(role=Role.PATIENT).demo_password_set
