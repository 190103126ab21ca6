"""State changes of the registry. Today: bulk onboarding from one CSV file, which lives in
``registry.importing`` (reading, checking each kind of row, writing); its service and types
are re-exported here so callers keep one address for the registry's services."""

from .importing import (
    COLUMNS,
    KINDS,
    MAX_ROWS,
    ImportResult,
    RegistryRow,
    RowError,
    import_registry_csv,
    import_registry_rows,
    read_registry_csv,
)

__all__ = [
    "COLUMNS",
    "KINDS",
    "MAX_ROWS",
    "ImportResult",
    "RegistryRow",
    "RowError",
    "import_registry_csv",
    "import_registry_rows",
    "read_registry_csv",
]
