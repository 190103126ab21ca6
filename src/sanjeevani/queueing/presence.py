"""Doctors' presence: going online for an OPD, a break, offline; busy while in a
consultation and free again when the consultation layer says so.

"The doctor is busy" is the presence: BUSY from a claim until the consultation layer
frees the doctor (ended, dropped, on hold, call abandoned).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sanjeevani.audit.services import record_event
from sanjeevani.registry.models import DoctorProfile, Facility, OnlineOPD, Specialty

from .actors import doctor_of
from .errors import QueueError
from .events import presence_event, publish_queue_events
from .models import DoctorPresence, Queue

Presence = DoctorPresence.Status


def _presence_for_update(doctor: DoctorProfile) -> DoctorPresence:
    DoctorPresence.objects.get_or_create(doctor=doctor)
    return (
        DoctorPresence.objects.select_for_update(of=("self",))
        .select_related("opd")
        .get(doctor=doctor)
    )


def go_online(doctor_user: Any, opd: OnlineOPD, auto_assign: bool = False) -> DoctorPresence:
    """Start serving ``opd`` (the doctor must be one of its doctors). With ``auto_assign``
    the next waiting patient is called for the doctor whenever they are free (by the
    consultation layer: ``consultations.start_serving`` claims at once). A doctor in a
    call or consultation stays busy and cannot move to another OPD."""
    doctor = doctor_of(doctor_user)
    if not opd.active:
        raise QueueError("opd_inactive", _("This OPD is not taking patients at present."))
    if not doctor.opds.filter(pk=opd.pk).exists():
        raise QueueError(
            "not_rostered",
            _("You are not rostered on %(opd)s; ask your state administrator to add you.")
            % {"opd": opd.name},
            status=403,
        )
    now = timezone.now()
    with transaction.atomic():
        presence = _presence_for_update(doctor)
        busy = presence.status == Presence.BUSY
        previous_opd = presence.opd if presence.status != Presence.OFFLINE else None
        previous_queue_id = presence.queue_id if previous_opd else None
        if busy and previous_opd and previous_opd.pk != opd.pk:
            raise QueueError(
                "consultation_open",
                _("Finish your open consultation at %(opd)s before moving to another OPD.")
                % {"opd": previous_opd.name},
            )
        presence.opd = opd
        presence.queue = Queue.objects.for_opd(opd)
        presence.hub = None
        presence.status = Presence.BUSY if busy else Presence.AVAILABLE
        presence.auto_assign = bool(auto_assign)
        presence.last_seen = now
        presence.save()
        record_event(
            doctor_user,
            "presence.online",
            obj=presence,
            detail={"opd": str(opd.pk), "auto_assign": presence.auto_assign},
        )
        publish_queue_events(presence.queue_id, "doctors", None, [presence_event(presence)])
        if previous_queue_id and previous_queue_id != presence.queue_id:
            publish_queue_events(previous_queue_id, "doctors")
    presence.refresh_from_db()
    return presence


def go_online_at_hub(doctor_user: Any, hub: Facility, specialty: Specialty) -> DoctorPresence:
    """Start serving ``hub``'s cases of ``specialty``: the doctor must be posted at the
    hub (``DoctorProfile.hubs``) and hold the specialty. They then call from the hub's
    queue for that specialty and the state's overflow for it (``hwc.routing``)."""
    doctor = doctor_of(doctor_user)
    if not hub.active or not hub.is_hub:
        raise QueueError("hub_inactive", _("%(hub)s is not taking cases.") % {"hub": hub.name})
    if not doctor.hubs.filter(pk=hub.pk).exists():
        raise QueueError(
            "not_rostered",
            _("You are not posted at %(hub)s; ask your state administrator to add you.")
            % {"hub": hub.name},
            status=403,
        )
    if not doctor.specialties.filter(pk=specialty.pk).exists():
        raise QueueError(
            "not_your_specialty",
            _("%(specialty)s is not among your specialties.") % {"specialty": specialty.name},
            status=403,
        )
    now = timezone.now()
    with transaction.atomic():
        presence = _presence_for_update(doctor)
        busy = presence.status == Presence.BUSY
        previous_queue_id = presence.queue_id if presence.status != Presence.OFFLINE else None
        queue = Queue.objects.for_hub(hub, specialty)
        if busy and previous_queue_id and previous_queue_id != queue.pk:
            raise QueueError(
                "consultation_open",
                _("Finish your open consultation before moving to another queue."),
            )
        presence.opd = None
        presence.hub = hub
        presence.queue = queue
        presence.status = Presence.BUSY if busy else Presence.AVAILABLE
        presence.auto_assign = False
        presence.last_seen = now
        presence.save()
        record_event(
            doctor_user,
            "presence.online",
            obj=presence,
            detail={"hub": str(hub.pk), "specialty": specialty.code, "queue": str(queue.pk)},
        )
        publish_queue_events(queue.pk, "doctors", None, [presence_event(presence)])
        if previous_queue_id and previous_queue_id != queue.pk:
            publish_queue_events(previous_queue_id, "doctors")
    presence.refresh_from_db()
    return presence


def _leave(doctor_user: Any, status: str, action: str) -> DoctorPresence:
    doctor = doctor_of(doctor_user)
    with transaction.atomic():
        presence = _presence_for_update(doctor)
        if presence.status == Presence.BUSY:
            raise QueueError(
                "consultation_open",
                _("End your current consultation, or return the patient to the queue, first."),
            )
        presence.status = status
        presence.last_seen = timezone.now()
        presence.save()
        record_event(doctor_user, action, obj=presence)
        publish_queue_events(presence.queue_id, "doctors", None, [presence_event(presence)])
    return presence


def go_offline(doctor_user: Any) -> DoctorPresence:
    """Stop serving. Follow-ups that asked for this doctor go to any doctor from now on."""
    return _leave(doctor_user, Presence.OFFLINE, "presence.offline")


def take_break(doctor_user: Any) -> DoctorPresence:
    """Pause: no calls, not counted in wait estimates; follow-ups keep waiting for you."""
    return _leave(doctor_user, Presence.ON_BREAK, "presence.break")


def mark_doctor_free(doctor: DoctorProfile, now: dt.datetime) -> DoctorPresence | None:
    """In the caller's transaction: a BUSY doctor is available again (the consultation
    layer decides when). Returns the presence when it changed, so that the caller can
    hand an auto-assigning doctor the next patient; None when it was not busy."""
    presence = (
        DoctorPresence.objects.select_for_update(of=("self",))
        .select_related("opd")
        .filter(doctor=doctor)
        .first()
    )
    if presence is None or presence.status != Presence.BUSY:
        return None
    presence.status = Presence.AVAILABLE
    presence.last_seen = now
    presence.save(update_fields=["status", "last_seen", "since"])
    publish_queue_events(presence.queue_id, "doctors", None, [presence_event(presence)])
    return presence


def mark_doctor_busy(doctor: DoctorProfile, now: dt.datetime) -> None:
    """In the caller's transaction: an online doctor is in a consultation again (a held
    one resumed). A doctor who went offline or on a break stays so."""
    changed = DoctorPresence.objects.filter(doctor=doctor, status=Presence.AVAILABLE).update(
        status=Presence.BUSY, last_seen=now, since=now
    )
    if changed:
        presence = DoctorPresence.objects.select_related("opd").get(doctor=doctor)
        publish_queue_events(presence.queue_id, "doctors", None, [presence_event(presence)])


def auto_assign_doctors(opd: OnlineOPD) -> list[DoctorProfile]:
    """In the caller's transaction: the free doctors of ``opd`` who asked to be assigned
    automatically, longest free first, locked (others claiming skip them)."""
    free = (
        DoctorPresence.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(opd=opd, status=Presence.AVAILABLE, auto_assign=True)
        .select_related("doctor__user")
        .order_by("since")
    )
    return [presence.doctor for presence in free]


def claim_refusal(doctor: DoctorProfile, opd: OnlineOPD | None) -> QueueError | None:
    """Why ``claim_next_ticket`` found nothing for this doctor, as the error to raise; None
    when the doctor may call and simply nobody waits."""
    presence = DoctorPresence.objects.filter(doctor=doctor).select_related("opd").first()
    if presence is None or presence.status == Presence.OFFLINE or presence.queue_id is None:
        return QueueError("not_online", _("Go online for an OPD before calling a patient."))
    if opd is not None and presence.opd_id != opd.pk:
        return QueueError(
            "not_online_here",
            _("You are online for another OPD; go online for %(opd)s first.") % {"opd": opd.name},
        )
    if presence.status == Presence.BUSY:
        return QueueError(
            "consultation_open",
            _(
                "Finish your current consultation (or put it on hold) before calling "
                "the next patient."
            ),
        )
    return None
