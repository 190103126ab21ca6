"""The queue's state machine: taking a token, doctors going online, claiming the next
ticket, the 120-second call window, missed calls, returning to the head, completing.

Tickets and doctors' presence belong to a ``Queue`` (an OPD's, a hub's for one specialty,
a state's overflow); ``claim_from_queues`` takes the best ticket across a doctor's ordered
list of queues in one statement, and ``claim_next_ticket`` is that for one OPD. The queue
knows tickets and doctors' presence only. Opening a consultation for a claimed ticket,
and ending it when the call is abandoned, belong to ``sanjeevani.consultations.services``,
which calls the in-transaction steps here (``claim_next_ticket``, ``start_service``,
``return_to_head``, ``complete_ticket``, ``mark_missed``, ``miss_unanswered_calls``). The
queue never calls upwards: the workflows above it (``consultations.take_token``,
``cancel_token``, ``rejoin_queue``, ``start_serving``, ``expire_unanswered_calls``) call a
queue service and then do the consultation's part in the same transaction.

The functions live by concern and are re-exported here, the queue's one public surface:
``tickets`` (join, cancel, rejoin), ``calls`` (call window, missed, head of the line,
completing, housekeeping), ``presence``, ``claim``, ``near_turn``, ``events``, ``sms`` and
``actors`` (who may act).

Every public service here is one transaction, takes the acting user, checks permission,
writes an audit row and publishes its events after commit; the in-transaction steps say so
and leave the audit row to their caller where it names the consultation. Refusals raise
``QueueError`` (see ``errors.py``); acting on someone else's data is ``PermissionDenied``.

The "doctor is busy" rule is the doctor's presence: BUSY from a claim until the
consultation layer frees the doctor (ended, dropped, on hold, call abandoned).

Events (``sanjeevani.live.groups`` names the groups)

``queue.advanced`` to ``queue.<queue uuid>``, once per change of the waiting line::

    {"type": "queue.advanced", "queue": "<uuid>",
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
``presence.changed`` to ``doctor.<doctor>``:
``{"doctor", "status", "opd", "queue", "auto_assign"}``.
``consultation.assigned`` to ``doctor.<doctor>``: ``{"consultation", "ticket", "token_number"}``
(sent by the consultation services).
"""

from .actors import check_family, doctor_of
from .calls import (
    complete_ticket,
    expire_stale_tickets,
    lock_ticket,
    mark_missed,
    miss_unanswered_calls,
    move_to_queue,
    return_to_head,
    start_service,
)
from .claim import CALL_WINDOW, CAN_CLAIM, Claim, claim_from_queues, claim_next_ticket
from .events import DoctorFigures, publish_queue_events, queue_advanced_event
from .models import DoctorPresence, Ticket
from .near_turn import catch_up_near_turn, mark_near_turn, notify_near_turn
from .presence import (
    auto_assign_doctors,
    claim_refusal,
    go_offline,
    go_online,
    go_online_at_hub,
    mark_doctor_busy,
    mark_doctor_free,
    take_break,
)
from .sms import message_language
from .tickets import (
    announce_hub_ticket,
    cancel_ticket,
    join_queue,
    new_hub_ticket,
    place_hub_ticket,
    refuse_second_live_ticket,
    rejoin_after_missed,
    ticket_created_detail,
)

Status = Ticket.Status
Presence = DoctorPresence.Status

__all__ = [
    "CALL_WINDOW",
    "CAN_CLAIM",
    "Claim",
    "DoctorFigures",
    "Presence",
    "Status",
    "announce_hub_ticket",
    "auto_assign_doctors",
    "cancel_ticket",
    "catch_up_near_turn",
    "check_family",
    "claim_from_queues",
    "claim_next_ticket",
    "claim_refusal",
    "complete_ticket",
    "doctor_of",
    "expire_stale_tickets",
    "go_offline",
    "go_online",
    "go_online_at_hub",
    "join_queue",
    "lock_ticket",
    "mark_near_turn",
    "mark_doctor_busy",
    "mark_doctor_free",
    "mark_missed",
    "miss_unanswered_calls",
    "move_to_queue",
    "new_hub_ticket",
    "message_language",
    "notify_near_turn",
    "place_hub_ticket",
    "publish_queue_events",
    "queue_advanced_event",
    "refuse_second_live_ticket",
    "rejoin_after_missed",
    "return_to_head",
    "start_service",
    "take_break",
    "ticket_created_detail",
]
