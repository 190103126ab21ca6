"""The one error every sign-in step raises, with a message the person can act on."""

from __future__ import annotations


class SignInError(Exception):
    """A sign-in step that did not go through, with a message the person can act on.

    ``field`` names the input at fault (for forms and API field errors); ``retry_after`` is
    set, in seconds, when the only remedy is to wait.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "invalid",
        field: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        self.retry_after = retry_after

    @property
    def is_rate_limit(self) -> bool:
        return self.retry_after is not None
