"""Shared fixtures. No test depends on the demo data: factories build what each needs."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.factories import PASSWORD


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Browser tests last: Playwright's sync API keeps an event loop running in the test
    thread while a browser is open, which async tests must not inherit."""
    items.sort(key=lambda item: "/tests/e2e/" in str(item.path))
