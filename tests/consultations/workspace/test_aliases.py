"""The workspace at its new paths and at its old OPD paths (aliases for one release): the same
views, the same answers, and the old ones say where they moved."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.test import RequestFactory
from django.urls import resolve, reverse
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate

from sanjeevani.consultations import services as consultation_services
from sanjeevani.consultations.models import Consultation
from sanjeevani.consultations.workspace import views as workspace_views
from sanjeevani.consultations.workspace.mount import Mount
from sanjeevani.opd import api as opd_api
from sanjeevani.opd.urls import DOCTOR_PAGE_ALIASES
from sanjeevani.opd.workspace import OPD_WORKSPACE, all_opds, doctor_opds
from sanjeevani.queueing import services as queue
from tests.opd.pages_support import make_clinic

pytestmark = pytest.mark.django_db

UUID = "7b6c1a8e-4c43-4e0b-9a8f-2a0c6e7d1f10"


@pytest.fixture(autouse=True)
def _outbox(settings, tmp_path):
    settings.SMS_BACKEND = "file"
    settings.SMS_OUTBOX_DIR = tmp_path / "outbox"


@pytest.fixture
def clinic():
    return make_clinic()


@pytest.fixture
def doctor_client(client, clinic):
    client.force_login(clinic.doctor.user)
    return client


@pytest.fixture
def consultation(doctor_client, clinic) -> Consultation:
    queue.join_queue(clinic.patient.account, clinic.patient, clinic.opd, "Cough")
    doctor_client.post(reverse("workspace:presence"), {"action": "online", "opd": clinic.opd.pk})
    doctor_client.post(reverse("workspace:call_next"))
    found = Consultation.objects.get(doctor=clinic.doctor)
    consultation_services.accept_call(clinic.patient.account, found.ticket)
    return found


def _kwargs(route: str) -> dict:
    return {"consultation_id": UUID} if "<uuid:consultation_id>" in route else {}


@pytest.mark.parametrize("route,view,old,new", DOCTOR_PAGE_ALIASES, ids=lambda v: str(v))
def test_every_old_doctor_page_runs_the_workspace_view(route, view, old, new):
    kwargs = _kwargs(route)
    old_match = resolve(reverse(f"opd:{old}", kwargs=kwargs))
    new_match = resolve(reverse(f"workspace:{new}", kwargs=kwargs))
    assert old_match.func.__wrapped__ is new_match.func is view
    assert old_match.kwargs == new_match.kwargs
    assert old_match.kwargs["mount"] is OPD_WORKSPACE


@pytest.mark.parametrize("route,name", opd_api.WORKSPACE_ALIASES, ids=lambda v: str(v))
def test_every_old_api_path_runs_the_workspace_view(route, name):
    kwargs = _kwargs(route)
    old_match = resolve(reverse(f"opd-api:{name}", kwargs=kwargs))
    new_match = resolve(reverse(f"workspace-api:{name}", kwargs=kwargs))
    assert old_match.func.cls is new_match.func.cls
    assert old_match.func.initkwargs == new_match.func.initkwargs == {"mount": OPD_WORKSPACE}


def _deprecated_towards(response, new_url: str) -> bool:
    return (
        response["Deprecation"].startswith("@")
        and response["Link"] == f'<{new_url}>; rel="successor-version"'
    )


def test_the_console_answers_at_both_paths(doctor_client, consultation):
    new = doctor_client.get("/consultations/")
    old = doctor_client.get("/opd/doctor/")
    assert new.status_code == old.status_code == 200
    assert "Deprecation" not in new
    assert _deprecated_towards(old, "/consultations/")
    for response in (new, old):
        page = response.content.decode()
        assert "Karnataka General OPD" in page
        assert f'href="/consultations/{consultation.pk}/"' in page
    assert (
        doctor_client.get("/consultations/queue.json").json()
        == doctor_client.get("/opd/doctor/queue.json").json()
    )


def test_the_consultation_page_answers_at_both_paths(doctor_client, consultation):
    new_url = f"/consultations/{consultation.pk}/"
    new = doctor_client.get(new_url)
    old = doctor_client.get(f"/opd/doctor/consultations/{consultation.pk}/")
    assert new.status_code == old.status_code == 200
    assert _deprecated_towards(old, new_url)
    for response in (new, old):
        page = response.content.decode()
        assert "Asha Devi" in page
        assert f'data-save-url="/consultations/{consultation.pk}/record"' in page
        assert f'action="/api/v1/consultations/{consultation.pk}/mode/"' in page
        assert "camera=(self)" in response["Permissions-Policy"]


def test_a_step_posted_to_the_old_path_lands_on_the_new_page(doctor_client, consultation):
    response = doctor_client.post(
        f"/opd/doctor/consultations/{consultation.pk}/hold", {"action": "hold"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/consultations/{consultation.pk}/"
    consultation.refresh_from_db()
    assert consultation.status == Consultation.Status.ON_HOLD


def test_the_api_answers_the_same_at_both_paths(clinic, consultation):
    api = APIClient()
    api.force_authenticate(clinic.doctor.user)
    pairs = [
        (
            f"/api/v1/consultations/{consultation.pk}/",
            f"/api/v1/opd/consultations/{consultation.pk}/",
        ),
        (
            f"/api/v1/consultations/{consultation.pk}/mode/",
            f"/api/v1/opd/consultations/{consultation.pk}/mode/",
        ),
        ("/api/v1/consultations/doctor/presence/", "/api/v1/opd/doctor/presence/"),
        ("/api/v1/consultations/doctor/queue/", "/api/v1/opd/doctor/queue/"),
        ("/api/v1/consultations/doctor/consultations/", "/api/v1/opd/doctor/consultations/"),
    ]
    for new_url, old_url in pairs:
        new, old = api.get(new_url), api.get(old_url)
        assert new.status_code == old.status_code == 200, new_url
        assert new.json() == old.json(), new_url
        assert "Deprecation" not in new
        assert _deprecated_towards(old, new_url)
    old = api.post(f"/api/v1/opd/consultations/{consultation.pk}/hold/")
    assert old.status_code == 200 and old.json()["status"] == "on_hold"
    new = api.post(f"/api/v1/consultations/{consultation.pk}/resume/")
    assert new.status_code == 200 and new.json()["status"] == "in_progress"


def test_the_line_comes_from_the_mount(rf: RequestFactory, clinic, consultation):
    """The same view mounted for another service line does not find an OPD consultation."""
    hub_line = Mount(
        service_line=Consultation.ServiceLine.HUB_SPOKE, queues=all_opds, queues_of=doctor_opds
    )
    request = rf.get("/")
    request.user = clinic.doctor.user
    request.resolver_match = None
    with pytest.raises(Http404):
        workspace_views.consultation(request, consultation_id=consultation.pk, mount=hub_line)
    view = opd_api.workspace_api.ConsultationDetailView.as_view(mount=hub_line)
    api_request = APIRequestFactory().get("/")
    force_authenticate(api_request, user=clinic.doctor.user)
    assert view(api_request, consultation_id=consultation.pk).status_code == 404
