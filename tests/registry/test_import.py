"""Bulk onboarding from CSV: everything or nothing, each bad row named by its line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.urls import reverse

from sanjeevani.accounts.models import Role
from sanjeevani.audit.models import AuditEvent
from sanjeevani.registry.models import (
    DoctorProfile,
    Facility,
    HubSpokeLink,
    OnlineOPD,
    OpeningWindow,
)
from sanjeevani.registry.services import RegistryRow, import_registry_csv, import_registry_rows
from tests.factories import DoctorFactory, HubFactory

from .factories import hub_coordinator

pytestmark = pytest.mark.django_db

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "registry.csv"
HEADER = (
    "kind,code,name,state,district,level,roles,hub,spoke,specialties,priority,specialty,"
    "languages,capacity,minutes,schedule,registration_number,council,qualification,username,"
    "opds,hubs"
)


def counts() -> dict[str, int]:
    return {
        "facilities": Facility.objects.count(),
        "links": HubSpokeLink.objects.count(),
        "opds": OnlineOPD.objects.count(),
        "windows": OpeningWindow.objects.count(),
        "doctors": DoctorProfile.objects.count(),
        "users": get_user_model().objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def csv_text(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def row(**cells: str) -> str:
    return ",".join(_quote(cells.get(name, "")) for name in HEADER.split(","))


def _quote(value: str) -> str:
    return f'"{value}"' if ("," in value or ";" in value) else value


BAD_FILE = csv_text(
    row(kind="facility", code="KA-DH-9", name="DH Nine", state="KA", level="dh", roles="hub"),  # 2
    row(kind="facility", code="XX-1", name="Nowhere PHC", state="XX", level="phc", roles="spoke"),
    row(kind="facility", code="KA-DH-9", name="Again", state="KA", level="dh", roles="hub"),  # 4
    row(kind="facility", code="KA-Q", name="Q", state="KA", level="clinic", roles="spoke"),  # 5
    row(kind="link", hub="KA-DH-9", spoke="KA-NOPE", specialties="obg"),  # 6
    row(kind="link", hub="KA-DH-9", spoke="KA-Q", specialties="astrology"),  # 7
    row(kind="opd", code="ka-night", name="Night OPD", state="KA", schedule="Mon 20:00-08:00"),
    row(
        kind="doctor",
        name="A B",
        state="KA",
        registration_number="KMC-1",
        council="KMC",
        qualification="MBBS",
    ),  # 9
    row(
        kind="doctor",
        name="C D",
        state="KA",
        registration_number="kmc-1",
        council="kmc",
        qualification="MBBS",
        specialties="cardiology",
    ),  # 10
    row(kind="clinic", code="x"),  # 11
)
BAD_LINES = [
    "line 3: state code 'XX' is not a known state or union territory",
    "line 4: facility code 'KA-DH-9' appears again (first on line 2)",
    "line 5: level 'clinic' is not one of sc, phc, chc, sdh, dh, mc, tertiary",
    "line 6: spoke 'KA-NOPE' is not a known facility code",
    "line 7: specialty 'astrology' is not known",
    "line 8: schedule: 20:00-08:00 ends before it starts",
    "line 10: registration number kmc-1 (kmc) appears again (first on line 9)",
    "line 11: kind 'clinic' is not one of facility, link, opd, doctor",
]


def test_good_file_creates_everything_through_the_command(tmp_path):
    out, before = io.StringIO(), counts()
    call_command("import_registry", str(EXAMPLE), stdout=out)
    after = counts()
    assert after["facilities"] - before["facilities"] == 5
    assert after["links"] - before["links"] == 5
    assert after["opds"] - before["opds"] == 2
    assert after["doctors"] - before["doctors"] == 2
    phc = Facility.objects.get(code="KA-PHC-HNK")
    assert (phc.is_hub, phc.is_spoke, phc.level, phc.district.name) == (True, True, "phc", "Mysuru")
    assert phc.catchment_population == 32_000
    link = HubSpokeLink.objects.get(hub__code="KA-DH-MYS", spoke__code="KA-SC-BLK")
    assert link.priority == 2
    assert set(link.specialties.values_list("code", flat=True)) == {"obg", "dermatology"}
    general = OnlineOPD.objects.get(code="ka-general")
    assert general.languages == ["kn", "en", "hi"]
    assert general.daily_capacity == 500
    windows = list(general.opening_windows.values_list("weekday", "start_minute", "end_minute"))
    assert windows == [(d, 480, 840) for d in range(6)] + [(6, 600, 720)]
    paediatrics = OnlineOPD.objects.get(code="ka-paediatrics")
    assert paediatrics.specialty.code == "paediatrics"
    assert paediatrics.opening_windows.count() == 12
    asha = DoctorProfile.objects.get(registration_number="KMC-104233")
    assert asha.user.role == Role.DOCTOR
    assert not asha.user.has_usable_password()
    assert asha.user.mobile == "+919845012345"
    assert list(asha.opds.all()) == [general]
    assert list(asha.hubs.all()) == [phc]
    assert DoctorProfile.objects.get(registration_number="KMC-088712").user.username == "dr-imran"
    text = out.getvalue()
    assert "5 facilities created" in text
    assert "one-time link to choose one" in text and "dr-kmc-104233" in text
    event = AuditEvent.objects.get(action="registry.import")
    assert event.detail["created"]["links"] == 5


def test_importing_the_same_file_again_updates_and_duplicates_nothing():
    call_command("import_registry", str(EXAMPLE), stdout=io.StringIO())
    before = counts()
    out = io.StringIO()
    call_command("import_registry", str(EXAMPLE), stdout=out)
    after = counts()
    assert after == {**before, "audit": before["audit"] + 1}
    assert "5 facilities updated" in out.getvalue()


def test_bad_file_reports_each_line_and_writes_nothing_through_the_command(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(BAD_FILE)
    before = counts()
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("import_registry", str(path), stdout=io.StringIO(), stderr=err)
    assert counts() == before
    reported = err.getvalue()
    for expected in BAD_LINES:
        assert expected in reported, (expected, reported)


def test_bad_file_exits_non_zero(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text(BAD_FILE)
    with pytest.raises(SystemExit) as exit_info:
        execute_from_command_line(["manage.py", "import_registry", str(path)])
    assert exit_info.value.code == 1
    assert "line 3: state code 'XX'" in capsys.readouterr().err


def test_one_bad_row_among_good_ones_writes_nothing():
    good = EXAMPLE.read_text().rstrip("\n").splitlines()
    good.append("doctor,,No Council,KA,,,,,,,,,,,,,KMC-5,,MBBS,,,,,,")
    before = counts()
    result = import_registry_csv("\n".join(good), None)
    assert not result.ok
    assert [str(e) for e in result.errors] == [f"line {len(good)}: the council column is empty"]
    assert counts() == before


def test_check_only_writes_nothing(tmp_path):
    before = counts()
    out = io.StringIO()
    call_command("import_registry", str(EXAMPLE), "--check", stdout=out)
    assert counts() == before
    assert "nothing written" in out.getvalue()


def test_rows_referring_to_the_registry_and_more_checks(ka):
    HubFactory(code="KA-EXISTING", state=ka)
    DoctorFactory(registration_number="KMC-TAKEN", council="Karnataka Medical Council")
    rows = [
        {"kind": "facility", "code": "KA-SC-77", "name": "SC", "state": "ka", "level": "sc",
         "roles": "spoke", "district": "Chennai"},
        {"kind": "link", "hub": "KA-EXISTING", "spoke": "KA-SC-77", "specialties": "ent",
         "priority": "0"},
        {"kind": "link", "hub": "KA-SC-77", "spoke": "KA-EXISTING", "specialties": "ent"},
        {"kind": "opd", "code": "KA General", "name": "Bad code", "state": "KA",
         "schedule": "24x7"},
        {"kind": "opd", "code": "ka-x", "name": "No schedule", "state": "KA",
         "languages": "kn;xx"},
        {"kind": "doctor", "name": "New Doc", "registration_number": "KMC-NEW",
         "council": "Karnataka Medical Council", "qualification": "MBBS", "hubs": "KA-SC-77",
         "opds": "nope"},
    ]  # fmt: skip
    result = import_registry_rows(rows, None)
    messages = [str(e) for e in result.errors]
    assert "line 2: district 'Chennai' is not a district of Karnataka" in messages
    assert "line 3: priority '0' must be a whole number from 1 to 99" in messages
    assert "line 4: facility 'KA-SC-77' does not act as a hub" in messages
    assert "line 4: facility 'KA-EXISTING' does not act as a spoke" in messages
    assert any(m.startswith("line 5: OPD code 'KA General'") for m in messages)
    assert any(m.startswith("line 6: language 'xx' is not one of") for m in messages)
    assert "line 6: a new OPD needs a schedule, e.g. 'Mon-Sat 08:00-14:00'" in messages
    assert "line 7: facility 'KA-SC-77' does not act as a hub" in messages
    assert "line 7: OPD 'nope' is not a known OPD code" in messages
    assert not Facility.objects.filter(code="KA-SC-77").exists()


def test_existing_registration_number_updates_the_doctor():
    doctor = DoctorFactory(registration_number="KMC-42", council="KMC", qualification="MBBS")
    result = import_registry_rows(
        [RegistryRow(5, {"kind": "doctor", "registration_number": "kmc-42", "council": "kmc",
                         "qualification": "MBBS, MD", "specialties": "cardiology"})],
        None,
    )  # fmt: skip
    assert result.ok, result.errors
    assert result.updated["doctors"] == 1 and not result.doctors_without_password
    doctor.refresh_from_db()
    assert doctor.qualification == "MBBS, MD"
    assert list(doctor.specialties.values_list("code", flat=True)) == ["cardiology"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"kind,colour\nfacility,red\n", "unknown: colour"),
        (b"code,name\nX,Y\n", "must name the column 'kind'"),
        ("kind,name\nfacility,Caf\u00e9\n".encode("latin-1"), "not UTF-8"),
        (b"", "holds no rows"),
        (b"kind,code\nfacility,A,B,C\n", "has 4 cells but the header names 2"),
    ],
)
def test_broken_files_are_refused_with_a_reason(content, problem):
    result = import_registry_csv(content, None)
    assert not result.ok
    assert problem in str(result.errors[0])


def test_utf8_with_bom_from_excel_is_read():
    content = "\ufeff" + csv_text(
        row(kind="facility", code="KA-BOM", name="BOM PHC", state="KA", level="phc", roles="spoke")
    )
    result = import_registry_csv(content.encode("utf-8"), None)
    assert result.ok, result.errors
    assert Facility.objects.filter(code="KA-BOM").exists()


# --- scope -------------------------------------------------------------------------------


def test_state_admin_imports_only_their_state(ka_admin):
    rows = [
        {"kind": "facility", "code": "TN-1", "name": "TN PHC", "state": "TN", "level": "phc",
         "roles": "spoke"},
        {"kind": "opd", "code": "nat", "name": "National", "state": "", "schedule": "24x7"},
        {"kind": "facility", "code": "KA-1", "name": "KA PHC", "state": "KA", "level": "phc",
         "roles": "spoke"},
    ]  # fmt: skip
    result = import_registry_rows(rows, ka_admin)
    messages = [str(e) for e in result.errors]
    assert messages == [
        "line 2: state 'TN' is outside your posting; you can import only your own state",
        "line 3: only a national administrator can import a national OPD",
    ]
    assert not Facility.objects.filter(code="KA-1").exists()
    assert import_registry_rows(rows[2:], ka_admin).ok
    event = AuditEvent.objects.get(action="registry.import")
    assert event.actor == ka_admin and event.actor_role == Role.STATE_ADMIN


def test_state_admin_cannot_update_another_states_facility(ka_admin, tn_hub):
    result = import_registry_rows(
        [{"kind": "facility", "code": tn_hub.code, "name": "Mine now", "state": "KA",
          "level": "dh", "roles": "hub"}],
        ka_admin,
    )  # fmt: skip
    assert [str(e) for e in result.errors] == [
        f"line 2: facility '{tn_hub.code}' already exists outside your state; you cannot change it"
    ]
    tn_hub.refresh_from_db()
    assert tn_hub.name == "Madurai Medical College"


def test_people_without_an_admin_role_cannot_import(ka_hub):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        import_registry_rows([], hub_coordinator(ka_hub))


# --- admin upload ------------------------------------------------------------------------

IMPORT_URL = "/admin/registry/facility/import/"


def upload(client, content: bytes | str, **extra):
    if isinstance(content, str):
        content = content.encode()
    return client.post(
        IMPORT_URL,
        {"file": SimpleUploadedFile("registry.csv", content, "text/csv"), **extra},
    )


def test_changelist_links_to_the_upload(client, national):
    client.force_login(national)
    response = client.get(reverse("admin:registry_facility_changelist"))
    assert IMPORT_URL in response.text
    assert "Import from CSV" in response.text
    assert client.get(IMPORT_URL).status_code == 200


def test_admin_upload_of_a_good_file(client, national):
    client.force_login(national)
    response = upload(client, EXAMPLE.read_bytes())
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:registry_facility_changelist")
    assert Facility.objects.filter(code__startswith="KA-").count() == 5
    page = client.get(response["Location"])
    notes = [str(m) for m in page.context["messages"]]
    assert any("5 facilities created" in n for n in notes)
    assert any("/accounts/set-password/" in n and "dr-imran" in n for n in notes)
    assert AuditEvent.objects.get(action="registry.import").detail["via"] == "admin"


def test_admin_upload_of_a_bad_file_lists_lines_and_writes_nothing(client, national):
    client.force_login(national)
    before = counts()
    response = upload(client, BAD_FILE)
    assert response.status_code == 400
    assert "Nothing was written" in response.text
    for expected in BAD_LINES:
        assert expected.replace("'", "&#x27;") in response.text
    assert counts() == before


def test_admin_upload_check_only(client, national):
    client.force_login(national)
    before = counts()
    response = upload(client, EXAMPLE.read_bytes(), check_only="on")
    assert response.status_code == 200
    assert "The file is valid (nothing written)" in response.text
    assert counts() == before


def test_state_admin_upload_respects_their_scope(client, ka_admin):
    client.force_login(ka_admin)
    other_state = csv_text(
        row(kind="facility", code="TN-9", name="TN PHC", state="TN", level="phc", roles="spoke")
    )
    refused = upload(client, other_state)
    assert refused.status_code == 400
    assert "outside your posting" in refused.text
    assert not Facility.objects.filter(code="TN-9").exists()
    assert upload(client, EXAMPLE.read_bytes()).status_code == 302
    assert Facility.objects.filter(code="KA-MC-MYS").exists()


def test_hub_coordinator_cannot_open_the_upload(client, ka_hub):
    client.force_login(hub_coordinator(ka_hub))
    assert client.get(IMPORT_URL).status_code == 403
    assert upload(client, EXAMPLE.read_bytes()).status_code == 403
    assert not Facility.objects.filter(code="KA-MC-MYS").exists()


def test_imported_doctor_chooses_a_first_password_through_the_printed_link(client):
    out = io.StringIO()
    call_command("import_registry", str(EXAMPLE), stdout=out)
    lines = [line for line in out.getvalue().splitlines() if "/accounts/set-password/" in line]
    assert len(lines) == 2
    username, link = lines[0].strip().split(": ", 1)
    path = "/" + link.split("/", 3)[3]

    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200 and b"new_password1" in form_page.content
    chosen = "tulsi leaves on the window 7"
    client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else path,
        {"new_password1": chosen, "new_password2": chosen},
    )
    doctor = get_user_model().objects.get(username=username)
    assert doctor.check_password(chosen)
    assert client.get(path, follow=True).context["validlink"] is False
