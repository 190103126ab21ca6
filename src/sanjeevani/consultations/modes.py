"""The consultation's mode is observed, not claimed.

Each end of the room reports what its browser actually received from the other (WebRTC
``getStats()`` inbound-rtp counters: video frames decoded, audio packets), through the
room's ``media-stats`` message (``sanjeevani.realtime``). The mode follows from both ends:

- ``video`` only if the doctor decoded video from the patient's side **and** the patient's
  side decoded video from the doctor, each at least ``VIDEO_MIN_FRAMES`` frames;
- else ``audio`` if each received at least ``AUDIO_MIN_PACKETS`` audio packets from the other;
- else ``chat``.

So one client's report alone never makes a consultation "video": a patient's page that
claims video the doctor's page never decoded leaves it at what the doctor saw. The doctor
then confirms the mode (the observed one or a lower one, never a higher one) before a
prescription can be signed; the signed content carries ``Consultation.mode``.

The patient's side is the patient's account holder or, hub-and-spoke, the CHO who asked
for the consultation (the patient sits with them). Reports by or about the other people the
doctor adds (specialist, interpreter, family) are not stored: they do not decide the mode.

Events: ``consultation.mode`` to ``consultation.<uuid>`` (every room connection turns it into
``consultation-mode``) and to the doctor's group, whenever the observed or the confirmed
mode changes::

    {"type": "consultation.mode", "consultation": "<uuid>", "observed_mode": "audio",
     "mode": "audio", "confirmed": false, "confirmed_at": null}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sanjeevani.audit.services import record_event
from sanjeevani.config.compiled_queries import locked_row
from sanjeevani.live.groups import consultation_group, doctor_group
from sanjeevani.live.publisher import publish_many_after_commit

from .models import Consultation, MediaObservation

Mode = Consultation.Mode

#: Decoded frames that prove video reached one end: a few seconds of a real picture
#: (15-30 frames per second), far more than a stray key frame.
VIDEO_MIN_FRAMES = 45
#: Audio packets that prove sound reached one end: about 2 s of 20 ms packets.
AUDIO_MIN_PACKETS = 100
#: The largest counter a report may carry (a day of 4K video is far below this).
MAX_COUNTER = 10**12
COUNTERS = ("video_frames", "video_bytes", "audio_packets", "audio_bytes")
#: Lower to higher: the doctor may confirm the observed mode or one to its left.
RANK = {Mode.CHAT: 0, Mode.AUDIO: 1, Mode.VIDEO: 2}
#: How long after the end the mode may still be confirmed: the prescription's correction
#: window (``prescriptions.services.CORRECTION_WINDOW``).
CONFIRMATION_WINDOW = dt.timedelta(hours=1)


def patient_side(consultation: Consultation) -> set[Any]:
    """The users who stand for the patient in the room."""
    users = {consultation.patient.account_id}
    if consultation.requested_by_id:
        users.add(consultation.requested_by_id)
    users.discard(None)
    return users


def level_of(counters: Mapping[str, int]) -> str:
    """What one end's counters prove on their own: ``video``, ``audio`` or ``chat``."""
    if counters.get("video_frames", 0) >= VIDEO_MIN_FRAMES:
        return Mode.VIDEO
    if counters.get("audio_packets", 0) >= AUDIO_MIN_PACKETS:
        return Mode.AUDIO
    return Mode.CHAT


def derive_mode(
    doctor_user_id: Any, patient_side_ids: set[Any], observations: Iterable[MediaObservation]
) -> str:
    """The observed mode from both ends' reports (pure: no database)."""
    received: dict[tuple[Any, Any], MediaObservation] = {
        (o.reporter_id, o.source_id): o for o in observations
    }
    best = Mode.CHAT
    for other in patient_side_ids:
        there = received.get((doctor_user_id, other))
        back = received.get((other, doctor_user_id))
        if there is None or back is None:
            continue
        both = (
            Mode.VIDEO
            if min(there.video_frames, back.video_frames) >= VIDEO_MIN_FRAMES
            else Mode.AUDIO
            if min(there.audio_packets, back.audio_packets) >= AUDIO_MIN_PACKETS
            else Mode.CHAT
        )
        if RANK[both] > RANK[best]:
            best = both
    return best


def clean_counters(raw: Mapping[str, Any]) -> dict[str, int]:
    """The four counters as non-negative integers within ``MAX_COUNTER``."""
    counters: dict[str, int] = {}
    for name in COUNTERS:
        value = raw.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNTER:
            raise ValidationError(
                _("%(name)s must be a whole number from 0 to %(max)d.")
                % {"name": name, "max": MAX_COUNTER},
                code="bad_counter",
            )
        counters[name] = value
    return counters


def mode_payload(consultation: Consultation) -> dict[str, Any]:
    """The mode as the room, the doctor's page and the API show it."""
    confirmed_at = consultation.mode_confirmed_at
    return {
        "observed_mode": consultation.observed_mode,
        "mode": consultation.mode,
        "confirmed": confirmed_at is not None,
        "confirmed_at": confirmed_at.isoformat() if confirmed_at else None,
    }


def _publish(consultation: Consultation) -> None:
    event = {
        "type": "consultation.mode",
        "consultation": str(consultation.pk),
        **mode_payload(consultation),
    }
    publish_many_after_commit(
        [
            (consultation_group(consultation.pk), event),
            (doctor_group(consultation.doctor_id), event),
        ]
    )


_locked_for_mode = locked_row(Consultation, "doctor", "patient")


def _locked(consultation: Consultation) -> Consultation:
    """The row locked; compiled once per connection, as each room's media reports read it."""
    return _locked_for_mode.one(pk=consultation.pk)


def record_media_observation(
    user: Any, consultation: Consultation, source_user_id: Any, counters: Mapping[str, Any]
) -> Consultation | None:
    """Store what ``user``'s browser received from ``source_user_id`` (cumulative counters;
    the largest ever reported is kept, so a reconnect that restarts them lowers nothing)
    and re-derive the observed mode. Before the doctor confirms, ``mode`` follows it.
    Returns the consultation, or None when the report does not decide the mode (not
    between the doctor and the patient's side, or the consultation has ended)."""
    cleaned = clean_counters(counters)
    doctor_user_id = consultation.doctor.user_id
    others = patient_side(consultation)
    me = getattr(user, "pk", None)
    pair_ok = (me == doctor_user_id and source_user_id in others) or (
        me in others and source_user_id == doctor_user_id
    )
    if not pair_ok:
        return None
    with transaction.atomic():
        consultation = _locked(consultation)
        if consultation.status == Consultation.Status.ENDED:
            return None
        observation, created = MediaObservation.objects.get_or_create(
            consultation=consultation, reporter_id=me, source_id=source_user_id, defaults=cleaned
        )
        if not created:
            grown = {k: v for k, v in cleaned.items() if v > getattr(observation, k)}
            if not grown:
                return consultation
            for name, value in grown.items():
                setattr(observation, name, value)
            observation.save(update_fields=[*grown, "last_reported_at"])
        observed = derive_mode(
            doctor_user_id, others, MediaObservation.objects.filter(consultation=consultation)
        )
        if observed == consultation.observed_mode:
            return consultation
        before = consultation.observed_mode
        consultation.observed_mode = observed
        fields = ["observed_mode"]
        if consultation.mode_confirmed_at is None:
            consultation.mode = observed
            consultation.had_video = observed == Mode.VIDEO
            fields += ["mode", "had_video"]
        consultation.save(update_fields=fields)
        record_event(
            user,
            "consultation.mode_observed",
            obj=consultation,
            patient_id=consultation.patient_id,
            detail={"from": before, "to": observed},
        )
        _publish(consultation)
    return consultation


def confirm_consultation_mode(
    doctor_user: Any, consultation: Consultation, mode: str
) -> Consultation:
    """The doctor confirms how the consultation was held before signing: the observed mode
    or a lower one (a video call whose picture was useless may be confirmed as audio),
    never a higher one. Recorded with its time, audited; may be confirmed again (for
    example after video started) until an hour after the end."""
    if mode not in RANK:
        raise ValidationError(
            {"mode": _("Choose the mode: video, audio or chat.")}, code="bad_mode"
        )
    if consultation.doctor.user_id != getattr(doctor_user, "pk", None):
        raise PermissionDenied(_("Only the doctor of this consultation can do this."))
    now = timezone.now()
    with transaction.atomic():
        consultation = _locked(consultation)
        if consultation.status == Consultation.Status.ENDED and (
            consultation.ended_at is None or now - consultation.ended_at > CONFIRMATION_WINDOW
        ):
            raise ValidationError(
                _("This consultation ended more than an hour ago; its mode can no longer change."),
                code="ended",
            )
        observed = consultation.observed_mode
        if RANK[mode] > RANK[observed]:
            raise ValidationError(
                {
                    "mode": _(
                        "The room observed %(observed)s, so you cannot confirm %(mode)s. "
                        "Video counts only when both of you received each other's picture; "
                        "audio only when both heard each other. Keep the call going until "
                        "it shows, or confirm %(observed)s."
                    )
                    % {
                        "observed": Mode(observed).label.lower(),
                        "mode": Mode(mode).label.lower(),
                    }
                },
                code="not_observed",
            )
        consultation.mode = mode
        consultation.had_video = mode == Mode.VIDEO
        consultation.mode_confirmed_at = now
        consultation.save(update_fields=["mode", "had_video", "mode_confirmed_at"])
        record_event(
            doctor_user,
            "consultation.mode_confirmed",
            obj=consultation,
            patient_id=consultation.patient_id,
            detail={"mode": mode, "observed": observed},
        )
        _publish(consultation)
    return consultation


def observations_of(consultation: Consultation) -> list[dict[str, Any]]:
    """Each stored report, for the doctor's page and the API."""
    return [
        {
            "reporter": str(o.reporter_id),
            "source": str(o.source_id),
            "level": level_of({k: getattr(o, k) for k in COUNTERS}),
            **{k: getattr(o, k) for k in COUNTERS},
            "last_reported_at": o.last_reported_at.isoformat(),
        }
        for o in MediaObservation.objects.filter(consultation=consultation).order_by("id")
    ]
