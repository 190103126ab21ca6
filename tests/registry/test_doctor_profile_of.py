"""A doctor's profile is read once per request (registry.selectors.doctor_profile_of) and
kept where ``user.doctor_profile`` keeps it: asking again, either way, reads nothing."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.functional import SimpleLazyObject

from sanjeevani.accounts.models import User
from sanjeevani.registry.models import DoctorProfile
from sanjeevani.registry.selectors import doctor_profile_of
from tests.factories import DoctorFactory, StaffUserFactory

pytestmark = pytest.mark.django_db


def test_a_doctors_profile_is_read_once_and_kept_on_the_user():
    doctor = DoctorFactory()
    user = User.objects.get(pk=doctor.user_id)  # as a request's token loads it
    with CaptureQueriesContext(connection) as queries:
        profile = doctor_profile_of(user)
        assert doctor_profile_of(user) is profile
        assert user.doctor_profile is profile
        assert profile.user is user
    assert len(queries) == 1
    assert profile.pk == doctor.pk
    assert profile.registration_number == doctor.registration_number


def test_someone_without_a_profile_gets_none_and_the_descriptor_agrees():
    user = User.objects.get(pk=StaffUserFactory().pk)
    with CaptureQueriesContext(connection) as queries:
        assert doctor_profile_of(user) is None
        assert doctor_profile_of(user) is None
        with pytest.raises(DoctorProfile.DoesNotExist):
            _ = user.doctor_profile
    assert len(queries) == 1


def test_a_profile_already_loaded_is_not_read_again():
    doctor = DoctorFactory()
    user = User.objects.select_related("doctor_profile").get(pk=doctor.user_id)
    with CaptureQueriesContext(connection) as queries:
        assert doctor_profile_of(user).pk == doctor.pk
    assert len(queries) == 0


def test_a_pages_lazy_user_is_answered_and_keeps_the_profile():
    doctor = DoctorFactory()
    user = User.objects.get(pk=doctor.user_id)
    lazy = SimpleLazyObject(lambda: user)  # what a session-signed-in page's request holds
    with CaptureQueriesContext(connection) as queries:
        assert doctor_profile_of(lazy).pk == doctor.pk
        assert user.doctor_profile.pk == doctor.pk
    assert len(queries) == 1
