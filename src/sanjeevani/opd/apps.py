from django.apps import AppConfig


class OpdConfig(AppConfig):
    name = "sanjeevani.opd"
    verbose_name = "Opd"
