from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "sanjeevani.backups"
    verbose_name = "Backups"
