"""Writing a checked file: set each district's population; create or update each facility,
OPD, link and doctor."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import get_user_model

from sanjeevani.accounts.models import Role

from ..models import District, DoctorProfile, Facility, HubSpokeLink, OnlineOPD, OpeningWindow
from .base import in_chunks
from .checker import Checker
from .rows import ImportResult

#: Rows per INSERT or UPDATE statement when writing in bulk.
BATCH = 2_000
FACILITY_FIELDS = ("name", "state", "district", "level", "is_hub", "is_spoke", "active")
#: What an update may write: the file's fields and the catchment (kept when the cell is
#: empty, cleared when the facility is no longer a spoke).
FACILITY_UPDATED = (*FACILITY_FIELDS, "catchment_population")
Progress = Callable[[str], None]


def _existing_links(checker: Checker) -> dict[tuple, HubSpokeLink]:
    """The links the file names that are already in the registry, by (hub id, spoke id): one
    query per few thousand spokes instead of one per row."""
    in_registry = checker.db_facilities  # a facility new in this file has no links yet
    spoke_ids = {
        in_registry[values["spoke"]].pk
        for _row, values in checker.link_values
        if values["spoke"] in in_registry
    }
    return {
        (link.hub_id, link.spoke_id): link
        for link in in_chunks(HubSpokeLink.objects.all(), "spoke_id", spoke_ids)
    }


def _differs(facility: Facility, fields: dict) -> bool:
    for name, value in fields.items():
        if name in ("state", "district"):
            if getattr(facility, f"{name}_id") != (value.pk if value is not None else None):
                return True
        elif getattr(facility, name) != value:
            return True
    return False


def count_planned(checker: Checker, result: ImportResult) -> None:
    links = _existing_links(checker)
    db = checker.db_facilities

    def link_exists(v: dict) -> bool:
        hub, spoke = db.get(v["hub"]), db.get(v["spoke"])
        return hub is not None and spoke is not None and (hub.pk, spoke.pk) in links

    for kind, values, exists in (
        ("districts", checker.district_values, lambda v: True),  # never created here
        ("facilities", checker.facility_values, lambda v: v["code"] in checker.db_facilities),
        ("OPDs", checker.opd_values, lambda v: v["code"] in checker.db_opds),
        ("links", checker.link_values, link_exists),
        ("doctors", checker.doctor_values, lambda v: v["existing"] is not None),
    ):
        for _row, value in values:
            (result.updated if exists(value) else result.created)[kind] += 1


def _say(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)


def _every_tenth(start: int, total: int) -> bool:
    """Whether the batch from ``start`` ends a tenth of ``total`` (progress, not a flood)."""
    step = max(BATCH, (total // 10) // BATCH * BATCH)
    end = min(start + BATCH, total)
    return end == total or end // step != start // step


def write(checker: Checker, result: ImportResult, progress: Progress | None = None) -> None:
    """Create or update every checked row: facilities and links in bulk (a national file
    holds a quarter of a million of them), OPDs and doctors one by one (a few thousand)."""
    _write_districts(checker, result, progress)
    facilities: dict[str, Facility] = dict(checker.db_facilities)
    new: list[Facility] = []
    changed: list[Facility] = []
    for _row, values in checker.facility_values:
        code = values["code"]
        fields = {k: values[k] for k in FACILITY_FIELDS}
        if not fields["is_spoke"]:
            fields["catchment_population"] = None  # only a spoke has a catchment
        elif values["catchment_population"] is not None:
            fields["catchment_population"] = values["catchment_population"]
        facility = facilities.get(code)
        if facility is None:
            facility = Facility(code=code, **fields)
            new.append(facility)
            facilities[code] = facility
            result.created["facilities"] += 1
        else:
            if _differs(facility, fields):
                for name, value in fields.items():
                    setattr(facility, name, value)
                changed.append(facility)  # only what differs is written (a reload is cheap)
            result.updated["facilities"] += 1
    for start in range(0, len(new), BATCH):
        Facility.objects.bulk_create(new[start : start + BATCH])
        if _every_tenth(start, len(new)):
            _say(progress, f"facilities created: {min(start + BATCH, len(new)):,}/{len(new):,}")
    if changed:
        Facility.objects.bulk_update(changed, FACILITY_UPDATED, batch_size=BATCH)
        _say(progress, f"facilities updated: {len(changed):,}")

    opds: dict[str, OnlineOPD] = dict(checker.db_opds)
    for _row, values in checker.opd_values:
        fields = {
            k: values[k]
            for k in (
                "name",
                "scope",
                "state",
                "specialty",
                "languages",
                "daily_capacity",
                "consultation_minutes",
                "active",
            )
        }
        opd, created = OnlineOPD.objects.update_or_create(code=values["code"], defaults=fields)
        if values["windows"] is not None:
            opd.opening_windows.all().delete()
            OpeningWindow.objects.bulk_create(
                OpeningWindow(
                    opd=opd, weekday=w.weekday, start_minute=w.start_minute, end_minute=w.end_minute
                )
                for w in values["windows"]
            )
        opds[values["code"]] = opd
        (result.created if created else result.updated)["OPDs"] += 1

    _write_links(checker, result, facilities, progress)

    user_model = get_user_model()
    for _row, values in checker.doctor_values:
        doctor = values["existing"]
        if doctor is None:
            first, _sep, last = values["name"].rpartition(" ")
            user = user_model(
                username=values["username"],
                first_name=(first or last)[:150],
                last_name=(last if first else "")[:150],
                email=values["email"],
                mobile=values["mobile"],
                role=Role.DOCTOR,
            )
            user.set_unusable_password()
            user.save()
            doctor = DoctorProfile(user=user)
            result.doctors_without_password.append(user.username)
            result.created["doctors"] += 1
        else:
            user = doctor.user
            if values["email"]:
                user.email = values["email"]
            if values["mobile"]:
                user.mobile = values["mobile"]
            user.save(update_fields=["email", "mobile"])
            result.updated["doctors"] += 1
        doctor.registration_number = values["registration_number"]
        doctor.council = values["council"]
        if values["qualification"]:
            doctor.qualification = values["qualification"]
        if values.get("contact_phone"):
            doctor.contact_phone = values["contact_phone"]
        if values.get("contact_email"):
            doctor.contact_email = values["contact_email"]
        if values["languages"]:
            doctor.languages = values["languages"]
        if values["sex"]:
            doctor.sex = values["sex"]
        if values["state"] is not None:
            doctor.state = values["state"]
        doctor.save()
        if values["specialties"]:
            doctor.specialties.set(values["specialties"])
        doctor.opds.add(*(opds[code] for code in values["opds"]))
        doctor.hubs.add(*(facilities[code] for code in values["hubs"]))


def _write_districts(checker: Checker, result: ImportResult, progress: Progress | None) -> None:
    """The districts' populations: only those that differ are written."""
    changed: list[District] = []
    for _row, values in checker.district_values:
        district = values["district"]
        if district.population != values["population"]:
            district.population = values["population"]
            changed.append(district)
        result.updated["districts"] += 1
    if changed:
        District.objects.bulk_update(changed, ["population"], batch_size=BATCH)
        _say(progress, f"district populations set: {len(changed):,}")


def _write_links(
    checker: Checker,
    result: ImportResult,
    facilities: dict[str, Facility],
    progress: Progress | None,
) -> None:
    """New links in bulk with their specialties; existing ones updated and their
    specialties replaced by the file's (as ``set()`` did)."""
    existing = _existing_links(checker)
    through = HubSpokeLink.specialties.through
    new: list[tuple[HubSpokeLink, list]] = []
    changed: list[tuple[HubSpokeLink, list]] = []
    moved: list[HubSpokeLink] = []  # existing links whose priority or active flag changes
    for _row, values in checker.link_values:
        hub, spoke = facilities[values["hub"]], facilities[values["spoke"]]
        link = existing.get((hub.pk, spoke.pk))
        if link is None:
            link = HubSpokeLink(hub=hub, spoke=spoke)
            new.append((link, values["specialties"]))
            result.created["links"] += 1
        else:
            changed.append((link, values["specialties"]))
            result.updated["links"] += 1
            if (link.priority, link.active) == (values["priority"], values["active"]):
                continue
            moved.append(link)
        link.priority, link.active = values["priority"], values["active"]
    for start in range(0, len(new), BATCH):
        chunk = new[start : start + BATCH]
        HubSpokeLink.objects.bulk_create([link for link, _specialties in chunk])
        through.objects.bulk_create(
            through(hubspokelink_id=link.pk, specialty_id=specialty.pk)
            for link, specialties in chunk
            for specialty in specialties
        )
        if _every_tenth(start, len(new)):
            _say(progress, f"links created: {min(start + BATCH, len(new)):,}/{len(new):,}")
    if moved:
        HubSpokeLink.objects.bulk_update(moved, ["priority", "active"], batch_size=BATCH)
    if changed:
        # Only links whose specialties differ from the file's are rewritten.
        current: dict[int, set[int]] = {}
        for row in in_chunks(
            through.objects.all(), "hubspokelink_id", [link.pk for link, _s in changed]
        ):
            current.setdefault(row.hubspokelink_id, set()).add(row.specialty_id)
        differ = [
            (link, specialties)
            for link, specialties in changed
            if current.get(link.pk, set()) != {s.pk for s in specialties}
        ]
        ids = [link.pk for link, _s in differ]
        for start in range(0, len(ids), BATCH):
            through.objects.filter(hubspokelink_id__in=ids[start : start + BATCH]).delete()
        through.objects.bulk_create(
            (
                through(hubspokelink_id=link.pk, specialty_id=specialty.pk)
                for link, specialties in differ
                for specialty in specialties
            ),
            batch_size=BATCH,
        )
        _say(
            progress,
            f"links updated: {len(changed):,} ({len(moved):,} re-ranked, "
            f"{len(differ):,} with other specialties)",
        )
