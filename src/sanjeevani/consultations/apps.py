from django.apps import AppConfig


class ConsultationsConfig(AppConfig):
    name = "sanjeevani.consultations"
    verbose_name = "Consultations"

    def ready(self) -> None:
        """Do the consultation's part of the queue's changes, in the same transaction."""
        from sanjeevani.queueing import signals

        from . import services

        signals.call_abandoned.connect(
            services.on_call_abandoned, dispatch_uid="consultations.call_abandoned"
        )
        signals.assignment_possible.connect(
            services.on_assignment_possible, dispatch_uid="consultations.assignment_possible"
        )
