"""ICE servers handed to each participant: the configured STUN/TURN list, plus time-limited
TURN credentials in coturn's shared-secret ("TURN REST API") scheme when a secret is set.

username = "<expiry unix time>:<user id>", credential = base64(HMAC-SHA1(secret, username));
coturn (``--use-auth-secret --static-auth-secret``) recomputes it and refuses it after expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from django.conf import settings


def turn_credentials(user_id: Any, now: float | None = None) -> dict[str, Any]:
    ttl = int(settings.TURN_CREDENTIAL_TTL_SECONDS)
    expiry = int(now if now is not None else time.time()) + ttl
    username = f"{expiry}:{user_id}"
    digest = hmac.new(settings.TURN_SECRET.encode(), username.encode(), hashlib.sha1).digest()
    return {
        "username": username,
        "credential": base64.b64encode(digest).decode(),
        "ttl": ttl,
        "expires_at": expiry,
    }


def ice_servers_for(user_id: Any) -> list[dict[str, Any]]:
    """The ``iceServers`` list for an RTCPeerConnection of this user."""
    servers = [dict(server) for server in settings.ICE_SERVERS]
    if settings.TURN_SECRET and settings.TURN_URLS:
        creds = turn_credentials(user_id)
        servers.append(
            {
                "urls": list(settings.TURN_URLS),
                "username": creds["username"],
                "credential": creds["credential"],
            }
        )
    return servers
