import pytest
from django.urls import reverse

from sanjeevani.audit.models import AuditEvent
from sanjeevani.patients.models import Patient
from sanjeevani.patients.views import ACTIVE_PATIENT_SESSION_KEY
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _form(where, **overrides):
    data = {
        "name": "Kiran Patil",
        "relation": "self",
        "date_of_birth": "1988-11-23",
        "age_years": "",
        "sex": "M",
        "state": where["state"].pk,
        "district": where["district"].pk,
        "preferred_language": "en",
        "abha_number": "",
        "abha_address": "",
    }
    data.update(overrides)
    return data


def test_anonymous_visitors_are_sent_to_otp_sign_in(client):
    for url in (reverse("patients:family"), reverse("patients:add")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/otp/?next=")
        assert url in response["Location"].replace("%2F", "/")


def test_staff_are_refused(client, doctor):
    client.force_login(doctor)
    assert client.get(reverse("patients:family")).status_code == 403


def test_family_page_lists_profiles_with_formatted_abha_and_audits_each(client, account, where):
    first = PatientFactory(account=account, state=where["state"], abha_number="91234567890123")
    second = PatientFactory(account=account, state=where["state"], relation="child")
    PatientFactory(name="Stranger Person")
    client.force_login(account)

    response = client.get(reverse("patients:family"))

    html = response.content.decode()
    assert response.status_code == 200
    assert first.name in html and second.name in html
    assert "Stranger Person" not in html
    assert "91-2345-6789-0123" in html
    assert reverse("patients:add") in html
    views = AuditEvent.objects.filter(action="patient.view", actor=account)
    assert {e.patient_id for e in views} == {first.pk, second.pk}


def test_add_member_through_the_page(client, account, where):
    client.force_login(account)
    assert client.get(reverse("patients:add")).status_code == 200

    response = client.post(
        reverse("patients:add"), _form(where, abha_number="12-3456-7890-1234"), follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("patients:family")
    patient = Patient.objects.get(account=account)
    assert patient.name == "Kiran Patil"
    assert patient.abha_number == "12345678901234"
    assert "12-3456-7890-1234" in response.content.decode()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"date_of_birth": "2999-01-01"}, "cannot be in the future"),
        ({"date_of_birth": ""}, "or the age in years"),
        ({"abha_number": "12345"}, "An ABHA number has 14 digits"),
        ({"abha_address": ".bad@abdm"}, "An ABHA address looks like name@abdm"),
    ],
)
def test_add_page_shows_errors_a_person_can_act_on(client, account, where, overrides, message):
    client.force_login(account)

    response = client.post(reverse("patients:add"), _form(where, **overrides))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Patient.objects.filter(account=account).exists()


def test_add_page_refuses_a_district_of_another_state(client, account, where):
    client.force_login(account)

    response = client.post(
        reverse("patients:add"), _form(where, district=where["other_district"].pk)
    )

    assert response.status_code == 200
    assert f"is not in {where['state'].name}" in response.content.decode()


def test_edit_page_is_audited_and_saves(client, account, where):
    patient = PatientFactory(account=account, state=where["state"], district=where["district"])
    client.force_login(account)
    url = reverse("patients:edit", args=[patient.pk])

    response = client.get(url)

    assert response.status_code == 200
    assert patient.name in response.content.decode()
    assert AuditEvent.objects.filter(
        action="patient.view", patient_id=patient.pk, actor=account
    ).exists()

    response = client.post(url, _form(where, name="New Name"))
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.name == "New Name"


def test_another_familys_patient_is_404_on_the_page(client, account):
    stranger = PatientFactory()
    client.force_login(account)

    assert client.get(reverse("patients:edit", args=[stranger.pk])).status_code == 404
    assert client.post(reverse("patients:edit", args=[stranger.pk]), {}).status_code == 404
    assert client.post(reverse("patients:choose", args=[stranger.pk])).status_code == 404
    assert not AuditEvent.objects.filter(patient_id=stranger.pk).exists()


def test_choosing_a_profile_is_remembered(client, account, where):
    patient = PatientFactory(account=account, state=where["state"])
    client.force_login(account)

    response = client.post(reverse("patients:choose", args=[patient.pk]))

    assert response.status_code == 302
    assert response["Location"] == f"/opd/?patient={patient.pk}"
    assert client.session[ACTIVE_PATIENT_SESSION_KEY] == str(patient.pk)


def test_edit_page_shown_again_with_errors_is_audited(client, account, where):
    patient = PatientFactory(account=account, state=where["state"], district=where["district"])
    client.force_login(account)

    response = client.post(
        reverse("patients:edit", args=[patient.pk]), _form(where, date_of_birth="2999-01-01")
    )

    assert response.status_code == 200
    assert "cannot be in the future" in response.content.decode()
    assert AuditEvent.objects.filter(action="patient.view", patient_id=patient.pk).count() == 1
    assert not AuditEvent.objects.filter(action="patient.update").exists()
