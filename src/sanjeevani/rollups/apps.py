from django.apps import AppConfig


class RollupsConfig(AppConfig):
    name = "sanjeevani.rollups"
    verbose_name = "Rollups"
