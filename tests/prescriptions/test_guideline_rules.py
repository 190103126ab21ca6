"""The Telemedicine Practice Guidelines 2020 medicine lists, enforced through the API:
one test per list, plus free entry."""

from __future__ import annotations

import pytest

from sanjeevani.prescriptions.models import Prescription
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
        {"items": [line("paracetamol")]},
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


def test_unknown_free_entry_is_treated_as_list_a(audio_consultation, video_consultation):
    [message] = refusals(issue(audio_consultation, [line("Zincovit", free=True)]))
    assert "not in the medicine catalogue" in message
    response = issue(video_consultation, [line("Zincovit", free=True)])
    assert response.status_code == 201, response.content
    item = response.json()["items"][0]
    assert (item["generic_name"], item["tpg_list"], item["medicine"]) == ("Zincovit", "A", None)


def test_every_refused_line_gets_its_own_message(audio_consultation):
    messages = refusals(
        issue(audio_consultation, [line("tramadol"), line("paracetamol"), line("amlodipine")])
    )
    assert len(messages) == 2
    assert messages[0].startswith("Tramadol is a prohibited drug")
    assert messages[1].startswith("Amlodipine is a List A medicine")
