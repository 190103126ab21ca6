"""Bulk onboarding of the registry from one CSV file.

Every row is checked before anything is written; a file with any bad row writes nothing and
reports each bad row by its line number, so a state team can fix the sheet and load it
again. The format is documented in ``docs/registry-import.md``.

``rows`` reads the file; ``base``, ``places`` and ``doctors`` check each kind of row
(``checker`` runs them in order); ``writing`` creates or updates the records; ``importer``
is the service that ties them into one transaction with its audit record.
"""

from .importer import import_registry_csv, import_registry_rows
from .rows import (
    COLUMNS,
    KINDS,
    MAX_COMMAND_ROWS,
    MAX_ROWS,
    ImportResult,
    RegistryRow,
    RowError,
    read_registry_csv,
)

__all__ = [
    "COLUMNS",
    "KINDS",
    "MAX_COMMAND_ROWS",
    "MAX_ROWS",
    "ImportResult",
    "RegistryRow",
    "RowError",
    "import_registry_csv",
    "import_registry_rows",
    "read_registry_csv",
]
