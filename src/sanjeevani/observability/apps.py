from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "sanjeevani.observability"
    verbose_name = "Observability"
