"""Browser-test fixtures, reusable by every app's end-to-end tests.

``live_server_url``  a real uvicorn process (``tests/e2e/live.py``) serving the project on a
                     free port, on this test's database (needs ``transactional_db``, which
                     the fixture requests), with this process's ``SECRET_KEY``.
``browser``          headless Debian Chromium (``/usr/bin/chromium``) through Playwright's
                     sync API, fake camera and microphone; skips when Chromium is missing.
``signed_in_page``   ``signed_in_page(user)`` -> a new page in its own browser context whose
                     session cookie signs ``user`` in (a session created in the test DB with
                     Django's test client ``force_login``; no OTP needed). What the page
                     logs is kept for ``diagnostics.page_log(page)``, to explain a failure.

Example::

    def test_flow(live_server_url, signed_in_page):
        page = signed_in_page(doctor_user)
        page.goto(live_server_url + "/room/<uuid>/")
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.test import Client

from tests.e2e.live import running_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
    # Host ICE candidates as plain addresses, not mDNS names (.local): resolving those needs
    # multicast, which a CI container may drop; both peers then have no remote candidate and
    # the call stays "new" (seen as "no call within the time"). The peers here share a host.
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    # A container with no network but loopback (as CI may be) gathers no host candidate at
    # all unless loopback is allowed: the call then stays "new" and "stable" on both pages.
    "--allow-loopback-in-peer-connection",
]


@pytest.fixture
def live_server_url(transactional_db):
    with running_server() as base:
        yield base


@pytest.fixture(scope="module")
def _playwright():
    if not os.path.exists(CHROMIUM):
        pytest.skip("needs Debian chromium at /usr/bin/chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make
    # between page steps are still plain synchronous calls (pytest-django's advice).
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(_playwright):
    browser = _playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def signed_in_page(browser, live_server_url):
    contexts = []

    def open_page(user):
        client = Client()
        client.force_login(user)
        context = browser.new_context()
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "domain": urlparse(live_server_url).hostname,
                    "path": "/",
                }
            ]
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        # What the page logged, for a failing test to show (``page_log(page)``).
        page.console_lines = []
        page.on("console", lambda m: page.console_lines.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: page.console_lines.append(f"pageerror: {e}"))
        return page

    yield open_page
    for context in contexts:
        context.close()
