from django.apps import AppConfig


class QueueingConfig(AppConfig):
    name = "sanjeevani.queueing"
    verbose_name = "Queueing"
