"""Factories for the foundation models. Apps above add theirs in ``tests/<app>/factories.py``."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model

from sanjeevani.accounts.models import Role
from sanjeevani.patients.models import Patient
from sanjeevani.registry.models import (
    District,
    DoctorProfile,
    Facility,
    HubSpokeLink,
    OnlineOPD,
    OpeningWindow,
    Posting,
    Specialty,
    State,
)

PASSWORD = "correct horse battery staple 42"
_CODE_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def state_code(n: int) -> str:
    """A code that fits the column's four characters however many states a run makes
    ("Z" + three base-36 digits: 46,656 codes; PostgreSQL enforces the length, SQLite not)."""
    digits = ""
    for _ in range(3):
        n, digit = divmod(n, 36)
        digits = _CODE_DIGITS[digit] + digits
    return f"Z{digits}"


class StateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = State
        django_get_or_create = ("code",)

    code = factory.Sequence(state_code)
    name = factory.Sequence(lambda n: f"Test State {n}")


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = District

    state = factory.SubFactory(StateFactory)
    name = factory.Sequence(lambda n: f"District {n}")


class SpecialtyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Specialty
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"spec-{n}")
    name = factory.Sequence(lambda n: f"Specialty {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = Role.PATIENT
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class PatientAccountFactory(UserFactory):
    role = Role.PATIENT
    mobile = factory.Sequence(lambda n: f"+9198{n:08d}")
    username = factory.LazyAttribute(lambda o: o.mobile)


class StaffUserFactory(UserFactory):
    role = Role.DOCTOR
    is_staff = factory.LazyAttribute(
        lambda o: o.role in {Role.STATE_ADMIN, Role.NATIONAL_ADMIN, Role.HUB_COORDINATOR}
    )


class FacilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Facility

    code = factory.Sequence(lambda n: f"FAC{n:05d}")
    name = factory.Sequence(lambda n: f"Health Centre {n}")
    level = Facility.Level.SUB_CENTRE
    state = factory.SubFactory(StateFactory)
    is_spoke = True


class HubFactory(FacilityFactory):
    level = Facility.Level.DISTRICT
    is_hub = True
    is_spoke = False


class HubSpokeLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HubSpokeLink

    hub = factory.SubFactory(HubFactory)
    spoke = factory.SubFactory(FacilityFactory, state=factory.SelfAttribute("..hub.state"))


class OnlineOPDFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OnlineOPD

    code = factory.Sequence(lambda n: f"opd-{n}")
    name = factory.Sequence(lambda n: f"General OPD {n}")
    state = factory.SubFactory(StateFactory)
    languages = factory.LazyFunction(lambda: ["en", "hi"])

    @factory.post_generation
    def always_open(obj, create, extracted, **kwargs):  # noqa: N805
        """By default open around the clock; pass ``always_open=False`` for no windows."""
        if create and extracted is not False:
            for day in range(7):
                OpeningWindow.objects.create(opd=obj, weekday=day, start_minute=0, end_minute=1440)


class DoctorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DoctorProfile

    user = factory.SubFactory(StaffUserFactory, role=Role.DOCTOR)
    registration_number = factory.Sequence(lambda n: f"KMC-{100000 + n}")
    council = "Karnataka Medical Council"
    qualification = "MBBS"
    contact_phone = factory.Sequence(lambda n: f"+91 80 4{n:07d}")  # printed on prescriptions
    languages = factory.LazyFunction(lambda: ["en", "hi"])


class PostingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Posting

    user = factory.SubFactory(StaffUserFactory)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    account = factory.SubFactory(PatientAccountFactory)
    name = factory.Faker("name")
    date_of_birth = dt.date(1990, 5, 17)
    sex = Patient.Sex.FEMALE
    state = factory.SubFactory(StateFactory)
