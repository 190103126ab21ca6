"""The pure rule functions, for the cases the API tests do not reach cheaply."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from sanjeevani.prescriptions.guidelines import (
    PatientHistory,
    ProposedMedicine,
    check_medicine,
    normalise_name,
)
from sanjeevani.prescriptions.medicine_names import resolve
from sanjeevani.prescriptions.models import Medicine

FIRST_BY_VIDEO = PatientHistory(had_video=True, is_follow_up=False)
FIRST_BY_AUDIO = PatientHistory(had_video=False, is_follow_up=False)


def test_normalise_drops_strengths_units_and_forms():
    assert normalise_name("Metformin 500mg SR tab") == "metformin"
    assert normalise_name("Amoxicillin+Clavulanic acid 625") == "amoxicillin clavulanic acid"


def test_a_combination_is_matched_by_its_longest_name():
    [generic] = resolve("Amoxicillin + clavulanic acid 625 mg").generics
    assert generic.name == "amoxicillin + clavulanic acid"


def test_free_entry_combination_is_held_to_its_strictest_component():
    decision = check_medicine(ProposedMedicine("metformin + glimepiride 500/1"), FIRST_BY_VIDEO)
    assert decision.tpg_list == "B"
    assert decision.refusal.startswith("Glimepiride is a List B medicine")


def test_paracetamol_with_codeine_typed_freely_is_refused():
    decision = check_medicine(ProposedMedicine("Paracetamol 500 + Codeine 10"), FIRST_BY_VIDEO)
    assert decision.refusal == (
        "Codeine is a prohibited drug (NDPS narcotic) and cannot be prescribed by teleconsultation."
    )


def test_a_brand_refusal_says_what_the_brand_was_read_as():
    decision = check_medicine(ProposedMedicine("Ultracet"), FIRST_BY_VIDEO)
    assert decision.refusal == (
        '"ultracet" is a brand of Tramadol. Tramadol is a prohibited drug (NDPS psychotropic) '
        "and cannot be prescribed by teleconsultation."
    )


def test_a_near_spelling_of_a_prohibited_drug_is_refused_as_too_close():
    decision = check_medicine(ProposedMedicine("tramdol 50"), FIRST_BY_VIDEO)
    assert decision.refusal.startswith('"tramdol" is too close to Tramadol')


def test_a_catalogue_pick_of_a_prohibited_row_is_refused_with_its_legal_reason():
    item = ProposedMedicine(
        "methylphenidate", tpg_list="prohibited", reason="Drugs and Cosmetics Rules 1945 Schedule X"
    )
    decision = check_medicine(item, FIRST_BY_AUDIO)
    assert decision.refusal == (
        "Methylphenidate is a prohibited drug (Schedule X) and cannot be prescribed by "
        "teleconsultation."
    )


def test_list_a_refill_needs_a_follow_up_and_the_medicine_on_record():
    on_record = PatientHistory(
        had_video=False, is_follow_up=True, current_medicines=frozenset({"metformin"})
    )
    assert check_medicine(ProposedMedicine("Glycomet 500"), on_record).allowed
    not_follow_up = PatientHistory(
        had_video=False, is_follow_up=False, current_medicines=frozenset({"metformin"})
    )
    assert not check_medicine(ProposedMedicine("Glycomet 500"), not_follow_up).allowed


def test_list_b_add_on_needs_a_base_of_its_class():
    on_metformin = PatientHistory(
        had_video=False,
        is_follow_up=True,
        current_medicines=frozenset({"metformin"}),
        current_categories=frozenset({"diabetes"}),
    )
    on_amlodipine = PatientHistory(
        had_video=False,
        is_follow_up=True,
        current_medicines=frozenset({"amlodipine"}),
        current_categories=frozenset({"hypertension"}),
    )
    assert check_medicine(ProposedMedicine("sitagliptin 100"), on_metformin).allowed
    refusal = check_medicine(ProposedMedicine("sitagliptin 100"), on_amlodipine).refusal
    assert "added only to a medicine of its class" in refusal
    assert "diabetes" in refusal


def test_the_other_doctor_note_is_given():
    history = PatientHistory(had_video=False, is_follow_up=False, note="other_doctor")
    refusal = check_medicine(ProposedMedicine("metformin"), history).refusal
    assert "written by another doctor" in refusal


def test_an_unresolved_word_refuses_the_line_with_suggestions():
    refusal = check_medicine(ProposedMedicine("Dolomax 650"), FIRST_BY_VIDEO).refusal
    assert '"dolomax"' in refusal
    assert "Did you mean: " in refusal and "Dolo" in refusal


@pytest.mark.parametrize("field", ["form", "strength", "instructions"])
def test_a_prohibited_drug_in_another_field_refuses_a_list_o_line(field):
    item = ProposedMedicine("paracetamol", **{field: "with alprazolam 0.5"})
    decision = check_medicine(item, FIRST_BY_VIDEO)
    assert decision.tpg_list == "prohibited"
    assert "Alprazolam is a prohibited drug" in decision.refusal


@pytest.mark.django_db
def test_load_medicines_command_is_idempotent(capsys):
    before = Medicine.objects.count()
    call_command("load_medicines")
    assert Medicine.objects.count() == before
    assert "0 created" in capsys.readouterr().out
