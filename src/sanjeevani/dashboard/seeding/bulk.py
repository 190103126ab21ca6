"""PostgreSQL bulk-load mode for millions of rows: the secondary indexes of the tables being
loaded are dropped and rebuilt once at the end (a sort is far cheaper than millions of
random B-tree inserts), and, for a superuser, the foreign-key triggers are skipped during
the COPY and every foreign key is then checked once, set-based, over the whole table.

The dropped indexes' definitions are written to ``var/seed_national_indexes.sql`` first and
the file removed once they are back, so an interrupted load can be repaired with
``psql -f var/seed_national_indexes.sql``.
"""

# ruff: noqa: S608  (table and column names come from the models, never from input)

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, models


def _secondary_indexes(table: str) -> list[tuple[str, str]]:
    """(name, definition) of the indexes not backing a constraint (primary key, unique)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = %s AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            [table, table],
        )
        return list(cursor.fetchall())


def _is_superuser() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
    return bool(row and row[0])


@contextlib.contextmanager
def bulk_load(tables: list[type[models.Model]], stream: Any) -> Iterator[None]:
    """Around a large load into ``tables`` (PostgreSQL only; elsewhere does nothing)."""
    if connection.vendor != "postgresql":
        yield
        return
    names = [model._meta.db_table for model in tables]
    dropped = [index for name in names for index in _secondary_indexes(name)]
    backup = Path(settings.VAR_DIR) / "seed_national_indexes.sql"
    backup.parent.mkdir(parents=True, exist_ok=True)
    backup.write_text("".join(f"{definition};\n" for _name, definition in dropped))
    superuser = _is_superuser()
    with connection.cursor() as cursor:
        for name, _definition in dropped:
            cursor.execute(f"DROP INDEX IF EXISTS {connection.ops.quote_name(name)}")
        if superuser:
            cursor.execute("SET session_replication_role = replica")
    stream.write(
        f"  bulk mode: {len(dropped)} secondary indexes dropped"
        f"{', foreign-key triggers off' if superuser else ''}\n"
    )
    try:
        yield
    finally:
        mark = time.monotonic()
        with connection.cursor() as cursor:
            if superuser:
                cursor.execute("SET session_replication_role = DEFAULT")
            cursor.execute("SET maintenance_work_mem = '256MB'")
            for _name, definition in dropped:
                cursor.execute(definition)
        backup.unlink(missing_ok=True)
        stream.write(f"  indexes rebuilt in {time.monotonic() - mark:,.1f} s\n")
    if superuser:
        check_foreign_keys(tables, stream)


def check_foreign_keys(tables: list[type[models.Model]], stream: Any) -> None:
    """Every foreign key of ``tables`` points at a row (one anti-join per key)."""
    mark = time.monotonic()
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in tables:
            for field in model._meta.concrete_fields:
                if not field.is_relation:
                    continue
                target = field.related_model._meta
                cursor.execute(
                    f"SELECT count(*) FROM {quote(model._meta.db_table)} c "
                    f"WHERE c.{quote(field.column)} IS NOT NULL AND NOT EXISTS "
                    f"(SELECT 1 FROM {quote(target.db_table)} p "
                    f"WHERE p.{quote(field.target_field.column)} = c.{quote(field.column)})"
                )
                broken = cursor.fetchone()[0]
                if broken:
                    raise RuntimeError(
                        f"{broken} rows of {model._meta.db_table}.{field.column} point nowhere"
                    )
    stream.write(f"  foreign keys checked in {time.monotonic() - mark:,.1f} s\n")
