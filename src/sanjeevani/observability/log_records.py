"""Every log line carries the request id (``settings.LOGGING`` adds this filter to its
handlers; ``LOG_FORMAT=json`` formats the lines with python-json-logger)."""

from __future__ import annotations

import logging

from .context import current_request_id


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to each record ("-" outside a request) so that every formatter
    may name it; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id() or "-"
        return True
