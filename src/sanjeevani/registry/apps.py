from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "sanjeevani.registry"
    verbose_name = "Registry"
