"""The hub coordinator's desk over HTTP: the hub's live load per specialty (doctors online,
cases waiting, oldest wait, urgent), its JSON for the 15-second refresh and the API, and
reassigning a waiting case to another specialty's queue at the hub."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from sanjeevani.accounts.models import Role
from sanjeevani.audit.models import AuditEvent
from sanjeevani.hwc import services as hwc
from sanjeevani.hwc.models import Case
from sanjeevani.queueing.models import Queue
from tests.factories import PostingFactory, StaffUserFactory

from .factories import send_case

pytestmark = pytest.mark.django_db


def coordinator_at(hub):
    user = StaffUserFactory(role=Role.HUB_COORDINATOR)
    PostingFactory(user=user, state=hub.state, facility=hub)
    return user


def by_specialty(load: dict) -> dict:
    return {row["specialty"]: row for row in load["specialties"]}


def test_the_desk_shows_the_hubs_live_load_per_specialty(client, network):
    send_case(network)
    send_case(network)
    send_case(network, specialty="dermatology", complaints=["skin_rash"])
    hwc.go_online_at_hub(network.doctor_a.user, network.hub_a, network.skin)
    client.force_login(coordinator_at(network.hub_a))
    load = client.get(reverse("hub:desk_load")).json()
    rows = by_specialty(load)
    assert rows["general-medicine"]["waiting"] == 2
    assert rows["general-medicine"]["doctors_online"] == 0
    assert rows["dermatology"]["waiting"] == 1
    assert rows["dermatology"]["doctors_online"] == 1
    assert rows["general-medicine"]["urgent"] == 0
    assert rows["general-medicine"]["oldest_wait_minutes"] >= 0
    assert len(load["cases"]) == 3
    page = client.get(reverse("hub:desk")).content.decode()
    assert "Hub desk: PHC A" in page and 'data-load-url="/hub/desk/load.json"' in page
    assert AuditEvent.objects.filter(action="hwc.hub_load.view").count() == 2


def test_the_coordinator_reassigns_a_waiting_case_to_another_specialty(client, network):
    case = send_case(network)
    client.force_login(coordinator_at(network.hub_a))
    response = client.post(reverse("hub:reassign", args=[case.pk]), {"specialty": "dermatology"})
    assert response["Location"] == reverse("hub:desk")
    case.refresh_from_db()
    assert case.specialty == network.skin and case.route == Case.Route.REASSIGNED
    assert case.ticket.queue == Queue.objects.get(hub=network.hub_a, specialty=network.skin)
    rows = by_specialty(client.get(reverse("hub:desk_load")).json())
    assert rows["dermatology"]["waiting"] == 1 and rows["general-medicine"]["waiting"] == 0
    hwc.go_online_at_hub(network.doctor_a.user, network.hub_a, network.skin)
    assert hwc.call_next_case(network.doctor_a.user).pk == case.ticket_id


def test_a_specialty_the_hub_does_not_offer_is_refused_with_a_message(client, network):
    case = send_case(network)
    client.force_login(coordinator_at(network.hub_a))
    response = client.post(
        reverse("hub:reassign", args=[case.pk]), {"specialty": "cardiology"}, follow=True
    )
    assert "Choose a specialty this hub offers." in response.content.decode()
    case.refresh_from_db()
    assert case.specialty == network.general


def test_another_hubs_coordinator_sees_none_of_it(client, network):
    case = send_case(network)
    client.force_login(coordinator_at(network.hub_b))
    load = client.get(reverse("hub:desk_load")).json()
    assert load["cases"] == [] and load["waiting"] == 0
    response = client.post(reverse("hub:reassign", args=[case.pk]), {"specialty": "dermatology"})
    assert response.status_code == 404


def test_the_desk_is_the_coordinators_page_only(client, network):
    assert client.get(reverse("hub:desk")).status_code == 302
    client.force_login(network.cho)
    assert client.get(reverse("hub:desk")).status_code == 403
    client.force_login(network.doctor_a.user)
    assert client.get(reverse("hub:desk_load")).status_code == 403


def test_the_api_gives_the_load_and_reassigns(client, network):
    case = send_case(network)
    client.force_login(coordinator_at(network.hub_a))
    load = client.get(reverse("hub-api:load")).json()
    assert by_specialty(load)["general-medicine"]["waiting"] == 1
    bad = client.post(
        reverse("hub-api:reassign", args=[case.pk]),
        {"specialty": "nowhere"},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "specialty" in bad.json()["error"]["fields"]
    done = client.post(
        reverse("hub-api:reassign", args=[case.pk]),
        {"specialty": "dermatology"},
        content_type="application/json",
    )
    assert done.status_code == 200 and done.json()["route"] == "reassigned"
    again = client.post(
        reverse("hub-api:reassign", args=[case.pk]),
        {"specialty": "general-medicine"},
        content_type="application/json",
    )
    assert again.status_code == 200
    client.force_login(network.cho)
    assert client.get(reverse("hub-api:load")).status_code == 403


def test_urgent_cases_routed_here_count_though_they_wait_in_the_states_overflow(client, network):
    urgent = send_case(network, vitals={"spo2": 85})
    assert urgent.ticket.queue.kind == Queue.Kind.STATE_OVERFLOW
    send_case(network)
    client.force_login(coordinator_at(network.hub_a))
    load = client.get(reverse("hub:desk_load")).json()
    row = by_specialty(load)["general-medicine"]
    assert (row["waiting"], row["urgent"], row["state_overflow"]) == (2, 1, 1)
    assert load["cases"][0]["urgent"] is True
    assert load["cases"][0]["route"] == Case.Route.OVERFLOW
    other = Client()
    other.force_login(coordinator_at(network.hub_b))
    row_b = by_specialty(other.get(reverse("hub:desk_load")).json())["general-medicine"]
    assert (row_b["waiting"], row_b["state_overflow"]) == (0, 1)
