"""The one helper every app calls when it reads or changes a patient's data."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from sanjeevani.observability.context import current_request_id

from .addresses import client_address, scope_client_ip
from .models import AuditEvent

__all__ = ["actor_fields", "audit_event", "client_ip", "record_event", "scope_client_ip"]


def client_ip(request: HttpRequest | None) -> str | None:
    """The caller's address, the one every limit and audit row uses: the peer, or what
    ``X-Forwarded-For`` says behind a trusted proxy (the rule: ``audit/addresses.py``)."""
    if request is None:
        return None
    return client_address(
        request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR", "")
    )


def actor_fields(actor: Any) -> tuple[Any, str, str]:
    """The acting user's id, label and role as an audit row records them (None, "anonymous",
    "" for a visitor)."""
    if not getattr(actor, "is_authenticated", False):
        return None, "anonymous", ""
    return actor.pk, actor.get_username(), getattr(actor, "role", "")


def audit_event(
    actor: Any,
    action: str,
    *,
    obj: Any = None,
    patient_id: Any = None,
    request: HttpRequest | None = None,
    ip: str | None = None,
    detail: dict | None = None,
) -> AuditEvent:
    """One audit row, not yet written (``record_event`` writes it; a database function
    may write it with the change it records)."""
    actor_id, label, role = actor_fields(actor)
    return AuditEvent(
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
        request_id=current_request_id(),
    )


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
    event = audit_event(
        actor, action, obj=obj, patient_id=patient_id, request=request, ip=ip, detail=detail
    )
    event.save(force_insert=True)
    return event
