"""The Telemedicine Practice Guidelines 2020 medicine lists, enforced through the API:
one test per list, free entry, drugs named in other fields, and refills and add-ons checked
against the patient's own record. (Names however typed: test_name_resolution.py.)"""

from __future__ import annotations

import pytest

from sanjeevani.prescriptions.models import Prescription
from tests.factories import PASSWORD, DoctorFactory, FacilityFactory
from tests.prescriptions.conftest import api_for, issue, line
from tests.prescriptions.factories import ConsultationFactory, VideoConsultationFactory

pytestmark = pytest.mark.django_db

PROHIBITED_ALPRAZOLAM = (
    "Alprazolam is a prohibited drug (NDPS psychotropic) and cannot be prescribed by "
    "teleconsultation."
)


def refusals(response) -> list[str]:
    assert response.status_code == 400, response.content
    return response.json()["error"]["fields"]["items"]


def test_list_o_is_allowed_in_an_audio_consultation(audio_consultation):
    response = issue(audio_consultation, [line("paracetamol"), line("oral rehydration salts")])
    assert response.status_code == 201, response.content
    assert [i["tpg_list"] for i in response.json()["items"]] == ["O", "O"]


def test_list_o_is_allowed_in_a_chat_consultation():
    consultation = ConsultationFactory(mode="chat")
    response = issue(consultation, [line("cetirizine")])
    assert response.status_code == 201, response.content


def test_list_a_is_refused_without_video(audio_consultation):
    response = issue(audio_consultation, [line("paracetamol"), line("metformin")])
    [message] = refusals(response)
    assert message.startswith("Metformin is a List A medicine")
    assert "video" in message
    assert not Prescription.objects.exists()


def test_list_a_is_allowed_with_video(video_consultation):
    response = issue(video_consultation, [line("clotrimazole"), line("metformin")])
    assert response.status_code == 201, response.content
    assert {i["tpg_list"] for i in response.json()["items"]} == {"A"}


def test_list_a_is_allowed_as_a_refill_without_video():
    first = VideoConsultationFactory()
    assert issue(first, [line("metformin")]).status_code == 201
    refill = ConsultationFactory(patient=first.patient, doctor=first.doctor)
    response = issue(refill, [line("metformin", strength="1000 mg")])
    assert response.status_code == 201, response.content


def test_a_superseded_prescription_is_not_a_basis_for_a_refill():
    first = VideoConsultationFactory()
    original = issue(first, [line("metformin")]).json()
    doctor = first.doctor.user
    corrected = api_for(doctor).post(
        f"/api/v1/prescriptions/{original['id']}/correct/",
        {"items": [line("paracetamol")], "password": PASSWORD},
        format="json",
    )
    assert corrected.status_code == 201, corrected.content
    later = ConsultationFactory(patient=first.patient, doctor=first.doctor)
    [message] = refusals(issue(later, [line("metformin")]))
    assert "List A" in message


def test_list_b_is_refused_at_a_first_consultation(video_consultation):
    [message] = refusals(issue(video_consultation, [line("sitagliptin")]))
    assert message == (
        "Sitagliptin is a List B medicine: it can be prescribed only at a follow-up "
        "consultation, as an add-on to medicines the patient already takes."
    )


def test_list_b_is_allowed_as_an_add_on_at_a_follow_up():
    first = VideoConsultationFactory()
    assert issue(first, [line("metformin")]).status_code == 201
    follow_up = ConsultationFactory(patient=first.patient, doctor=first.doctor, follow_up_of=first)
    response = issue(follow_up, [line("metformin"), line("sitagliptin")])
    assert response.status_code == 201, response.content
    assert [i["tpg_list"] for i in response.json()["items"]] == ["A", "B"]


def test_list_b_needs_medicines_the_patient_already_takes():
    """A follow-up whose earlier visit ended in advice only is no basis for an add-on."""
    first = VideoConsultationFactory()
    assert issue(first, [], advice="Rest").status_code == 201
    follow_up = ConsultationFactory(patient=first.patient, doctor=first.doctor, follow_up_of=first)
    [message] = refusals(issue(follow_up, [line("glimepiride")]))
    assert "List B" in message


def test_prohibited_drug_is_refused_even_with_video(video_consultation):
    assert refusals(issue(video_consultation, [line("alprazolam")])) == [PROHIBITED_ALPRAZOLAM]
    assert not Prescription.objects.exists()


def test_schedule_x_and_narcotics_are_named_in_the_refusal(video_consultation):
    messages = refusals(issue(video_consultation, [line("methylphenidate"), line("morphine")]))
    assert messages == [
        "Methylphenidate is a prohibited drug (Schedule X) and cannot be prescribed by "
        "teleconsultation.",
        "Morphine is a prohibited drug (NDPS narcotic) and cannot be prescribed by "
        "teleconsultation.",
    ]


@pytest.mark.parametrize(
    "typed", ["Alprazolam 0.5 mg", "ALPRAZOLAM 0.5mg", "alprazolam+sertraline"]
)
def test_free_entry_of_a_prohibited_drug_is_refused(video_consultation, typed):
    response = issue(video_consultation, [line(typed, free=True)])
    assert refusals(response) == [PROHIBITED_ALPRAZOLAM]


def test_free_entry_of_a_known_generic_takes_its_list(audio_consultation):
    [message] = refusals(issue(audio_consultation, [line("Metformin 500mg", free=True)]))
    assert message.startswith("Metformin is a List A medicine")
    response = issue(audio_consultation, [line("Paracetamol 500 mg tab", free=True)])
    assert response.status_code == 201, response.content
    assert response.json()["items"][0]["tpg_list"] == "O"


def test_unknown_free_entry_is_refused_in_every_mode_with_suggestions(
    audio_consultation, video_consultation
):
    """Formerly an unknown name was treated as List A and signed after video (issue 9): a
    medicine the rules cannot identify is now refused, with the nearest generics offered."""
    for consultation in (audio_consultation, video_consultation):
        [message] = refusals(issue(consultation, [line("Paracetamoxyl Zorb", free=True)]))
        assert "does not recognise" in message
        assert '"zorb"' in message
        assert "Did you mean:" in message
    assert not Prescription.objects.exists()


def test_a_brand_resolves_to_its_generic_and_takes_its_list(audio_consultation):
    response = issue(audio_consultation, [line("Zincovit", free=True)])
    assert response.status_code == 201, response.content
    item = response.json()["items"][0]
    assert (item["generic_name"], item["tpg_list"], item["medicine"]) == ("Zincovit", "O", None)
    [message] = refusals(issue(audio_consultation, [line("Augmentin 625", free=True)]))
    assert message.startswith("Amoxicillin + clavulanic acid is a List A medicine")


@pytest.mark.parametrize(
    "field, text",
    [
        ("instructions", "take with alprazolam at night"),
        ("instructions", "add Restyl 0.25 if anxious"),
        ("strength", "500 mg + tramadol 37.5 mg"),
        ("form", "codeine syrup"),
        ("instructions", "रात को अल्प्राजोलम"),
    ],
)
def test_a_prohibited_drug_named_in_another_field_is_refused(video_consultation, field, text):
    item = line("paracetamol", free=True, **{field: text})
    [message] = refusals(issue(video_consultation, [item]))
    assert f"The {field} of Paracetamol name" in message
    assert "is a prohibited drug" in message


def test_a_list_a_drug_named_in_the_instructions_of_a_list_o_line_is_held_to_list_a(
    audio_consultation, video_consultation
):
    item = line("paracetamol", instructions="also azithromycin 500 mg once a day")
    [message] = refusals(issue(audio_consultation, [item]))
    assert "Azithromycin is a List A medicine" in message
    assert "on its own line" in message
    assert issue(video_consultation, [item]).status_code == 201


def test_ordinary_instructions_are_not_refused(audio_consultation):
    item = line("paracetamol", instructions="after food, morning and evening, post meals")
    assert issue(audio_consultation, [item]).status_code == 201


@pytest.mark.parametrize(
    "instructions", ["avoid ibuprofen", "stop metformin for now", "not with aspirin"]
)
def test_a_warning_against_another_medicine_is_not_a_prescription_of_it(
    audio_consultation, instructions
):
    item = line("paracetamol", instructions=instructions)
    assert issue(audio_consultation, [item]).status_code == 201


def test_a_warning_does_not_excuse_a_prohibited_drug(audio_consultation):
    [message] = refusals(
        issue(audio_consultation, [line("paracetamol", instructions="avoid alprazolam")])
    )
    assert "Alprazolam is a prohibited drug" in message


# --- refills and add-ons, against the patient's own record ---------------------------------

DIABETES = [{"code": "E11.9", "label": "Type 2 diabetes mellitus without complications"}]
DIABETES_OTHER_CODE = [{"code": "E11.65", "label": "Type 2 diabetes with hyperglycaemia"}]
HYPERTENSION = [{"code": "I10", "label": "Essential (primary) hypertension"}]


def first_visit(items, diagnoses=DIABETES, **extra):
    consultation = VideoConsultationFactory(diagnoses=diagnoses, **extra)
    response = issue(consultation, items)
    assert response.status_code == 201, response.content
    return consultation


def follow_up(first, doctor=None, diagnoses=DIABETES, **extra):
    return ConsultationFactory(
        patient=first.patient,
        doctor=doctor or first.doctor,
        follow_up_of=first,
        diagnoses=diagnoses,
        **extra,
    )


def test_refill_at_a_same_doctor_follow_up_for_the_same_condition_is_allowed():
    first = first_visit([line("metformin")])
    response = issue(follow_up(first), [line("Glycomet 500", free=True)])
    assert response.status_code == 201, response.content
    assert response.json()["items"][0]["tpg_list"] == "A"


def test_refill_matches_the_icd10_category_not_only_the_exact_code():
    first = first_visit([line("Telma 40", free=True)], diagnoses=HYPERTENSION)
    later = follow_up(first, diagnoses=[{"code": "I10.0", "label": "Hypertension"}])
    assert issue(later, [line("telmisartan")]).status_code == 201


def test_refill_by_another_doctor_is_refused_even_on_a_booked_follow_up():
    first = first_visit([line("metformin")])
    [message] = refusals(issue(follow_up(first, doctor=DoctorFactory()), [line("metformin")]))
    assert message.startswith("Metformin is a List A medicine")
    assert "written by another doctor" in message


def test_refill_by_another_doctor_of_the_same_hub_is_allowed():
    """Hub and spoke: the hub's team follows the patient up (TPG follow-up by the same
    care team), so a colleague at the same hub may refill; one at another hub may not."""
    hub = FacilityFactory()
    first = first_visit([line("metformin")], service_line="hub_spoke", hub=hub)
    colleague = follow_up(first, doctor=DoctorFactory(), service_line="hub_spoke", hub=hub)
    assert issue(colleague, [line("metformin")]).status_code == 201
    elsewhere = follow_up(
        first, doctor=DoctorFactory(), service_line="hub_spoke", hub=FacilityFactory()
    )
    [message] = refusals(issue(elsewhere, [line("metformin")]))
    assert "written by another doctor" in message


def test_refill_for_another_condition_is_refused():
    first = first_visit([line("metformin")])
    [message] = refusals(issue(follow_up(first, diagnoses=HYPERTENSION), [line("metformin")]))
    assert "List A" in message
    assert "for this condition" in message


def test_refill_of_a_medicine_not_on_the_record_is_refused():
    first = first_visit([line("metformin")])
    [message] = refusals(issue(follow_up(first), [line("amlodipine")]))
    assert message.startswith("Amlodipine is a List A medicine")


def test_add_on_on_a_base_medicine_of_its_class_is_allowed():
    first = first_visit([line("Glycomet", free=True)])
    response = issue(
        follow_up(first, diagnoses=DIABETES_OTHER_CODE), [line("Januvia 100", free=True)]
    )
    assert response.status_code == 201, response.content
    assert response.json()["items"][0]["tpg_list"] == "B"


def test_add_on_without_a_base_medicine_of_its_class_is_refused():
    first = first_visit([line("amlodipine")])
    [message] = refusals(issue(follow_up(first), [line("sitagliptin")]))
    assert "List B" in message
    assert "diabetes" in message


def test_add_on_by_another_doctor_is_refused():
    first = first_visit([line("metformin")])
    [message] = refusals(issue(follow_up(first, doctor=DoctorFactory()), [line("sitagliptin")]))
    assert "List B" in message


def test_a_prohibited_medicine_issued_earlier_is_never_refillable():
    """Written straight into the database, as an older system might have left it."""
    from tests.prescriptions.test_name_resolution import record_earlier_prescription

    first = VideoConsultationFactory(diagnoses=DIABETES)
    record_earlier_prescription(first, ["alprazolam", "Ultracet", "tramadol"])
    later = follow_up(first)
    for item in (line("alprazolam"), line("Ultracet", free=True), line("tramadol")):
        [message] = refusals(issue(later, [item]))
        assert "is a prohibited drug" in message
    assert not Prescription.objects.filter(consultation=later).exists()


def test_an_earlier_prescription_older_than_six_months_is_no_basis_for_a_refill():
    from tests.prescriptions.test_name_resolution import record_earlier_prescription

    first = VideoConsultationFactory(diagnoses=DIABETES)
    record_earlier_prescription(first, ["metformin"], days_ago=200)
    [message] = refusals(issue(follow_up(first), [line("metformin")]))
    assert "List A" in message


def test_every_refused_line_gets_its_own_message(audio_consultation):
    messages = refusals(
        issue(audio_consultation, [line("tramadol"), line("paracetamol"), line("amlodipine")])
    )
    assert len(messages) == 2
    assert messages[0].startswith("Tramadol is a prohibited drug")
    assert messages[1].startswith("Amlodipine is a List A medicine")
