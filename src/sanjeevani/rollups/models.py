"""Counters the dashboards read instead of the raw rows, so a national figure costs the same
at 3 thousand or 300 million consultations.

The grains, each kept in the transaction of the change it counts (``services``):

- ``DayDetail``: per IST day, state, district, service line, specialty and place (OPD, hub,
  spoke) — the state and hub dashboards, with the wait and hour histograms;
- ``StateDay``: per IST day, state and service line — the public page, rankings, trends;
- ``StateTotal``: per state and service line, all time — "to date";
- ``DistrictDay``, ``PlaceDay``, ``SpokeDay``: coarser than ``DayDetail`` and read by the
  state and hub dashboards instead of it, so a page reads O(districts, places or spokes ×
  days) rows, never one per spoke, specialty and hub of every day.

``DoctorDay`` is a set (one row per day, doctor, state, line and place), so "doctors who
consulted today" is a count of rows, not of consultations.

Keys are plain columns, NOT NULL, with 0 or ``NO_PLACE`` for "none": in a unique key NULLs
are distinct, so an upsert would never meet the row it must add to. No foreign keys: the
rebuild empties and refills these tables in bulk.
"""

from __future__ import annotations

import uuid

from django.db import models

#: "No such place" in a place column of a key (an OPD consultation has no hub or spoke).
NO_PLACE = uuid.UUID(int=0)

#: Upper edges (minutes) of the wait-time buckets; the last bucket is open.
WAIT_EDGES_MINUTES = (2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180)
WAIT_BUCKETS = tuple(f"wait_b{i:02d}" for i in range(len(WAIT_EDGES_MINUTES) + 1))
HOURS = tuple(f"hour_{h:02d}" for h in range(24))

#: The scalar counters every grain holds. ``consultations`` counts completed ones
#: (prescription, advice only, referred); ``missed`` those ended as no-show (the patient
#: never joined, including a patient who cancelled during the call); ``cancelled`` tokens
#: cancelled; ``tokens`` tokens taken; the sums give averages (``wait_seconds /
#: wait_count``, ``duration_seconds / duration_count``).
SCALARS = (
    "consultations",
    "new_patients",
    "prescriptions",
    "referrals",
    "missed",
    "dropped",
    "forwarded",
    "cancelled",
    "tokens",
    "women",
    "seniors",
    "wait_count",
    "wait_seconds",
    "duration_count",
    "duration_seconds",
)
HISTOGRAMS = WAIT_BUCKETS + HOURS


class ServiceLine(models.TextChoices):
    OPD = "opd", "Online OPD"
    HUB_SPOKE = "hub_spoke", "Hub and spoke"
    STORE_FORWARD = "store_forward", "Store and forward"


def _counters(name: str, fields: tuple[str, ...]) -> type[models.Model]:
    attrs = {
        "__module__": __name__,
        "Meta": type("Meta", (), {"abstract": True}),
        **{field: models.BigIntegerField(default=0) for field in fields},
    }
    return type(name, (models.Model,), attrs)


ScalarCounters = _counters("ScalarCounters", SCALARS)
HistogramCounters = _counters("HistogramCounters", HISTOGRAMS)


class DayDetail(ScalarCounters, HistogramCounters):
    KEY = (
        "day",
        "state_id",
        "district_id",
        "service_line",
        "specialty_id",
        "opd_id",
        "hub_id",
        "spoke_id",
    )
    COUNTERS = SCALARS + HISTOGRAMS

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()
    state_id = models.IntegerField()
    district_id = models.BigIntegerField()
    service_line = models.CharField(max_length=16)
    specialty_id = models.BigIntegerField()
    opd_id = models.UUIDField()
    hub_id = models.UUIDField()
    spoke_id = models.UUIDField()

    class Meta:
        db_table = "rollups_day_detail"
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "day",
                    "state_id",
                    "district_id",
                    "service_line",
                    "specialty_id",
                    "opd_id",
                    "hub_id",
                    "spoke_id",
                ],
                name="rollups_day_detail_key",
            )
        ]
        indexes = [
            models.Index(fields=["state_id", "day"], name="rollups_detail_state_day"),
            models.Index(fields=["hub_id", "day"], name="rollups_detail_hub_day"),
            models.Index(fields=["spoke_id", "day"], name="rollups_detail_spoke_day"),
            models.Index(fields=["opd_id", "day"], name="rollups_detail_opd_day"),
        ]


class StateDay(ScalarCounters):
    KEY = ("day", "state_id", "service_line")
    COUNTERS = SCALARS

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()
    state_id = models.IntegerField()
    service_line = models.CharField(max_length=16)

    class Meta:
        db_table = "rollups_state_day"
        constraints = [
            models.UniqueConstraint(
                fields=["day", "state_id", "service_line"], name="rollups_state_day_key"
            )
        ]


class StateTotal(ScalarCounters):
    KEY = ("state_id", "service_line")
    COUNTERS = SCALARS

    id = models.BigAutoField(primary_key=True)
    state_id = models.IntegerField()
    service_line = models.CharField(max_length=16)

    class Meta:
        db_table = "rollups_state_total"
        constraints = [
            models.UniqueConstraint(
                fields=["state_id", "service_line"], name="rollups_state_total_key"
            )
        ]


class DoctorDay(models.Model):
    """A doctor completed at least one consultation that day, in that state, line and place
    (the OPD or the hub)."""

    KEY = ("day", "doctor_id", "state_id", "service_line", "place_id")

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()
    doctor_id = models.UUIDField()
    state_id = models.IntegerField()
    service_line = models.CharField(max_length=16)
    place_id = models.UUIDField()

    class Meta:
        db_table = "rollups_doctor_day"
        constraints = [
            models.UniqueConstraint(
                fields=["day", "doctor_id", "state_id", "service_line", "place_id"],
                name="rollups_doctor_day_key",
            )
        ]
        indexes = [
            models.Index(fields=["day", "state_id"], name="rollups_doctor_day_state"),
            # Who served at the places a dashboard shows (a hub's page, a state's latest
            # place-days): without it, every place of the day's whole country is read.
            models.Index(fields=["place_id", "day"], name="rollups_doctor_day_place"),
        ]

    def __str__(self) -> str:
        return f"{self.doctor_id} consulted on {self.day}"


class DistrictDay(ScalarCounters, HistogramCounters):
    """Per IST day, state, district and service line, with both histograms: a state's
    operations (its busiest hours, waits, shares, districts) read
    O(districts × days) rows, whatever the number of spokes or consultations."""

    KEY = ("day", "state_id", "district_id", "service_line")
    COUNTERS = SCALARS + HISTOGRAMS

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()
    state_id = models.IntegerField()
    district_id = models.BigIntegerField()
    service_line = models.CharField(max_length=16)

    class Meta:
        db_table = "rollups_district_day"
        constraints = [
            models.UniqueConstraint(
                fields=["day", "state_id", "district_id", "service_line"],
                name="rollups_district_day_key",
            )
        ]
        indexes = [models.Index(fields=["state_id", "day"], name="rollups_district_state_day")]


class PlaceDay(ScalarCounters, HistogramCounters):
    """Per IST day, OPD or hub (the place that served) and service line, with both
    histograms: the waits per OPD and hub per day, and a hub's whole dashboard, read
    O(places × days) rows. A request counted at its spoke only (a token) has neither OPD
    nor hub when it is a hub case: it is kept here with both ``NO_PLACE``."""

    KEY = ("day", "state_id", "service_line", "opd_id", "hub_id")
    COUNTERS = SCALARS + HISTOGRAMS

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()
    state_id = models.IntegerField()
    service_line = models.CharField(max_length=16)
    opd_id = models.UUIDField()
    hub_id = models.UUIDField()

    class Meta:
        db_table = "rollups_place_day"
        constraints = [
            models.UniqueConstraint(
                fields=["day", "state_id", "service_line", "opd_id", "hub_id"],
                name="rollups_place_day_key",
            )
        ]
        indexes = [
            models.Index(fields=["state_id", "day"], name="rollups_place_state_day"),
            models.Index(fields=["hub_id", "day"], name="rollups_place_hub_day"),
            models.Index(fields=["opd_id", "day"], name="rollups_place_opd_day"),
        ]


class SpokeDay(models.Model):
    """Per IST day and spoke: consultations given to its patients and tokens it took (the
    equity list's spokes and the quiet spokes), narrow so that a state's month of spokes
    is one index range of small rows. Only rows with a spoke."""

    KEY = ("day", "state_id", "district_id", "spoke_id")
    COUNTERS = ("consultations", "tokens")

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()
    state_id = models.IntegerField()
    district_id = models.BigIntegerField()
    spoke_id = models.UUIDField()
    consultations = models.BigIntegerField(default=0)
    tokens = models.BigIntegerField(default=0)

    class Meta:
        db_table = "rollups_spoke_day"
        constraints = [
            models.UniqueConstraint(
                fields=["day", "state_id", "district_id", "spoke_id"],
                name="rollups_spoke_day_key",
            )
        ]
        indexes = [
            # Covering (PostgreSQL): a state's month of spokes is read from the index alone,
            # not from rows scattered among every other state's (an index-only scan once
            # the pages are all-visible: vacuumed).
            models.Index(
                fields=["state_id", "day"],
                include=["spoke_id", "consultations", "tokens"],
                name="rollups_spoke_state_cover",
            ),
            models.Index(fields=["spoke_id", "day"], name="rollups_spoke_spoke_day"),
        ]

    def __str__(self) -> str:
        return f"spoke {self.spoke_id} on {self.day}"


#: The counting grains (a fact adds to each), finest first; ``DoctorDay`` is a set apart.
GRAINS = (DayDetail, DistrictDay, PlaceDay, SpokeDay, StateDay, StateTotal)

#: Every rollup table, in the order the rebuild fills them.
ROLLUP_MODELS = (DayDetail, DistrictDay, PlaceDay, SpokeDay, StateDay, StateTotal, DoctorDay)
