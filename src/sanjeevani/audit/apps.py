from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "sanjeevani.audit"
    verbose_name = "Audit"
