"""Read queries for the sign-in pages."""

from __future__ import annotations

import math
from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from .api_tokens import idle_lifetime
from .models import DeviceToken, OTPChallenge, User


def seconds_until_resend(mobile: str, client_ip: str | None = None) -> int:
    """How long the person must wait before a new code can be sent from this address (the
    resend interval counts per number and address); 0 when they may ask now."""
    latest = (
        OTPChallenge.objects.filter(mobile=mobile, client_ip=client_ip)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if latest is None:
        return 0
    ready = latest + timedelta(seconds=settings.OTP_RESEND_INTERVAL_SECONDS)
    return max(0, math.ceil((ready - timezone.now()).total_seconds()))


def devices_of(user: User) -> QuerySet[DeviceToken]:
    """The person's signed-in devices that still work, the most recently used first."""
    return DeviceToken.objects.filter(
        user=user, last_used_at__gt=timezone.now() - idle_lifetime()
    ).order_by("-last_used_at", "-created_at")
