"""Bearer tokens for the mobile apps, and signing out (which revokes an app's token)."""

from __future__ import annotations

from django.db import transaction
from rest_framework.authtoken.models import Token

from sanjeevani.audit.services import record_event

from .models import User


def issue_api_token(user: User, client_ip: str | None) -> Token:
    """The bearer token a mobile app keeps; one per account, reused until signed out."""
    with transaction.atomic():
        token, _created = Token.objects.get_or_create(user=user)
        record_event(user, "auth.api_token_issued", obj=user, ip=client_ip)
    return token


def sign_out(user: User, client_ip: str | None, *, revoke_token: bool) -> None:
    """Record the sign-out; from an app, also delete its bearer token so it stops working."""
    with transaction.atomic():
        if revoke_token:
            Token.objects.filter(user=user).delete()
        record_event(user, "auth.sign_out", obj=user, ip=client_ip)
