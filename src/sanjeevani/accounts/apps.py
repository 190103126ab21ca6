from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "sanjeevani.accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401  (registers the demo-password deployment check)
            socket_endings,  # noqa: F401  (closes a browser's sockets at sign-out)
        )
