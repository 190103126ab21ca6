"""SQL that the database runs, one file per version: ``<name>/v<N>.sql`` under an app's
``sql/`` folder (this one's by default; ``app`` names another, e.g. ``hwc``).

A file opens with a ``-- signature: <function>(<argument types>)`` line naming what it
defines, then the ``CREATE OR REPLACE`` statement. A version never changes once a migration
has installed it; a change of the rules is a new file and a new migration with
``InstallSQL(name, new, reverse_version=previous)``. ``latest_version`` is what the code
expects installed (a test compares it with ``pg_get_functiondef``).
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from django.db import DEFAULT_DB_ALIAS, migrations, models
from django.utils.functional import Promise

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


def _root(app: str) -> Path:
    if app == "queueing":
        return ROOT
    return Path(importlib.import_module(f"sanjeevani.{app}.sql").__file__).resolve().parent


@cache
def load_sql(name: str, version: int, app: str = "queueing") -> SQLVersion:
    """Version ``version`` of ``name``, as the file says it."""
    path = _root(app) / name / f"v{version}.sql"
    text = path.read_text(encoding="utf-8")
    match = _SIGNATURE.search(text)
    if match is None:
        raise ValueError(f"{path} does not say its signature (-- signature: ...)")
    return SQLVersion(name, version, match["signature"], text)


def latest_version(name: str, app: str = "queueing") -> int:
    versions = [
        int(m["n"])
        for p in (_root(app) / name).iterdir()
        if (m := _VERSION.match(p.name)) is not None
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

    def __init__(
        self,
        name: str,
        version: int,
        reverse_version: int | None = None,
        app: str = "queueing",
    ) -> None:
        self.name = name
        self.version = version
        self.reverse_version = reverse_version
        self.app = app

    def deconstruct(self):
        kwargs = {"name": self.name, "version": self.version}
        if self.reverse_version is not None:
            kwargs["reverse_version"] = self.reverse_version
        if self.app != "queueing":
            kwargs["app"] = self.app
        return (self.__class__.__qualname__, [], kwargs)

    def state_forwards(self, app_label, state) -> None:
        pass

    def _switch(self, schema_editor, old: int | None, new: int | None) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        old_sql = load_sql(self.name, old, self.app) if old is not None else None
        new_sql = load_sql(self.name, new, self.app) if new is not None else None
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


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal | Promise):
        return str(value)
    raise TypeError(f"{type(value).__name__} has no JSON form for a row document")


def row_document(instance: models.Model) -> str:
    """An unsaved model instance's columns as JSON, for a function that writes the row with
    ``jsonb_populate_record(NULL::<table>, ...)``: the values Django would write (defaults
    and ``auto_now_add`` applied, times to the microsecond), keyed by column name."""
    values = {
        field.column: field.get_prep_value(field.pre_save(instance, True))
        for field in instance._meta.concrete_fields
    }
    return json.dumps(values, default=_json_value)


def mark_written(instance: models.Model) -> None:
    """The instance as Django sees a row it has saved, after a function wrote it."""
    instance._state.adding = False
    instance._state.db = DEFAULT_DB_ALIAS
