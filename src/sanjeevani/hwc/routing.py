"""Where a hub-and-spoke case waits, and who may call it.

- A case goes to a hub linked to its spoke for its specialty, in the links' priority
  order: the first linked hub with a doctor of that specialty online (preferring one
  whose online doctor speaks the patient's language), else the first linked hub.
- A case that has waited longer than its state's ``hub_overflow_minutes`` moves to the
  state's overflow queue for the specialty, which every hub doctor of that specialty in
  the state calls from; an urgent case goes there at once, ahead of routine ones.
- A hub doctor calls from the state's overflow for the specialty they are online for,
  then their hub's own queue for it (``queueing.claim_from_queues`` takes a list in its
  order): what is in the overflow is urgent or has waited longest in the state, so it
  comes before the hub's fresh cases; the hub's own cases reach it first by routing.
- A hub doctor may forward a case up a tier: to a hub their own hub is a spoke of.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sanjeevani.audit.services import record_event
from sanjeevani.config.prepared_statements import fetch_prepared, run_prepared
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.errors import QueueError
from sanjeevani.queueing.models import DoctorPresence, Queue, Ticket
from sanjeevani.queueing.selectors import ONLINE_STATUSES
from sanjeevani.registry.models import DoctorProfile, Facility, HubSpokeLink, Specialty, State

from .models import Case


@dataclass(frozen=True)
class Route:
    queue: Queue
    hub_id: uuid.UUID
    reason: str


@dataclass(frozen=True)
class LinkedHub:
    """A hub the spoke may ask for the specialty, and its queue for it (None until its
    first case)."""

    hub_id: uuid.UUID
    queue_id: uuid.UUID | None
    queue_label: str


def _choice(value: str) -> str:
    """A model choice's value as an SQL literal. The prepared statements below name their
    fixed kinds and statuses in the text, not as parameters: once PostgreSQL switches a
    prepared statement to its generic plan, a parameter's value is unknown to the planner,
    and for the queue kinds it then chose a plan that made the hub doctor's call several
    times slower at national size (bench/hwc_routing.py)."""
    if not value.replace("_", "").isalnum():
        raise ValueError(f"not a choice value: {value!r}")
    return f"'{value}'"


def _linked_hubs_sql() -> str:
    link = HubSpokeLink._meta.db_table
    through = HubSpokeLink.specialties.through
    link_column = through._meta.get_field("hubspokelink").column
    specialty_column = through._meta.get_field("specialty").column
    facility = Facility._meta.db_table
    queue_table = Queue._meta.db_table
    # Table and column names from model metadata; fixed choices as literals, values as
    # parameters.
    return (
        f"SELECT l.hub_id, q.id, q.label FROM {link} l"  # noqa: S608
        f" JOIN {facility} h ON h.id = l.hub_id"
        f" JOIN {through._meta.db_table} ls ON ls.{link_column} = l.id"
        f" AND ls.{specialty_column} = %s"
        f" LEFT JOIN {queue_table} q ON q.hub_id = l.hub_id"
        f" AND q.kind = {_choice(Queue.Kind.HUB_SPECIALTY)} AND q.specialty_id = %s"
        f" WHERE l.spoke_id = %s AND l.active AND h.active"
        f" ORDER BY l.priority, h.name"
    )


def _linked_hubs_for_routing(spoke: Facility, specialty: Specialty) -> list[LinkedHub]:
    """The spoke's active links for ``specialty`` to active hubs, in priority order, each
    with the hub's queue for it: one query, in plain SQL because every case sent pays it
    (the ORM's building of it cost more than running it)."""
    uuid_field = Queue._meta.pk
    rows = fetch_prepared(
        _linked_hubs_sql(),
        [specialty.pk, specialty.pk, uuid_field.get_db_prep_value(spoke.pk, connection)],
    )
    return [
        LinkedHub(
            hub_id=uuid_field.to_python(hub_id),
            queue_id=uuid_field.to_python(queue_id) if queue_id else None,
            queue_label=label or "",
        )
        for hub_id, queue_id, label in rows
    ]


def linked_hubs(spoke: Facility, specialty: Specialty) -> list[Facility]:
    """The hubs this spoke may ask for ``specialty``, in the links' priority order (the
    routing query's rule, with each hub loaded)."""
    order = [linked.hub_id for linked in _linked_hubs_for_routing(spoke, specialty)]
    hubs = Facility.objects.in_bulk(order)
    return [hubs[hub_id] for hub_id in order]


def _online_sql(hubs: int) -> str:
    presence = DoctorPresence._meta.db_table
    queue_table = Queue._meta.db_table
    doctor = DoctorProfile._meta.db_table
    marks = ", ".join(["%s"] * hubs)
    statuses = ", ".join(_choice(status) for status in ONLINE_STATUSES)
    # Table names from model metadata; fixed choices as literals, values as parameters.
    return (
        f"SELECT p.hub_id, d.languages FROM {presence} p"  # noqa: S608
        f" JOIN {queue_table} q ON q.id = p.queue_id"
        f" JOIN {doctor} d ON d.id = p.doctor_id"
        f" WHERE p.hub_id IN ({marks}) AND q.kind = {_choice(Queue.Kind.HUB_SPECIALTY)}"
        f" AND q.specialty_id = %s"
        f" AND p.status IN ({statuses})"
    )


def _online_doctors(hub_ids: list[uuid.UUID], specialty: Specialty) -> dict:
    """Hub id → the languages of its doctors online now for ``specialty``. Plain SQL, as
    ``_linked_hubs_for_routing``: a case from a spoke with several hubs pays it."""
    uuid_field = Queue._meta.pk
    languages_field = DoctorProfile._meta.get_field("languages")
    rows = fetch_prepared(
        _online_sql(len(hub_ids)),
        [
            *(uuid_field.get_db_prep_value(hub_id, connection) for hub_id in hub_ids),
            specialty.pk,
        ],
    )
    online: dict = {}
    for hub_id, languages in rows:
        if isinstance(languages, str):
            languages = languages_field.from_db_value(languages, None, connection)
        online.setdefault(uuid_field.to_python(hub_id), set()).update(languages or [])
    return online


def _any_hub_of_state(state_id: int, specialty: Specialty) -> Facility | None:
    return (
        Facility.objects.filter(
            state_id=state_id, is_hub=True, active=True, doctors__specialties=specialty
        )
        .order_by("name")
        .first()
    )


def _overflow_queue(state_id: int, specialty: Specialty) -> Queue:
    queue = Queue.objects.filter(
        kind=Queue.Kind.STATE_OVERFLOW, state_id=state_id, specialty=specialty
    ).first()
    return queue or Queue.objects.for_state_overflow(State.objects.get(pk=state_id), specialty)


def _hub_queue(linked: LinkedHub, specialty: Specialty) -> Queue:
    """The hub's queue for the specialty, from what the routing query read (its other
    columns load if asked for), made on first use."""
    if linked.queue_id is None:
        return Queue.objects.for_hub(Facility.objects.get(pk=linked.hub_id), specialty)
    queue = Queue.from_db(
        None,
        ["id", "kind", "label", "hub_id", "specialty_id"],
        [
            linked.queue_id,
            Queue.Kind.HUB_SPECIALTY,
            linked.queue_label,
            linked.hub_id,
            specialty.pk,
        ],
    )
    queue.specialty = specialty
    return queue


def route_new_case(spoke: Facility, specialty: Specialty, language: str, urgent: bool) -> Route:
    """The queue a new case from ``spoke`` waits in (see the module's rules). Refused
    when no hub of the spoke's links or state offers the specialty. One query for the
    links and their queues, a second only when more than one hub is linked (who is online
    there decides)."""
    links = _linked_hubs_for_routing(spoke, specialty)
    chosen = links[0] if links else None
    if len(links) > 1:
        online = _online_doctors([link.hub_id for link in links], specialty)
        speaking = [k for k in links if language and language in online.get(k.hub_id, ())]
        chosen = (speaking or [k for k in links if k.hub_id in online] or links)[0]
    if chosen is None:
        hub = _any_hub_of_state(spoke.state_id, specialty)
        if hub is None:
            raise QueueError(
                "no_hub_for_specialty",
                _(
                    "No hub in %(state)s offers %(specialty)s yet. Choose another "
                    "specialty, or ask your state administrator to link a hub."
                )
                % {"state": spoke.state.name, "specialty": specialty.name},
            )
        return Route(_overflow_queue(spoke.state_id, specialty), hub.pk, Case.Route.OVERFLOW)
    if urgent:
        return Route(_overflow_queue(spoke.state_id, specialty), chosen.hub_id, Case.Route.OVERFLOW)
    return Route(_hub_queue(chosen, specialty), chosen.hub_id, Case.Route.OWN_HUB)


@dataclass(frozen=True)
class HubDesk:
    """Where an online hub doctor serves: their hub, its queue for the specialty they are
    online for, and the state's overflow queue for it (None until its first case)."""

    hub_id: uuid.UUID
    state_id: int
    queue_id: uuid.UUID
    specialty_id: int
    overflow_queue_id: uuid.UUID | None


def _desk_sql() -> str:
    """The doctor's presence (not offline, at a hub), its hub's state, its queue's
    specialty and the state's overflow queue for it. Plain SQL: every call pays this
    read, and building it with the ORM cost several times the query itself."""
    presence = DoctorPresence._meta.db_table
    facility = Facility._meta.db_table
    queue_table = Queue._meta.db_table
    # Table names from model metadata; fixed choices as literals, values as parameters.
    return (
        f"SELECT p.hub_id, f.state_id, p.queue_id, q.specialty_id,"  # noqa: S608
        f" (SELECT o.id FROM {queue_table} o"
        f" WHERE o.kind = {_choice(Queue.Kind.STATE_OVERFLOW)} AND o.state_id = f.state_id"
        f" AND o.specialty_id = q.specialty_id LIMIT 1)"
        f" FROM {presence} p JOIN {facility} f ON f.id = p.hub_id"
        f" JOIN {queue_table} q ON q.id = p.queue_id"
        f" WHERE p.doctor_id = %s AND p.status <> {_choice(DoctorPresence.Status.OFFLINE)}"
        f" AND q.kind = {_choice(Queue.Kind.HUB_SPECIALTY)} LIMIT 1"
    )


def serving_presence(doctor: DoctorProfile) -> HubDesk | None:
    """Where the hub doctor serves now (None when offline or not online at a hub): what a
    call needs before its claim, in one query (``claim_queues`` then asks nothing more)."""
    uuid_field = Queue._meta.pk
    row = run_prepared(
        _desk_sql(),
        [uuid_field.get_db_prep_value(doctor.pk, connection)],
    )
    if row is None:
        return None
    hub_id, state_id, queue_id, specialty_id, overflow_id = row
    return HubDesk(
        hub_id=uuid_field.to_python(hub_id),
        state_id=state_id,
        queue_id=uuid_field.to_python(queue_id),
        specialty_id=specialty_id,
        overflow_queue_id=uuid_field.to_python(overflow_id) if overflow_id else None,
    )


def claim_queues(desk: HubDesk) -> list:
    """The queues a hub doctor calls from, in order: the state's overflow for the
    specialty they are online for (urgent cases, and cases that waited past the state's
    time), then their hub's own queue for it. No query once the overflow queue exists."""
    overflow_id = desk.overflow_queue_id
    if overflow_id is None:
        overflow_id = Queue.objects.for_state_overflow(
            State.objects.get(pk=desk.state_id), Specialty.objects.get(pk=desk.specialty_id)
        ).pk
    return [overflow_id, desk.queue_id]


def overflow_waiting_cases(now: dt.datetime | None = None) -> int:
    """Housekeeping: cases that waited in a hub's queue longer than their state's overflow
    time move to the state's overflow queue (keeping their place by arrival). Rows a
    claim holds are skipped (the claim takes them). Returns how many moved. One
    transaction per state with cases waiting at its hubs; each overflow queue is looked up
    once per pass and the cases' routes are updated in one statement."""
    now = now or timezone.now()
    moved = 0
    waiting_in = Ticket.objects.filter(
        status=Ticket.Status.WAITING, queue__kind=Queue.Kind.HUB_SPECIALTY
    ).values("queue__state_id")
    for state in State.objects.filter(pk__in=waiting_in):
        cutoff = now - dt.timedelta(minutes=state.hub_overflow_minutes)
        with transaction.atomic():
            due = list(
                Ticket.objects.filter(
                    status=Ticket.Status.WAITING,
                    queue__kind=Queue.Kind.HUB_SPECIALTY,
                    queue__state=state,
                    queued_at__lt=cutoff,
                )
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("queue__specialty")
            )
            overflow: dict[int, Queue] = {}
            for ticket in due:
                specialty = ticket.queue.specialty
                if specialty.pk not in overflow:
                    overflow[specialty.pk] = Queue.objects.for_state_overflow(state, specialty)
                queue.move_to_queue(ticket, overflow[specialty.pk], "overflow")
            if due:
                Case.objects.filter(ticket__in=[t.pk for t in due]).update(
                    route=Case.Route.OVERFLOW
                )
                record_event(
                    None,
                    "hwc.overflow",
                    detail={"state": state.code, "count": len(due)},
                )
            moved += len(due)
    return moved


def forward_targets(hub: Facility, specialty: Specialty) -> list[Facility]:
    """The higher hubs a doctor at ``hub`` may forward a case of ``specialty`` to: the
    hubs ``hub`` itself is a spoke of."""
    return linked_hubs(hub, specialty) if hub.is_spoke else []
