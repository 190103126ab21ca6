"""The queue's state machine: taking a token, doctors going online, claiming the next
ticket, the 120-second call window, missed calls, returning to the head, completing.

It knows tickets and doctors' presence only. Opening a consultation for a claimed ticket,
and ending it when the call is abandoned, belong to ``sanjeevani.consultations.services``,
which calls the in-transaction steps here (``claim_next_ticket``, ``start_service``,
``return_to_head``, ``complete_ticket``, ``mark_missed``) and listens to ``signals``.

Every public service here is one transaction, takes the acting user, checks permission,
writes an audit row and publishes its events after commit; the in-transaction steps say so
and leave the audit row to their caller where it names the consultation. Refusals raise
``QueueError`` (see ``errors.py``); acting on someone else's data is ``PermissionDenied``.

The "doctor is busy" rule is the doctor's presence: BUSY from a claim until the
consultation layer frees the doctor (ended, dropped, on hold, call abandoned).

Events (``sanjeevani.live.groups`` names the groups)

``queue.advanced`` to ``opd.<opd>.queue``, once per change of the waiting line::

    {"type": "queue.advanced", "opd": "<uuid>",
     "change": "joined" | "left" | "claimed" | "returned" | "doctors",
     "ticket": {"priority": 10, "queued_at": "<iso>"} | null,
     "doctors_online": 3, "doctors_busy": 2,
     "mean_consultation_seconds": 360, "at": "<iso>"}

  ``ticket`` is the place that entered (joined, returned) or left (left, claimed) the
  line. A waiting client keeps its own ``queue_key`` (from the status API) and works out
  its position without asking the server: when ``ticket`` sorts before its own key by
  (priority, queued_at), a joined/returned place adds one to its position and a
  left/claimed place takes one off. Expected wait = position × mean ÷ doctors_online.
  A doctor's queue keeps its count the same way (+1 joined/returned, -1 left/claimed).
  Doctor figures may lag a few seconds behind busy/available flips.
  A client that missed events re-reads ``GET /api/v1/opd/tickets/<uuid>/``. ``at`` is
  stamped after commit; the status carries ``as_of``, taken before it counted the
  position, and the client skips events stamped before it (their change is already
  counted: an event can reach a client after the status it raced).

``ticket.called`` to ``ticket.<ticket>``: ``{"ticket", "consultation", "call_expires_at"}``
— the page rings and shows "Join now" until ``call_expires_at`` (sent by the consultation
services, which know the consultation).
``ticket.missed`` to ``ticket.<ticket>``: ``{"ticket", "can_rejoin"}``.
``ticket.returned`` to ``ticket.<ticket>``: ``{"ticket", "reason": "dropped" | "rejoined"}``.
``presence.changed`` to ``doctor.<doctor>``: ``{"doctor", "status", "opd", "auto_assign"}``.
``consultation.assigned`` to ``doctor.<doctor>``: ``{"consultation", "ticket", "token_number"}``
(sent by the consultation services).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from sanjeevani.accounts.models import Role
from sanjeevani.accounts.sms import SMSKind, send_sms
from sanjeevani.audit.services import actor_fields, record_event
from sanjeevani.live.groups import doctor_group, opd_queue_group, ticket_group
from sanjeevani.live.publisher import publish_now
from sanjeevani.patients.models import Patient
from sanjeevani.registry.models import DoctorProfile, OnlineOPD

from . import selectors, signals
from .errors import QueueError
from .models import LIVE_STATUSES, DoctorPresence, Ticket

CALL_WINDOW = dt.timedelta(seconds=getattr(settings, "QUEUE_CALL_WINDOW_SECONDS", 120))

Status = Ticket.Status
Presence = DoctorPresence.Status
#: Presence states from which a doctor may call a patient (calling ends a break).
CAN_CLAIM = (Presence.AVAILABLE, Presence.ON_BREAK)


@dataclass(frozen=True)
class DoctorFigures:
    """Doctors online (available or busy) and busy on one OPD, as a change left them."""

    online: int
    busy: int


@dataclass(frozen=True)
class Claim:
    """A ticket just claimed, and the OPD's doctor figures the claim counted (None where
    the claim could not count them in its own statement)."""

    ticket: Ticket
    doctors: DoctorFigures | None


# --- who is acting ----------------------------------------------------------------


def doctor_of(user: Any) -> DoctorProfile:
    """The doctor profile of a signed-in doctor; anyone else is refused."""
    if getattr(user, "role", None) != Role.DOCTOR:
        raise PermissionDenied(_("Only a doctor can do this."))
    try:
        return user.doctor_profile
    except DoctorProfile.DoesNotExist:
        raise PermissionDenied(
            _("Your doctor profile is missing; ask your administrator.")
        ) from None


def check_family(actor: Any, patient: Patient) -> None:
    """Only the account holder of a family acts for its profiles."""
    if not getattr(actor, "is_authenticated", False) or patient.account_id != actor.pk:
        raise PermissionDenied(_("You can act only for the profiles of your own family."))


def _local(when: dt.datetime) -> str:
    return date_format(timezone.localtime(when), "l j F Y, H:i")


# --- events and messages after commit ----------------------------------------------


def queue_advanced_event(
    opd: OnlineOPD | Any,
    change: str,
    ticket: Ticket | None,
    busy_delta: int = 0,
    doctors: DoctorFigures | None = None,
) -> dict:
    """The ``queue.advanced`` event. Built once per change, never once per client. The
    doctor figures are ``doctors`` when the change counted them (a PostgreSQL claim
    does), else from a cache a few seconds old (fresh on presence changes), so no change
    pays a query for them. ``opd`` may be the OPD or its id."""
    opd_id = getattr(opd, "pk", opd)
    if doctors is not None:
        counts = {"online": doctors.online, "busy": doctors.busy}
    else:
        counts = selectors.recent_presence_counts(
            opd_id, fresh=change == "doctors", busy_delta=busy_delta
        )
    return {
        "type": "queue.advanced",
        "opd": str(opd_id),
        "change": change,
        "ticket": selectors.queue_key(ticket) if ticket is not None else None,
        "doctors_online": counts["online"],
        "doctors_busy": counts["busy"],
        "mean_consultation_seconds": selectors.mean_consultation_seconds(opd),
        "at": timezone.now().isoformat(),
    }


def publish_queue_events(
    opd: OnlineOPD | Any | None,
    change: str | None,
    ticket: Ticket | None = None,
    others: list[tuple[str, dict]] | None = None,
    busy_delta: int = 0,
    doctors: DoctorFigures | None = None,
) -> None:
    """After commit: the OPD's ``queue.advanced`` (``opd`` may be an id) and any personal
    events, in one hand-over to the channel layer."""
    messages = list(others or [])

    def send() -> None:
        batch = list(messages)
        if opd is not None and change is not None:
            event = queue_advanced_event(opd, change, ticket, busy_delta, doctors)
            batch.insert(0, (opd_queue_group(getattr(opd, "pk", opd)), event))
        publish_now(batch)

    transaction.on_commit(send)


def message_language(code: str | None) -> str:
    """The language to write to a person whose profile asks for ``code``: that language
    when the project has a translation catalogue for it, else English. Overriding to a
    language with no catalogue would give English sentences with dates and numbers in
    that language's script."""
    code = (code or "").split("-")[0].lower()
    if code and code != settings.LANGUAGE_CODE and code in dict(settings.LANGUAGES):
        for path in settings.LOCALE_PATHS:
            if (Path(path) / code / "LC_MESSAGES" / "django.mo").exists():
                return code
    return settings.LANGUAGE_CODE


def _sms_after_commit(patient: Patient, render) -> None:
    """Render wholly in the patient's language (or English, see ``message_language``) and
    send once the change is committed."""
    mobile = patient.account.mobile if patient.account_id else ""
    if not mobile:
        return
    with translation.override(message_language(patient.preferred_language)):
        body = render()
    transaction.on_commit(lambda: send_sms(mobile, body, kind=SMSKind.NOTIFICATION))


_ACCOUNT_TABLE = Patient._meta.get_field("account").related_model._meta.db_table

_NEAR_TURN_SQL = """
UPDATE {ticket} t SET near_turn_notified = true
FROM {patient} p LEFT JOIN {user} a ON a.id = p.account_id, {opd} o
WHERE t.id IN (
    SELECT f.id FROM {ticket} f
    WHERE f.id IN (
        SELECT id FROM (
            SELECT id, near_turn_notified FROM {ticket}
            WHERE opd_id = %s AND status = 'waiting' ORDER BY priority, queued_at LIMIT %s
        ) front
        WHERE NOT front.near_turn_notified)
    FOR UPDATE SKIP LOCKED)
  AND NOT t.near_turn_notified AND t.status = 'waiting'
  AND p.id = t.patient_id AND o.id = t.opd_id
RETURNING t.token_number, a.mobile, p.preferred_language, o.name
"""


def _near_limit() -> int:
    return int(getattr(settings, "QUEUE_NEAR_TURN_POSITION", 3))


class _NearTurnPace:
    """How often claims in this process mark an OPD's near-turn tokens: at most once per
    ``QUEUE_NEAR_TURN_SWEEP_SECONDS``. Concurrent claims would otherwise all lock and mark
    the same few rows at the front, which cost more than the claim itself
    (bench/queue_claim.py). A claim that skips it leaves the marking to the next claim after
    the interval, to joins and cancellations (which always mark) and to the housekeeping
    loop (``catch_up_near_turn``); a quiet OPD is marked at every claim."""

    def __init__(self) -> None:
        self.swept: dict[Any, float] = {}
        #: The OPD each doctor last claimed from, for claims that name no OPD.
        self.last_opd: dict[Any, Any] = {}

    def due(self, opd_id: Any) -> bool:
        interval = float(getattr(settings, "QUEUE_NEAR_TURN_SWEEP_SECONDS", 1.0))
        now = time.monotonic()
        last = self.swept.get(opd_id)
        if interval > 0 and last is not None and now - last < interval:
            return False
        self.swept[opd_id] = now
        return True

    def record(self, opd_id: Any) -> None:
        """A claim just marked this OPD's near-turn tokens."""
        self.swept[opd_id] = time.monotonic()


_near_turn_pace = _NearTurnPace()


def _near_turn_due(opd_id: Any, limit: int) -> list:
    """Mark the tokens that have just come near the front; (token, mobile, language, OPD
    name) for each. PostgreSQL: one statement, which skips rows another transaction
    holds (they are being claimed, or another check is notifying them) instead of waiting
    for them, so concurrent checks cannot deadlock."""
    if connection.vendor == "postgresql":
        sql = _NEAR_TURN_SQL.format(
            ticket=Ticket._meta.db_table,
            patient=Patient._meta.db_table,
            user=_ACCOUNT_TABLE,
            opd=OnlineOPD._meta.db_table,
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [opd_id, limit])
            return cursor.fetchall()
    front = (
        Ticket.objects.filter(opd_id=opd_id, status=Status.WAITING)
        .order_by("priority", "queued_at")
        .values_list(
            "pk",
            "near_turn_notified",
            "token_number",
            "patient__account__mobile",
            "patient__preferred_language",
            "opd__name",
        )[:limit]
    )
    due = [row for row in front if not row[1]]
    Ticket.objects.filter(pk__in=[row[0] for row in due]).update(near_turn_notified=True)
    return [row[2:] for row in due]


def _sms_near_turn_after_commit(due) -> None:
    """Once per token, an SMS when only a few are ahead, in the patient's language."""
    messages = []
    for token, mobile, language, opd_name in due:
        if not mobile:
            continue
        with translation.override(message_language(language)):
            body = _(
                "Sanjeevani: your turn at %(opd)s is near (token %(token)s). Open the app now "
                "and keep it open; when the doctor calls you have 2 minutes to join."
            ) % {"opd": opd_name, "token": token}
        messages.append((mobile, body))
    if messages:
        transaction.on_commit(
            lambda: [send_sms(to, text, kind=SMSKind.NOTIFICATION) for to, text in messages]
        )


def notify_near_turn(opd: OnlineOPD | Any) -> int:
    """In the caller's transaction: mark the tokens that have just come near the front of
    the line and text them after commit; returns how many. (A PostgreSQL claim does this
    inside its own statement, when ``_NearTurnPace`` says it is due.)"""
    limit = _near_limit()
    if limit <= 0:
        return 0
    due = _near_turn_due(getattr(opd, "pk", opd), limit)
    _sms_near_turn_after_commit(due)
    return len(due)


def catch_up_near_turn() -> int:
    """For the housekeeping loop: mark and text the tokens near the front of every OPD
    with a line today, which claims may have left to a later claim (``_NearTurnPace``).
    One transaction per OPD; returns how many were told."""
    opd_ids = (
        Ticket.objects.filter(
            status=Status.WAITING, opd__isnull=False, service_date=timezone.localdate()
        )
        .values_list("opd_id", flat=True)
        .distinct()
    )
    told = 0
    for opd_id in list(opd_ids):
        with transaction.atomic():
            told += notify_near_turn(opd_id)
    return told


# --- taking and leaving a token -------------------------------------------------------


def join_queue(
    actor: Any,
    patient: Patient,
    opd: OnlineOPD,
    complaint: str = "",
    preferred_doctor: DoctorProfile | None = None,
    follow_up_of: Any = None,
) -> Ticket:
    """Give ``patient`` the next token of ``opd`` for today (IST).

    ``follow_up_of`` is the completed consultation a follow-up token continues; the queue
    only carries it for the consultation layer.

    Refused when the OPD is inactive, closed now (the message says when it next opens),
    full for the day, or when the patient already holds a live token. Token numbers are
    allocated under a lock on the OPD row, so concurrent joins never share a number. The
    token and patient ID go out by SMS after commit. Doctors with auto-assign are offered
    the token in the same transaction (``signals.assignment_possible``). A token that is
    already among the first ``QUEUE_NEAR_TURN_POSITION`` places gets the "your turn is
    near" SMS at once, since no later move of the line would send it.
    """
    check_family(actor, patient)
    complaint = (complaint or "").strip()[:500]
    now = timezone.now()
    with transaction.atomic():
        opd = OnlineOPD.objects.select_for_update().get(pk=opd.pk)
        if not opd.active:
            raise QueueError("opd_inactive", _("This OPD is not taking patients at present."))
        if not opd.is_open_at(now):
            upcoming = opd.next_opening(now)
            if upcoming:
                message = _("%(opd)s is closed now. It next opens on %(when)s (IST).") % {
                    "opd": opd.name,
                    "when": _local(upcoming),
                }
            else:
                message = _("%(opd)s is closed now and has no opening hours this week.") % {
                    "opd": opd.name
                }
            raise QueueError(
                "opd_closed",
                message,
                next_opening=upcoming.isoformat() if upcoming else None,
            )
        if preferred_doctor is not None and not opd.doctors.filter(pk=preferred_doctor.pk).exists():
            raise QueueError(
                "doctor_not_on_opd",
                _("%(doctor)s does not serve %(opd)s now; take a token to see any doctor there.")
                % {"doctor": preferred_doctor, "opd": opd.name},
            )
        _refuse_second_live_ticket(patient)
        service_date = timezone.localdate(now)
        today = Ticket.objects.filter(opd=opd, service_date=service_date)
        if today.exclude(status=Status.CANCELLED).count() >= opd.daily_capacity:
            raise QueueError(
                "opd_full",
                _(
                    "All %(n)s tokens of %(opd)s for today are taken. Please try again "
                    "tomorrow, or choose another OPD."
                )
                % {"n": opd.daily_capacity, "opd": opd.name},
            )
        number = (today.aggregate(m=Max("token_number"))["m"] or 0) + 1
        try:
            with transaction.atomic():
                ticket = Ticket.objects.create(
                    patient=patient,
                    opd=opd,
                    specialty=opd.specialty,
                    service_date=service_date,
                    token_number=number,
                    priority=Ticket.Priority.FOLLOW_UP
                    if preferred_doctor
                    else Ticket.Priority.NORMAL,
                    queued_at=now,
                    complaint=complaint,
                    language=patient.preferred_language,
                    preferred_doctor=preferred_doctor,
                    follow_up_of=follow_up_of,
                    created_by=actor,
                )
        except IntegrityError:
            _refuse_second_live_ticket(patient)
            raise
        record_event(
            actor,
            "ticket.create",
            obj=ticket,
            patient_id=patient.pk,
            detail={"opd": str(opd.pk), "token": number, "follow_up": bool(preferred_doctor)},
        )
        _sms_after_commit(
            patient,
            lambda: (
                _(
                    "Sanjeevani: token %(token)s for %(opd)s on %(date)s. Patient ID %(pid)s. "
                    "We will send an SMS when your turn is near."
                )
                % {
                    "token": number,
                    "opd": opd.name,
                    "date": date_format(service_date, "j M Y"),
                    "pid": patient.patient_number,
                }
            ),
        )
        publish_queue_events(opd, "joined", ticket)
        signals.assignment_possible.send(sender=Ticket, opd=opd, doctor=None, actor=actor, now=now)
        notify_near_turn(opd)
    ticket.refresh_from_db()
    return ticket


def _refuse_second_live_ticket(patient: Patient) -> None:
    live = Ticket.objects.filter(patient=patient, status__in=LIVE_STATUSES).select_related("opd")
    held = live.first()
    if held is not None:
        raise QueueError(
            "already_in_queue",
            _(
                "%(name)s already holds token %(token)s at %(place)s. Wait for that "
                "consultation, or cancel that token before taking another."
            )
            % {
                "name": patient.name,
                "token": held.token_number,
                "place": held.opd.name if held.opd else _("a hub"),
            },
            ticket=str(held.pk),
        )


def cancel_ticket(actor: Any, ticket: Ticket) -> Ticket:
    """The patient gives up the token (waiting, called or missed); a consultation that has
    started cannot be cancelled from the queue. A call in progress is abandoned
    (``signals.call_abandoned``)."""
    check_family(actor, ticket.patient)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.status == Status.CANCELLED:
            return ticket
        if ticket.status not in (Status.WAITING, Status.CALLED, Status.MISSED):
            raise QueueError(
                "cannot_cancel",
                _("This token is %(status)s and can no longer be cancelled.")
                % {"status": ticket.get_status_display().lower()},
            )
        was = ticket.status
        ticket.status = Status.CANCELLED
        ticket.save(update_fields=["status", "updated_at"])
        now = timezone.now()
        if was == Status.CALLED:
            signals.call_abandoned.send(sender=Ticket, ticket=ticket, reason="cancelled", now=now)
        record_event(actor, "ticket.cancel", obj=ticket, patient_id=ticket.patient_id)
        if was == Status.WAITING:
            notify_near_turn(ticket.opd_id)
            publish_queue_events(ticket.opd, "left", ticket)
        else:
            publish_queue_events(ticket.opd, "doctors")
    return ticket


# --- doctors' presence -----------------------------------------------------------------


def _presence_for_update(doctor: DoctorProfile) -> DoctorPresence:
    DoctorPresence.objects.get_or_create(doctor=doctor)
    return (
        DoctorPresence.objects.select_for_update(of=("self",))
        .select_related("opd")
        .get(doctor=doctor)
    )


def _presence_event(presence: DoctorPresence) -> tuple[str, dict]:
    return (
        doctor_group(presence.doctor_id),
        {
            "type": "presence.changed",
            "doctor": str(presence.doctor_id),
            "status": presence.status,
            "opd": str(presence.opd_id) if presence.opd_id else None,
            "auto_assign": presence.auto_assign,
        },
    )


def go_online(doctor_user: Any, opd: OnlineOPD, auto_assign: bool = False) -> DoctorPresence:
    """Start serving ``opd`` (the doctor must be one of its doctors). With ``auto_assign``
    the next waiting patient is called for the doctor whenever they are free
    (``signals.assignment_possible``). A doctor in a call or consultation stays busy and
    cannot move to another OPD."""
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
        if busy and previous_opd and previous_opd.pk != opd.pk:
            raise QueueError(
                "consultation_open",
                _("Finish your open consultation at %(opd)s before moving to another OPD.")
                % {"opd": previous_opd.name},
            )
        presence.opd = opd
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
        publish_queue_events(opd, "doctors", None, [_presence_event(presence)])
        if previous_opd and previous_opd.pk != opd.pk:
            publish_queue_events(previous_opd, "doctors")
        if presence.status == Presence.AVAILABLE and presence.auto_assign:
            signals.assignment_possible.send(
                sender=DoctorPresence, opd=opd, doctor=doctor, actor=doctor_user, now=now
            )
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
        publish_queue_events(presence.opd, "doctors", None, [_presence_event(presence)])
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
    publish_queue_events(presence.opd, "doctors", None, [_presence_event(presence)])
    return presence


def mark_doctor_busy(doctor: DoctorProfile, now: dt.datetime) -> None:
    """In the caller's transaction: an online doctor is in a consultation again (a held
    one resumed). A doctor who went offline or on a break stays so."""
    changed = DoctorPresence.objects.filter(doctor=doctor, status=Presence.AVAILABLE).update(
        status=Presence.BUSY, last_seen=now, since=now
    )
    if changed:
        presence = DoctorPresence.objects.select_related("opd").get(doctor=doctor)
        publish_queue_events(presence.opd, "doctors", None, [_presence_event(presence)])


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
    if presence is None or presence.status == Presence.OFFLINE or presence.opd_id is None:
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


# --- claiming ----------------------------------------------------------------------------

#: Ticket columns in field order, as the claim statement returns them.
_TICKET_COLUMNS = [f.column for f in Ticket._meta.concrete_fields]
_TICKET_ATTNAMES = [f.attname for f in Ticket._meta.concrete_fields]

#: The claim on PostgreSQL: one call of the function of migrations 0005, 0006 and 0010.
_CLAIM_CALL = """
SELECT {columns}, c.near_turn, c.doctors_online, c.doctors_busy
FROM queueing_claim_next_ticket(%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb) c
""".format(columns=", ".join(f"(c.ticket).{column}" for column in _TICKET_COLUMNS))


def claim_next_ticket(
    doctor: DoctorProfile,
    opd: OnlineOPD | None,
    actor: Any,
    now: dt.datetime,
    detail: dict | None = None,
) -> Claim | None:
    """In the caller's transaction: take the first waiting ticket this doctor may take
    (of ``opd``, or of the OPD they are online for), mark it CALLED and the doctor BUSY,
    write the ``ticket.claim`` audit row (with ``detail``, e.g. the consultation the
    caller opens for it) and publish the OPD's ``queue.advanced`` after commit. None when
    the doctor is not free to call there (``claim_refusal`` says why) or nobody waits.
    The caller opens the consultation and sends the personal events in the same
    transaction (``consultations.services.call_next_patient``).

    PostgreSQL: one prepared call of ``queueing_claim_next_ticket`` (migrations 0005,
    0006, 0010), which marks the doctor busy (the update locks their presence row, so one
    doctor's two clicks never claim two tickets), takes the ticket with ``FOR UPDATE SKIP
    LOCKED`` (concurrent doctors skip the rows others hold instead of waiting for them),
    writes the audit row through ``audit_record_event``, marks the tokens now near the
    front when ``_NearTurnPace`` says it is due, counts the OPD's doctors for the queue
    event and returns the ticket. SQLite: the IMMEDIATE transaction holds the write lock,
    which serialises claims. A follow-up that prefers another doctor waits for them while
    they are online there.
    """
    actor = actor or doctor.user
    if connection.vendor == "postgresql":
        claim = _claim_in_function(doctor, opd, now, actor, detail or {})
    else:
        claim = _claim_with_orm(doctor, opd, now)
        if claim is not None:
            record_event(
                actor,
                "ticket.claim",
                obj=claim.ticket,
                patient_id=claim.ticket.patient_id,
                detail={"opd": str(claim.ticket.opd_id), **(detail or {})},
            )
    if claim is None:
        return None
    ticket = claim.ticket
    publish_queue_events(ticket.opd_id, "claimed", ticket, busy_delta=1, doctors=claim.doctors)
    return claim


def _claim_in_function(
    doctor: DoctorProfile, opd: OnlineOPD | None, now: dt.datetime, actor: Any, detail: dict
) -> Claim | None:
    """One round trip: the claim, its audit row and, when due, the near-turn marks."""
    actor_id, actor_label, actor_role = actor_fields(actor)
    opd_id = getattr(opd, "pk", None)
    expected = opd_id or _near_turn_pace.last_opd.get(doctor.pk)
    near = _near_limit() if expected is None or _near_turn_pace.due(expected) else 0
    params = [
        doctor.pk, opd_id, now, now + CALL_WINDOW, near,
        actor_id, actor_label, actor_role, json.dumps(detail, cls=DjangoJSONEncoder),
    ]  # fmt: skip
    row = _run_prepared(_CLAIM_CALL, params)
    if row is None:
        return None
    *columns, near_turn, online, busy = row
    ticket = Ticket.from_db(connection.alias, _TICKET_ATTNAMES, columns)
    _near_turn_pace.last_opd[doctor.pk] = ticket.opd_id
    if near:
        _near_turn_pace.record(ticket.opd_id)
        _sms_near_turn_after_commit(near_turn or [])
    elif expected != ticket.opd_id and _near_turn_pace.due(ticket.opd_id):
        notify_near_turn(ticket.opd_id)
    return Claim(ticket, DoctorFigures(online=online, busy=busy))


def _run_prepared(sql: str, params: list) -> tuple | None:
    """Run ``sql`` as a prepared statement with server-side parameters and return its first
    row. Django's PostgreSQL cursors bind parameters on the client, so PostgreSQL parses and
    plans every call anew; the claim runs often enough for that to show
    (bench/queue_claim.py). psycopg prepares it per connection on first use. Behind
    PgBouncer in transaction mode this needs PgBouncer 1.21+ (``max_prepared_statements``).
    Not seen by Django's query logging."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchone()


def _claim_with_orm(doctor: DoctorProfile, opd: OnlineOPD | None, now: dt.datetime) -> Claim | None:
    """SQLite: the IMMEDIATE transaction already holds the write lock."""
    expires = now + CALL_WINDOW
    presence = DoctorPresence.objects.select_for_update().filter(
        doctor=doctor, status__in=CAN_CLAIM, opd__isnull=False
    )
    if opd is not None:
        presence = presence.filter(opd=opd)
    presence = presence.first()
    if presence is None:
        return None
    holds_follow_up = DoctorPresence.objects.filter(
        doctor=OuterRef("preferred_doctor"),
        opd_id=presence.opd_id,
        status__in=selectors.ONLINE_STATUSES,
    )
    ticket = (
        Ticket.objects.filter(opd_id=presence.opd_id, status=Status.WAITING)
        .filter(
            Q(preferred_doctor__isnull=True) | Q(preferred_doctor=doctor) | ~Exists(holds_follow_up)
        )
        .order_by("priority", "queued_at")
        .select_for_update(skip_locked=True)
        .first()
    )
    if ticket is None:
        return None
    ticket.status = Status.CALLED
    ticket.claimed_by = doctor
    ticket.called_at = now
    ticket.call_expires_at = expires
    ticket.save(
        update_fields=["status", "claimed_by", "called_at", "call_expires_at", "updated_at"]
    )
    presence.status = Presence.BUSY
    presence.last_seen = now
    presence.save(update_fields=["status", "last_seen", "since"])
    if _near_turn_pace.due(ticket.opd_id):
        notify_near_turn(ticket.opd_id)
    return Claim(ticket, None)


# --- the call window, missed calls, the head of the line, the end -------------------------


def lock_ticket(ticket_id: Any) -> Ticket:
    """In the caller's transaction: the ticket row, locked, with its OPD."""
    return Ticket.objects.select_for_update(of=("self",)).select_related("opd").get(pk=ticket_id)


def mark_missed(ticket: Ticket, now: dt.datetime, actor: Any = None) -> Ticket:
    """In the caller's transaction, with the ticket row locked: the patient did not join
    in time (or the doctor says so): MISSED, one more miss, SMS and ``ticket.missed``."""
    ticket.status = Status.MISSED
    ticket.missed_count += 1
    ticket.save(update_fields=["status", "missed_count", "updated_at"])
    record_event(
        actor,
        "ticket.missed",
        obj=ticket,
        patient_id=ticket.patient_id,
        detail={"missed_count": ticket.missed_count},
    )
    can_rejoin = ticket.missed_count == 1
    _sms_after_commit(
        ticket.patient,
        lambda: (
            (
                _(
                    "Sanjeevani: you missed the doctor's call for token %(token)s. Open the app to "
                    "rejoin the queue at its head (once)."
                )
                if can_rejoin
                else _("Sanjeevani: you missed the doctor's call twice; token %(token)s is closed.")
            )
            % {"token": ticket.token_number}
        ),
    )
    publish_queue_events(
        ticket.opd,
        "doctors",
        None,
        [
            (
                ticket_group(ticket.pk),
                {"type": "ticket.missed", "ticket": str(ticket.pk), "can_rejoin": can_rejoin},
            )
        ],
    )
    return ticket


def expire_unanswered_calls(now: dt.datetime | None = None, opd: OnlineOPD | None = None) -> int:
    """Mark calls not answered within 120 s as MISSED; the call is abandoned
    (``signals.call_abandoned``: the consultation layer ends it as a no-show and frees the
    doctor). Cheap when nothing has expired (one indexed EXISTS). Run on each
    waiting-room status read, when a busy doctor calls, and by
    ``manage.py queue_housekeeping``."""
    now = now or timezone.now()
    overdue = Ticket.objects.filter(status=Status.CALLED, call_expires_at__lt=now)
    if opd is not None:
        overdue = overdue.filter(opd=opd)
    if not overdue.exists():
        return 0
    with transaction.atomic():
        tickets = list(
            overdue.select_for_update(skip_locked=True, of=("self",)).select_related(
                "opd", "patient__account"
            )
        )
        for ticket in tickets:
            mark_missed(ticket, now)
            signals.call_abandoned.send(sender=Ticket, ticket=ticket, reason="missed", now=now)
    return len(tickets)


def expire_stale_tickets(now: dt.datetime | None = None) -> int:
    """Tokens still waiting from an earlier day expire (the OPD closed on them)."""
    today = timezone.localdate(now or timezone.now())
    with transaction.atomic():
        stale = Ticket.objects.filter(
            status__in=(Status.WAITING, Status.MISSED), service_date__lt=today
        )
        count = stale.update(status=Status.EXPIRED, updated_at=timezone.now())
        if count:
            record_event(None, "ticket.expire_stale", detail={"count": count})
    return count


def start_service(ticket: Ticket, now: dt.datetime) -> None:
    """In the caller's transaction, ticket locked: the patient joined the call."""
    ticket.status = Status.IN_CONSULTATION
    ticket.service_started_at = now
    ticket.save(update_fields=["status", "service_started_at", "updated_at"])


def complete_ticket(ticket: Ticket, now: dt.datetime) -> None:
    """In the caller's transaction, ticket locked: the patient has been seen. Its service
    time feeds the OPD's mean consultation length."""
    ticket.status = Status.COMPLETED
    ticket.service_ended_at = now
    ticket.save(update_fields=["status", "service_ended_at", "updated_at"])


def return_to_head(ticket: Ticket, reason: str) -> None:
    """In the caller's transaction, ticket locked: back to WAITING at the head of the
    line, keeping its original ``queued_at``; ``reason`` is ``dropped`` or ``rejoined``."""
    ticket.status = Status.WAITING
    ticket.priority = Ticket.Priority.HEAD
    ticket.claimed_by = None
    ticket.called_at = None
    ticket.call_expires_at = None
    ticket.service_started_at = None
    ticket.save(
        update_fields=[
            "status",
            "priority",
            "claimed_by",
            "called_at",
            "call_expires_at",
            "service_started_at",
            "updated_at",
        ]
    )
    publish_queue_events(
        ticket.opd,
        "returned",
        ticket,
        [
            (
                ticket_group(ticket.pk),
                {"type": "ticket.returned", "ticket": str(ticket.pk), "reason": reason},
            )
        ],
    )


def rejoin_after_missed(actor: Any, ticket: Ticket) -> Ticket:
    """Once: a missed token goes back to WAITING at the head of the queue, keeping its
    original queued_at. A second miss is final."""
    check_family(actor, ticket.patient)
    expire_unanswered_calls(opd=ticket.opd)
    with transaction.atomic():
        ticket = lock_ticket(ticket.pk)
        if ticket.status != Status.MISSED:
            raise QueueError("not_missed", _("Only a missed token can rejoin the queue."))
        if ticket.missed_count >= 2:
            raise QueueError(
                "missed_twice",
                _(
                    "You missed the call twice, so this token is closed. Take a new token if "
                    "the OPD is still open."
                ),
            )
        _refuse_second_live_ticket(ticket.patient)
        return_to_head(ticket, "rejoined")
        record_event(actor, "ticket.rejoin", obj=ticket, patient_id=ticket.patient_id)
        signals.assignment_possible.send(
            sender=Ticket, opd=ticket.opd, doctor=None, actor=actor, now=timezone.now()
        )
    ticket.refresh_from_db()
    return ticket
