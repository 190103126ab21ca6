"""Channel-layer group names. A group name is ASCII letters, digits, ``.``, ``-`` and ``_``
(the channel layer's rule), so ids are written as text.

``queue.<queue uuid>``
    every waiting room and doctor's queue of one queue (an OPD's, a hub's for one
    specialty, a state's overflow): ``queue.advanced`` (``sanjeevani.queueing.events``). A
    broadcast group: its only members are the app processes' fan-out hubs
    (``sanjeevani.realtime.fanout``), and several of its events may travel as one
    ``live.batch`` message (``sanjeevani.live.publisher``).
``ticket.<ticket uuid>``
    the waiting room of one patient's token and the feed of the centre that sent it:
    ``ticket.missed``, ``ticket.returned``, ``ticket.moved`` and ``ticket.completed`` (the
    doctor ended the consultation; ``sanjeevani.queueing.services``); ``ticket.called``
    (``sanjeevani.consultations.services``, which opens the consultation the patient is
    called to).
``centre.<facility uuid>``
    every open workspace of one health centre (a spoke): ``centre.case_sent`` when any of
    its health workers sends a case (``sanjeevani.hwc.cases``), so each workspace's feed
    joins that case's ticket group without reconnecting.
``doctor.<doctor uuid>``
    the doctor's own console: ``presence.changed`` (``sanjeevani.queueing.services``);
    ``consultation.assigned`` and ``consultation.status``
    (``sanjeevani.consultations.services``).
``consultation.<uuid>``
    every room connection of one consultation: ``consultation.status`` (hold, resume, end;
    ``sanjeevani.consultations.services``).
``room.<consultation uuid hex>``
    the room's own traffic: ``room.event`` (chat, marks, participants;
    ``sanjeevani.realtime.services``) and ``room.relay`` (signalling between consumers).
``signin.user.<user id>``, ``signin.device.<device token uuid>``, ``signin.session.<hash>``
    every open socket of one person, of one app sign-in, of one browser session:
    ``sign_in.ended`` (``sanjeevani.accounts``, when it is signed out or revoked), on which
    the socket closes (``sanjeevani.live.sign_in``).

The fields of each event are documented where it is sent; the protocol the clients see is in
``docs/realtime.md``.
"""

from __future__ import annotations

import hashlib
import uuid


def queue_group(queue_id: object) -> str:
    return f"queue.{queue_id}"


def is_broadcast_group(group: str) -> bool:
    """Read by a per-process fan-out hub, which unpacks ``live.batch`` messages."""
    return group.startswith("queue.")


def ticket_group(ticket_id: object) -> str:
    return f"ticket.{ticket_id}"


def centre_group(facility_id: object) -> str:
    return f"centre.{facility_id}"


def doctor_group(doctor_id: object) -> str:
    return f"doctor.{doctor_id}"


def consultation_group(consultation_id: object) -> str:
    return f"consultation.{consultation_id}"


def room_group(consultation_id: uuid.UUID | str) -> str:
    return f"room.{uuid.UUID(str(consultation_id)).hex}"


def user_sign_in_group(user_id: object) -> str:
    return f"signin.user.{user_id}"


def device_sign_in_group(token_id: object) -> str:
    return f"signin.device.{token_id}"


def session_sign_in_group(session_key: str) -> str:
    """Named by a hash: the session key is a credential and group names travel to Redis."""
    return f"signin.session.{hashlib.sha256(session_key.encode()).hexdigest()[:40]}"
