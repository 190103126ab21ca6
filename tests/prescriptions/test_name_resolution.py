"""Medicine names, however typed, through the API: a table of names (brands, misspellings,
scripts, NDPS substances outside the catalogue, combinations, safe medicines that must not
be refused), each with its expected outcome in each mode of consultation.

The table is ``tests/prescriptions/data/medicine_names.csv``; its columns give the outcome
(allow / refuse) for: a first consultation by video, a first consultation by audio (and by
chat), a same-doctor follow-up for the same condition whose earlier prescription holds the
medicine itself and base medicines of the common add-on classes, and the same follow-up
taken by another doctor. A prohibited name accepted in any mode fails the test.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from sanjeevani.consultations.models import Consultation
from sanjeevani.prescriptions import medicine_names
from sanjeevani.prescriptions.models import Prescription, PrescriptionItem
from tests.factories import DoctorFactory, PatientFactory
from tests.prescriptions.conftest import api_for, issue, line
from tests.prescriptions.factories import ConsultationFactory, VideoConsultationFactory

TABLE = Path(__file__).resolve().parent / "data" / "medicine_names.csv"
MODES = ("video_first", "audio_or_chat_first", "follow_up_same_doctor", "follow_up_other_doctor")
DIABETES = [{"code": "E11.9", "label": "Type 2 diabetes mellitus without complications"}]
#: Base medicines on the earlier prescription, one of each add-on class in the catalogue.
BASE_MEDICINES = ["metformin", "amlodipine", "aspirin", "budesonide", "atorvastatin"]


def table() -> list[dict[str, str]]:
    with TABLE.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


ROWS = table()


def test_the_table_is_large_and_covers_every_kind():
    assert len(ROWS) >= 200
    kinds = {row["tpg_list"] for row in ROWS}
    assert kinds == {"O", "A", "B", "prohibited", "unresolved"}
    assert sum(row["tpg_list"] == "prohibited" for row in ROWS) >= 100
    for row in ROWS:
        if row["tpg_list"] == "prohibited":
            assert all(row[mode] == "refuse" for mode in MODES), row


def record_earlier_prescription(
    consultation: Consultation, names: list[str], days_ago: int = 30
) -> Prescription:
    """An issued prescription written straight into the database, as an earlier system (or
    an attacker with a database) might have left it: its medicines are not re-checked."""
    consultation.status = Consultation.Status.ENDED
    consultation.ended_at = timezone.now() - dt.timedelta(days=days_ago - 1)
    consultation.save(update_fields=["status", "ended_at"])
    prescription = Prescription.objects.create(
        consultation=consultation,
        patient=consultation.patient,
        doctor=consultation.doctor,
        issued_at=timezone.now() - dt.timedelta(days=days_ago),
        content={"diagnoses": consultation.diagnoses, "medicines": []},
        signature="test",
        key_id="test",
    )
    PrescriptionItem.objects.bulk_create(
        PrescriptionItem(
            prescription=prescription,
            position=position,
            generic_name=name[:120],
            dose="1",
            frequency="once a day",
            duration="30 days",
            tpg_list="A",
        )
        for position, name in enumerate(names)
    )
    return prescription


@pytest.fixture
def fast_passwords(settings):
    """The doctor re-confirms every signing with a password; a fast hasher keeps hundreds
    of signings in a test affordable (the hasher is not what is under test here)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def consultations_for(mode: str) -> list[Consultation]:
    """The consultation(s) in which every name of the table is tried for ``mode``."""
    if mode == "video_first":
        return [VideoConsultationFactory(diagnoses=DIABETES)]
    if mode == "audio_or_chat_first":
        return [
            ConsultationFactory(diagnoses=DIABETES),
            ConsultationFactory(diagnoses=DIABETES, mode="chat", observed_mode="chat"),
        ]
    patient, doctor = PatientFactory(), DoctorFactory()
    earlier = VideoConsultationFactory(patient=patient, doctor=doctor, diagnoses=DIABETES)
    record_earlier_prescription(earlier, [row["name"] for row in ROWS] + BASE_MEDICINES)
    follow_up_doctor = doctor if mode == "follow_up_same_doctor" else DoctorFactory()
    return [
        ConsultationFactory(
            patient=patient, doctor=follow_up_doctor, follow_up_of=earlier, diagnoses=DIABETES
        )
    ]


def chunks(rows: list[dict[str, str]], size: int = 30) -> list[list[dict[str, str]]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def expected_message(row: dict[str, str], message: str) -> bool:
    if row["tpg_list"] == "prohibited":
        return "prohibited drug" in message
    if row["tpg_list"] == "unresolved":
        return "does not recognise" in message or "names no medicine" in message
    return f"List {row['tpg_list']} medicine" in message


def one_by_one(consultation: Consultation, rows: list[dict[str, str]]) -> list[str]:
    """On a failed batch: which names went wrong, tried alone (the failure names them)."""
    wrong = []
    for row in rows:
        response = issue(consultation, [line(row["name"], free=True)])
        wrong.append(f"{row['name']!r}: {response.status_code} {response.content[:300]!r}")
    return wrong


@pytest.mark.django_db
@pytest.mark.parametrize("mode", MODES)
def test_each_name_in_each_mode(mode, fast_passwords):
    """Every name of the table, through the API, in one mode. Names expected to pass go in
    prescriptions of 30 lines (a 201 means every line passed); names expected to be refused
    too, and the answer must hold one refusal per line, in order, each giving the right
    reason; a prohibited name accepted anywhere fails with its name."""
    allowed = [row for row in ROWS if row[mode] == "allow"]
    refused = [row for row in ROWS if row[mode] == "refuse"]
    for consultation in consultations_for(mode):
        where = f"{mode} ({consultation.mode})"
        for batch in chunks(allowed):
            response = issue(consultation, [line(r["name"], free=True) for r in batch])
            if response.status_code != 201:
                pytest.fail(f"{where}: refused {one_by_one(consultation, batch)}")
            lists = [item["tpg_list"] for item in response.json()["items"]]
            assert lists == [r["tpg_list"] for r in batch], where
        for batch in chunks(refused):
            before = Prescription.objects.filter(consultation=consultation).count()
            response = issue(consultation, [line(r["name"], free=True) for r in batch])
            messages = (
                response.json()["error"]["fields"].get("items", [])
                if response.status_code == 400
                else []
            )
            if len(messages) != len(batch) or not all(
                expected_message(row, message) for row, message in zip(batch, messages, strict=True)
            ):
                prohibited = [r["name"] for r in batch if r["tpg_list"] == "prohibited"]
                pytest.fail(
                    f"{where}: expected {len(batch)} refusals; prohibited in this batch "
                    f"{prohibited}; got {one_by_one(consultation, batch)}"
                )
            after = Prescription.objects.filter(consultation=consultation).count()
            assert after == before, where


@pytest.mark.parametrize(
    "typed, generics",
    [
        ("Ultracet", {"tramadol", "paracetamol"}),
        ("Dolo 650", {"paracetamol"}),
        ("Glycomet GP 2", {"glimepiride", "metformin"}),
        ("Telma-H 40", {"telmisartan", "hydrochlorothiazide"}),
        ("amoxicillin + clavulanic acid", {"amoxicillin + clavulanic acid"}),
        ("Amoxycillin + potassium clavulanate", {"amoxicillin", "clavulanic acid"}),
        ("tramadol hydrochloride", {"tramadol"}),
        ("alpra-zolam", {"alprazolam"}),
        ("पैरासिटामोल", {"paracetamol"}),
        ("ट्रामाडोल", {"tramadol"}),
        ("अल्प्राजोलम", {"alprazolam"}),
        ("டிராமடோல்", {"tramadol"}),
        ("morphin", {"morphine"}),
        ("Pan 40", {"pantoprazole"}),
    ],
)
def test_names_resolve_to_their_generics(typed, generics):
    resolution = medicine_names.resolve(typed)
    assert resolution.resolved
    assert {g.name for g in resolution.generics} == generics


def test_an_unknown_name_is_unresolved_with_suggestions():
    resolution = medicine_names.resolve("Dolomax 500")
    assert not resolution.resolved
    assert resolution.unresolved == ("dolomax",)
    assert "Dolo" in resolution.suggestions
    assert not any(medicine_names.resolve(s).prohibited for s in resolution.suggestions)


def safe_names() -> list[str]:
    index = medicine_names.medicine_index()
    return [
        key
        for key, (targets, _via, _name) in index.names.items()
        if not any(index.generics[t].prohibited for t in targets)
    ]


def test_no_safe_name_is_read_as_prohibited():
    for name in safe_names():
        resolution = medicine_names.resolve(name)
        assert resolution.resolved and not resolution.prohibited, name


#: Brand families read as codeine on purpose (brands.csv says why): one letter off their
#: codeine-free variant is one letter off the codeine brand.
CODEINE_FAMILIES = {"corex dx", "tusq dx"}


def test_a_letter_off_a_safe_name_never_becomes_a_prohibited_one():
    """Fuzzy matching must not turn a doctor's typo of a safe medicine into a refusal
    for a narcotic: every deletion and every swap of two letters is tried."""
    for name in safe_names():
        word = name.replace(" ", "")
        if len(word) < 6 or name in CODEINE_FAMILIES:
            continue
        variants = {word[:i] + word[i + 1 :] for i in range(len(word))}
        variants |= {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)}
        for variant in variants:
            assert not medicine_names.resolve(variant).prohibited, (name, variant)


INSTRUCTIONS = [
    "after food",
    "before breakfast",
    "post meals, with plenty of water",
    "at bedtime; avoid driving if drowsy",
    "apply thinly on the rash twice a day",
    "dissolve in one glass of boiled and cooled water",
    "take with milk; do not crush",
    "continue for the whole course even if the fever settles",
    "stop if there is a rash or swelling of the face",
    "morning and evening, empty stomach",
    "sugar free syrup for the diabetic patient",
    "heroine of the week, charts reviewed, cocoa allowed",
    "खाना खाने के बाद",
    "रात को सोते समय",
]


@pytest.mark.parametrize("text", INSTRUCTIONS)
def test_ordinary_instructions_name_no_drug(text):
    assert medicine_names.hidden_prohibited(text) == ()


@pytest.mark.parametrize(
    "text",
    [
        "take with alprazolam",
        "add tramadol 50 mg at night",
        "with Alprax 0.25 if anxious",
        "also give alprazolm syrup",
        "रात को अल्प्राजोलम",
    ],
)
def test_drugs_hidden_in_free_text_are_found(text):
    assert medicine_names.hidden_prohibited(text)


def test_the_index_is_built_once_per_process():
    assert medicine_names.medicine_index() is medicine_names.medicine_index()


def test_every_data_file_names_its_source_in_the_readme():
    readme = (medicine_names.DATA_DIR / "README.md").read_text(encoding="utf-8")
    for name in ("medicines.csv", "generics.csv", "prohibited.csv", "brands.csv", "aliases.csv"):
        assert f"`{name}`" in readme, name
    for source in ("Narcotic Drugs and Psychotropic Substances Act", "Schedule X", "NLEM"):
        assert source in readme


def test_every_prohibited_catalogue_row_is_prohibited_for_the_resolver_with_its_reason():
    from sanjeevani.prescriptions.catalogue import read_catalogue

    for row in read_catalogue():
        resolution = medicine_names.resolve(row["generic_name"])
        if row["tpg_list"] == "prohibited":
            [match] = resolution.prohibited
            assert match.generic.reason == medicine_names.prohibited_reason(row["source"]), row
        else:
            assert {g.tpg_list for g in resolution.generics} == {row["tpg_list"]}, row


# --- the resolver at the API ---------------------------------------------------------------

RESOLVE = "/api/v1/prescriptions/medicines/resolve/"


@pytest.mark.django_db
def test_the_doctor_sees_what_a_brand_resolves_to_and_the_rule():
    doctor = DoctorFactory().user
    body = api_for(doctor).get(RESOLVE, {"q": "Dolo 650"}).json()
    assert body["status"] == "resolved"
    assert body["tpg_list"] == "O"
    assert [m["generic_name"] for m in body["medicines"]] == ["paracetamol"]
    assert body["medicines"][0]["via"] == "brand"
    assert body["rule"].startswith("List O")


@pytest.mark.django_db
def test_the_resolver_names_the_prohibited_part_and_the_law():
    body = api_for(DoctorFactory().user).get(RESOLVE, {"q": "Ultracet"}).json()
    assert body["status"] == "prohibited"
    tramadol = next(m for m in body["medicines"] if m["generic_name"] == "tramadol")
    assert tramadol["prohibited_reason"] == "NDPS psychotropic"
    assert "Prohibited (NDPS psychotropic)" in body["rule"]


@pytest.mark.django_db
def test_the_resolver_suggests_generics_for_an_unknown_name():
    body = api_for(DoctorFactory().user).get(RESOLVE, {"q": "Dolomax"}).json()
    assert body["status"] == "unresolved"
    assert body["tpg_list"] is None
    assert "Dolo" in body["suggestions"]


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["", "   ", "x" * 121])
def test_the_resolver_refuses_an_empty_or_long_query_with_400(query):
    response = api_for(DoctorFactory().user).get(RESOLVE, {"q": query})
    assert response.status_code == 400
    assert "q" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_the_resolver_is_for_doctors_only(client):
    from tests.factories import PatientAccountFactory

    assert api_for(PatientAccountFactory()).get(RESOLVE, {"q": "Dolo"}).status_code == 403
    assert client.get(RESOLVE, {"q": "Dolo"}).status_code in (401, 403)
