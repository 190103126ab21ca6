"""The import service: check every row, then write them all in one transaction."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import IO, Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from sanjeevani.accounts.models import Role
from sanjeevani.audit.services import record_event

from ..scoping import AdminScope, scope_of
from .checker import Checker
from .rows import MAX_ROWS, ImportResult, RegistryRow, RowError, read_registry_csv
from .writing import Progress, count_planned, write


def import_registry_csv(
    source: str | bytes | IO[Any],
    actor: Any,
    *,
    dry_run: bool = False,
    request: HttpRequest | None = None,
    max_rows: int = MAX_ROWS,
    progress: Progress | None = None,
) -> ImportResult:
    """Read a CSV file and import it (see :func:`import_registry_rows`). ``progress``, when
    given, is told what is happening (the command prints it on stderr)."""
    _require_importer(actor)
    started = time.monotonic()
    rows, errors = read_registry_csv(source, max_rows=max_rows)
    if errors:
        return ImportResult(errors=errors, dry_run=dry_run)
    if progress is not None:
        progress(f"read {len(rows):,} rows in {time.monotonic() - started:,.1f} s")
    return import_registry_rows(rows, actor, dry_run=dry_run, request=request, progress=progress)


def import_registry_rows(
    rows: Iterable[RegistryRow | Mapping[str, str]],
    actor: Any,
    *,
    dry_run: bool = False,
    request: HttpRequest | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Check every row, then set districts' populations and create or update facilities,
    OPDs, links and doctors at once.

    A row whose code (facility, OPD) or registration number and council (doctor) exists
    updates that record; a district row names an existing district. With any bad row
    nothing is written and each error is returned. Plain mappings are numbered as if read
    from a file with a header on line 1.
    """
    scope = _require_importer(actor)
    numbered = [
        row if isinstance(row, RegistryRow) else RegistryRow(index + 2, row)
        for index, row in enumerate(rows)
    ]
    result = ImportResult(dry_run=dry_run)
    try:
        with transaction.atomic():
            started = time.monotonic()
            checker = Checker(numbered, scope)
            result.errors = checker.run()
            if progress is not None:
                progress(
                    f"checked {len(numbered):,} rows in {time.monotonic() - started:,.1f} s: "
                    f"{len(result.errors):,} problem(s)"
                )
            if result.errors:
                return result
            if dry_run:
                count_planned(checker, result)
                return result
            write(checker, result, progress)
            record_event(
                actor,
                "registry.import",
                request=request,
                detail={
                    "via": "admin" if request is not None else "command",
                    "rows": len(numbered),
                    "created": dict(result.created),
                    "updated": dict(result.updated),
                    "doctors_without_password": result.doctors_without_password,
                },
            )
    except IntegrityError:
        return ImportResult(
            errors=[
                RowError(
                    0,
                    _(
                        "the registry changed while this file was loading; nothing was written, "
                        "load it again"
                    ),
                )
            ],
            dry_run=dry_run,
        )
    return result


def _require_importer(actor: Any) -> AdminScope:
    """The importer's reach; ``None`` is the operator running ``manage.py`` (national)."""
    if actor is None:
        return AdminScope(national=True)
    scope = scope_of(actor)
    if scope.national or (scope.is_state_wide and actor.role == Role.STATE_ADMIN):
        return scope
    raise PermissionDenied(_("Only national and state administrators can import the registry."))
