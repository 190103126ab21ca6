"""SQL that the database runs, one file per version: ``<name>/v<N>.sql``.

A file opens with a ``-- signature: <function>(<argument types>)`` line naming what it
defines, then the ``CREATE OR REPLACE`` statement. A version never changes once a migration
has installed it; a change of the rules is a new file and a new migration with
``InstallSQL(name, new, reverse_version=previous)``. ``latest_version`` is what the code
expects installed (a test compares it with ``pg_get_functiondef``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.db import migrations

ROOT = Path(__file__).resolve().parent
_SIGNATURE = re.compile(r"^--\s*signature:\s*(?P<signature>.+?)\s*$", re.MULTILINE)
_VERSION = re.compile(r"^v(?P<n>\d+)\.sql$")


@dataclass(frozen=True)
class SQLVersion:
    name: str
    version: int
    signature: str
    text: str

    @property
    def drop(self) -> str:
        return f"DROP FUNCTION IF EXISTS {self.signature}"


@cache
def load_sql(name: str, version: int) -> SQLVersion:
    """Version ``version`` of ``name``, as the file says it."""
    path = ROOT / name / f"v{version}.sql"
    text = path.read_text(encoding="utf-8")
    match = _SIGNATURE.search(text)
    if match is None:
        raise ValueError(f"{path} does not say its signature (-- signature: ...)")
    return SQLVersion(name, version, match["signature"], text)


def latest_version(name: str) -> int:
    versions = [
        int(m["n"]) for p in (ROOT / name).iterdir() if (m := _VERSION.match(p.name)) is not None
    ]
    return max(versions)


class InstallSQL(migrations.operations.base.Operation):
    """Install ``version`` of ``name`` on PostgreSQL (nothing on other databases: they run
    the ORM path). Reversed, it installs ``reverse_version`` again, or drops the function
    when there is none. A previous version with another signature is dropped first, since
    ``CREATE OR REPLACE`` would add an overload beside it."""

    reversible = True
    reduces_to_sql = True
    elidable = False

    def __init__(self, name: str, version: int, reverse_version: int | None = None) -> None:
        self.name = name
        self.version = version
        self.reverse_version = reverse_version

    def deconstruct(self):
        kwargs = {"name": self.name, "version": self.version}
        if self.reverse_version is not None:
            kwargs["reverse_version"] = self.reverse_version
        return (self.__class__.__qualname__, [], kwargs)

    def state_forwards(self, app_label, state) -> None:
        pass

    def _switch(self, schema_editor, old: int | None, new: int | None) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        old_sql = load_sql(self.name, old) if old is not None else None
        new_sql = load_sql(self.name, new) if new is not None else None
        if old_sql is not None and (new_sql is None or old_sql.signature != new_sql.signature):
            schema_editor.execute(old_sql.drop, params=None)
        if new_sql is not None:
            schema_editor.execute(new_sql.text, params=None)

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        self._switch(schema_editor, self.reverse_version, self.version)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        self._switch(schema_editor, self.version, self.reverse_version)

    def describe(self) -> str:
        return f"Install {self.name} v{self.version} (PostgreSQL)"

    @property
    def migration_name_fragment(self) -> str:
        return f"install_{self.name}_v{self.version}"
