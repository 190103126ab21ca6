from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "sanjeevani.accounts"
    verbose_name = "Accounts"
