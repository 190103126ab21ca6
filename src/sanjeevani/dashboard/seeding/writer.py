"""Writing many generated rows fast: PostgreSQL ``COPY ... FROM STDIN`` (psycopg 3), or on
SQLite ``executemany`` in the caller's transaction (small numbers only: the tests).

Rows are plain tuples in the order of the columns given; the columns a generator does not
vary (empty texts, ``{}`` JSON, flags) are written as constants, so a generator builds only
what changes. The ORM's ``save()`` one row at a time would take days at 10 million.
"""

# ruff: noqa: S608  (table and column names come from the models, never from input)

from __future__ import annotations

import datetime as dt
import json
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models


def uid(kind: int, index: int, tag: int) -> str:
    """A deterministic, unique, opaque-looking UUID (32 hex digits, as both databases
    accept): the seed's tag and the kind of row, then a bijective mix of the index."""
    mixed = (index * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF
    return f"{(tag << 8 | kind) & 0xFFFFFFFFFFFFFFFF:016x}{mixed:016x}"


def ordered_uid(kind: int, index: int, tag: int) -> str:
    """Like :func:`uid`, but rising with the index: millions of rows then append to the end
    of the primary-key index instead of landing at random pages of it."""
    low = (index * 0x9E37) & 0xFFFF
    return f"{(tag << 8 | kind) & 0xFFFFFFFFFFFFFFFF:016x}{index & 0xFFFFFFFFFFFF:012x}{low:04x}"


def _pg_text(value: Any) -> str:
    """One value in COPY's text format (the generators never produce tabs or newlines)."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False).replace("\\", "\\\\")
    return str(value)


class Progress:
    """Rows written and rows per second on stderr, at most every two seconds."""

    def __init__(self, label: str, total: int | None = None, stream: Any = None) -> None:
        self.label = label
        self.total = total
        self.stream = stream or sys.stderr
        self.count = 0
        self.started = time.monotonic()
        self._last = 0.0

    def add(self, count: int) -> None:
        self.count += count
        now = time.monotonic()
        if now - self._last >= 2.0:
            self._last = now
            self._write(now)

    def done(self) -> float:
        now = time.monotonic()
        self._write(now, final=True)
        return now - self.started

    def _write(self, now: float, *, final: bool = False) -> None:
        elapsed = max(now - self.started, 1e-6)
        of = f"/{self.total:,}" if self.total else ""
        end = " done" if final else ""
        self.stream.write(
            f"  {self.label}: {self.count:,}{of} rows, {self.count / elapsed:,.0f} rows/s, "
            f"{elapsed:,.1f} s{end}\n"
        )
        self.stream.flush()


class Table:
    """One model's table: the varying columns a generator fills, the rest constants."""

    def __init__(
        self, model: type[models.Model], columns: Sequence[str], constants: dict[str, Any]
    ) -> None:
        self.model = model
        fields = {f.column: f for f in model._meta.concrete_fields}
        fields.update({f.attname: f for f in model._meta.concrete_fields})
        self.table = model._meta.db_table
        self.fields = [fields[name] for name in columns]
        self.const_fields = [fields[name] for name in constants]
        self.const_values = list(constants.values())
        auto = {f.column for f in model._meta.concrete_fields if isinstance(f, models.AutoField)}
        missing = (
            {f.column for f in model._meta.concrete_fields}
            - auto
            - {f.column for f in [*self.fields, *self.const_fields]}
        )
        if missing:
            raise ValueError(f"{self.table}: no value for {sorted(missing)}")
        self.columns = [f.column for f in [*self.fields, *self.const_fields]]
        self.postgres = connection.vendor == "postgresql"
        self._pg_suffix = "".join("\t" + _pg_text(v) for v in self.const_values) + "\n"

    def write(self, rows: Iterable[Sequence[Any]], progress: Progress | None = None) -> int:
        """Write the rows (in the caller's transaction); the number written."""
        if self.postgres:
            return self._copy(rows, progress)
        return self._executemany(rows, progress)

    #: Every value an int or a text with no tab, newline or backslash (``encode`` uses str).
    plain = False

    def encode(self, rows: Iterable[Sequence[Any]]) -> str:
        """The rows as COPY text (PostgreSQL), constants included: pure Python, so another
        process can make it while this one loads the previous chunk."""
        suffix = self._pg_suffix
        text = str if self.plain else _pg_text
        return "".join(["\t".join(map(text, row)) + suffix for row in rows])

    def copy_text(self, text: str) -> None:
        """Load COPY text made by :meth:`encode` (in the caller's transaction)."""
        cols = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        with connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(
                f"COPY {connection.ops.quote_name(self.table)} ({cols}) FROM STDIN"
            ) as copy:
                step = 1 << 22
                for start in range(0, len(text), step):
                    copy.write(text[start : start + step])

    def _copy(self, rows: Iterable[Sequence[Any]], progress: Progress | None) -> int:
        cols = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        suffix = self._pg_suffix
        written = 0
        buffer: list[str] = []
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            with raw.copy(
                f"COPY {connection.ops.quote_name(self.table)} ({cols}) FROM STDIN"
            ) as copy:
                for row in rows:
                    buffer.append("\t".join(map(_pg_text, row)) + suffix)
                    if len(buffer) >= 20_000:
                        copy.write("".join(buffer))
                        written += len(buffer)
                        if progress:
                            progress.add(len(buffer))
                        buffer.clear()
                if buffer:
                    copy.write("".join(buffer))
                    written += len(buffer)
                    if progress:
                        progress.add(len(buffer))
        return written

    def _executemany(self, rows: Iterable[Sequence[Any]], progress: Progress | None) -> int:
        fields = [*self.fields, *self.const_fields]
        const = [
            f.get_db_prep_save(_python(f, v), connection)
            for f, v in zip(self.const_fields, self.const_values, strict=True)
        ]
        sql = "INSERT INTO {} ({}) VALUES ({})".format(
            connection.ops.quote_name(self.table),
            ", ".join(connection.ops.quote_name(c) for c in self.columns),
            ", ".join(["%s"] * len(fields)),
        )
        varying = self.fields
        batch: list[list[Any]] = []
        written = 0
        with connection.cursor() as cursor:
            for row in rows:
                values = [
                    f.get_db_prep_save(_python(f, v), connection)
                    for f, v in zip(varying, row, strict=True)
                ]
                batch.append(values + const)
                if len(batch) >= 5_000:
                    cursor.executemany(sql, batch)
                    written += len(batch)
                    if progress:
                        progress.add(len(batch))
                    batch.clear()
            if batch:
                cursor.executemany(sql, batch)
                written += len(batch)
                if progress:
                    progress.add(len(batch))
        return written


def _python(field: models.Field, value: Any) -> Any:
    """A generated value as the field's Python type (for Django's own adaptation)."""
    if value is None:
        return None
    if isinstance(field, models.UUIDField) and isinstance(value, str):
        return uuid.UUID(value)
    if isinstance(field, models.ForeignKey) and isinstance(value, str):
        target = field.target_field
        if isinstance(target, models.UUIDField):
            return uuid.UUID(value)
    if isinstance(field, models.DateTimeField) and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    if isinstance(field, models.DateField) and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


def _produce(chunks: Iterable[list[tuple[int, list]]], tables: Sequence[Table], queue: Any) -> None:
    """In the child process: encode each chunk's rows and hand them over."""
    try:
        for chunk in chunks:
            queue.put([(index, tables[index].encode(rows), len(rows)) for index, rows in chunk])
        queue.put(None)
    except BaseException as error:  # the parent re-raises it
        queue.put(RuntimeError(f"the generator failed: {error!r}"))
        raise


def copy_pipelined(
    chunks: Iterable[list[tuple[int, list]]],
    tables: Sequence[Table],
    loaded: Any = None,
) -> None:
    """Load ``chunks`` (each a list of ``(index into tables, rows)``, one transaction per
    chunk) with the rows generated and encoded in a forked child process while this one
    loads the chunk before: the generator's Python and the server's COPY use a core each
    instead of taking turns. PostgreSQL only; ``loaded(chunk sizes)`` after each chunk.
    The generator must not touch the database (the child shares this process's socket)."""
    import multiprocessing

    from django.db import transaction

    context = multiprocessing.get_context("fork")
    queue = context.Queue(maxsize=2)
    child = context.Process(target=_produce, args=(chunks, tables, queue), daemon=True)
    child.start()
    try:
        while True:
            item = queue.get()
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            with transaction.atomic():
                for index, text, _count in item:
                    tables[index].copy_text(text)
            if loaded is not None:
                loaded([count for _index, _text, count in item])
        child.join()
        if child.exitcode:
            raise RuntimeError(f"the generator exited with {child.exitcode}")
    finally:
        if child.is_alive():
            child.terminate()
            child.join()
