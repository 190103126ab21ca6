"""Bearer tokens for the mobile apps, one per signed-in device, and signing out.

Each sign-in through the API gets its own ``DeviceToken``: signing out on one phone ends
that token only, "sign out everywhere" ends all of the person's tokens and browser
sessions, and the person or an administrator can end any one device. Only a hash of each
key is stored.

Expiry is sliding: a token that has not been used for ``API_TOKEN_IDLE_DAYS`` (30 by
default) stops working. A phone used every week stays signed in (a patient signing in
again costs an SMS and a wait), while a lost or sold phone's token dies on its own a month
after its last use. ``last_used_at`` is written at most once per ``API_TOKEN_TOUCH_SECONDS``
(5 minutes) per token, so a busy app does not write on every request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from hmac import compare_digest

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, F
from django.utils import timezone

from sanjeevani.audit.services import record_event
from sanjeevani.config.compiled_queries import CompiledQuery, Slot

from .models import KEY_MAX_LENGTH, KEY_PREFIX_LENGTH, DeviceToken, User, hash_key
from .socket_endings import end_device_sockets, end_every_socket_of

#: Longest device label kept (a User-Agent is cut to this).
DEVICE_LABEL_LENGTH = 120
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class IssuedToken:
    """What a sign-in hands the app: the key (shown once) and its device row."""

    key: str
    device: DeviceToken


def idle_lifetime() -> timedelta:
    """How long a token may go unused before it stops working."""
    return timedelta(days=settings.API_TOKEN_IDLE_DAYS)


def touch_interval() -> timedelta:
    """The least time between two writes of one token's ``last_used_at``."""
    return timedelta(seconds=settings.API_TOKEN_TOUCH_SECONDS)


def expires_at(token: DeviceToken) -> datetime:
    """When the token stops working unless it is used before then."""
    return token.last_used_at + idle_lifetime()


def device_label(given: str | None, user_agent: str | None) -> str:
    """The name a person will recognise their device by: what the app sent, else the
    browser's User-Agent, on one line and cut to fit."""
    for candidate in (given, user_agent):
        text = " ".join(_CONTROL.sub(" ", candidate or "").split())
        if text:
            return text[:DEVICE_LABEL_LENGTH]
    return ""


def issue_api_token(user: User, client_ip: str | None, *, device: str = "") -> IssuedToken:
    """A new bearer token for this sign-in on this device; the person's tokens that expired
    are purged at the same time."""
    with transaction.atomic():
        DeviceToken.objects.filter(
            user=user, last_used_at__lt=timezone.now() - idle_lifetime()
        ).delete()
        token, key = DeviceToken.objects.issue(user, device=device[:DEVICE_LABEL_LENGTH])
        record_event(
            user,
            "auth.api_token_issued",
            obj=user,
            ip=client_ip,
            detail={"device_id": str(token.pk), "device": token.device},
        )
    return IssuedToken(key=key, device=token)


def purge_expired_tokens(now: datetime | None = None) -> int:
    """Delete every token unused for longer than its idle lifetime, for the people who
    never sign in again (a sign-in purges only its own person's). Run daily by
    ``manage.py clear_device_tokens``; returns how many were deleted."""
    cutoff = (now or timezone.now()) - idle_lifetime()
    with transaction.atomic():
        count, _ = DeviceToken.objects.filter(last_used_at__lt=cutoff).delete()
        if count:
            record_event(None, "auth.api_tokens_expired", detail={"count": count})
    return count


#: Every API request reads it (``bench/compiled_queries.py``).
_tokens_with_prefix = CompiledQuery(
    lambda: DeviceToken.objects.select_related("user").filter(
        key_prefix=Slot("prefix", CharField())
    )
)


def token_for_key(key: str) -> DeviceToken | None:
    """The live token this key belongs to, its user loaded; None for an unknown, revoked or
    expired key. Marks the token used, at most once per ``touch_interval``."""
    if not key or len(key) > KEY_MAX_LENGTH:
        return None
    digest = hash_key(key)
    token = next(
        (
            candidate
            for candidate in _tokens_with_prefix(prefix=key[:KEY_PREFIX_LENGTH])
            if compare_digest(candidate.key_hash, digest)
        ),
        None,
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at + idle_lifetime() <= now:
        return None
    stale = now - touch_interval()
    if token.last_used_at <= stale:
        # A conditional UPDATE: of concurrent requests only the first writes.
        DeviceToken.objects.filter(pk=token.pk, last_used_at__lte=stale).update(last_used_at=now)
        token.last_used_at = now
    return token


def _revoke(actor: User, token: DeviceToken, client_ip: str | None, action: str) -> bool:
    """Delete one token and say so in the audit trail; False if it was already gone."""
    deleted, _ = DeviceToken.objects.filter(pk=token.pk).delete()
    if deleted:
        end_device_sockets(token.pk)
        record_event(
            actor,
            action,
            obj=token.user,
            ip=client_ip,
            detail={
                "device_id": str(token.pk),
                "device": token.device,
                "owner": token.user.get_username(),
            },
        )
    return bool(deleted)


def sign_out(user: User, client_ip: str | None, *, token: DeviceToken | None = None) -> None:
    """Record the sign-out; from an app, also revoke the token it signed in with (and no
    other: the person's other devices stay signed in)."""
    with transaction.atomic():
        if token is not None:
            _revoke(user, token, client_ip, "auth.device_revoked")
        record_event(user, "auth.sign_out", obj=user, ip=client_ip)


def revoke_device(actor: User, token: DeviceToken, client_ip: str | None) -> bool:
    """Sign one device out: by its owner (from the device list) or an administrator. The
    caller has checked that ``actor`` may; False if it was already signed out."""
    with transaction.atomic():
        return _revoke(actor, token, client_ip, "auth.device_revoked")


def sign_out_everywhere(actor: User, user: User, client_ip: str | None) -> int:
    """Revoke every token of ``user`` and end every browser session they have (the session
    epoch is part of each session's hash). Returns how many devices were signed out."""
    with transaction.atomic():
        tokens = list(DeviceToken.objects.select_related("user").filter(user=user))
        revoked = sum(_revoke(actor, token, client_ip, "auth.device_revoked") for token in tokens)
        User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
        end_every_socket_of(user.pk)
        user.refresh_from_db(fields=["session_epoch"])
        record_event(
            actor,
            "auth.sign_out_everywhere",
            obj=user,
            ip=client_ip,
            detail={"devices": revoked, "owner": user.get_username()},
        )
    return revoked
