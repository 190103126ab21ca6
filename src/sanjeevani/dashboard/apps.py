from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "sanjeevani.dashboard"
    verbose_name = "Dashboard"
