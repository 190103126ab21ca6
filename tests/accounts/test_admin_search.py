"""The administration's account search at national size (``accounts.selectors.accounts_matching``):
every patient is an account, so a search must reach its rows through indexes, not by reading
tens of millions of names."""

from __future__ import annotations

import pytest
from django.db import connection

from sanjeevani.accounts.models import Role, User
from sanjeevani.accounts.selectors import accounts_matching
from tests.factories import PatientAccountFactory, StaffUserFactory

pytestmark = pytest.mark.django_db

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (DATABASE_URL=postgres://...): the plan of a 200,000-account "
    "table is PostgreSQL's; SQLite finds the same accounts",
)


def found(term: str) -> set[str]:
    return set(User.objects.filter(accounts_matching(term)).values_list("username", flat=True))


@pytest.fixture
def people():
    return {
        "patient": PatientAccountFactory(mobile="+919812345678", username="+919812345678",
                                         first_name="Kavya", last_name="Rao"),
        "doctor": StaffUserFactory(username="dr.kavya", first_name="Kavya", last_name="Raghunathan",
                                   email="kavya@hospital.example", mobile="+919900011122"),
        "cho": StaffUserFactory(username="cho.ka", role=Role.CHO, first_name="Meena",
                                last_name="Devi"),
    }  # fmt: skip


def test_a_patient_is_found_by_their_mobile_number_in_any_form(people):
    for typed in ("+919812345678", "98123 45678", "09812345678", "+91 98123-45678"):
        assert found(typed) == {"+919812345678"}, typed


def test_staff_are_found_by_name_username_email_and_mobile(people):
    assert found("kavya raghu") == {"dr.kavya"}
    assert found("Raghunathan Kavya") == {"dr.kavya"}
    assert found("DR.KAV") == {"dr.kavya"}
    assert found("hospital.example") == {"dr.kavya"}
    assert found("99000 11122") == {"dr.kavya"}
    assert found("meena") == {"cho.ka"}


def test_a_patient_is_not_found_by_name(people):
    """Their name is not indexed for a part of it; the doctor of the same first name is."""
    assert found("Kavya") == {"dr.kavya"}


def test_the_admin_list_searches_the_same_way(client, settings, people):
    settings.REQUIRE_STAFF_2FA = False
    client.force_login(StaffUserFactory(role=Role.NATIONAL_ADMIN, username="national"))
    page = client.get("/admin/accounts/user/", {"q": "98123 45678"})
    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [people["patient"]]
    page = client.get("/admin/accounts/user/", {"q": "meena devi"})
    assert list(page.context["cl"].result_list) == [people["cho"]]


@needs_postgresql
def test_searches_read_indexes_not_the_account_table(people):
    """Among 200,000 patient accounts (filled in SQL, then ``ANALYZE``), each kind of search
    is planned without a sequential scan of the accounts (it was one for every search)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_user (
                id, password, is_superuser, username, first_name, last_name, email,
                is_staff, is_active, date_joined, role, mobile, preferred_language,
                demo_password_set, session_epoch)
            SELECT gen_random_uuid(), '', false, '+9197' || lpad(i::text, 8, '0'),
                   'Name', md5(i::text), '', false, true, now(), 'patient',
                   '+9197' || lpad(i::text, 8, '0'), 'en', false, 0
              FROM generate_series(1, 200000) AS i
            """
        )
        cursor.execute("ANALYZE accounts_user")
    for term in ("97000 12345", "dr.kav", "kavya raghu", "hospital.example"):
        plan = User.objects.filter(accounts_matching(term)).order_by("username")[:100].explain()
        assert "Seq Scan on accounts_user" not in plan, (term, plan)
    assert found("97000 12345") == {"+919700012345"}
