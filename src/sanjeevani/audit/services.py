"""The one helper every app calls when it reads or changes a patient's data."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from .models import AuditEvent

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


def client_ip(request: HttpRequest | None) -> str | None:
    """The caller's address, the one every limit and audit row uses.

    The connection's peer (REMOTE_ADDR) is the client unless it is one of the configured
    ``TRUSTED_PROXIES``; only then is ``X-Forwarded-For`` read, right to left, skipping
    the trusted proxies, and the first address that is not one of them is the client. A
    header from anyone else is ignored, so a client cannot choose its own address; an
    unreadable entry stops the walk at the last trusted hop.
    """
    if request is None:
        return None
    peer = _parse(request.META.get("REMOTE_ADDR") or "")
    if peer is None:
        return None
    trusted = _networks(tuple(settings.TRUSTED_PROXIES))

    def is_trusted(address: _Address) -> bool:
        return any(address.version == net.version and address in net for net in trusted)

    client = peer
    if trusted and is_trusted(peer):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        for hop in reversed([part for part in forwarded.split(",") if part.strip()]):
            address = _parse(hop)
            if address is None:
                break
            client = address
            if not is_trusted(address):
                break
    return str(client)


def actor_fields(actor: Any) -> tuple[Any, str, str]:
    """The acting user's id, label and role as an audit row records them (None, "anonymous",
    "" for a visitor)."""
    if not getattr(actor, "is_authenticated", False):
        return None, "anonymous", ""
    return actor.pk, actor.get_username(), getattr(actor, "role", "")


def record_event(
    actor: Any,
    action: str,
    *,
    obj: Any = None,
    patient_id: Any = None,
    request: HttpRequest | None = None,
    ip: str | None = None,
    detail: dict | None = None,
) -> AuditEvent:
    """Append one audit row. ``action`` is ``"<thing>.<verb>"``, e.g. ``"patient.view"``."""
    actor_id, label, role = actor_fields(actor)
    return AuditEvent.objects.create(
        actor_id=actor_id,
        actor_label=label,
        actor_role=role,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        patient_id=patient_id,
        client_ip=ip or client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "")[:256] if request else ""),
        detail=detail or {},
    )
