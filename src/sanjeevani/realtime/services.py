"""Every change a room makes: admitting someone, chat, files, marks, participants, hold,
resume and end. One transaction each, permission checked, audited, events after commit."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from sanjeevani.audit.services import record_event
from sanjeevani.consultations import services as consultation_services
from sanjeevani.consultations.models import Consultation
from sanjeevani.consultations.modes import mode_payload
from sanjeevani.patients.uploads import check_clinical_upload

from . import selectors, tokens
from .ice import ice_servers_for
from .models import (
    ADDABLE_ROLES,
    ChatMessage,
    MessageReceipt,
    RoomParticipant,
    RoomRole,
    SpentRoomToken,
)
from .room_events import publish_after_commit

MAX_CHAT_CHARS = 4000

# Close codes (see docs/realtime.md).
CLOSE_PROTOCOL = 4400
CLOSE_TOKEN = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_REPLACED = 4409
CLOSE_ENDED = 4410


class RoomRefused(Exception):
    """Why someone may not enter: a WebSocket close code and a message a person can act on."""

    def __init__(self, close_code: int, code: str, message: str):
        super().__init__(message)
        self.close_code = close_code
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Admission:
    consultation_id: uuid.UUID
    patient_id: uuid.UUID
    user: Any
    member: selectors.RoomMember
    status: str
    last_seq: int
    members: list[selectors.RoomMember]
    mode: dict[str, Any]


def _locked_consultation(user: Any, consultation_id: Any) -> tuple[Consultation, Any]:
    consultation, member = selectors.consultation_for_member(user, consultation_id)
    # Row lock on PostgreSQL; on SQLite the IMMEDIATE transaction already serialises writers.
    list(Consultation.objects.select_for_update().filter(pk=consultation.pk).values_list("pk"))
    consultation.refresh_from_db(fields=["status"])
    return consultation, member


def _require_open(consultation: Consultation) -> None:
    if consultation.status == Consultation.Status.ENDED:
        raise ValidationError(_("This consultation has ended."), code="ended")


def _require_doctor(member: selectors.RoomMember, what: str) -> None:
    if member.role != RoomRole.DOCTOR:
        raise PermissionDenied(_("Only the doctor can %(what)s.") % {"what": what})


def issue_join_token(user: Any, consultation_id: Any) -> dict[str, Any]:
    """A fresh single-use token for the room, with this user's ICE servers."""
    consultation, member = selectors.consultation_for_member(user, consultation_id)
    _require_open(consultation)
    return {
        "token": tokens.issue_token(consultation.pk, user.pk),
        "expires_in": tokens.token_ttl_seconds(),
        "websocket_path": f"/ws/room/{consultation.pk}/",
        "ice_servers": ice_servers_for(user.pk),
        "role": member.role,
        "user_id": str(user.pk),
        "status": consultation.status,
    }


def admit_to_room(
    token: str, consultation_id: Any, *, session_user: Any = None, ip: str | None = None
) -> Admission:
    """Spend a room token: refuse strangers, other rooms' or users' tokens, expired or
    replayed tokens and finished consultations."""
    try:
        claims = tokens.read_token(token)
    except tokens.TokenRefused as refused:
        if refused.code == "expired":
            raise RoomRefused(
                CLOSE_TOKEN, "token_expired", _("The join link expired. Join again.")
            ) from None
        raise RoomRefused(
            CLOSE_TOKEN, "token_invalid", _("The join link is not valid. Join again.")
        ) from None
    if str(claims.consultation_id) != str(consultation_id):
        raise RoomRefused(CLOSE_FORBIDDEN, "forbidden", _("This join link is for another room."))
    if getattr(session_user, "is_authenticated", False) and session_user.pk != claims.user_id:
        raise RoomRefused(CLOSE_FORBIDDEN, "forbidden", _("This join link is for someone else."))
    user = get_user_model().objects.filter(pk=claims.user_id, is_active=True).first()
    consultation = selectors.load_consultation(claims.consultation_id)
    member = selectors.member_of(user, consultation) if (user and consultation) else None
    if member is None:
        raise RoomRefused(CLOSE_FORBIDDEN, "forbidden", _("You are not part of this consultation."))
    if consultation.status == Consultation.Status.ENDED:
        raise RoomRefused(CLOSE_ENDED, "ended", _("This consultation has ended."))
    now = timezone.now()
    with transaction.atomic():
        SpentRoomToken.objects.filter(expires_at__lt=now).delete()
        try:
            with transaction.atomic():
                SpentRoomToken.objects.create(
                    jti=claims.jti,
                    expires_at=now + dt.timedelta(seconds=tokens.token_ttl_seconds() + 60),
                )
        except IntegrityError:
            raise RoomRefused(
                CLOSE_TOKEN, "token_used", _("This join link was already used. Join again.")
            ) from None
        record_event(
            user,
            "room.join",
            obj=consultation,
            patient_id=consultation.patient_id,
            ip=ip,
            detail={"role": member.role},
        )
    return Admission(
        consultation_id=consultation.pk,
        patient_id=consultation.patient_id,
        user=user,
        member=member,
        status=consultation.status,
        last_seq=selectors.last_seq(consultation),
        members=selectors.room_members(consultation),
        mode=mode_payload(consultation),
    )


def _next_seq(consultation: Consultation) -> int:
    return selectors.last_seq(consultation) + 1


def post_chat_message(user: Any, consultation_id: Any, text: str) -> ChatMessage:
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("Type a message first."), code="empty")
    if len(text) > MAX_CHAT_CHARS:
        raise ValidationError(
            _("Messages are limited to %(n)d characters; send it in parts.")
            % {"n": MAX_CHAT_CHARS},
            code="too_long",
        )
    with transaction.atomic():
        consultation, member = _locked_consultation(user, consultation_id)
        _require_open(consultation)
        message = ChatMessage.objects.create(
            consultation=consultation, sender=user, seq=_next_seq(consultation), text=text
        )
        record_event(
            user,
            "room.chat_message",
            obj=consultation,
            patient_id=consultation.patient_id,
            detail={"seq": message.seq},
        )
        publish_after_commit(
            consultation.pk,
            selectors.message_payload(message, selectors.room_members(consultation)),
        )
    return message


def share_file(user: Any, consultation_id: Any, upload: UploadedFile) -> ChatMessage:
    """A PDF or image shared in the room: checked like every clinical upload."""
    checked = check_clinical_upload(upload)
    with transaction.atomic():
        consultation, member = _locked_consultation(user, consultation_id)
        _require_open(consultation)
        name = (upload.name or "file").rsplit("/", 1)[-1][:150]
        message = ChatMessage(
            consultation=consultation,
            sender=user,
            seq=_next_seq(consultation),
            kind=ChatMessage.Kind.FILE,
            file_name=name,
            content_type=checked.content_type,
            size=checked.size,
        )
        message.file.save(f"shared.{checked.extension}", upload, save=False)
        message.save()
        record_event(
            user,
            "room.file_shared",
            obj=consultation,
            patient_id=consultation.patient_id,
            detail={"seq": message.seq, "content_type": checked.content_type, "size": checked.size},
        )
        publish_after_commit(
            consultation.pk,
            selectors.message_payload(message, selectors.room_members(consultation)),
        )
    return message


def mark_messages(user: Any, consultation_id: Any, up_to_seq: int, mark: str) -> int:
    """Mark every message of the others up to ``up_to_seq`` delivered (or read, which
    implies delivered) for this user. Returns how many marks changed."""
    if mark not in ("delivered", "read"):
        raise ValidationError(_("Unknown mark."), code="bad_mark")
    now = timezone.now()
    with transaction.atomic():
        consultation, member = selectors.consultation_for_member(user, consultation_id)
        pending = ChatMessage.objects.filter(consultation=consultation, seq__lte=up_to_seq).exclude(
            sender=user
        )
        field = "read_at" if mark == "read" else "delivered_at"
        done = set(
            MessageReceipt.objects.filter(
                message__in=pending, user=user, **{f"{field}__isnull": False}
            ).values_list("message_id", flat=True)
        )
        changed = 0
        for message_id in pending.values_list("id", flat=True):
            if message_id in done:
                continue
            receipt, _created = MessageReceipt.objects.get_or_create(
                message_id=message_id, user=user
            )
            receipt.delivered_at = receipt.delivered_at or now
            if mark == "read":
                receipt.read_at = now
            receipt.save(update_fields=["delivered_at", "read_at"])
            changed += 1
        if changed:
            record_event(
                user,
                f"room.chat_{mark}",
                obj=consultation,
                patient_id=consultation.patient_id,
                detail={"up_to_seq": up_to_seq, "count": changed},
            )
            publish_after_commit(
                consultation.pk,
                {
                    "type": "chat-receipt",
                    "user_id": str(user.pk),
                    "up_to_seq": up_to_seq,
                    "mark": mark,
                },
            )
    return changed


def add_participant(
    user: Any, consultation_id: Any, new_user_id: Any, role: str
) -> RoomParticipant:
    """The doctor adds a second specialist, an interpreter or a family member (4 at most)."""
    if role not in ADDABLE_ROLES:
        raise ValidationError(
            _("Choose the role of the person you add: specialist, interpreter or family."),
            code="bad_role",
        )
    with transaction.atomic():
        consultation, member = _locked_consultation(user, consultation_id)
        _require_doctor(member, _("add someone to the room"))
        _require_open(consultation)
        new_user = get_user_model().objects.filter(pk=new_user_id, is_active=True).first()
        if new_user is None:
            raise ValidationError(_("No such person. Check who you are adding."), code="no_user")
        members = selectors.room_members(consultation)
        if any(m.user_id == new_user.pk for m in members):
            raise ValidationError(_("This person is already in the room."), code="duplicate")
        if len(members) >= selectors.MAX_ROOM_MEMBERS:
            raise ValidationError(
                _("A room holds at most %(n)d people.") % {"n": selectors.MAX_ROOM_MEMBERS},
                code="room_full",
            )
        if role == RoomRole.SPECIALIST and not hasattr(new_user, "doctor_profile"):
            raise ValidationError(_("A second specialist must be a doctor."), code="not_doctor")
        participant = RoomParticipant.objects.create(
            consultation=consultation, user=new_user, role=role, invited_by=user
        )
        record_event(
            user,
            "room.participant_added",
            obj=consultation,
            patient_id=consultation.patient_id,
            detail={"user": str(new_user.pk), "role": role},
        )
        added = selectors.RoomMember(
            new_user.pk, role, new_user.get_full_name() or new_user.get_username()
        )
        publish_after_commit(consultation.pk, {"type": "participant-added", **added.as_dict()})
    return participant


def hold_room(user: Any, consultation_id: Any) -> str:
    """The doctor puts the call on hold; the consultation's own lifecycle records and
    audits it and publishes ``consultation.status``, which every room connection turns
    into ``room-state``."""
    consultation, member = selectors.consultation_for_member(user, consultation_id)
    _require_doctor(member, _("put the call on hold"))
    return consultation_services.put_on_hold(user, consultation).status


def resume_room(user: Any, consultation_id: Any) -> str:
    consultation, member = selectors.consultation_for_member(user, consultation_id)
    _require_doctor(member, _("resume the call"))
    return consultation_services.resume(user, consultation).status


def end_room(user: Any, consultation_id: Any, outcome: str) -> str:
    """The doctor ends the consultation with an outcome; ``consultation.status`` (ended)
    closes the room for everyone (close code 4410)."""
    consultation, member = selectors.consultation_for_member(user, consultation_id)
    _require_doctor(member, _("end the consultation"))
    return consultation_services.end_consultation(user, consultation, outcome).status


def record_media_stats(
    user: Any, consultation_id: Any, source_user_id: str, counters: dict[str, int]
) -> dict[str, Any] | None:
    """What this participant's page received from ``source_user_id``: stored by the
    consultation, which derives the observed mode from both ends (``consultations.modes``).
    Returns the consultation's mode, or None when the report does not count."""
    consultation, member = selectors.consultation_for_member(user, consultation_id)
    try:
        source = uuid.UUID(str(source_user_id))
    except ValueError:
        raise ValidationError(_("user_id must be a participant's id."), code="bad_user") from None
    updated = consultation_services.record_media_observation(user, consultation, source, counters)
    return None if updated is None else mode_payload(updated)


def download_file(user: Any, consultation_id: Any, message_id: Any, ip: str | None = None):
    """A shared file, for a participant only; every download is audited."""
    consultation, member = selectors.consultation_for_member(user, consultation_id)
    message = ChatMessage.objects.filter(
        pk=message_id, consultation=consultation, kind=ChatMessage.Kind.FILE
    ).first()
    if message is None:
        raise Http404("No such file.")
    with transaction.atomic():
        record_event(
            user,
            "room.file_download",
            obj=consultation,
            patient_id=consultation.patient_id,
            ip=ip,
            detail={"seq": message.seq},
        )
    return message
