import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sanjeevani.audit.models import AuditEvent
from sanjeevani.patients import selectors, services
from sanjeevani.patients.models import Patient

from .factories import member_data

pytestmark = pytest.mark.django_db


def _errors(exc_info) -> dict:
    return exc_info.value.message_dict


def test_one_account_holds_several_family_members(account, where):
    services.add_family_member(account, member_data(where), account)
    services.add_family_member(
        account,
        member_data(where, name="Raj Sharma", relation="spouse", date_of_birth=None, age_years=44),
        account,
    )
    services.add_family_member(
        account,
        member_data(where, name="Tara Sharma", relation="child", date_of_birth="2018-01-09"),
        account,
    )

    family = selectors.family_of(account)

    assert [p.name for p in family] == ["Meera Sharma", "Raj Sharma", "Tara Sharma"]
    assert {p.relation for p in family} == {"self", "spouse", "child"}
    assert family[1].age >= 44 and family[1].date_of_birth is None
    assert AuditEvent.objects.filter(action="patient.create").count() == 3


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"date_of_birth": "2999-01-01"}, "date_of_birth", "future"),
        ({"date_of_birth": None, "age_years": None}, "date_of_birth", "age in years"),
        ({"date_of_birth": None, "age_years": 121}, "age_years", "between 0 and 120"),
        ({"date_of_birth": "1800-01-01"}, "date_of_birth", "120 years"),
        ({"abha_number": "1234-5678"}, "abha_number", "14 digits"),
        ({"abha_number": "12-3456-7890-123X"}, "abha_number", "14 digits"),
        ({"abha_address": "1meera@abdm"}, "abha_address", "name@abdm"),
        ({"abha_address": "meera@gmail.com"}, "abha_address", "name@abdm"),
        ({"name": "   "}, "name", "full name"),
        ({"sex": "X"}, "sex", "female, male or other"),
        ({"preferred_language": "xx"}, "preferred_language", "language"),
        ({"address": "Gali " * 61}, "address", "at most 300"),
    ],
)
def test_invalid_profiles_are_refused_with_a_message_per_field(
    account, where, overrides, field, fragment
):
    with pytest.raises(ValidationError) as exc_info:
        services.add_family_member(account, member_data(where, **overrides), account)

    messages = _errors(exc_info)[field]
    assert any(fragment in m for m in messages), messages
    assert not Patient.objects.filter(account=account).exists()


def test_district_of_another_state_is_refused(account, where):
    with pytest.raises(ValidationError) as exc_info:
        services.add_family_member(
            account, member_data(where, district=where["other_district"].pk), account
        )

    [message] = _errors(exc_info)["district"]
    assert where["other_district"].name in message and where["state"].name in message


def test_abha_number_is_stored_as_digits_and_shown_formatted(account, where):
    patient = services.add_family_member(
        account,
        member_data(where, abha_number="12 3456 7890 1234", abha_address="Meera.S@abdm"),
        account,
    )

    patient.refresh_from_db()
    assert patient.abha_number == "12345678901234"
    assert patient.abha_number_display == "12-3456-7890-1234"
    assert patient.abha_address == "meera.s@abdm"


def test_date_of_birth_wins_over_age_when_both_are_given(account, where):
    patient = services.add_family_member(
        account, member_data(where, date_of_birth="2000-01-01", age_years=70), account
    )

    assert patient.date_of_birth == dt.date(2000, 1, 1)
    assert patient.age_years is None


def test_a_family_has_at_most_ten_profiles(account, where):
    for n in range(services.MAX_FAMILY_SIZE):
        relation = "self" if n == 0 else "child"
        services.add_family_member(
            account, member_data(where, name=f"Member {n}", relation=relation), account
        )

    with pytest.raises(ValidationError) as exc_info:
        services.add_family_member(
            account, member_data(where, name="One too many", relation="child"), account
        )

    assert "at most 10 profiles" in exc_info.value.messages[0]
    assert Patient.objects.filter(account=account).count() == 10


def test_only_one_profile_is_the_account_holder(account, where):
    services.add_family_member(account, member_data(where), account)

    with pytest.raises(ValidationError) as exc_info:
        services.add_family_member(account, member_data(where, name="Second me"), account)

    assert "relation" in _errors(exc_info)


def test_someone_else_cannot_add_to_a_family(account, other_account, where):
    with pytest.raises(PermissionDenied):
        services.add_family_member(account, member_data(where), other_account)
    assert not Patient.objects.exists()


def test_update_may_switch_from_date_of_birth_to_age(account, where):
    patient = services.add_family_member(account, member_data(where), account)

    updated = services.update_patient(patient, {"age_years": 35}, account)

    assert updated.date_of_birth is None
    assert updated.age_years == 35
    assert updated.age_recorded_on == timezone.localdate()
    event = AuditEvent.objects.get(action="patient.update")
    assert event.patient_id == patient.pk
    assert set(event.detail["fields"]) == {"age_years", "date_of_birth"}


def test_update_keeps_the_rules(account, where):
    patient = services.add_family_member(account, member_data(where), account)

    with pytest.raises(ValidationError) as exc_info:
        services.update_patient(patient, {"district": where["other_district"].pk}, account)

    assert "district" in _errors(exc_info)
    patient.refresh_from_db()
    assert patient.district == where["district"]


def test_another_familys_patient_is_not_found(account, other_account, where):
    patient = services.add_family_member(account, member_data(where), account)

    with pytest.raises(Http404):
        selectors.patient_for_account(other_account, patient.pk)
    with pytest.raises(Http404):
        selectors.patient_for_account(account, "not-a-uuid")
    assert selectors.patient_for_account(account, str(patient.pk)) == patient


@pytest.mark.parametrize("naming", ["pk", "code"])
def test_a_district_and_its_own_state_are_read_in_one_statement(account, where, naming):
    """The usual profile names a district and that district's state: the state comes
    with the district, by its key or by its code, and is the one stored."""
    state = where["state"]
    data = member_data(where, state=state.pk if naming == "pk" else state.code)
    with CaptureQueriesContext(connection) as queries:
        cleaned = services.clean_patient_data(data)
    assert len(queries.captured_queries) == 1, [q["sql"] for q in queries]
    assert cleaned["state"] == state and cleaned["district"] == where["district"]


def test_a_state_other_than_the_districts_is_still_read_and_refused(account, where):
    other_state = where["other_district"].state
    data = member_data(where, state=other_state.code)
    with pytest.raises(ValidationError) as exc_info:
        services.clean_patient_data(data)
    [message] = _errors(exc_info)["district"]
    assert where["district"].name in message and other_state.name in message


def test_family_size_counts_profiles_and_the_holders_own_in_one_read(account, where):
    services.add_family_member(account, member_data(where), account)
    services.add_family_member(
        account, member_data(where, name="Asha Sharma", relation="child"), account
    )
    with CaptureQueriesContext(connection) as queries:
        size = selectors.family_size(account)
    assert (size.profiles, size.selves) == (2, 1)
    assert len(queries.captured_queries) == 1
