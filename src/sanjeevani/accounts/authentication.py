"""The API's bearer-token check: ``Authorization: Token <key>``, one key per signed-in device
(``api_tokens``). DRF's ``TokenAuthentication`` parses the header and names the scheme in
``WWW-Authenticate``; only the lookup is ours."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from .api_tokens import token_for_key


class DeviceTokenAuthentication(TokenAuthentication):
    """``request.auth`` is the ``DeviceToken``, so signing out can revoke just that one."""

    keyword = "Token"

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        token = token_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (token.user, token)
