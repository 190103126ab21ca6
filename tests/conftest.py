"""Shared fixtures. No test depends on the demo data: factories build what each needs."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from sanjeevani.hwc.suggestion import forget_rule_table
from tests.factories import PASSWORD


@pytest.fixture(autouse=True)
def _clear_cache():
    """Django's cache and the rule table a worker keeps: what one test wrote (and rolled
    back) must not answer the next."""
    cache.clear()
    forget_rule_table()
    yield
    cache.clear()
    forget_rule_table()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Browser tests last (those in tests/e2e/ and any other test that opens a browser):
    Playwright's sync API keeps an event loop running in the test thread while a browser
    is open, which async tests must not inherit, and sets DJANGO_ALLOW_ASYNC_UNSAFE, which
    a subprocess running ``check --deploy`` must not inherit."""
    items.sort(
        key=lambda item: (
            "/tests/e2e/" in str(item.path) or "_playwright" in getattr(item, "fixturenames", ())
        )
    )
