from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class HwcConfig(AppConfig):
    name = "sanjeevani.hwc"
    verbose_name = "Hub and spoke"

    def ready(self) -> None:
        from sanjeevani.registry.models import Specialty

        from .models import SpecialtyRule
        from .suggestion import forget_rule_table

        for model in (SpecialtyRule, Specialty):
            for signal in (post_save, post_delete):
                signal.connect(forget_rule_table, sender=model, dispatch_uid=f"hwc-rules-{model}")
