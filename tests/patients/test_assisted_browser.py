"""The operator's way in headless Chromium on a 320 px phone: register a patient with their
consent, take a token, wait until the page shows the doctor's call by itself, join with the
patient and land in the room. Every operator page fits the phone and passes axe (WCAG 2.1
A/AA). Uses the browser fixtures of ``tests/e2e/conftest.py``."""

from __future__ import annotations

import pytest

from sanjeevani.accounts.models import Role
from sanjeevani.consultations import services as consultations
from sanjeevani.patients.models import AssistedAction, Patient
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.models import Ticket
from tests.e2e.accessibility import accessibility_violations
from tests.e2e.conftest import _playwright, browser, live_server_url, signed_in_page  # noqa: F401
from tests.e2e.diagnostics import page_log
from tests.e2e.test_phone_layout import OVERFLOW, PHONE
from tests.factories import DistrictFactory, StaffUserFactory
from tests.opd.pages_support import make_clinic

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STATEMENT = "I agree that the operator helps me see a doctor."


def check(page, name: str, problems: list[str]) -> None:
    page.wait_for_load_state("load")
    for line in page.evaluate(OVERFLOW):
        problems.append(f"{name} at 320 px: {line}")
    for violation in accessibility_violations(page):
        nodes = "; ".join(violation["nodes"][:3])
        problems.append(f"{name}: axe {violation['id']} ({violation['impact']}) {nodes}")


def consent(page, prefix: str = "") -> None:
    field = f"#id_{prefix}-" if prefix else "#id_"
    page.fill(f"{field}consent_given_by", "Ramesh Kumar")
    page.fill(f"{field}consent_statement", STATEMENT)
    page.check(f"{field}consent_agreed")


def test_an_operator_registers_takes_a_token_and_joins_with_the_patient(
    live_server_url,  # noqa: F811
    signed_in_page,  # noqa: F811
):
    clinic = make_clinic()
    district = DistrictFactory(state=clinic.state)
    operator = StaffUserFactory(role=Role.OPERATOR)
    page = signed_in_page(operator)
    page.set_viewport_size(PHONE)
    problems: list[str] = []
    try:
        page.goto(live_server_url + "/assisted/")
        check(page, "desk", problems)
        page.click("#register-patient")

        page.fill("#id_mobile", "98450 12345")
        page.fill("#id_name", "Ramesh Kumar")
        page.fill("#id_age_years", "67")
        page.check("input[name=sex][value=M]")
        page.select_option("#id_state", str(clinic.state.pk))
        page.select_option("#id_district", str(district.pk))
        page.click("#register")
        page.wait_for_selector(".error-summary")
        check(page, "register, consent missing", problems)
        consent(page)
        page.click("#register")
        page.wait_for_selector("#patient-number")
        check(page, "patient", problems)
        patient = Patient.objects.get(name="Ramesh Kumar")

        page.click("#choose-opd")
        check(page, "OPD list", problems)
        page.click("text=Choose this OPD")
        check(page, "take a token", problems)
        page.fill("#id_complaint", "Cough for a week")
        consent(page)
        page.click("#take-token")
        page.wait_for_selector("#assisted-ticket")
        check(page, "token, waiting", problems)
        ticket = Ticket.objects.get(patient=patient)

        queue.go_online(clinic.doctor.user, clinic.opd)
        consultations.call_next_patient(clinic.doctor.user)
        # The page polls and reloads by itself when the doctor calls.
        page.wait_for_selector("#join-with-patient", timeout=30_000)
        check(page, "token, called", problems)
        consent(page, prefix="join")
        page.click("#join-with-patient")
        page.wait_for_url(f"**/room/{ticket.consultations.get().pk}/")
    except Exception:
        print(page_log(page))
        raise
    assert not problems, "\n".join(problems)
    kinds = set(AssistedAction.objects.filter(operator=operator).values_list("kind", flat=True))
    assert kinds == {"registered", "took_token", "joined_room"}
