"""The audit trail: who touched which patient's data, when and from where.

Rows are append-only: the model refuses updates and deletes, and the admin is read-only.
The lowest layer, so it refers to patients and objects by opaque id, never by foreign key
to an app above it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):  # type: ignore[override]
        raise PermissionError("Audit events cannot be changed.")

    def delete(self):  # type: ignore[override]
        raise PermissionError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    actor_label = models.CharField(_("who (as recorded)"), max_length=200, blank=True)
    actor_role = models.CharField(_("role"), max_length=32, blank=True, db_index=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    # Looked up through the (patient_id, -at) index below; a second index would only cost
    # every audit row an extra write.
    patient_id = models.UUIDField(_("patient"), null=True, blank=True)
    client_ip = models.GenericIPAddressField(_("from"), null=True, blank=True)
    user_agent = models.CharField(max_length=256, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    #: The request or WebSocket connection that wrote the row (its ``X-Request-ID``, also
    #: on the log lines and live events); "" outside one. A database default, so rows the
    #: database functions write (``audit_record_event``) get "" too.
    request_id = models.CharField(_("request id"), max_length=64, blank=True, db_default="")

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["patient_id", "-at"]),
            models.Index(fields=["actor", "-at"]),
            # How a consultation ended (the workspace reads its ``consultation.closed`` row)
            # and the admin's object filter: without it, a walk back through every month
            # (1.8 s at 10 million rows, bench/audit_at_scale.py).
            models.Index(fields=["object_id", "-at"], name="audit_object_at_idx"),
        ]
        verbose_name = _("audit event")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit events cannot be deleted.")
