"""Who may see a prescription (page, PDF, API), the audit of every view, and the catalogue."""

from __future__ import annotations

import pytest

from sanjeevani.accounts.models import Role
from sanjeevani.audit.models import AuditEvent
from sanjeevani.prescriptions.models import Medicine
from tests.factories import (
    DoctorFactory,
    FacilityFactory,
    PatientAccountFactory,
    PatientFactory,
    PostingFactory,
    StaffUserFactory,
)
from tests.prescriptions.conftest import api_for, issue, line
from tests.prescriptions.factories import ConsultationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rx(audio_consultation):
    response = issue(audio_consultation, [line("paracetamol")])
    assert response.status_code == 201
    return response.json()


def urls(rx) -> list[str]:
    return [
        f"/rx/{rx['id']}/",
        f"/rx/{rx['id']}/pdf/",
        f"/api/v1/prescriptions/{rx['id']}/",
        f"/api/v1/prescriptions/{rx['id']}/pdf/",
    ]


@pytest.mark.parametrize(
    "stranger",
    [
        lambda c: PatientAccountFactory(),
        lambda c: DoctorFactory().user,
        lambda c: StaffUserFactory(role=Role.NATIONAL_ADMIN),
    ],
    ids=["another-family", "another-doctor", "an-administrator"],
)
def test_strangers_get_404_everywhere(client, rx, audio_consultation, stranger):
    user = stranger(audio_consultation)
    client.force_login(user)
    for url in urls(rx):
        assert client.get(url).status_code == 404, url
    correct = api_for(user).post(
        f"/api/v1/prescriptions/{rx['id']}/correct/", {"items": []}, format="json"
    )
    assert correct.status_code == 404
    assert not AuditEvent.objects.filter(action__in=["prescription.view", "prescription.download"])


def test_a_family_member_account_sees_the_profile_it_holds(client, audio_consultation):
    child = PatientFactory(account=audio_consultation.patient.account, name="Child")
    consultation = ConsultationFactory(patient=child)
    rx = issue(consultation, [line("paracetamol")]).json()
    client.force_login(audio_consultation.patient.account)
    assert client.get(f"/rx/{rx['id']}/").status_code == 200


def test_patient_and_doctor_see_it_and_each_view_is_audited(client, rx, audio_consultation):
    for user in (audio_consultation.patient.account, audio_consultation.doctor.user):
        client.force_login(user)
        for url in urls(rx):
            assert client.get(url).status_code == 200, url
    views = AuditEvent.objects.filter(action="prescription.view", object_id=rx["id"])
    downloads = AuditEvent.objects.filter(action="prescription.download", object_id=rx["id"])
    assert views.count() == 4
    assert downloads.count() == 4
    assert {e.patient_id for e in [*views, *downloads]} == {audio_consultation.patient_id}


def test_cho_of_the_spoke_may_view_a_hub_and_spoke_prescription(client):
    spoke = FacilityFactory()
    consultation = ConsultationFactory(service_line="hub_spoke", spoke=spoke)
    rx = issue(consultation, [line("paracetamol")]).json()
    cho = PostingFactory(user__role=Role.CHO, facility=spoke, state=spoke.state).user
    elsewhere = PostingFactory(user__role=Role.CHO, facility=FacilityFactory()).user
    client.force_login(cho)
    assert client.get(f"/rx/{rx['id']}/").status_code == 200
    client.force_login(elsewhere)
    assert client.get(f"/rx/{rx['id']}/").status_code == 404


def test_anonymous_is_sent_to_sign_in(client, rx):
    response = client.get(f"/rx/{rx['id']}/pdf/")
    assert response.status_code == 302
    assert "/accounts/otp/" in response["Location"]
    assert client.get(f"/api/v1/prescriptions/{rx['id']}/").status_code in (401, 403)


def test_medicine_search_prefix_first(audio_consultation):
    client = api_for(audio_consultation.doctor.user)
    found = client.get("/api/v1/prescriptions/medicines/", {"q": "para"}).json()
    assert found and all(m["generic_name"] == "paracetamol" for m in found)
    assert {m["tpg_list"] for m in found} == {"O"}
    contains = client.get("/api/v1/prescriptions/medicines/", {"q": "formin"}).json()
    assert {m["generic_name"] for m in contains} == {"metformin"}
    combo = client.get("/api/v1/prescriptions/medicines/", {"q": "clav"}).json()
    assert combo[0]["generic_name"] == "amoxicillin + clavulanic acid"


def test_catalogue_covers_every_list_with_sources():
    lists = set(Medicine.objects.values_list("tpg_list", flat=True))
    assert lists == {"O", "A", "B", "prohibited"}
    assert not Medicine.objects.filter(source="").exists()
    assert Medicine.objects.get(generic_name="alprazolam", strength="0.5 mg").source.startswith(
        "NDPS Act 1985"
    )
