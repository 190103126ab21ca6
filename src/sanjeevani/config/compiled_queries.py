"""Hot reads of a fixed shape, compiled to SQL once per database connection, not on each call.

Django compiles a queryset to SQL each time it is evaluated: the joins of
``select_related``, the columns, the WHERE tree. For the reads every request makes (the
device token behind ``Authorization``, the patient's token on each status poll) that
compilation costs the node more CPU than PostgreSQL spends running the statement
(``bench/compiled_queries.py``). A ``CompiledQuery`` is built from a queryset whose open
values are ``Slot``s; the first call on a database compiles it, and each call then runs
the same SQL with its own values and builds the instances as Django's ``ModelIterable``
does (``select_related`` relations and annotations included). The SQL is Django's own, so
it stays right through migrations and backends; only its compilation is shared.

A ``CompiledCount`` does the same for ``QuerySet.count()`` (a waiting token's place in
line, on every status read): its SQL is the statement Django's own ``count()`` would
send, caught in place of running it.

Only for querysets whose SQL cannot depend on the values: no ``__in`` over a slot, no
``None`` (Django writes ``IS NULL`` for it), no ``prefetch_related``. A locking read
(``select_for_update``) reads the database written to and, as Django's, refuses to run
outside a transaction: the lock would end with the statement.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections, router
from django.db.models import Expression, Field, Model, QuerySet
from django.db.models.query import get_related_populators
from django.db.transaction import TransactionManagementError

M = TypeVar("M", bound=Model)


class Slot(Expression):
    """A value left open in a ``CompiledQuery``'s queryset, named as the call passes it."""

    def __init__(self, name: str, output_field: Field) -> None:
        super().__init__(output_field=output_field)
        self.name = name

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list]:
        return "%s", [self]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    compiler: Any
    model: type[Model]
    init_list: list[str]
    model_slice: slice
    related_populators: list
    converters: dict
    annotation_col_map: dict
    col_count: int
    for_update: bool


class _CompiledPerConnection:
    """What the compiled kinds share: the queryset's builder, the database it reads, and
    the compiled statement kept per thread and database, as Django keeps connections."""

    def __init__(self, build: Callable[[], QuerySet]) -> None:
        self._build = build
        self._model: type[Model] | None = None
        self._for_write = False
        self._local = threading.local()

    @staticmethod
    def _bound(param: Any, values: dict[str, Any], connection: Any) -> Any:
        if not isinstance(param, Slot):
            return param
        value = values[param.name]
        if value is None:
            raise ValueError(f"{param.name}: a compiled query takes no None (it would be IS NULL)")
        return param.output_field.get_db_prep_value(value, connection, prepared=False)

    def _alias(self) -> str:
        """The database the queryset would use (``QuerySet.db``: the routers decide, e.g. a
        replica inside a replica-safe view, the primary for a locking read)."""
        if self._model is None:
            queryset = self._build()
            # _model last: another thread that sees it set must also see _for_write.
            self._for_write = queryset._for_write
            self._model = queryset.model
        if self._for_write:
            return router.db_for_write(self._model)
        return router.db_for_read(self._model)

    def _compiled_for(self, alias: str) -> Any:
        by_alias = getattr(self._local, "by_alias", None)
        if by_alias is None:
            by_alias = self._local.by_alias = {}
        compiled = by_alias.get(alias)
        if compiled is None:
            compiled = by_alias[alias] = self._compile(alias)
        return compiled


class CompiledQuery(_CompiledPerConnection, Generic[M]):
    """``build()`` returns the queryset with ``Slot``s for its open values; calling the
    query with those values by name returns the instances, as ``list(queryset)`` would."""

    def __call__(self, **values: Any) -> list[M]:
        compiled = self._compiled_for(self._alias())
        connection = connections[compiled.compiler.using]
        if compiled.for_update and connection.get_autocommit():
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        params = [self._bound(p, values, connection) for p in compiled.params]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if compiled.converters:
            rows = compiled.compiler.apply_converters(
                (row[: compiled.col_count] for row in rows), compiled.converters
            )
        found = []
        for row in rows:
            obj = compiled.model.from_db(
                compiled.compiler.using, compiled.init_list, row[compiled.model_slice]
            )
            for populator in compiled.related_populators:
                populator.populate(row, obj)
            for name, position in compiled.annotation_col_map.items():
                setattr(obj, name, row[position])
            found.append(obj)
        return found

    def one(self, **values: Any) -> M:
        """The single row, as ``QuerySet.get``: ``DoesNotExist`` or ``MultipleObjectsReturned``
        otherwise (the queryset should be sliced to two rows, so that a second is seen)."""
        found = self(**values)
        model = self._model
        if not found:
            raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
        if len(found) > 1:
            raise model.MultipleObjectsReturned(f"more than one {model._meta.object_name}")
        return found[0]

    def _compile(self, alias: str) -> _Compiled:
        queryset = self._build()
        if queryset._prefetch_related_lookups or queryset._known_related_objects:
            raise ValueError("a compiled query cannot prefetch or carry known related objects")
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        klass_info, select = compiler.klass_info, compiler.select
        fields = klass_info["select_fields"]
        model_slice = slice(fields[0], fields[-1] + 1)
        return _Compiled(
            sql=sql,
            params=tuple(params),
            compiler=compiler,
            model=klass_info["model"],
            init_list=[column[0].target.attname for column in select[model_slice]],
            model_slice=model_slice,
            related_populators=get_related_populators(klass_info, select, alias),
            converters=compiler.get_converters([s[0] for s in select[: compiler.col_count]]),
            annotation_col_map=dict(compiler.annotation_col_map or {}),
            col_count=compiler.col_count,
            for_update=queryset.query.select_for_update
            and connections[alias].features.has_select_for_update,
        )


class _CaughtStatement(Exception):
    def __init__(self, sql: str, params: Any) -> None:
        super().__init__(sql)
        self.sql, self.params = sql, tuple(params or ())


class _StatementCatcher:
    """Stands in for the connection's cursor while a count compiles: the statement Django
    sends is caught, not run (nor logged: a debug cursor would try to quote the slots)."""

    def execute(self, sql: str, params: Any = None) -> None:
        raise _CaughtStatement(sql, params)

    def close(self) -> None:
        pass


class CompiledCount(_CompiledPerConnection):
    """``build()`` returns the queryset with ``Slot``s for its open values; calling with
    those values returns its ``count()``. The SQL is what Django's ``count()`` sends on that
    database (caught in place of running it), so it stays Django's."""

    def __call__(self, **values: Any) -> int:
        alias = self._alias()
        sql, params = self._compiled_for(alias)
        connection = connections[alias]
        bound = [self._bound(p, values, connection) for p in params]
        with connection.cursor() as cursor:
            cursor.execute(sql, bound)
            return cursor.fetchone()[0]

    def _compile(self, alias: str) -> tuple[str, tuple]:
        queryset = self._build().using(alias)
        connection = connections[alias]
        # Per thread, as the connection itself: no other thread sees the stand-in.
        connection.cursor = _StatementCatcher
        try:
            queryset.count()
        except _CaughtStatement as caught:
            return caught.sql, caught.params
        finally:
            del connection.cursor
        raise ValueError("this count sends no statement (an empty queryset?)")


def locked_row(model: type[M], *related: str) -> CompiledQuery[M]:
    """A row by primary key, locked ``FOR UPDATE`` (its own table only, not the related
    rows) in the caller's transaction, with ``related`` loaded by the same statement:
    ``locked_row(Ticket, "opd").one(pk=ticket_id)``."""
    return CompiledQuery(
        lambda: (
            model._default_manager.select_for_update(of=("self",))
            .select_related(*related)
            .filter(pk=Slot("pk", model._meta.pk))[:2]
        )
    )
