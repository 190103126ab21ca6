"""What a consultation room keeps: who was added to it, the chat and files shared in it,
their delivered/read marks, and the room tokens already spent (so a token works once).

Media never reaches the server; only signalling passes through, and it is not stored.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils.translation import gettext_lazy as _

from sanjeevani.consultations.models import Consultation


def room_file_storage() -> FileSystemStorage:
    """Files shared in rooms live under MEDIA_ROOT, outside the web root; no URL serves them
    directly (``base_url`` unset): only the participants' download endpoint does."""
    return FileSystemStorage(location=settings.MEDIA_ROOT / "room-files")


def room_file_path(instance: ChatMessage, filename: str) -> str:
    return f"{instance.consultation_id}/{uuid.uuid4().hex}{filename[filename.rfind('.') :]}"


class RoomRole(models.TextChoices):
    DOCTOR = "doctor", _("Doctor")
    PATIENT = "patient", _("Patient")
    HEALTH_WORKER = "health_worker", _("Health worker with the patient")
    SPECIALIST = "specialist", _("Second specialist")
    INTERPRETER = "interpreter", _("Interpreter")
    FAMILY = "family", _("Family member")


#: Roles the doctor may add to a room; the first three are given by the consultation itself.
ADDABLE_ROLES = (RoomRole.SPECIALIST, RoomRole.INTERPRETER, RoomRole.FAMILY)


class RoomParticipant(models.Model):
    """Someone the doctor added to a consultation's room, beyond the doctor, the patient
    and the requesting health worker (who are participants by the consultation itself)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="room_participants"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("role in the room"), max_length=16, choices=RoomRole.choices)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "user"], name="room_participant_once_per_room"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


class ChatMessage(models.Model):
    """One chat line or shared file, numbered in order within its consultation."""

    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        FILE = "file", _("File")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="chat_messages"
    )
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    seq = models.PositiveIntegerField(_("order in the consultation"))
    kind = models.CharField(max_length=4, choices=Kind.choices, default=Kind.TEXT)
    text = models.TextField(blank=True)
    file = models.FileField(storage=room_file_storage, upload_to=room_file_path, blank=True)
    file_name = models.CharField(_("file name as sent"), max_length=200, blank=True)
    content_type = models.CharField(max_length=64, blank=True)
    size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["consultation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["consultation", "seq"], name="chat_seq_unique")
        ]

    def __str__(self) -> str:
        return f"#{self.seq} in {self.consultation_id}"


class MessageReceipt(models.Model):
    """When one recipient's device got a message, and when they read it."""

    message = models.ForeignKey(ChatMessage, on_delete=models.CASCADE, related_name="receipts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "user"], name="receipt_once_per_recipient")
        ]

    def __str__(self) -> str:
        return f"receipt of {self.message_id} for {self.user_id}"


class SpentRoomToken(models.Model):
    """A room token that has been used; kept until it would have expired anyway.

    In the database rather than the cache so that a replay is refused on every app node
    whether or not Redis is configured."""

    jti = models.CharField(max_length=32, primary_key=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.jti
