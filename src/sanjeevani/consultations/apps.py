from django.apps import AppConfig


class ConsultationsConfig(AppConfig):
    name = "sanjeevani.consultations"
    verbose_name = "Consultations"
