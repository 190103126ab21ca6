"""The queue's state machine: taking a token, doctors going online, claiming the next
ticket, the 120-second call window, missed and dropped calls.

Every function here is one transaction, takes the acting user, checks permission, writes
an audit row and publishes its events after commit. Refusals raise ``QueueError`` (see
``errors.py``); a user acting on someone else's data gets ``PermissionDenied``.

Events (``sanjeevani.realtime.events`` names the groups)

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
  A client that missed events re-reads ``GET /api/v1/opd/tickets/<uuid>/``.

``ticket.called`` to ``ticket.<ticket>``: ``{"ticket", "consultation", "call_expires_at"}``
— the page rings and shows "Join now" until ``call_expires_at``.
``ticket.missed`` to ``ticket.<ticket>``: ``{"ticket", "can_rejoin"}``.
``ticket.returned`` to ``ticket.<ticket>``: ``{"ticket", "reason": "dropped" | "rejoined"}``.
``presence.changed`` to ``doctor.<doctor>``: ``{"doctor", "status", "opd", "auto_assign"}``.
``consultation.assigned`` to ``doctor.<doctor>``: ``{"consultation", "ticket", "token_number"}``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from sanjeevani.accounts.models import Role
from sanjeevani.accounts.sms import send_sms
from sanjeevani.audit.services import record_event
from sanjeevani.consultations.models import Consultation
from sanjeevani.patients.models import Patient
from sanjeevani.realtime.events import (
    doctor_group,
    opd_queue_group,
    publish_now,
    ticket_group,
)
from sanjeevani.registry.models import DoctorProfile, OnlineOPD

from . import selectors
from .errors import QueueError
from .models import LIVE_STATUSES, DoctorPresence, Ticket

CALL_WINDOW = dt.timedelta(seconds=getattr(settings, "QUEUE_CALL_WINDOW_SECONDS", 120))
#: Consultation states in which the doctor is occupied and cannot call another patient.
ACTIVE_CONSULTATION = (Consultation.Status.CALLING, Consultation.Status.IN_PROGRESS)
OPEN_CONSULTATION = (*ACTIVE_CONSULTATION, Consultation.Status.ON_HOLD)

Status = Ticket.Status
Presence = DoctorPresence.Status


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
    opd: OnlineOPD, change: str, ticket: Ticket | None, busy_delta: int = 0
) -> dict:
    """The ``queue.advanced`` event. Built once per change, never once per client; the
    doctor figures come from a cache a few seconds old (fresh on presence changes), so a
    claim costs no extra query."""
    counts = selectors.recent_presence_counts(
        opd.pk, fresh=change == "doctors", busy_delta=busy_delta
    )
    return {
        "type": "queue.advanced",
        "opd": str(opd.pk),
        "change": change,
        "ticket": selectors.queue_key(ticket) if ticket is not None else None,
        "doctors_online": counts["online"],
        "doctors_busy": counts["busy"],
        "mean_consultation_seconds": selectors.mean_consultation_seconds(opd),
        "at": timezone.now().isoformat(),
    }


def _publish(
    opd: OnlineOPD | None,
    change: str | None,
    ticket: Ticket | None = None,
    others: list[tuple[str, dict]] | None = None,
    busy_delta: int = 0,
) -> None:
    """After commit: the OPD's ``queue.advanced`` and any personal events, in one
    hand-over to the channel layer."""
    messages = list(others or [])

    def send() -> None:
        batch = list(messages)
        if opd is not None and change is not None:
            event = queue_advanced_event(opd, change, ticket, busy_delta)
            batch.insert(0, (opd_queue_group(opd.pk), event))
        publish_now(batch)

    transaction.on_commit(send)


def _sms_after_commit(patient: Patient, render) -> None:
    """Render in the patient's language and send once the change is committed."""
    mobile = patient.account.mobile if patient.account_id else ""
    if not mobile:
        return
    with translation.override(patient.preferred_language or "en"):
        body = render()
    transaction.on_commit(lambda: send_sms(mobile, body))


def _notify_near_turn(opd: OnlineOPD) -> None:
    """Once per token, an SMS when only a few are ahead, sent as the queue moves. One
    small indexed read per change; the update and the SMS only when someone is due."""
    limit = int(getattr(settings, "QUEUE_NEAR_TURN_POSITION", 3))
    if limit <= 0:
        return
    # Rows other doctors are claiming right now are skipped, not waited for: they are
    # leaving the line, and waiting on them would deadlock concurrent claims.
    front = (
        selectors.waiting_tickets(opd)
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("priority", "queued_at")
        .values_list(
            "pk",
            "near_turn_notified",
            "token_number",
            "patient__account__mobile",
            "patient__preferred_language",
        )[:limit]
    )
    due = [row for row in front if not row[1]]
    if not due:
        return
    Ticket.objects.filter(pk__in=[row[0] for row in due]).update(near_turn_notified=True)
    for _pk, _notified, token, mobile, language in due:
        if not mobile:
            continue
        with translation.override(language or "en"):
            body = _(
                "Sanjeevani: your turn at %(opd)s is near (token %(token)s). Open the app now "
                "and keep it open; when the doctor calls you have 2 minutes to join."
            ) % {"opd": opd.name, "token": token}
        transaction.on_commit(lambda to=mobile, text=body: send_sms(to, text))


# --- taking and leaving a token -------------------------------------------------------


def join_queue(
    actor: Any,
    patient: Patient,
    opd: OnlineOPD,
    complaint: str = "",
    preferred_doctor: DoctorProfile | None = None,
) -> Ticket:
    """Give ``patient`` the next token of ``opd`` for today (IST).

    Refused when the OPD is inactive, closed now (the message says when it next opens),
    full for the day, or when the patient already holds a live token. Token numbers are
    allocated under a lock on the OPD row, so concurrent joins never share a number. The
    token and patient ID go out by SMS after commit.
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
        _publish(opd, "joined", ticket)
        _offer_to_auto_assign_doctors(opd, now)
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
    started cannot be cancelled from the queue."""
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
        if was == Status.CALLED:
            _end_calling_consultation(ticket, Consultation.Outcome.NO_SHOW, timezone.now())
        record_event(actor, "ticket.cancel", obj=ticket, patient_id=ticket.patient_id)
        if was == Status.WAITING:
            _notify_near_turn(ticket.opd)
            _publish(ticket.opd, "left", ticket)
        else:
            _publish(ticket.opd, "doctors")
    return ticket


# --- doctors' presence -----------------------------------------------------------------


def _presence_for_update(doctor: DoctorProfile) -> DoctorPresence:
    DoctorPresence.objects.get_or_create(doctor=doctor)
    return (
        DoctorPresence.objects.select_for_update(of=("self",))
        .select_related("opd")
        .get(doctor=doctor)
    )


def _has_consultation(doctor: DoctorProfile, statuses) -> bool:
    return Consultation.objects.filter(doctor=doctor, status__in=statuses).exists()


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
    the next waiting patient is called for the doctor whenever they are free."""
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
        previous_opd = presence.opd if presence.status != Presence.OFFLINE else None
        if (
            previous_opd
            and previous_opd.pk != opd.pk
            and _has_consultation(doctor, OPEN_CONSULTATION)
        ):
            raise QueueError(
                "consultation_open",
                _("Finish your open consultation at %(opd)s before moving to another OPD.")
                % {"opd": previous_opd.name},
            )
        busy = _has_consultation(doctor, ACTIVE_CONSULTATION)
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
        _publish(opd, "doctors", None, [_presence_event(presence)])
        if previous_opd and previous_opd.pk != opd.pk:
            _publish(previous_opd, "doctors")
        if presence.status == Presence.AVAILABLE and presence.auto_assign:
            claim_ticket_for(doctor, opd, actor=doctor_user, now=now)
    presence.refresh_from_db()
    return presence


def _leave(doctor_user: Any, status: str, action: str) -> DoctorPresence:
    doctor = doctor_of(doctor_user)
    with transaction.atomic():
        presence = _presence_for_update(doctor)
        if _has_consultation(doctor, ACTIVE_CONSULTATION):
            raise QueueError(
                "consultation_open",
                _("End your current consultation, or return the patient to the queue, first."),
            )
        presence.status = status
        presence.last_seen = timezone.now()
        presence.save()
        record_event(doctor_user, action, obj=presence)
        _publish(presence.opd, "doctors", None, [_presence_event(presence)])
    return presence


def go_offline(doctor_user: Any) -> DoctorPresence:
    """Stop serving. Follow-ups that asked for this doctor go to any doctor from now on."""
    return _leave(doctor_user, Presence.OFFLINE, "presence.offline")


def take_break(doctor_user: Any) -> DoctorPresence:
    """Pause: no calls, not counted in wait estimates; follow-ups keep waiting for you."""
    return _leave(doctor_user, Presence.ON_BREAK, "presence.break")


def _free_doctor(doctor: DoctorProfile, now: dt.datetime, actor: Any = None) -> None:
    """After a consultation ends: back to available, and auto-assign the next patient."""
    presence = (
        DoctorPresence.objects.select_for_update(of=("self",))
        .select_related("opd")
        .filter(doctor=doctor)
        .first()
    )
    if presence is None or presence.status != Presence.BUSY:
        return
    if _has_consultation(doctor, ACTIVE_CONSULTATION):
        return
    presence.status = Presence.AVAILABLE
    presence.last_seen = now
    presence.save(update_fields=["status", "last_seen", "since"])
    others = [_presence_event(presence)]
    _publish(presence.opd, "doctors", None, others)
    if presence.auto_assign and presence.opd_id:
        claim_ticket_for(doctor, presence.opd, actor=actor, now=now)


def _offer_to_auto_assign_doctors(opd: OnlineOPD, now: dt.datetime) -> None:
    """Hand waiting patients to doctors who asked to be assigned automatically."""
    free = (
        DoctorPresence.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(opd=opd, status=Presence.AVAILABLE, auto_assign=True)
        .select_related("doctor__user")
        .order_by("since")
    )
    for presence in free:
        if claim_ticket_for(presence.doctor, opd, actor=presence.doctor.user, now=now) is None:
            break


# --- claiming ----------------------------------------------------------------------------

_CLAIM_SQL = """
WITH claimed AS (
UPDATE {ticket} SET status = %s, claimed_by_id = %s, called_at = %s, call_expires_at = %s,
       updated_at = %s
WHERE status = 'waiting' AND id = (
    SELECT t.id FROM {ticket} t
    WHERE t.opd_id = %s AND t.status = 'waiting'
      AND (t.preferred_doctor_id IS NULL OR t.preferred_doctor_id = %s OR NOT EXISTS (
            SELECT 1 FROM {presence} p
            WHERE p.doctor_id = t.preferred_doctor_id AND p.opd_id = t.opd_id
              AND p.status IN ('available', 'busy', 'on_break')))
    ORDER BY t.priority, t.queued_at
    LIMIT 1
    FOR UPDATE SKIP LOCKED)
RETURNING *),
busy AS (
    UPDATE {presence} SET status = 'busy', last_seen = %s, since = %s
    WHERE doctor_id = %s AND EXISTS (SELECT 1 FROM claimed))
SELECT * FROM claimed
"""


def _take_next_waiting(doctor: DoctorProfile, opd: OnlineOPD, now: dt.datetime) -> Ticket | None:
    """Mark the first waiting ticket this doctor may take as CALLED, atomically.

    PostgreSQL: one ``UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``,
    so concurrent doctors each skip the rows others hold instead of waiting for them; the
    same statement marks the doctor busy (a data-modifying CTE), saving a round trip.
    SQLite: the IMMEDIATE transaction already holds the write lock, which serialises claims.
    A follow-up that prefers another doctor waits for them while they are online here.
    """
    expires = now + CALL_WINDOW
    if connection.vendor == "postgresql":
        sql = _CLAIM_SQL.format(
            ticket=Ticket._meta.db_table, presence=DoctorPresence._meta.db_table
        )
        params = [Status.CALLED, doctor.pk, now, expires, now, opd.pk, doctor.pk]
        params += [now, now, doctor.pk]
        rows = list(Ticket.objects.raw(sql, params))
        return rows[0] if rows else None
    holds_follow_up = DoctorPresence.objects.filter(
        doctor=OuterRef("preferred_doctor"), opd=opd, status__in=selectors.ONLINE_STATUSES
    )
    candidates = (
        selectors.waiting_tickets(opd)
        .filter(
            Q(preferred_doctor__isnull=True) | Q(preferred_doctor=doctor) | ~Exists(holds_follow_up)
        )
        .order_by("priority", "queued_at")
    )
    ticket = candidates.select_for_update(skip_locked=True).first()
    if ticket is None:
        return None
    ticket.status = Status.CALLED
    ticket.claimed_by = doctor
    ticket.called_at = now
    ticket.call_expires_at = expires
    ticket.save(
        update_fields=["status", "claimed_by", "called_at", "call_expires_at", "updated_at"]
    )
    DoctorPresence.objects.filter(doctor=doctor).update(
        status=Presence.BUSY, last_seen=now, since=now
    )
    return ticket


def claim_ticket_for(
    doctor: DoctorProfile,
    opd: OnlineOPD,
    *,
    actor: Any = None,
    now: dt.datetime | None = None,
) -> Ticket | None:
    """The core claim, in the caller's transaction (or its own): take the next ticket,
    open its Consultation (calling, implied consent), mark the doctor busy, audit, send the
    near-turn SMS and publish. Returns the ticket with ``.consultation`` set, or None."""
    now = now or timezone.now()
    with transaction.atomic():
        ticket = _take_next_waiting(doctor, opd, now)
        if ticket is None:
            return None
        follow_up_of = None
        if ticket.preferred_doctor_id == doctor.pk:
            follow_up_of = (
                Consultation.objects.filter(
                    patient_id=ticket.patient_id, doctor=doctor, status=Consultation.Status.ENDED
                )
                .order_by("-created_at")
                .first()
            )
        consultation = Consultation.objects.create(
            service_line=Consultation.ServiceLine.OPD,
            ticket=ticket,
            patient_id=ticket.patient_id,
            doctor=doctor,
            opd=opd,
            status=Consultation.Status.CALLING,
            consent="implied",
            consent_recorded_at=now,
            complaints=ticket.complaint,
            follow_up_of=follow_up_of,
        )
        record_event(
            actor or doctor.user,
            "ticket.claim",
            obj=ticket,
            patient_id=ticket.patient_id,
            detail={"consultation": str(consultation.pk), "opd": str(opd.pk)},
        )
        _notify_near_turn(opd)
        _publish(
            opd,
            "claimed",
            ticket,
            [
                (
                    ticket_group(ticket.pk),
                    {
                        "type": "ticket.called",
                        "ticket": str(ticket.pk),
                        "consultation": str(consultation.pk),
                        "call_expires_at": ticket.call_expires_at.isoformat(),
                    },
                ),
                (
                    doctor_group(doctor.pk),
                    {
                        "type": "consultation.assigned",
                        "consultation": str(consultation.pk),
                        "ticket": str(ticket.pk),
                        "token_number": ticket.token_number,
                    },
                ),
            ],
            busy_delta=1,
        )
    ticket.consultation = consultation
    return ticket


def claim_next_ticket(doctor_user: Any, opd: OnlineOPD | None = None) -> Ticket | None:
    """Call the next patient: the doctor must be online (for ``opd`` if given) and not in
    another active consultation. Expired calls are cleared first. Returns the CALLED
    ticket (its ``.consultation`` is the new Consultation), or None when nobody waits."""
    doctor = doctor_of(doctor_user)
    expire_unanswered_calls(opd=opd)
    now = timezone.now()
    with transaction.atomic():
        presence = DoctorPresence.objects.select_for_update().filter(doctor=doctor).first()
        if presence is None or presence.status == Presence.OFFLINE or presence.opd_id is None:
            raise QueueError("not_online", _("Go online for an OPD before calling a patient."))
        if opd is not None and presence.opd_id != opd.pk:
            raise QueueError(
                "not_online_here",
                _("You are online for another OPD; go online for %(opd)s first.")
                % {"opd": opd.name},
            )
        if _has_consultation(doctor, ACTIVE_CONSULTATION):
            raise QueueError(
                "consultation_open",
                _(
                    "Finish your current consultation (or put it on hold) before calling "
                    "the next patient."
                ),
            )
        return claim_ticket_for(doctor, presence.opd, actor=doctor_user, now=now)


# --- the call window, missed and dropped calls ------------------------------------------


def _end_calling_consultation(ticket: Ticket, outcome: str, now: dt.datetime) -> list[Consultation]:
    ended = list(
        Consultation.objects.select_for_update().filter(ticket=ticket, status__in=OPEN_CONSULTATION)
    )
    for consultation in ended:
        consultation.status = Consultation.Status.ENDED
        consultation.outcome = outcome
        consultation.ended_at = now
        consultation.save(update_fields=["status", "outcome", "ended_at"])
    for consultation in ended:
        _free_doctor(consultation.doctor, now)
    return ended


def mark_ticket_missed(ticket: Ticket, now: dt.datetime, actor: Any = None) -> Ticket:
    """The patient did not join in time (or the doctor says so): MISSED, one more miss.
    Runs in the caller's transaction with the ticket row locked."""
    ticket.status = Status.MISSED
    ticket.missed_count += 1
    ticket.save(update_fields=["status", "missed_count", "updated_at"])
    _end_calling_consultation(ticket, Consultation.Outcome.NO_SHOW, now)
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
    _publish(
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
    """Mark calls not answered within 120 s as MISSED (consultation: no show) and free
    their doctors. Cheap when nothing has expired (one indexed EXISTS). Run before each
    claim, on each waiting-room status read, and by ``manage.py queue_housekeeping``."""
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
            mark_ticket_missed(ticket, now)
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


def accept_call(actor: Any, ticket: Ticket) -> Consultation:
    """The patient presses "Join now" within the call window: the consultation starts."""
    check_family(actor, ticket.patient)
    now = timezone.now()
    expire_unanswered_calls(now=now, opd=ticket.opd)
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",)).select_related("opd").get(pk=ticket.pk)
        )
        if ticket.status == Status.IN_CONSULTATION:
            return selectors.current_consultation(ticket)
        if ticket.status == Status.MISSED:
            raise QueueError(
                "call_expired",
                _(
                    "The 2 minutes to join have passed and the call was missed. You can rejoin "
                    "the queue once, at its head."
                )
                if ticket.missed_count == 1
                else _("The call was missed again; this token is closed."),
            )
        if ticket.status != Status.CALLED:
            raise QueueError(
                "not_called", _("The doctor has not called this token yet; please wait.")
            )
        consultation = (
            Consultation.objects.select_for_update()
            .filter(ticket=ticket, status=Consultation.Status.CALLING)
            .order_by("-created_at")
            .first()
        )
        if consultation is None:
            raise QueueError(
                "not_called", _("The doctor has not called this token yet; please wait.")
            )
        ticket.status = Status.IN_CONSULTATION
        ticket.save(update_fields=["status", "updated_at"])
        consultation.status = Consultation.Status.IN_PROGRESS
        consultation.started_at = now
        consultation.save(update_fields=["status", "started_at"])
        record_event(actor, "consultation.join", obj=consultation, patient_id=ticket.patient_id)
        _publish(
            None,
            None,
            None,
            [
                (
                    doctor_group(consultation.doctor_id),
                    {
                        "type": "consultation.status",
                        "consultation": str(consultation.pk),
                        "status": consultation.status,
                    },
                )
            ],
        )
    return consultation


def _back_to_head(ticket: Ticket) -> None:
    ticket.status = Status.WAITING
    ticket.priority = Ticket.Priority.HEAD
    ticket.claimed_by = None
    ticket.called_at = None
    ticket.call_expires_at = None
    ticket.save(
        update_fields=[
            "status",
            "priority",
            "claimed_by",
            "called_at",
            "call_expires_at",
            "updated_at",
        ]
    )


def rejoin_after_missed(actor: Any, ticket: Ticket) -> Ticket:
    """Once: a missed token goes back to WAITING at the head of the queue, keeping its
    original queued_at. A second miss is final."""
    check_family(actor, ticket.patient)
    expire_unanswered_calls(opd=ticket.opd)
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",)).select_related("opd").get(pk=ticket.pk)
        )
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
        _back_to_head(ticket)
        record_event(actor, "ticket.rejoin", obj=ticket, patient_id=ticket.patient_id)
        _publish(
            ticket.opd,
            "returned",
            ticket,
            [
                (
                    ticket_group(ticket.pk),
                    {"type": "ticket.returned", "ticket": str(ticket.pk), "reason": "rejoined"},
                )
            ],
        )
        _offer_to_auto_assign_doctors(ticket.opd, timezone.now())
    ticket.refresh_from_db()
    return ticket


def return_dropped_ticket(actor: Any, consultation: Consultation) -> Ticket:
    """A consultation that dropped (network, app closed) sends the patient back to the
    HEAD of the queue, not the tail; the consultation ends as ``dropped``. The doctor of
    the consultation or the patient's account holder may report it."""
    is_doctor = (
        getattr(actor, "role", None) == Role.DOCTOR and consultation.doctor.user_id == actor.pk
    )
    if not is_doctor:
        check_family(actor, consultation.patient)
    now = timezone.now()
    with transaction.atomic():
        consultation = Consultation.objects.select_for_update().get(pk=consultation.pk)
        if consultation.ticket_id is None:
            raise QueueError("no_ticket", _("This consultation did not come from a queue."))
        if consultation.status not in OPEN_CONSULTATION:
            raise QueueError("consultation_ended", _("This consultation has already ended."))
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("opd")
            .get(pk=consultation.ticket_id)
        )
        consultation.status = Consultation.Status.ENDED
        consultation.outcome = Consultation.Outcome.DROPPED
        consultation.ended_at = now
        consultation.save(update_fields=["status", "outcome", "ended_at"])
        _back_to_head(ticket)
        record_event(
            actor, "consultation.dropped", obj=consultation, patient_id=consultation.patient_id
        )
        _publish(
            ticket.opd,
            "returned",
            ticket,
            [
                (
                    ticket_group(ticket.pk),
                    {"type": "ticket.returned", "ticket": str(ticket.pk), "reason": "dropped"},
                )
            ],
        )
        _free_doctor(consultation.doctor, now, actor)
    ticket.refresh_from_db()
    return ticket
