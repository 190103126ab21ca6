from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "sanjeevani.accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the demo-password deployment check)
