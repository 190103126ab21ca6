from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "sanjeevani.patients"
    verbose_name = "Patients"
