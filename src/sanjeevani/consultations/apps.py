from django.apps import AppConfig


class ConsultationsConfig(AppConfig):
    name = "sanjeevani.consultations"
    verbose_name = "Consultations"

    def ready(self) -> None:
        """Do the consultation's part of the queue's changes, in the same transaction, until
        the workflows call ``abandon_call`` and ``offer_to_auto_assign_doctors`` /
        ``claim_for`` themselves and the queue's signals go (issue 11)."""
        from sanjeevani.queueing import signals

        from . import calling, lifecycle

        signals.call_abandoned.connect(
            lifecycle.on_call_abandoned, dispatch_uid="consultations.call_abandoned"
        )
        signals.assignment_possible.connect(
            calling.on_assignment_possible, dispatch_uid="consultations.assignment_possible"
        )
