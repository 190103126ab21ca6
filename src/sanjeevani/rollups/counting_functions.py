"""Migrations' steps for the PostgreSQL counting functions (``services.COUNTING_FUNCTIONS``):
each installs the statement the code makes now, so a change of the facts or the grains
takes a new migration that runs ``install_counting_functions`` again (a test compares the
installed body with the code's)."""

from __future__ import annotations

from typing import Any

from .services import COUNTING_FUNCTIONS, counting_function_sql


def install_counting_functions(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for kind in COUNTING_FUNCTIONS:
        schema_editor.execute(counting_function_sql(kind))


def drop_counting_functions(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in COUNTING_FUNCTIONS.values():
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}(uuid)")
