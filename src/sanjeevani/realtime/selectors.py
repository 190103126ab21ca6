"""Read queries for rooms: who is in a consultation's room (admission asks the care-team
policy), and its chat."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch
from django.http import Http404, HttpRequest
from django.urls import reverse

from sanjeevani.audit.services import record_event
from sanjeevani.consultations import care_team
from sanjeevani.consultations.care_team import Action
from sanjeevani.consultations.models import Consultation

from .models import ChatMessage, MessageReceipt, RoomParticipant, RoomRole

#: At most this many people in one room (doctor, health worker or patient, and two more).
MAX_ROOM_MEMBERS = 4


@dataclass(frozen=True)
class RoomMember:
    user_id: uuid.UUID
    role: str
    name: str

    def as_dict(self) -> dict[str, Any]:
        return {"user_id": str(self.user_id), "role": self.role, "name": self.name}


def _display_name(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""


def room_members(consultation: Consultation) -> list[RoomMember]:
    """Everyone who may enter the room: those the consultation names, then those added."""
    members: dict[uuid.UUID, RoomMember] = {}
    doctor_user = consultation.doctor.user
    members[doctor_user.pk] = RoomMember(
        doctor_user.pk, RoomRole.DOCTOR, _display_name(doctor_user)
    )
    account = consultation.patient.account
    if account is not None and account.pk not in members:
        members[account.pk] = RoomMember(account.pk, RoomRole.PATIENT, consultation.patient.name)
    cho = consultation.requested_by
    if cho is not None and cho.pk not in members:
        members[cho.pk] = RoomMember(cho.pk, RoomRole.HEALTH_WORKER, _display_name(cho))
    for extra in consultation.room_participants.select_related("user"):
        if extra.user_id not in members:
            members[extra.user_id] = RoomMember(
                extra.user_id, extra.role, _display_name(extra.user)
            )
    return list(members.values())


def member_of(user: Any, consultation: Consultation) -> RoomMember | None:
    """The user's place in the room, if the care-team policy lets them join it."""
    if not care_team.may(user, Action.JOIN_ROOM, consultation):
        return None
    return next((m for m in room_members(consultation) if m.user_id == user.pk), None)


def load_consultation(consultation_id: Any) -> Consultation | None:
    return (
        Consultation.objects.select_related("doctor__user", "patient__account", "requested_by")
        .filter(pk=consultation_id)
        .first()
    )


def consultation_for_member(user: Any, consultation_id: Any) -> tuple[Consultation, RoomMember]:
    """The consultation and the user's place in its room; 404 for anyone else, so that a
    stranger cannot even learn that the consultation exists."""
    consultation = load_consultation(consultation_id)
    member = member_of(user, consultation) if consultation else None
    if consultation is None or member is None:
        raise Http404("No such room.")
    return consultation, member


def consultation_read_by_member(
    user: Any, consultation_id: Any, action: str, request: HttpRequest | None = None
) -> tuple[Consultation, RoomMember]:
    """``consultation_for_member`` for a read that shows the patient's consultation (the
    room page, the chat): the read is audited against the patient."""
    consultation, member = consultation_for_member(user, consultation_id)
    record_event(
        user, action, obj=consultation, patient_id=consultation.patient_id, request=request
    )
    return consultation, member


def added_participants(consultation: Consultation) -> list[RoomParticipant]:
    return list(consultation.room_participants.select_related("user", "invited_by"))


def messages_after(
    consultation: Consultation, after_seq: int = 0, limit: int = 500
) -> list[ChatMessage]:
    return list(
        ChatMessage.objects.filter(consultation=consultation, seq__gt=after_seq)
        .select_related("sender")
        .prefetch_related(Prefetch("receipts", queryset=MessageReceipt.objects.all()))
        .order_by("seq")[:limit]
    )


def last_seq(consultation: Consultation) -> int:
    last = ChatMessage.objects.filter(consultation=consultation).order_by("-seq").first()
    return last.seq if last else 0


def message_payload(message: ChatMessage, members: list[RoomMember] | None = None) -> dict:
    """The ``chat-message`` event for one message, with its delivered/read marks so far."""
    roles = {m.user_id: m.role for m in members or []}
    receipts = list(message.receipts.all()) if message.pk else []
    file = None
    if message.kind == ChatMessage.Kind.FILE:
        file = {
            "url": reverse("realtime-api:room-file", args=[message.consultation_id, message.id]),
            "name": message.file_name,
            "content_type": message.content_type,
            "size": message.size,
        }
    return {
        "type": "chat-message",
        "id": str(message.id),
        "seq": message.seq,
        "kind": message.kind,
        "sender": {
            "user_id": str(message.sender_id),
            "name": _display_name(message.sender),
            "role": roles.get(message.sender_id, ""),
        },
        "text": message.text,
        "file": file,
        "created_at": message.created_at.isoformat(),
        "delivered_to": sorted(str(r.user_id) for r in receipts if r.delivered_at),
        "read_by": sorted(str(r.user_id) for r in receipts if r.read_at),
    }
