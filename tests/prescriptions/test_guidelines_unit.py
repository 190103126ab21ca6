"""The pure rule functions, for the cases the API tests do not reach cheaply."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from sanjeevani.prescriptions.guidelines import (
    CatalogueIndex,
    PatientHistory,
    ProposedMedicine,
    check_medicine,
    normalise_name,
)
from sanjeevani.prescriptions.models import Medicine

INDEX = CatalogueIndex.build(
    [
        ("amoxicillin", "A", "judgment"),
        ("amoxicillin + clavulanic acid", "A", "judgment"),
        ("metformin", "A", "TPG"),
        ("glimepiride", "B", "judgment"),
        ("codeine", "prohibited", "NDPS Act 1985 (narcotic drug: codeine)"),
        ("paracetamol", "O", "TPG"),
    ]
)
FIRST_BY_VIDEO = PatientHistory(had_video=True, is_follow_up=False)


def test_normalise_drops_strengths_units_and_forms():
    assert normalise_name("Metformin 500mg SR tab") == "metformin"
    assert normalise_name("Amoxicillin+Clavulanic acid 625") == "amoxicillin clavulanic acid"


def test_a_combination_is_matched_by_its_longest_name():
    [entry] = INDEX.components("Amoxicillin + clavulanic acid 625 mg")
    assert entry.generic_name == "amoxicillin + clavulanic acid"


def test_free_entry_combination_is_held_to_its_strictest_component():
    decision = check_medicine(
        ProposedMedicine("metformin + glimepiride 500/1"), FIRST_BY_VIDEO, INDEX
    )
    assert decision.tpg_list == "B"
    assert decision.refusal.startswith("Glimepiride is a List B medicine")


def test_paracetamol_with_codeine_typed_freely_is_refused():
    decision = check_medicine(
        ProposedMedicine("Paracetamol 500 + Codeine 10"), FIRST_BY_VIDEO, INDEX
    )
    assert decision.refusal == (
        "Codeine is a prohibited drug (NDPS narcotic) and cannot be prescribed by teleconsultation."
    )


@pytest.mark.django_db
def test_load_medicines_command_is_idempotent(capsys):
    before = Medicine.objects.count()
    call_command("load_medicines")
    assert Medicine.objects.count() == before
    assert "0 created" in capsys.readouterr().out
