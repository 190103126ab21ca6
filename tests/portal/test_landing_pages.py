"""Each role's landing page, the header's account links, and the styled 403/404/500 pages
(in the site's layout, in the person's language, never Django's debug page for an expected
situation; the API keeps its JSON error shape)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client, RequestFactory, override_settings
from django.urls import include, path
from django.utils import timezone

from sanjeevani.accounts.models import Role
from sanjeevani.portal import views
from sanjeevani.portal.context_processors import landing
from sanjeevani.queueing.models import DoctorPresence
from tests.factories import (
    DoctorFactory,
    FacilityFactory,
    HubFactory,
    OnlineOPDFactory,
    PatientAccountFactory,
    PostingFactory,
    StaffUserFactory,
    StateFactory,
)
from tests.prescriptions.factories import ConsultationFactory

pytestmark = pytest.mark.django_db

VIEWPORT = b'<meta name="viewport" content="width=device-width, initial-scale=1">'
SITE_CSS = b"css/site.css"


def _crash(request):
    raise RuntimeError("secret detail: never shown")


urlpatterns = [path("page-crash/", _crash), path("", include("sanjeevani.config.urls"))]
handler403 = "sanjeevani.portal.views.forbidden"
handler404 = "sanjeevani.portal.views.not_found"
handler500 = "sanjeevani.portal.views.server_error"
URLCONF = "tests.portal.test_landing_pages"


def signed_in(role: str) -> Client:
    client = Client(raise_request_exception=False)
    user = PatientAccountFactory() if role == Role.PATIENT else StaffUserFactory(role=role)
    client.force_login(user)
    return client


def in_hindi(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
    return client


def assert_styled(response) -> None:
    """The site's layout: viewport, stylesheet, skip link, main landmark."""
    assert VIEWPORT in response.content
    assert SITE_CSS in response.content
    assert b'<main id="main">' in response.content


# --- the landing pages ---------------------------------------------------------------------


def posted(role: str, facility) -> Client:
    client = Client(raise_request_exception=False)
    user = StaffUserFactory(role=role)
    PostingFactory(user=user, state=facility.state, facility=facility)
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("role", "url", "says"),
    [
        (Role.CHO, "/centre/", b"Follow-ups due"),
        (Role.HUB_COORDINATOR, "/hub/desk/", b"Hub desk"),
        (Role.OPERATOR, "/assisted/", b"Find one of your patients"),
    ],
)
def test_each_staff_landing_is_their_working_page(role, url, says):
    hub = HubFactory(is_spoke=True)
    client = posted(role, hub) if role != Role.OPERATOR else signed_in(role)
    response = client.get(url)
    assert response.status_code == 200
    assert_styled(response)
    assert says in response.content


def test_the_hub_coordinator_is_offered_the_administration():
    hub = HubFactory()
    assert b'href="/admin/"' in posted(Role.HUB_COORDINATOR, hub).get("/hub/desk/").content


def test_the_state_overview_counts_only_the_states_figures():
    home, other = StateFactory(), StateFactory()
    admin = StaffUserFactory(role=Role.STATE_ADMIN)
    PostingFactory(user=admin, state=home)
    opd = OnlineOPDFactory(state=home)
    OnlineOPDFactory(state=other)
    HubFactory(state=home)
    FacilityFactory(state=home)
    FacilityFactory(state=home)
    FacilityFactory(state=other)
    online = DoctorFactory(state=home)
    DoctorFactory(state=home)
    DoctorFactory(state=other)
    DoctorPresence.objects.create(doctor=online, opd=opd, status=DoctorPresence.Status.AVAILABLE)
    ConsultationFactory(opd=opd, doctor=online)
    old = ConsultationFactory(opd=opd, doctor=online)
    type(old).objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    ConsultationFactory(opd=OnlineOPDFactory(state=other))

    client = Client()
    client.force_login(admin)
    response = client.get("/overview/")
    assert response.status_code == 200
    overview = response.context["overview"]
    assert overview.scope_name == home.name
    assert (overview.opds, overview.hubs, overview.spokes) == (1, 1, 2)
    assert (overview.doctors, overview.doctors_online) == (2, 1)
    assert (overview.consultations_today, overview.consultations_to_date) == (1, 2)
    assert f"Overview: {home.name}".encode() in response.content
    assert b'href="/admin/"' in response.content


def test_the_national_overview_counts_every_state():
    OnlineOPDFactory()
    OnlineOPDFactory()
    response = signed_in(Role.NATIONAL_ADMIN).get("/overview/")
    assert response.context["overview"].national
    assert response.context["overview"].opds == 2
    assert b"Overview: the whole country" in response.content


def test_a_signed_in_person_is_offered_their_page_on_the_home_page_not_staff_sign_in():
    doctor = DoctorFactory().user
    client = Client()
    client.force_login(doctor)
    page = client.get("/")
    assert b"Continue to Doctor&#x27;s console" in page.content
    assert b'href="/consultations/"' in page.content
    assert b"Staff sign-in" not in page.content


def test_the_home_page_still_offers_both_sign_ins_to_visitors():
    page = Client().get("/")
    assert b"Patients: sign in with your mobile number" in page.content
    assert b"Staff sign-in" in page.content


# --- the header's account links ------------------------------------------------------------


def _account_nav(user) -> str:
    request = RequestFactory().get("/somewhere/")
    request.user = user
    return render_to_string("portal/_account_nav.html", landing(request), request=request)


def test_account_nav_names_the_signed_in_persons_page_and_signs_out():
    html = _account_nav(StaffUserFactory(role=Role.CHO))
    assert 'href="/centre/"' in html and "My health centre" in html
    assert 'action="/accounts/logout/"' in html
    assert "Staff sign-in" not in html


def test_account_nav_offers_both_sign_ins_when_signed_out():
    html = _account_nav(type("Anonymous", (), {"is_authenticated": False})())
    assert 'href="/accounts/otp/"' in html and 'href="/accounts/staff/"' in html
    assert "Sign out" not in html


# --- wrong role: a styled 403 naming whose page it is --------------------------------------


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
@pytest.mark.parametrize("url", ["/opd/", "/opd/history/", "/patients/"])
def test_staff_on_a_patients_page_get_the_styled_403_with_their_own_page(url, debug):
    with override_settings(DEBUG=debug):
        response = signed_in(Role.CHO).get(url)
    assert response.status_code == 403
    assert_styled(response)
    assert b"These pages are for patients" in response.content
    assert b'href="/centre/"' in response.content
    assert b"Go to your page: My health centre" in response.content
    assert b"Traceback" not in response.content


@pytest.mark.parametrize(
    ("role", "url", "whose"),
    [
        (Role.DOCTOR, "/centre/", b"This page is for Community Health Officers."),
        (Role.PATIENT, "/overview/", b"This page is for administrators."),
        (Role.CHO, "/assisted/", b"This page is for operators."),
        (Role.OPERATOR, "/hub/desk/", b"This page is for hub coordinators."),
    ],
)
def test_another_roles_landing_page_is_a_403_saying_whose_it_is(role, url, whose):
    response = signed_in(role).get(url)
    assert response.status_code == 403
    assert whose in response.content
    assert b"This page is not yours" in response.content


@pytest.mark.parametrize("url", ["/centre/", "/hub/desk/", "/assisted/", "/overview/"])
def test_signed_out_visitors_of_a_staff_page_are_sent_to_the_staff_sign_in(url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/staff/?next={url}"


def test_the_403_page_speaks_hindi():
    response = in_hindi(signed_in(Role.CHO)).get("/opd/")
    assert response.status_code == 403
    assert b'<html lang="hi">' in response.content
    assert "मुख्य सामग्री पर जाएँ".encode() in response.content  # the skip link
    assert "होम पेज पर जाएँ".encode() in response.content  # "Go to the home page"


def test_an_api_403_keeps_the_json_shape():
    request = RequestFactory().get("/api/v1/anything/")
    response = views.forbidden(request, views.NotYourPage("doctors"))
    assert response.status_code == 403
    assert json.loads(response.content)["error"]["code"] == "permission_denied"


# --- 404 and 500 ---------------------------------------------------------------------------


def test_the_404_page_is_styled_and_links_the_signed_in_persons_page():
    response = signed_in(Role.OPERATOR).get("/no-such-page/")
    assert response.status_code == 404
    assert_styled(response)
    assert b'href="/assisted/"' in response.content


def test_the_404_page_speaks_hindi():
    response = in_hindi(Client()).get("/no-such-page/")
    assert response.status_code == 404
    assert b'<html lang="hi">' in response.content
    assert "पेज नहीं मिला".encode() in response.content


def test_an_api_404_keeps_the_json_shape():
    response = Client().get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@override_settings(ROOT_URLCONF=URLCONF, DEBUG=False)
def test_the_500_page_is_styled_in_the_sites_layout_without_details():
    response = signed_in(Role.DOCTOR).get("/page-crash/")
    assert response.status_code == 500
    assert_styled(response)
    assert b"Something went wrong on our side" in response.content
    assert b"secret detail" not in response.content


@override_settings(ROOT_URLCONF=URLCONF, DEBUG=False)
def test_the_500_page_speaks_hindi():
    response = in_hindi(Client(raise_request_exception=False)).get("/page-crash/")
    assert response.status_code == 500
    assert b'<html lang="hi">' in response.content
    assert "होम पेज पर जाएँ".encode() in response.content


def test_the_500_page_falls_back_to_plain_html_when_the_layout_cannot_render(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database is down")

    monkeypatch.setattr(views, "render", broken)
    response = views.server_error(RequestFactory().get("/somewhere/"))
    assert response.status_code == 500
    assert VIEWPORT in response.content
    assert b"Something went wrong on our side" in response.content


# --- the device check -------------------------------------------------------------------------


def test_a_signed_out_visitor_of_the_device_check_goes_to_the_patient_sign_in():
    response = Client().get("/room/device-check/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/otp/?next=%2Froom%2Fdevice-check%2F"


@pytest.mark.parametrize("role", [Role.PATIENT, Role.DOCTOR, Role.CHO])
def test_anyone_signed_in_may_use_the_device_check(role):
    assert signed_in(role).get("/room/device-check/").status_code == 200
