"""The doctor types a brand name in the prescription form, sees the generic it resolves to and
the rule that applies (and a prohibited brand named as such), and signs after re-confirming
with their password (issue 9)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from sanjeevani.prescriptions.models import Prescription
from tests.factories import PASSWORD
from tests.opd.pages_support import make_clinic
from tests.prescriptions.factories import ConsultationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_doctor_sees_what_a_typed_brand_resolves_to_and_signs(
    signed_in_page, live_server_url, settings, tmp_path
):
    settings.SIGNING_KEY_FILE = tmp_path / "keys" / "rx.pem"
    clinic = make_clinic()
    consultation = ConsultationFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        opd=clinic.opd,
        diagnoses=[{"code": "R50.9", "label": "Fever, unspecified"}],
    )
    doctor = signed_in_page(clinic.doctor.user)
    doctor.goto(live_server_url + reverse("workspace:consultation", args=[consultation.pk]))

    name = doctor.locator("[name=item-0-name]")
    note = doctor.locator(".rx-item .rx-resolved").first
    name.fill("Ultracet")
    expect(note).to_contain_text("tramadol")
    expect(note).to_contain_text("Prohibited (NDPS psychotropic)")

    name.fill("Dolomax")
    expect(note.locator(".rx-suggestion", has_text="Dolo")).to_be_visible()

    name.fill("Dolo 650")
    expect(note).to_contain_text("→ paracetamol")
    expect(note).to_contain_text("List O")

    doctor.fill("[name=item-0-form]", "tablet")
    doctor.fill("[name=item-0-strength]", "650 mg")
    doctor.fill("[name=item-0-dose]", "1 tablet")
    doctor.fill("[name=item-0-frequency]", "1-0-1")
    doctor.fill("[name=item-0-duration]", "3 days")
    doctor.fill("[name=item-0-quantity]", "6 tablets")
    doctor.fill("#rx-reconfirm [name=password]", PASSWORD)
    doctor.click("#issue-prescription")
    expect(doctor.locator(".messages")).to_contain_text("Prescription issued and signed.")
    [item] = Prescription.objects.get(consultation=consultation).items.all()
    assert (item.generic_name, item.tpg_list) == ("Dolo 650", "O")
