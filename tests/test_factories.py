"""The shared factories make valid rows however long the run (PostgreSQL enforces lengths)."""

from __future__ import annotations

from sanjeevani.registry.models import State
from tests.factories import state_code


def test_state_codes_fit_the_column_and_stay_unique_over_a_long_run():
    limit = State._meta.get_field("code").max_length
    codes = [state_code(n) for n in range(20_000)]
    assert max(len(code) for code in codes) <= limit
    assert len(set(codes)) == len(codes)
