"""WebSocket sign-in for mobile apps: ``Authorization: Token <key>`` on the upgrade
request, the same per-device token the REST API takes. Browsers keep using the session
cookie. A revoked or expired token leaves the connection anonymous, which every consumer
refuses."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware

from .api_tokens import token_for_key


@database_sync_to_async
def _token_for(key: str):
    token = token_for_key(key)
    if token is None or not token.user.is_active:
        return None
    return token


class TokenAuthMiddleware(BaseMiddleware):
    """Runs inside ``AuthMiddlewareStack``: a session user wins; a valid token fills in
    the user otherwise; a bad token leaves the connection anonymous."""

    async def __call__(self, scope, receive, send):
        user = scope.get("user")
        if user is None or not user.is_authenticated:
            header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
            scheme, _, key = header.partition(" ")
            if scheme.lower() == "token" and key.strip():
                token = await _token_for(key.strip())
                if token is not None:
                    # The device's id lets its sockets close when it is signed out
                    # (sanjeevani.live.sign_in).
                    scope = dict(scope, user=token.user, device_token_id=token.pk)
        return await super().__call__(scope, receive, send)
