"""The CHO's "Find": a walk-in by mobile number, patient ID or ABHA number, among the
centre's patients only (``hwc.selectors.find_patients``). Each way in is an indexed
equality, so a search reads the few matching rows and then checks they are the centre's;
until 2026-12-07 it compared an upper-cased patient ID, an unindexed ABHA number and a join
to the accounts in one ``OR``, and PostgreSQL read the whole patient table on every search
(128 ms at a million patients, growing with the country)."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sanjeevani.hwc import selectors
from sanjeevani.patients.models import Patient
from tests.factories import PatientAccountFactory
from tests.hwc.factories import fill_patients, send_case, walk_in

pytestmark = pytest.mark.django_db

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (DATABASE_URL=postgres://...): the plan of a 120,000-patient "
    "table is PostgreSQL's; SQLite finds the same rows",
)


def test_a_patient_id_is_found_however_it_is_typed(network):
    ours = walk_in(network)
    number = ours.patient_number
    spaced = f"{number[:2].lower()} {number[2:6].lower()}-{number[6:]}"
    for query in (number, number.lower(), spaced, f"  {number}  "):
        assert selectors.find_patients(network.spoke, query) == [ours], query


def test_every_profile_under_a_mobile_number_is_found(network):
    account = PatientAccountFactory(mobile="+919812345670")
    mother = walk_in(network, account=account, name="Anita Rao")
    child = walk_in(network, account=account, name="Bala Rao", relation="child")
    assert selectors.find_patients(network.spoke, "98123 45670") == [mother, child]
    assert selectors.find_patients(network.spoke, "+91 98123 45670") == [mother, child]


def test_only_the_centres_own_are_found_and_a_case_keeps_them_its_own(network):
    account = PatientAccountFactory(mobile="+919812345671")
    elsewhere = walk_in(network, account=account, abha_number="12345678901234")
    Patient.objects.filter(pk=elsewhere.pk).update(registered_at_facility_id=uuid.uuid4())
    for query in ("9812345671", "12-3456-7890-1234", elsewhere.patient_number):
        assert selectors.find_patients(network.spoke, query) == [], query
    send_case(network, patient=elsewhere)
    for query in ("9812345671", "12-3456-7890-1234", elsewhere.patient_number):
        assert selectors.find_patients(network.spoke, query) == [elsewhere], query


def test_nothing_typed_or_nothing_known_finds_nobody(network):
    walk_in(network)
    for query in ("", "   ", "12", "not a number", "+1 555 0100", "SJ"):
        assert selectors.find_patients(network.spoke, query) == [], query


@needs_postgresql
def test_a_search_reads_the_matching_rows_not_the_table(network):
    """The plans PostgreSQL picks among 120,000 patients of 50 centres, for each way of
    searching:
    no sequential scan of the patient table."""
    centres = [str(uuid.uuid4()) for _ in range(49)] + [str(network.spoke.pk)]
    fill_patients(
        120_000,
        network.state.pk,
        centre="(%(centres)s::uuid[])[1 + i %% 50]",
        abha_number="CASE WHEN i %% 4 = 0 THEN lpad(i::text, 14, '9') ELSE '' END",
        params={"centres": centres},
    )
    ours = walk_in(
        network,
        account=PatientAccountFactory(mobile="+919812345672"),
        abha_number="12345678901234",
    )
    send_case(network, patient=ours)
    for query in ("9812345672", ours.patient_number.lower(), "12-3456-7890-1234"):
        with CaptureQueriesContext(connection) as captured:
            assert selectors.find_patients(network.spoke, query) == [ours], query
        (search,) = [q["sql"] for q in captured if "patients_patient" in q["sql"]]
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {search}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "Seq Scan on patients_patient" not in plan, (query, plan)
