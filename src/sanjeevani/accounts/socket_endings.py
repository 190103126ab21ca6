"""Signing out closes the sockets the sign-in opened (``sanjeevani.live.sign_in``): sent
after the sign-out commits, so a sign-out that fails closes nothing."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from sanjeevani.live.groups import device_sign_in_group, session_sign_in_group, user_sign_in_group
from sanjeevani.live.publisher import publish_after_commit
from sanjeevani.live.sign_in import SIGN_IN_ENDED


def end_device_sockets(token_id: Any) -> None:
    publish_after_commit(device_sign_in_group(token_id), SIGN_IN_ENDED)


def end_every_socket_of(user_id: Any) -> None:
    publish_after_commit(user_sign_in_group(user_id), SIGN_IN_ENDED)


@receiver(user_logged_out, dispatch_uid="sanjeevani.accounts.end_session_sockets")
def end_session_sockets(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Django sends this before it flushes the session, so the key is still the one the
    browser's sockets were opened with."""
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        publish_after_commit(session_sign_in_group(key), SIGN_IN_ENDED)
