"""The public national dashboard in headless Chromium: the figures and charts of
consultations held through the real services, a phone's width with nothing cut off, the
live figures refreshed by ``live.js``, and no axe-core (WCAG 2.1 A/AA) violation, with the
numbers' tables open too. A state administrator's dashboard likewise. Screenshots are saved
as test artifacts under ``var/test-artifacts/screenshots/`` for a person to look at."""

from __future__ import annotations

import csv
import io
import threading
from pathlib import Path

import httpx
import pytest
from django.db import connection

from sanjeevani.accounts.models import Role
from sanjeevani.registry.models import State
from tests.dashboard.support import hold_day
from tests.e2e.accessibility import assert_accessible
from tests.factories import OnlineOPDFactory, PostingFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "screenshots"


def in_own_thread(work, *args):
    """Run ``work`` in a thread of its own: Playwright's sync API keeps an event loop in
    the test's thread, where the services' after-commit publishing (``async_to_sync``)
    cannot run."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            work(*args)
        except BaseException as error:  # noqa: BLE001 - re-raised in the test's thread
            failures.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


@pytest.fixture
def karnataka_day():
    # A transactional test's flush removes the states the migrations load: make sure.
    karnataka, _ = State.objects.get_or_create(code="KA", defaults={"name": "Karnataka"})
    opd = OnlineOPDFactory(state=karnataka, code="ka-general")
    in_own_thread(hold_day, opd, 3, 2)
    return karnataka


def test_public_dashboard_shows_figures_and_charts(live_server_url, browser, karnataka_day):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    page.goto(live_server_url + "/dashboard/")

    assert page.locator('[data-figure="consultations_to_date"]').inner_text() == "3"
    assert page.locator('[data-figure="doctors_today"]').inner_text() == "1"
    assert page.locator('[data-live="waiting"]').inner_text() == "2"
    charts = page.locator("svg.chart[role=img]")
    assert charts.count() == 4
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 20
    assert page.locator('svg.chart g.tile[data-state="KA"]').get_attribute("data-level") == "4"
    assert page.locator("svg.chart g.tile").count() == 36
    page.screenshot(path=str(SCREENSHOTS / "dashboard-national-1280.png"), full_page=True)
    assert_accessible(page, "public dashboard")

    # The numbers behind each chart, for screen readers and anyone who wants them exact.
    for summary in page.locator("details.chart-numbers > summary").all():
        summary.click()
    assert page.locator("details.chart-numbers table th:text-is('Karnataka')").count() >= 1
    assert_accessible(page, "public dashboard with the numbers' tables open")

    # live.js: the live figures come back from /dashboard/live.json without a reload.
    page.evaluate("document.querySelector('[data-live=\"waiting\"]').textContent = '?'")
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    page.wait_for_function(
        "() => document.querySelector('[data-live=\"waiting\"]').textContent === '2'",
        timeout=10_000,
    )
    # The site's CSP refuses inline script and style: nothing on the page was refused.
    assert errors == [], errors
    context.close()


def test_public_dashboard_at_a_phones_width(live_server_url, browser, karnataka_day):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 320, "height": 740})
    page = context.new_page()
    page.goto(live_server_url + "/dashboard/")
    assert page.locator('[data-figure="consultations_to_date"]').inner_text() == "3"
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than a 320 px phone"
    page.screenshot(path=str(SCREENSHOTS / "dashboard-national-320.png"), full_page=True)
    assert_accessible(page, "public dashboard at 320 px")
    context.close()


def test_state_dashboard_for_its_administrator(live_server_url, signed_in_page, karnataka_day):
    admin = PostingFactory(user__role=Role.STATE_ADMIN, state=karnataka_day).user
    page = signed_in_page(admin)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server_url + "/dashboard/state/KA/?start=2026-13-01")
    assert page.locator(".error-summary").count() == 1
    page.goto(live_server_url + "/dashboard/state/KA/")
    assert page.locator('[data-figure="consultations_to_date"]').inner_text() == "3"
    assert page.locator("#ops-waits tbody tr").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "dashboard-state-1280.png"), full_page=True)
    assert_accessible(page, "state dashboard")


def test_exports_stream_from_the_asgi_server(live_server_url, karnataka_day):
    """Under ASGI the export is an async iterator of chunks (a sync one would be read whole
    into memory first); the file parses back."""
    with httpx.stream("GET", live_server_url + "/dashboard/export/states.csv") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert "content-length" not in response.headers
        text = "".join(response.iter_text())
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["code", "state", "consultations"]
    assert ["KA", "Karnataka", "3"] in rows


def test_the_language_switch_shows_the_dashboard_in_hindi(live_server_url, browser, karnataka_day):
    """The page varies on the cookie, so after switching the browser fetches it again
    rather than showing its cached English copy."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(live_server_url + "/dashboard/")
    assert page.locator("html").get_attribute("lang") == "en"
    page.click("form.languages button[value=hi]")
    page.wait_for_function("() => document.documentElement.lang === 'hi'")
    assert page.url.endswith("/dashboard/")
    assert page.locator('[data-figure="consultations_to_date"]').inner_text() == "3"
    context.close()
