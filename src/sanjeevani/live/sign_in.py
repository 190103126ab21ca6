"""A socket lives no longer than the sign-in that opened it. Signing out a device, signing
out everywhere or signing out of a browser closes that sign-in's open sockets at once, with
close code 4401: without this a revoked phone kept hearing a patient's queue and room until
it disconnected by itself (the check on the upgrade request had been the only one).

Each authenticated socket joins its sign-in groups (``sanjeevani.live.groups``) as it is
accepted: the person's, and the device token's or the browser session's that authenticated
it. ``sanjeevani.accounts`` publishes ``sign_in.ended`` to them after the sign-out commits.
"""

from __future__ import annotations

from typing import Any

from .groups import device_sign_in_group, session_sign_in_group, user_sign_in_group

#: Close code of a socket whose sign-in ended: the page reconnects once, is refused (4403)
#: as anyone signed out is, and stops.
SIGNED_OUT = 4401
SIGN_IN_ENDED = {"type": "sign_in.ended"}


def sign_in_groups(scope: dict[str, Any]) -> list[str]:
    """The sign-in groups of a connection's scope; none for an anonymous one."""
    user = scope.get("user")
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    groups = [user_sign_in_group(user.pk)]
    token_id = scope.get("device_token_id")
    if token_id is not None:
        groups.append(device_sign_in_group(token_id))
    else:
        session = scope.get("session")
        key = getattr(session, "session_key", None) if session is not None else None
        if key:
            groups.append(session_sign_in_group(key))
    return groups


class EndsWithSignIn:
    """Put among a consumer's bases before Channels' consumer class."""

    _sign_in_groups: list[str]

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        self._sign_in_groups = sign_in_groups(self.scope)  # type: ignore[attr-defined]
        for group in self._sign_in_groups:
            await self.channel_layer.group_add(group, self.channel_name)  # type: ignore[attr-defined]
        await super().accept(subprotocol, headers)  # type: ignore[misc]

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        for group in getattr(self, "_sign_in_groups", ()):
            await self.channel_layer.group_discard(group, self.channel_name)  # type: ignore[attr-defined]
        self._sign_in_groups = []
        await super().websocket_disconnect(message)  # type: ignore[misc]

    async def sign_in_ended(self, event: dict[str, Any]) -> None:
        await self.close(code=SIGNED_OUT)  # type: ignore[attr-defined]
