from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "sanjeevani.realtime"
    verbose_name = "Realtime"
