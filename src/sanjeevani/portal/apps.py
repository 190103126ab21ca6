from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "sanjeevani.portal"
    verbose_name = "Portal"
