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
