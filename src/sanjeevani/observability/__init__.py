"""Observability: request ids, Prometheus metrics, health probes and log lines.

Two layers (docs/observability.md): ``context``, ``metrics`` and ``log_records`` sit at the
very bottom (the standard library, Django and prometheus_client only), so that ``audit``,
``live`` and the services can call them; ``collector``, ``health`` and ``views`` sit at the
top beside ``dashboard`` and read the queue's tables at scrape time. Nothing below imports
the top half.
"""
