"""The refusals of the queue and of a consultation, each with a message a person can act on.

A ``DomainError`` is a request that is well formed but not possible now (the OPD is closed,
the call window has passed, the record changed in another window). The API answers it
with ``status`` (409 unless said otherwise) and ``code``; pages show ``message``.
Malformed input is a Django ``ValidationError`` instead (400).
"""

from __future__ import annotations


class DomainError(Exception):
    status = 409

    def __init__(self, code: str, message: str, *, status: int | None = None, **extra) -> None:
        super().__init__(message)
        self.code = code
        self.message = str(message)
        if status is not None:
            self.status = status
        self.extra = extra

    def __str__(self) -> str:
        return self.message


class QueueError(DomainError):
    """The queue refuses: closed, full, already holding a token, call window passed, ..."""


class ConsultationError(DomainError):
    """The consultation refuses: stale record, wrong state for this step, ..."""
