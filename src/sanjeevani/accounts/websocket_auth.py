"""WebSocket sign-in for mobile apps: ``Authorization: Token <key>`` on the upgrade
request, the same API token the REST API takes. Browsers keep using the session cookie."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from rest_framework.authtoken.models import Token


@database_sync_to_async
def _user_for_token(key: str):
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None
    return token.user


class TokenAuthMiddleware(BaseMiddleware):
    """Runs inside ``AuthMiddlewareStack``: a session user wins; a valid token fills in
    the user otherwise; a bad token leaves the connection anonymous."""

    async def __call__(self, scope, receive, send):
        user = scope.get("user")
        if user is None or not user.is_authenticated:
            header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
            scheme, _, key = header.partition(" ")
            if scheme.lower() == "token" and key.strip():
                token_user = await _user_for_token(key.strip())
                if token_user is not None:
                    scope = dict(scope, user=token_user)
        return await super().__call__(scope, receive, send)
