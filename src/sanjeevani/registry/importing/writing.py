"""Writing a checked file: create or update each facility, OPD, link and doctor."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from sanjeevani.accounts.models import Role

from ..models import DoctorProfile, Facility, HubSpokeLink, OnlineOPD, OpeningWindow
from .checker import Checker
from .rows import ImportResult


def count_planned(checker: Checker, result: ImportResult) -> None:
    for kind, values, exists in (
        ("facilities", checker.facility_values, lambda v: v["code"] in checker.db_facilities),
        ("OPDs", checker.opd_values, lambda v: v["code"] in checker.db_opds),
        (
            "links",
            checker.link_values,
            lambda v: HubSpokeLink.objects.filter(
                hub__code=v["hub"], spoke__code=v["spoke"]
            ).exists(),
        ),
        ("doctors", checker.doctor_values, lambda v: v["existing"] is not None),
    ):
        for _row, value in values:
            (result.updated if exists(value) else result.created)[kind] += 1


def write(checker: Checker, result: ImportResult) -> None:
    facilities: dict[str, Facility] = dict(checker.db_facilities)
    for _row, values in checker.facility_values:
        code = values["code"]
        fields = {k: values[k] for k in ("name", "state", "district", "level", "is_hub")}
        fields.update(is_spoke=values["is_spoke"], active=values["active"])
        facility, created = Facility.objects.update_or_create(code=code, defaults=fields)
        facilities[code] = facility
        (result.created if created else result.updated)["facilities"] += 1

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

    for _row, values in checker.link_values:
        link, created = HubSpokeLink.objects.update_or_create(
            hub=facilities[values["hub"]],
            spoke=facilities[values["spoke"]],
            defaults={"priority": values["priority"], "active": values["active"]},
        )
        link.specialties.set(values["specialties"])
        (result.created if created else result.updated)["links"] += 1

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
