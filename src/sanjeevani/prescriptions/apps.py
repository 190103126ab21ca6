from django.apps import AppConfig


class PrescriptionsConfig(AppConfig):
    name = "sanjeevani.prescriptions"
    verbose_name = "Prescriptions"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the deployment check)
