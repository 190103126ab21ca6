"""The project's named routes, read from the URL resolver."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, get_resolver


def named_routes() -> dict[str, str]:
    """Every named route as ``namespace:name`` mapped to its full pattern."""
    found: dict[str, str] = {}

    def walk(resolver: URLResolver, prefix: str, namespace: str) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                walk(entry, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern) and entry.name:
                name = f"{namespace}:{entry.name}" if namespace else entry.name
                found.setdefault(name, prefix + str(entry.pattern))

    walk(get_resolver(), "", "")
    return found
