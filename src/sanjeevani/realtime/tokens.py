"""Room tokens: signed, short-lived, bound to one consultation and one user, single use.

A token is ``TimestampSigner.sign_object({"c": consultation, "u": user, "j": jti})``; the
signature covers the time it was issued, so expiry needs no storage. Spending it records
the ``jti`` (see ``services.admit_to_room``), so a replay is refused.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

SALT = "sanjeevani.realtime.room-token"


def token_ttl_seconds() -> int:
    return int(getattr(settings, "ROOM_TOKEN_TTL_SECONDS", 300))


class TokenRefused(Exception):
    """The token cannot admit anyone: ``code`` is "expired" or "invalid"."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class RoomClaims:
    consultation_id: uuid.UUID
    user_id: uuid.UUID
    jti: str


def issue_token(consultation_id: uuid.UUID, user_id: uuid.UUID) -> str:
    payload = {"c": str(consultation_id), "u": str(user_id), "j": secrets.token_hex(16)}
    return signing.TimestampSigner(salt=SALT).sign_object(payload, compress=False)


def read_token(token: str) -> RoomClaims:
    """The claims of a genuine, unexpired token; raises ``TokenRefused`` otherwise."""
    if not token or len(token) > 512:
        raise TokenRefused("invalid")
    try:
        data = signing.TimestampSigner(salt=SALT).unsign_object(token, max_age=token_ttl_seconds())
        return RoomClaims(uuid.UUID(data["c"]), uuid.UUID(data["u"]), str(data["j"])[:32])
    except signing.SignatureExpired:
        raise TokenRefused("expired") from None
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise TokenRefused("invalid") from None
