"""The monthly state report: a PDF of the month's figures and charts, in English or Hindi,
for the state's administrators; a month that is no month is a 400, never a server error."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from sanjeevani.accounts.models import Role
from sanjeevani.dashboard.report import BadMonth, month_bounds, report_language
from sanjeevani.prescriptions import rendering
from sanjeevani.registry.models import State
from tests.dashboard.support import hold_day
from tests.factories import DistrictFactory, FacilityFactory, OnlineOPDFactory, PostingFactory

TODAY = dt.date(2026, 12, 2)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_month_before_this_one_by_default():
    assert month_bounds(None, TODAY) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert month_bounds("", dt.date(2026, 1, 15)) == (dt.date(2025, 12, 1), dt.date(2025, 12, 31))


def test_a_month_ends_on_its_last_day_or_today():
    assert month_bounds("2024-02", TODAY) == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert month_bounds("2026-12", TODAY) == (dt.date(2026, 12, 1), TODAY)


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "1999-12", "2027-01", "12-2026", "x"])
def test_a_month_that_is_no_month_is_refused(month):
    with pytest.raises(BadMonth):
        month_bounds(month, TODAY)


def test_languages_the_site_does_not_offer_fall_back_to_english():
    assert report_language("hi") == "hi"
    assert report_language("xx") == "en"
    assert report_language(None) == "en"


@pytest.fixture(name="admin")
def admin_fixture(db):
    cache.clear()
    karnataka = State.objects.get(code="KA")
    hold_day(OnlineOPDFactory(state=karnataka, code="ka-general"), 2, 0)
    return PostingFactory(user__role=Role.STATE_ADMIN, state=karnataka).user


def report_url(**query) -> str:
    url = reverse("dashboard:report", args=["KA"])
    return url + "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else url


def test_the_report_in_english(client, admin):
    client.force_login(admin)
    response = client.get(report_url(month=f"{timezone.localdate():%Y-%m}"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    assert "Monthly report: Karnataka" in text
    assert "Consultations in the month" in text
    assert "Busiest hours" in text


def test_the_report_ranks_per_head_with_the_populations(client, admin):
    karnataka = State.objects.get(code="KA")
    district = DistrictFactory(state=karnataka, name="Populous", population=1_234_567)
    FacilityFactory(
        state=karnataka, district=district, name="Counted HWC", catchment_population=4_321
    )
    client.force_login(admin)
    text = pdf_text(client.get(report_url(month=f"{timezone.localdate():%Y-%m}")).content)
    flat = " ".join(text.split())
    assert "Equity: the districts and spokes with the fewest consultations per head" in flat
    assert "per 100,000" in flat
    assert "Populous District 0 1,234,567 0.0" in flat
    assert "Counted HWC Spoke 0 4,321 0.0" in flat


def test_the_report_in_hindi(client, admin):
    client.force_login(admin)
    today = timezone.localdate()
    response = client.get(report_url(month=f"{today:%Y-%m}", lang="hi"))
    assert response.status_code == 200
    month = rendering.MONTHS["hi"]
    assert month[today.month - 1] in pdf_text(response.content)
    assert f"-{today:%Y-%m}-hi.pdf" in response["Content-Disposition"]


def test_a_bad_month_is_a_message(client, admin):
    client.force_login(admin)
    response = client.get(report_url(month="2026-99"))
    assert response.status_code == 400
    assert b"YYYY-MM" in response.content


def test_another_states_administrator_gets_nothing(client, admin):
    other = PostingFactory(user__role=Role.STATE_ADMIN, state=State.objects.get(code="TN")).user
    client.force_login(other)
    assert client.get(report_url()).status_code == 404
