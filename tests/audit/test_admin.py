"""The audit trail in the admin: national administrators browse and filter; nobody edits."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sanjeevani.accounts.models import Role
from sanjeevani.audit.models import AuditEvent
from sanjeevani.audit.services import record_event
from tests.factories import StaffUserFactory
from tests.registry.factories import national_admin, state, state_admin

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/audit/auditevent/"
PATIENT = uuid.uuid4()


@pytest.fixture
def events():
    doctor = StaffUserFactory(role=Role.DOCTOR, username="dr-asha")
    cho = StaffUserFactory(role=Role.CHO, username="cho-ravi")
    return {
        "view": record_event(doctor, "patient.view", patient_id=PATIENT, ip="10.0.0.7"),
        "rx": record_event(doctor, "prescription.issue", patient_id=uuid.uuid4()),
        "cho": record_event(cho, "patient.create", patient_id=uuid.uuid4()),
    }


def listed(response) -> set:
    return {event.action for event in response.context["cl"].result_list}


def test_national_admin_browses_the_trail(client, events):
    client.force_login(national_admin())
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert listed(response) == {"patient.view", "prescription.issue", "patient.create"}
    detail = client.get(reverse("admin:audit_auditevent_change", args=[events["view"].pk]))
    assert detail.status_code == 200
    assert "10.0.0.7" in detail.text
    assert 'name="_save"' not in detail.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "patient."}, {"patient.view", "patient.create"}),
        ({"role": Role.CHO}, {"patient.create"}),
        ({"patient": str(PATIENT)}, {"patient.view"}),
        ({"patient": "not-a-uuid"}, set()),
        ({"actor": "DR-ASHA"}, {"patient.view", "prescription.issue"}),
        ({"at__gte": "2000-01-01"}, {"patient.view", "prescription.issue", "patient.create"}),
        ({"at__gte": "2999-01-01"}, set()),
        ({"action": "patient.", "actor": "dr-asha"}, {"patient.view"}),
    ],
)
def test_filters(client, events, query, expected):
    client.force_login(national_admin())
    response = client.get(CHANGELIST, query)
    assert response.status_code == 200
    assert listed(response) == expected


def test_filter_boxes_keep_the_other_filters(client, events):
    client.force_login(national_admin())
    response = client.get(CHANGELIST, {"role": Role.CHO})
    assert 'name="patient"' in response.text
    assert '<input type="hidden" name="role" value="cho">' in response.text


def test_nobody_adds_changes_or_deletes(client, events):
    client.force_login(StaffUserFactory(role=Role.NATIONAL_ADMIN, is_superuser=True))
    event = events["view"]
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    client.post(
        reverse("admin:audit_auditevent_change", args=[event.pk]), {"action": "patient.forgotten"}
    )
    delete_url = reverse("admin:audit_auditevent_delete", args=[event.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.action == "patient.view"
    assert AuditEvent.objects.count() == 3
    response = client.get(CHANGELIST)
    assert "delete_selected" not in response.text


def test_the_model_refuses_changes_too(events):
    event = events["view"]
    event.action = "patient.forgotten"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()


@pytest.mark.parametrize("role", [Role.STATE_ADMIN, Role.HUB_COORDINATOR])
def test_other_staff_cannot_see_the_trail(client, events, role):
    user = state_admin(state("KA")) if role == Role.STATE_ADMIN else StaffUserFactory(role=role)
    client.force_login(user)
    assert client.get(CHANGELIST).status_code == 403
    detail = reverse("admin:audit_auditevent_change", args=[events["view"].pk])
    assert client.get(detail).status_code == 403
    index = client.get(reverse("admin:index"))
    apps = [app["app_label"] for app in index.context["app_list"]]
    assert "audit" not in apps


# --- "who": through the account's index, the recorded label only when no account matches ---
def test_who_finds_an_account_by_its_id_even_after_a_rename(client, events):
    client.force_login(national_admin())
    doctor = events["view"].actor
    doctor.username = "dr-asha-menon"
    doctor.save(update_fields=["username"])
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST, {"actor": "DR-ASHA-MENON"})
    assert listed(response) == {"patient.view", "prescription.issue"}
    trail = [q["sql"] for q in queries.captured_queries if "audit_auditevent" in q["sql"]]
    assert trail and not any("UPPER" in sql.upper() for sql in trail)


def test_who_still_finds_a_former_account_by_the_recorded_name(client, events):
    client.force_login(national_admin())
    events["cho"].actor.delete()
    response = client.get(CHANGELIST, {"actor": "Cho-Ravi"})
    assert listed(response) == {"patient.create"}


def test_who_finds_a_name_typed_in_other_capitals_than_it_was_made_with(client, db):
    client.force_login(national_admin())
    record_event(StaffUserFactory(role=Role.DOCTOR, username="Dr.Kavya"), "patient.view")
    response = client.get(CHANGELIST, {"actor": "dr.kavya"})
    assert listed(response) == {"patient.view"}
