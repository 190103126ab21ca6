"""Every registry admin page opens for each role that may use it (netbox-style walk)."""

import pytest
from django.contrib import admin
from django.urls import reverse

from sanjeevani.registry.models import RosterShift
from tests.factories import DoctorFactory, HubSpokeLinkFactory, OnlineOPDFactory

from .factories import hub_coordinator

pytestmark = pytest.mark.django_db

REGISTRY_MODELS = [m for m in admin.site._registry if m._meta.app_label == "registry"]
NATIONAL_ONLY = {"state", "district", "specialty"}


@pytest.fixture
def sample(ka, ka_hub, ka_spoke):
    HubSpokeLinkFactory(hub=ka_hub, spoke=ka_spoke)
    doctor = DoctorFactory(state=ka)
    doctor.hubs.add(ka_hub)
    opd = OnlineOPDFactory(state=ka)
    RosterShift.objects.create(doctor=doctor, opd=opd, weekday=0, start_minute=0, end_minute=60)
    RosterShift.objects.create(doctor=doctor, hub=ka_hub, weekday=1, start_minute=0, end_minute=60)
    hub_coordinator(ka_hub)


def test_all_registry_models_are_in_the_admin():
    names = {m._meta.model_name for m in REGISTRY_MODELS}
    assert names >= {
        "state", "district", "specialty", "facility", "hubspokelink", "onlineopd",
        "doctorprofile", "rostershift", "posting",
    }  # fmt: skip


@pytest.mark.parametrize("who", ["national", "ka_admin"])
def test_every_page_opens(client, sample, request, who):
    client.force_login(request.getfixturevalue(who))
    for model in REGISTRY_MODELS:
        name = model._meta.model_name
        listing = client.get(reverse(f"admin:registry_{name}_changelist"))
        assert listing.status_code == 200, name
        add = client.get(reverse(f"admin:registry_{name}_add"))
        expected = 403 if who == "ka_admin" and name in NATIONAL_ONLY else 200
        assert add.status_code == expected, name
        assert listing.context["cl"].result_list, name
        first = listing.context["cl"].result_list[0]
        change = client.get(reverse(f"admin:registry_{name}_change", args=[first.pk]))
        assert change.status_code == 200, name


def test_hub_coordinator_pages(client, sample, ka_hub):
    client.force_login(hub_coordinator(ka_hub))
    listing = client.get(reverse("admin:registry_rostershift_changelist"))
    assert [shift.hub for shift in listing.context["cl"].result_list] == [ka_hub]
    assert client.get(reverse("admin:registry_rostershift_add")).status_code == 200


def test_autocomplete_is_scoped(client, ka_admin, ka_hub, tn_hub):
    client.force_login(ka_admin)
    response = client.get(
        "/admin/autocomplete/",
        {"app_label": "registry", "model_name": "hubspokelink", "field_name": "hub", "term": ""},
    )
    assert response.status_code == 200
    ids = {item["id"] for item in response.json()["results"]}
    assert ids == {str(ka_hub.pk)}
