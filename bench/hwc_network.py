"""The national hub-and-spoke network for ``bench/hwc_routing.py``, written with COPY.

eSanjeevani's 2023 size: 15,731 hubs and 115,234 spokes (Health & Wellness Centres) in the
36 states and union territories. Each spoke is linked to 1–3 hubs of its state, with
priorities 1..n, for general medicine and up to three more specialties; every hub's queue
for each specialty it is linked for exists (as after a while in production, queues being
made on first use), and every state's overflow queue for each of them. Seeded, so two runs
build the same network.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

HUBS = 15_731
SPOKES = 115_234
GENERAL = "general-medicine"
OTHER_SPECIALTIES = [
    "paediatrics", "obg", "dermatology", "psychiatry", "ent", "ophthalmology",
    "orthopaedics", "cardiology", "dentistry", "ayurveda",
]  # fmt: skip
HUB_LEVELS = ["phc"] * 6 + ["chc"] * 3 + ["dh", "mc"]


@dataclass
class Link:
    spoke: uuid.UUID
    hub: uuid.UUID
    priority: int
    specialties: list[int]


@dataclass
class National:
    """What was written, and the look-ups the bench needs to choose its cases."""

    hubs: int = 0
    spokes: int = 0
    links: int = 0
    link_specialties: int = 0
    queues: int = 0
    seconds: float = 0.0
    state_of: dict[uuid.UUID, int] = field(default_factory=dict)
    #: hub → the links to it with priority 1 (the spokes that ask it first).
    first_choice_of: dict[uuid.UUID, list[Link]] = field(default_factory=dict)


def _copy(table: str, columns: tuple[str, ...], rows) -> int:
    """COPY ``rows`` into ``table``; returns how many."""
    from django.db import connection

    count = 0
    connection.ensure_connection()
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def build(seed: int = 2023, hubs: int = HUBS, spokes: int = SPOKES) -> National:
    from django.db import connection, transaction

    from sanjeevani.queueing.models import Queue
    from sanjeevani.registry.models import Facility, HubSpokeLink, Specialty, State

    started = time.perf_counter()
    rng = random.Random(seed)
    states = list(State.objects.order_by("code").values_list("pk", "name"))
    specialty_ids = dict(Specialty.objects.values_list("code", "pk"))
    specialty_names = dict(Specialty.objects.values_list("pk", "name"))
    general = specialty_ids[GENERAL]
    others = [specialty_ids[code] for code in OTHER_SPECIALTIES]
    weights = [rng.uniform(0.3, 3.0) for _ in states]
    # Three hubs in every state first, then the rest by the states' weights.
    hub_states = [pk for pk, _name in states] * 3
    hub_states += [s[0] for s in rng.choices(states, weights, k=hubs - len(hub_states))]
    hub_ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in hub_states]
    hubs_in: dict[int, list[uuid.UUID]] = defaultdict(list)
    national = National()
    for hub_id, state_id in zip(hub_ids, hub_states, strict=True):
        hubs_in[state_id].append(hub_id)
        national.state_of[hub_id] = state_id
    spoke_states = [s[0] for s in rng.choices(states, weights, k=spokes)]
    spoke_ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in spoke_states]

    links: list[Link] = []
    for spoke_id, state_id in zip(spoke_ids, spoke_states, strict=True):
        national.state_of[spoke_id] = state_id
        count = rng.choices([1, 2, 3], [0.35, 0.4, 0.25])[0]
        for priority, hub_id in enumerate(rng.sample(hubs_in[state_id], count), start=1):
            extra = rng.sample(others, rng.randint(0, 3))
            link = Link(spoke_id, hub_id, priority, [general, *extra])
            links.append(link)
            if priority == 1:
                national.first_choice_of.setdefault(hub_id, []).append(link)

    queue_rows = []
    hub_specialties: dict[uuid.UUID, set[int]] = defaultdict(set)
    state_specialties: dict[int, set[int]] = defaultdict(set)
    for link in links:
        hub_specialties[link.hub].update(link.specialties)
        state_specialties[national.state_of[link.hub]].update(link.specialties)
    for hub_id, codes in hub_specialties.items():
        for specialty in sorted(codes):
            label = f"Hub {hub_id.hex[:8]}: {specialty_names[specialty]}"
            state_id = national.state_of[hub_id]
            queue_rows.append(
                (uuid.uuid4(), Queue.Kind.HUB_SPECIALTY, label, hub_id, specialty, state_id)
            )
    state_name = dict(states)
    for state_id, codes in state_specialties.items():
        for specialty in sorted(codes):
            label = f"{state_name[state_id]}: {specialty_names[specialty]} (overflow)"
            queue_rows.append(
                (uuid.uuid4(), Queue.Kind.STATE_OVERFLOW, label, None, specialty, state_id)
            )

    facility = Facility._meta.db_table
    link_table = HubSpokeLink._meta.db_table
    through = HubSpokeLink.specialties.through._meta.db_table
    with transaction.atomic():
        national.hubs = _copy(
            facility,
            ("id", "code", "name", "level", "state_id", "is_hub", "is_spoke", "active"),
            (
                (pk, f"H{n:06d}", f"Hub {n}", HUB_LEVELS[n % len(HUB_LEVELS)], s, True, False, True)
                for n, (pk, s) in enumerate(zip(hub_ids, hub_states, strict=True))
            ),
        )
        national.spokes = _copy(
            facility,
            ("id", "code", "name", "level", "state_id", "is_hub", "is_spoke", "active"),
            (
                (pk, f"S{n:06d}", f"Health & Wellness Centre {n}", "sc", s, False, True, True)
                for n, (pk, s) in enumerate(zip(spoke_ids, spoke_states, strict=True))
            ),
        )
        national.links = _copy(
            link_table,
            ("id", "priority", "active", "hub_id", "spoke_id"),
            ((n, link.priority, True, link.hub, link.spoke) for n, link in enumerate(links, 1)),
        )
        national.link_specialties = _copy(
            through,
            ("hubspokelink_id", "specialty_id"),
            ((n, s) for n, link in enumerate(links, 1) for s in link.specialties),
        )
        national.queues = _copy(
            Queue._meta.db_table,
            ("id", "kind", "label", "hub_id", "specialty_id", "state_id"),
            queue_rows,
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{link_table}', 'id'), "
                f"(SELECT max(id) FROM {link_table}))"
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    national.seconds = time.perf_counter() - started
    return national
