"""Read queries for the sign-in pages and the administration's account search."""

from __future__ import annotations

import contextlib
import math
from datetime import timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from .api_tokens import idle_lifetime
from .errors import SignInError
from .mobile_numbers import normalise_mobile
from .models import DeviceToken, OTPChallenge, Role, User


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


def accounts_matching(term: str) -> Q:
    """The accounts an administrator's search means, through indexes only: every patient is
    an account, and ``icontains`` over five columns read all tens of millions of them on
    each search. Anyone by the beginning of their username (its unique index); a patient
    by their mobile number in any form (their username is the number in E.164); a staff
    member also by any part of their username, name, e-mail or mobile, among the staff
    rows alone (the partial index ``user_staff``). A patient is not found by name: among
    tens of millions of names no index serves a part of one."""
    term = " ".join((term or "").split())
    if not term:
        return Q()
    staff_match = Q(username__icontains=term) | Q(email__icontains=term)
    named = Q()
    for word in term.split():
        named &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
    staff_match |= named
    found = Q(username__startswith=term)
    with contextlib.suppress(SignInError):
        mobile = normalise_mobile(term)
        found |= Q(username=mobile)
        staff_match |= Q(mobile=mobile)
    return found | (~Q(role=Role.PATIENT) & staff_match)
