from django.apps import AppConfig


class HwcConfig(AppConfig):
    name = "sanjeevani.hwc"
    verbose_name = "Hub and spoke"
