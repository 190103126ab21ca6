"""The client's address behind reverse proxies: the one rule every limit and audit row uses.

The connection's peer is the client unless it is one of the configured ``TRUSTED_PROXIES``;
only then is ``X-Forwarded-For`` read, right to left, skipping the trusted proxies, and the
first address that is not one of them is the client. A header from anyone else is ignored,
so a client cannot choose its own address; an unreadable entry stops the walk at the last
trusted hop. HTTP requests (``client_ip``) and WebSocket scopes (``scope_client_ip``) both
come here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def _networks(
    proxies: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _parse(value: str) -> _Address | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    # "::ffff:10.0.0.1" from a dual-stack socket is the IPv4 address it carries.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address: _Address) -> bool:
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    return any(address.version == net.version and address in net for net in networks)


def is_trusted_proxy(peer: str | None) -> bool:
    """Whether the connection comes from a listed proxy, whose forwarded headers count."""
    address = _parse(peer or "")
    return address is not None and _trusted(address)


def client_address(peer: str | None, forwarded_for: str = "") -> str | None:
    """The client's address from the connection's peer and its ``X-Forwarded-For``."""
    address = _parse(peer or "")
    if address is None:
        return None
    client = address
    if _trusted(address):
        for hop in reversed([part for part in forwarded_for.split(",") if part.strip()]):
            hop_address = _parse(hop)
            if hop_address is None:
                break
            client = hop_address
            if not _trusted(hop_address):
                break
    return str(client)


def scope_header(scope: Mapping[str, Any], name: bytes) -> str:
    """One request header of an ASGI scope (repeated headers joined by commas, as HTTP does)."""
    values = [value for key, value in scope.get("headers") or () if key.lower() == name]
    return b",".join(values).decode("latin-1")


def scope_client_ip(scope: Mapping[str, Any]) -> str | None:
    """``client_address`` for an ASGI scope: a WebSocket's chat limit and room admission."""
    peer = (scope.get("client") or (None, None))[0]
    return client_address(peer, scope_header(scope, b"x-forwarded-for"))
