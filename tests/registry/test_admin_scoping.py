"""Role scoping in the registry admin: by list, by URL, by form choices, on save."""

import pytest
from django.urls import reverse

from sanjeevani.accounts.models import Role
from sanjeevani.registry import scoping
from sanjeevani.registry.models import (
    DoctorProfile,
    Facility,
    HubSpokeLink,
    OnlineOPD,
    RosterShift,
    State,
)
from tests.factories import (
    DoctorFactory,
    FacilityFactory,
    HubFactory,
    HubSpokeLinkFactory,
    OnlineOPDFactory,
    StaffUserFactory,
)

from .factories import hub_coordinator

pytestmark = pytest.mark.django_db


def change_url(obj) -> str:
    return reverse(f"admin:registry_{obj._meta.model_name}_change", args=[obj.pk])


def form_of(response):
    return response.context["adminform"].form


def test_state_admin_lists_only_their_states_facilities(client, ka_admin, ka_hub, tn_hub):
    client.force_login(ka_admin)
    response = client.get(reverse("admin:registry_facility_changelist"))
    assert response.status_code == 200
    assert ka_hub.name in response.text
    assert tn_hub.name not in response.text


def test_national_admin_lists_every_state(client, national, ka_hub, tn_hub):
    client.force_login(national)
    response = client.get(reverse("admin:registry_facility_changelist"))
    assert ka_hub.name in response.text and tn_hub.name in response.text


def test_state_admin_cannot_open_another_states_facility_by_url(client, ka_admin, ka_hub, tn_hub):
    client.force_login(ka_admin)
    own = client.get(change_url(ka_hub))
    assert own.status_code == 200
    assert ka_hub.code in own.text
    other = client.get(change_url(tn_hub), follow=True)
    assert other.redirect_chain and other.redirect_chain[0][1] == 302
    assert tn_hub.name not in other.text
    assert tn_hub.code not in other.text
    assert client.get(reverse("admin:registry_facility_history", args=[tn_hub.pk])).status_code in (
        302,
        404,
    )


def test_state_admin_cannot_change_or_delete_another_states_facility(client, ka_admin, tn_hub):
    client.force_login(ka_admin)
    data = {"code": tn_hub.code, "name": "Taken over", "level": "dh", "state": tn_hub.state_id}
    client.post(change_url(tn_hub), {**data, "is_hub": "on", "active": "on"})
    client.post(reverse("admin:registry_facility_delete", args=[tn_hub.pk]), {"post": "yes"})
    tn_hub.refresh_from_db()
    assert tn_hub.name == "Madurai Medical College"


def test_facility_choices_are_limited_to_the_state(client, ka_admin, ka, tn):
    client.force_login(ka_admin)
    form = form_of(client.get(reverse("admin:registry_facility_add")))
    assert list(form.fields["state"].queryset) == [ka]
    districts = form.fields["district"].queryset
    assert districts.count() == 31
    assert not districts.exclude(state=ka).exists()


def test_facility_saved_by_state_admin_must_be_in_their_state(client, ka_admin, ka, tn):
    client.force_login(ka_admin)
    data = {"code": "KA-NEW", "name": "New PHC", "level": "phc", "is_spoke": "on", "active": "on"}
    refused = client.post(reverse("admin:registry_facility_add"), {**data, "state": tn.pk})
    assert refused.status_code == 200
    assert "state" in form_of(refused).errors
    assert not Facility.objects.filter(code="KA-NEW").exists()
    created = client.post(reverse("admin:registry_facility_add"), {**data, "state": ka.pk})
    assert created.status_code == 302
    assert Facility.objects.get(code="KA-NEW").state == ka


def test_link_choices_and_list_are_scoped(client, ka_admin, ka_hub, ka_spoke, tn_hub):
    tn_link = HubSpokeLinkFactory(hub=tn_hub)
    ka_link = HubSpokeLinkFactory(hub=ka_hub, spoke=ka_spoke)
    client.force_login(ka_admin)
    listing = client.get(reverse("admin:registry_hubspokelink_changelist"))
    assert ka_spoke.code in listing.text
    assert tn_link.spoke.code not in listing.text
    assert client.get(change_url(ka_link)).status_code == 200
    assert client.get(change_url(tn_link)).status_code == 302
    form = form_of(client.get(reverse("admin:registry_hubspokelink_add")))
    hubs = form.fields["hub"].queryset
    assert ka_hub in hubs and tn_hub not in hubs


def test_opd_admin_with_opening_windows_inline(client, ka_admin, ka, tn):
    ka_opd = OnlineOPDFactory(state=ka, name="Karnataka General OPD")
    tn_opd = OnlineOPDFactory(state=tn, name="Tamil Nadu General OPD")
    client.force_login(ka_admin)
    listing = client.get(reverse("admin:registry_onlineopd_changelist"))
    assert ka_opd.name in listing.text and tn_opd.name not in listing.text
    assert "24x7" in listing.text
    page = client.get(change_url(ka_opd))
    assert page.status_code == 200
    assert "opening_windows-TOTAL_FORMS" in page.text
    assert client.get(change_url(tn_opd)).status_code == 302


def _opd_post(**overrides):
    data = {
        "code": "ka-derm",
        "name": "Karnataka Dermatology OPD",
        "scope": "state",
        "languages": '["kn", "en"]',
        "daily_capacity": "100",
        "consultation_minutes": "6",
        "active": "on",
        "opening_windows-TOTAL_FORMS": "1",
        "opening_windows-INITIAL_FORMS": "0",
        "opening_windows-MIN_NUM_FORMS": "0",
        "opening_windows-MAX_NUM_FORMS": "1000",
        "opening_windows-0-weekday": "0",
        "opening_windows-0-start_minute": "480",
        "opening_windows-0-end_minute": "840",
    }
    data.update(overrides)
    return data


def test_state_admin_cannot_create_a_national_opd(client, ka_admin, ka):
    client.force_login(ka_admin)
    refused = client.post(
        reverse("admin:registry_onlineopd_add"), _opd_post(scope="national", state="")
    )
    assert refused.status_code == 200
    assert "outside your posting" in refused.text
    assert not OnlineOPD.objects.filter(code="ka-derm").exists()
    created = client.post(reverse("admin:registry_onlineopd_add"), _opd_post(state=ka.pk))
    assert created.status_code == 302
    opd = OnlineOPD.objects.get(code="ka-derm")
    assert opd.state == ka
    assert opd.opening_windows.get().end_minute == 840


def test_bad_opening_window_is_a_form_error_not_a_crash(client, ka_admin, ka):
    client.force_login(ka_admin)
    response = client.post(
        reverse("admin:registry_onlineopd_add"),
        _opd_post(state=ka.pk, **{"opening_windows-0-end_minute": "300"}),
    )
    assert response.status_code == 200
    assert "split overnight hours at midnight" in response.text
    assert not OnlineOPD.objects.filter(code="ka-derm").exists()


def test_doctors_visible_by_state_or_by_serving_the_states_opds_and_hubs(
    client, ka_admin, ka, tn, ka_hub, tn_hub
):
    own = DoctorFactory(state=ka, registration_number="KA-OWN")
    serving_opd = DoctorFactory(state=tn, registration_number="TN-AT-KA-OPD")
    serving_opd.opds.add(OnlineOPDFactory(state=ka))
    serving_hub = DoctorFactory(state=None, registration_number="AT-KA-HUB")
    serving_hub.hubs.add(ka_hub)
    stranger = DoctorFactory(state=tn, registration_number="TN-ONLY")
    stranger.hubs.add(tn_hub)
    visible = set(
        scoping.doctors_visible_to(ka_admin).values_list("registration_number", flat=True)
    )
    assert visible == {"KA-OWN", "TN-AT-KA-OPD", "AT-KA-HUB"}
    client.force_login(ka_admin)
    listing = client.get(reverse("admin:registry_doctorprofile_changelist"))
    assert "KA-OWN" in listing.text and "TN-ONLY" not in listing.text
    assert listing.text.count("TN-AT-KA-OPD") >= 1
    assert client.get(change_url(stranger)).status_code == 302
    assert client.get(change_url(own)).status_code == 200


def test_saving_a_doctor_keeps_their_other_states_opds(client, ka_admin, ka, tn):
    ka_opd, tn_opd = OnlineOPDFactory(state=ka), OnlineOPDFactory(state=tn)
    doctor = DoctorFactory(state=tn, registration_number="TNMC-77")
    doctor.opds.add(ka_opd, tn_opd)
    client.force_login(ka_admin)
    form = form_of(client.get(change_url(doctor)))
    assert list(form.fields["opds"].queryset) == [ka_opd]
    assert doctor.state in form.fields["state"].queryset
    response = client.post(
        change_url(doctor),
        {
            "user": doctor.user_id,
            "registration_number": "TNMC-77",
            "council": doctor.council,
            "qualification": "MBBS, MD",
            "languages": '["ta", "en"]',
            "state": tn.pk,
            "opds": [ka_opd.pk],
        },
    )
    assert response.status_code == 302, form_of(response).errors
    doctor.refresh_from_db()
    assert doctor.qualification == "MBBS, MD"
    assert set(doctor.opds.all()) == {ka_opd, tn_opd}
    assert doctor.state == tn


def test_reference_data_is_viewable_but_not_changeable_by_state_admins(client, ka_admin, ka):
    client.force_login(ka_admin)
    assert client.get(reverse("admin:registry_state_changelist")).status_code == 200
    assert client.get(reverse("admin:registry_state_add")).status_code == 403
    client.post(change_url(ka), {"code": "KA", "name": "Renamed", "kind": "state"})
    assert State.objects.get(pk=ka.pk).name == "Karnataka"
    assert client.get(reverse("admin:registry_specialty_add")).status_code == 403
    assert client.get(reverse("admin:registry_district_changelist")).status_code == 200


def test_national_admin_changes_reference_data(client, national):
    client.force_login(national)
    assert client.get(reverse("admin:registry_specialty_add")).status_code == 200


def test_state_admin_without_a_posting_sees_nothing(client, ka_hub):
    orphan = StaffUserFactory(role=Role.STATE_ADMIN)
    client.force_login(orphan)
    assert client.get(reverse("admin:registry_facility_changelist")).status_code == 403
    assert not scoping.facilities_visible_to(orphan).exists()


def test_postings_are_scoped(client, ka_admin, ka, tn, ka_hub, tn_hub):
    ka_coordinator = hub_coordinator(ka_hub)
    tn_coordinator = hub_coordinator(tn_hub)
    client.force_login(ka_admin)
    listing = client.get(reverse("admin:registry_posting_changelist"))
    posted = [posting.user for posting in listing.context["cl"].result_list]
    assert ka_coordinator in posted and ka_admin in posted
    assert tn_coordinator not in posted
    form = form_of(client.get(reverse("admin:registry_posting_add")))
    users = form.fields["user"].queryset
    assert tn_coordinator not in users
    assert not users.filter(role__in=[Role.PATIENT, Role.NATIONAL_ADMIN]).exists()
    assert list(form.fields["facility"].queryset) == [ka_hub]


# --- hub coordinators --------------------------------------------------------------------


@pytest.fixture
def hub_setup(ka, ka_hub):
    other_hub = HubFactory(state=ka, name="Hassan District Hospital", code="KA-DH-2")
    mine = DoctorFactory(state=ka, registration_number="KMC-MINE")
    mine.hubs.add(ka_hub)
    theirs = DoctorFactory(state=ka, registration_number="KMC-THEIRS")
    theirs.hubs.add(other_hub)
    my_shift = RosterShift.objects.create(
        doctor=mine, hub=ka_hub, weekday=0, start_minute=540, end_minute=780
    )
    their_shift = RosterShift.objects.create(
        doctor=theirs, hub=other_hub, weekday=1, start_minute=540, end_minute=780
    )
    opd_shift = RosterShift.objects.create(
        doctor=mine, opd=OnlineOPDFactory(state=ka), weekday=2, start_minute=0, end_minute=60
    )
    return {
        "coordinator": hub_coordinator(ka_hub),
        "mine": mine,
        "theirs": theirs,
        "my_shift": my_shift,
        "their_shift": their_shift,
        "opd_shift": opd_shift,
        "other_hub": other_hub,
    }


def test_hub_coordinator_sees_only_their_hubs_roster(client, hub_setup):
    client.force_login(hub_setup["coordinator"])
    response = client.get(reverse("admin:registry_rostershift_changelist"))
    assert response.status_code == 200
    shown = list(response.context["cl"].result_list)
    assert shown == [hub_setup["my_shift"]]
    assert client.get(change_url(hub_setup["their_shift"])).status_code == 302
    assert client.get(change_url(hub_setup["opd_shift"])).status_code == 302


def test_hub_coordinator_sees_no_other_registry_model(client, hub_setup):
    client.force_login(hub_setup["coordinator"])
    index = client.get(reverse("admin:index"))
    models = [m["object_name"] for app in index.context["app_list"] for m in app["models"]]
    assert models == ["RosterShift"]
    assert client.get(reverse("admin:registry_facility_changelist")).status_code == 403
    assert client.get(reverse("admin:registry_doctorprofile_changelist")).status_code == 403


def test_hub_coordinator_adds_shifts_for_their_hubs_doctors_only(client, hub_setup, ka_hub):
    client.force_login(hub_setup["coordinator"])
    add = reverse("admin:registry_rostershift_add")
    form = form_of(client.get(add))
    assert list(form.fields["doctor"].queryset) == [hub_setup["mine"]]
    assert list(form.fields["hub"].queryset) == [ka_hub]
    assert not form.fields["opd"].queryset.exists()
    shift = {"hub": ka_hub.pk, "weekday": 4, "start_minute": 600, "end_minute": 720}
    refused = client.post(add, {**shift, "doctor": hub_setup["theirs"].pk})
    assert refused.status_code == 200 and "doctor" in form_of(refused).errors
    elsewhere = client.post(
        add, {**shift, "doctor": hub_setup["mine"].pk, "hub": hub_setup["other_hub"].pk}
    )
    assert elsewhere.status_code == 200 and "hub" in form_of(elsewhere).errors
    no_hub = client.post(add, {**shift, "doctor": hub_setup["mine"].pk, "hub": ""})
    assert no_hub.status_code == 200
    assert RosterShift.objects.filter(weekday=4).count() == 0
    created = client.post(add, {**shift, "doctor": hub_setup["mine"].pk})
    assert created.status_code == 302
    assert RosterShift.objects.get(weekday=4).hub == ka_hub


def test_hub_coordinator_changes_their_own_shift(client, hub_setup, ka_hub):
    client.force_login(hub_setup["coordinator"])
    shift = hub_setup["my_shift"]
    response = client.post(
        change_url(shift),
        {
            "doctor": shift.doctor_id,
            "hub": ka_hub.pk,
            "weekday": 0,
            "start_minute": 600,
            "end_minute": 780,
        },
    )
    assert response.status_code == 302
    shift.refresh_from_db()
    assert shift.start_minute == 600


def test_scoping_selectors_for_other_apps(ka_admin, ka_hub, ka_spoke, tn_hub):
    HubSpokeLinkFactory(hub=ka_hub, spoke=ka_spoke)
    assert set(scoping.facilities_visible_to(ka_admin)) == {ka_hub, ka_spoke}
    assert scoping.links_visible_to(ka_admin).count() == 1
    coordinator = hub_coordinator(ka_hub)
    assert list(scoping.facilities_visible_to(coordinator)) == [ka_hub]
    assert list(scoping.states_visible_to(ka_admin)) == [ka_hub.state]
    patient = StaffUserFactory(role=Role.PATIENT)
    assert not scoping.facilities_visible_to(patient).exists()
    assert not DoctorProfile.objects.none().exists()
    assert HubSpokeLink.objects.count() == 1
    assert FacilityFactory._meta.model is Facility
