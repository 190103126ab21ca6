"""The one helper every app calls when it reads or changes a patient's data."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .models import AuditEvent


def client_ip(request: HttpRequest | None) -> str | None:
    """The caller's address; behind a proxy, the proxy is trusted to set REMOTE_ADDR."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


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
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=user,
        actor_label=(user.get_username() if user else "anonymous"),
        actor_role=getattr(user, "role", "") if user else "",
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        patient_id=patient_id,
        client_ip=ip or client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "")[:256] if request else ""),
        detail=detail or {},
    )
