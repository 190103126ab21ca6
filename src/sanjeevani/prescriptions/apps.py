from django.apps import AppConfig


class PrescriptionsConfig(AppConfig):
    name = "sanjeevani.prescriptions"
    verbose_name = "Prescriptions"
