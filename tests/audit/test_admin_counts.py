"""Admin lists over tables that grow for years count at most a cap (config/admin_lists.py):
never a ``COUNT(*)`` of the whole audit trail, accounts or device tokens on each page."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sanjeevani.accounts.models import DeviceToken, Role, User
from sanjeevani.audit.models import AuditEvent
from sanjeevani.audit.services import record_event
from tests.factories import StaffUserFactory
from tests.registry.factories import national_admin

pytestmark = pytest.mark.django_db

AUDIT = "/admin/audit/auditevent/"
TOKENS = "/admin/accounts/devicetoken/"
USERS = "/admin/accounts/user/"
CAP = 5


@pytest.fixture
def capped(monkeypatch):
    """Every capped list of the site counts at most ``CAP`` rows, 2 a page, "Show all" up
    to 3: the proportions of the real lists (100 a page, 200, 10,000) at a test's size."""
    for model in (AuditEvent, DeviceToken, User):
        model_admin = admin.site._registry[model]
        monkeypatch.setattr(model_admin, "list_count_cap", CAP)
        monkeypatch.setattr(model_admin, "list_per_page", 2)
        monkeypatch.setattr(model_admin, "list_max_show_all", 3)


@pytest.fixture
def national(client):
    client.force_login(national_admin())
    return client


def counts(queries) -> list[str]:
    return [q["sql"] for q in queries if re.search(r"\bCOUNT\(", q["sql"], re.IGNORECASE)]


def record(n: int, action: str = "patient.view") -> None:
    doctor = StaffUserFactory(role=Role.DOCTOR)
    for _ in range(n):
        record_event(doctor, action)


def test_a_long_trail_is_counted_up_to_the_cap_and_says_more_than(capped, national):
    record(CAP + 3)
    with CaptureQueriesContext(connection) as queries:
        response = national.get(AUDIT)
    assert response.status_code == 200
    assert "More than 5 audit events: filter the list to count them." in response.text
    assert response.context["cl"].result_count == CAP
    assert len(response.context["cl"].result_list) == 2
    assert 'class="showall"' not in response.text
    # Every count the page made is bounded: a LIMIT inside it, never the whole table.
    assert counts(queries.captured_queries)
    assert all("LIMIT" in sql.upper() for sql in counts(queries.captured_queries))


def test_a_filter_that_narrows_the_list_brings_the_exact_count_back(capped, national):
    record(CAP + 3)
    record(2, action="prescription.issue")
    response = national.get(AUDIT, {"action": "prescription."})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 2
    assert "More than" not in response.text
    assert re.search(r"2\s+audit events", response.text)


def test_pages_past_the_first_still_open_within_the_cap(capped, national):
    record(CAP + 3)
    shown = set()
    for page in (1, 2, 3):
        response = national.get(AUDIT, {"p": page})
        assert response.status_code == 200
        shown |= {event.pk for event in response.context["cl"].result_list}
    assert len(shown) == CAP
    # Past the cap: Django's admin answers an unknown page by sending back to the list.
    assert national.get(AUDIT, {"p": 4}).status_code == 302


def test_no_select_all_while_the_count_is_capped(capped, national):
    """A device-token action on "all N" would reach tokens nobody was shown a count of."""
    for _ in range(CAP + 2):
        DeviceToken.objects.issue(StaffUserFactory(role=Role.DOCTOR), device="phone")
    response = national.get(TOKENS)
    assert response.status_code == 200
    assert "More than 5 signed-in devices" in response.text
    assert 'class="question hidden"' not in response.text


def test_select_all_is_offered_when_the_count_is_exact(national, monkeypatch):
    monkeypatch.setattr(admin.site._registry[DeviceToken], "list_per_page", 2)
    for _ in range(3):
        DeviceToken.objects.issue(StaffUserFactory(role=Role.DOCTOR), device="phone")
    response = national.get(TOKENS)
    assert response.status_code == 200
    assert 'class="question hidden"' in response.text
    assert "Select all 3" in response.text


def test_a_search_over_the_cap_says_more_than(capped, national):
    for n in range(CAP + 2):
        StaffUserFactory(role=Role.DOCTOR, username=f"dr-meera-{n}")
    response = national.get(USERS, {"q": "dr-meera"})
    assert response.status_code == 200
    assert "More than 5 results" in response.text
    exact = national.get(USERS, {"q": "dr-meera-1"})
    assert re.search(r"\b1 result\b", exact.text)


def test_the_capped_count_is_said_in_hindi_too(capped, national):
    record(CAP + 1)
    response = national.get(AUDIT, HTTP_ACCEPT_LANGUAGE="hi")
    assert response.status_code == 200
    assert "5 से अधिक" in response.text


def test_a_cap_within_one_page_still_never_lists_the_whole_table(national, monkeypatch):
    """Django's change list shows every row when the count fits a page (or "Show all"):
    the cap is raised above both, whatever it was set to."""
    model_admin = admin.site._registry[AuditEvent]
    monkeypatch.setattr(model_admin, "list_count_cap", 2)
    monkeypatch.setattr(model_admin, "list_per_page", 3)
    monkeypatch.setattr(model_admin, "list_max_show_all", 4)
    record(9)
    response = national.get(AUDIT)
    assert len(response.context["cl"].result_list) == 3
    assert "More than 5 audit events" in response.text


def sign_out_all(client, tokens: list[DeviceToken], **headers):
    """The actions bar's "Select all" posted by hand: one visible row ticked, ``select_across``."""
    return client.post(
        TOKENS,
        {
            "action": "sign_out_devices",
            "index": "0",
            "select_across": "1",
            "_selected_action": [str(tokens[0].pk)],
        },
        follow=True,
        **headers,
    )


def test_an_action_on_all_of_a_capped_list_is_refused(capped, national):
    """The bar hides "Select all" past the cap; a request crafted to ask for it anyway signs
    nobody out and says how to go on."""
    tokens = [
        DeviceToken.objects.issue(StaffUserFactory(role=Role.DOCTOR), device="phone").token
        for _ in range(CAP + 2)
    ]
    response = sign_out_all(national, tokens)
    assert response.status_code == 200
    assert "More than 5 rows match: filter the list to fewer" in response.text
    assert DeviceToken.objects.count() == len(tokens)
    in_hindi = sign_out_all(national, tokens, HTTP_ACCEPT_LANGUAGE="hi")
    assert "5 से अधिक पंक्तियाँ मेल खाती हैं" in in_hindi.text
    assert DeviceToken.objects.count() == len(tokens)


def test_an_action_on_all_of_an_exactly_counted_list_still_runs(capped, national):
    tokens = [
        DeviceToken.objects.issue(StaffUserFactory(role=Role.DOCTOR), device="phone").token
        for _ in range(CAP - 1)
    ]
    response = sign_out_all(national, tokens)
    assert response.status_code == 200
    assert f"{CAP - 1} devices are signed out." in response.text
    assert DeviceToken.objects.count() == 0
