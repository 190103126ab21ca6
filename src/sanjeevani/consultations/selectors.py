"""Read queries of consultations. Each read of a consultation or a patient's record writes
an audit row (patient set), and each is scoped by the care-team policy (``care_team``):
the patient's family, the consultation's doctor, the centre that asked for it. Anyone else
gets 404, not 403, so an identifier in a URL reveals nothing."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import CharField, QuerySet, UUIDField
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _

from sanjeevani.audit.services import record_event
from sanjeevani.config.compiled_queries import CompiledQuery, Slot
from sanjeevani.patients.models import Patient
from sanjeevani.queueing.models import Ticket

from . import care_team
from .care_team import Action
from .models import Consultation


def _with_prescriptions(qs: QuerySet[Consultation]) -> QuerySet[Consultation]:
    """Prefetch prescriptions when the prescriptions app has hung them off Consultation."""
    if hasattr(Consultation, "prescriptions"):
        return qs.prefetch_related("prescriptions")
    return qs


#: The consultation's related rows every page and step of it shows.
CONSULTATION_RELATED = ("patient", "doctor__user", "opd", "ticket", "feedback")


def consultations_visible_to(
    user: Any, action: Action = Action.VIEW_RECORD
) -> QuerySet[Consultation]:
    return care_team.cases_visible_to(user, action).select_related(*CONSULTATION_RELATED)


#: ``visible_consultation``'s query per shape of the policy (role, action, whether the user
#: is posted somewhere): read on every step of a consultation (``bench/compiled_queries.py``).
_visible_by_shape: dict[tuple, CompiledQuery[Consultation]] = {}


def _visible_query(shape: tuple, build: Any, by_line: bool) -> CompiledQuery[Consultation]:
    key = (*shape, by_line)
    query = _visible_by_shape.get(key)
    if query is None:

        def narrowed() -> QuerySet[Consultation]:
            found = build().select_related(*CONSULTATION_RELATED, "patient__state")
            if by_line:
                found = found.filter(service_line=Slot("service_line", CharField()))
            return found.filter(pk=Slot("consultation", UUIDField()))[:2]

        query = _visible_by_shape.setdefault(key, CompiledQuery(narrowed))
    return query


def visible_consultation(
    user: Any, consultation_id: Any, service_line: str | None = None
) -> Consultation:
    """One consultation, for those the care-team policy lets read it; 404 for anyone else.
    Not audited: for the steps that act on it (a page or endpoint that shows the record
    uses ``consultation_for_user``). Compiled once per shape of the policy; a policy whose
    SQL depends on more than the user's values (an operator's tokens) is built each time."""
    try:
        policy = care_team.open_visibility(user)
        if policy is None:
            found = consultations_visible_to(user).select_related("patient__state")
            if service_line is not None:
                found = found.filter(service_line=service_line)
            return found.get(pk=consultation_id)
        query = _visible_query(policy.shape, policy.build, service_line is not None)
        values = {**policy.values, "consultation": consultation_id}
        if service_line is not None:
            values["service_line"] = service_line
        return query.one(**values)
    except (Consultation.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404(_("No such consultation.")) from None


def consultation_for_user(
    user: Any,
    consultation_id: Any,
    request: HttpRequest | None = None,
    service_line: str | None = None,
) -> Consultation:
    """One consultation, for those the care-team policy lets read it; 404 for anyone else.
    The read is audited."""
    consultation = visible_consultation(user, consultation_id, service_line)
    audit_consultation_read(user, consultation, request)
    return consultation


def audit_consultation_read(
    user: Any, consultation: Consultation, request: HttpRequest | None = None
) -> None:
    """Record that ``user`` was shown ``consultation``'s record."""
    record_event(
        user,
        "consultation.view",
        obj=consultation,
        patient_id=consultation.patient_id,
        request=request,
    )


def patient_history(
    patient: Patient, viewer: Any, request: HttpRequest | None = None
) -> list[Consultation]:
    """The patient's past consultations on this platform, newest first, with their
    prescriptions. For those the policy lets see the patient's history; audited."""
    if not care_team.may(viewer, Action.VIEW_HISTORY, patient):
        raise Http404(_("No such patient."))
    history = list(
        _with_prescriptions(
            Consultation.objects.filter(patient=patient, status=Consultation.Status.ENDED)
            .select_related("doctor__user", "opd")
            .order_by("-created_at")
        )
    )
    record_event(
        viewer,
        "patient.history_view",
        obj=patient,
        patient_id=patient.pk,
        request=request,
        detail={"consultations": len(history)},
    )
    return history


def earlier_consultations_for_doctor(
    consultation: Consultation, viewer: Any, request: HttpRequest | None = None
) -> list[Consultation]:
    """The patient's other ended consultations, for the doctor of this (open or recent)
    consultation; audited. Past the doctor's aftercare window the list is empty (the
    consultation's own page still opens)."""
    if consultation.doctor.user_id != getattr(viewer, "pk", None):
        raise PermissionDenied(_("Only the doctor of this consultation can see these."))
    if care_team.lapsed(viewer, Action.VIEW_HISTORY, consultation):
        return []
    care_team.require(viewer, Action.VIEW_HISTORY, consultation)
    earlier = list(
        _with_prescriptions(
            Consultation.objects.filter(
                patient_id=consultation.patient_id, status=Consultation.Status.ENDED
            )
            .exclude(pk=consultation.pk)
            .select_related("doctor__user", "opd")
            .order_by("-created_at")[:50]
        )
    )
    record_event(
        viewer,
        "patient.earlier_consultations_view",
        obj=consultation,
        patient_id=consultation.patient_id,
        request=request,
        detail={"count": len(earlier)},
    )
    return earlier


def open_consultations_of_doctor(doctor: Any) -> QuerySet[Consultation]:
    """The doctor's consultations not yet ended (calling, in progress, on hold)."""
    return (
        Consultation.objects.filter(doctor=doctor)
        .exclude(status=Consultation.Status.ENDED)
        .select_related("patient", "opd", "ticket")
        .order_by("created_at")
    )


#: A token's newest consultation with its doctor and hub: each status poll of a centre's
#: case and each waiting-room page reads it.
_latest_with_doctor = CompiledQuery(
    lambda: (
        Consultation.objects.select_related("doctor__user", "hub")
        .filter(ticket_id=Slot("ticket", Consultation._meta.get_field("ticket").target_field))
        .order_by("-created_at")[:1]
    )
)


def latest_consultation_of_ticket(ticket: Ticket) -> Consultation | None:
    """The consultation a token was last called to (it may have ended), with its doctor
    and hub loaded."""
    found = _latest_with_doctor(ticket=ticket.pk)
    return found[0] if found else None


_latest_of_ticket = CompiledQuery(
    lambda: (
        Consultation.objects.only("pk")
        .filter(ticket_id=Slot("ticket", Consultation._meta.get_field("ticket").target_field))
        .order_by("-created_at")[:1]
    )
)


def latest_consultation_id_of_ticket(ticket: Ticket) -> Any:
    """The id alone of ``latest_consultation_of_ticket``: every status read of a called or
    seated token asks it, so it is compiled once per connection and reads one column."""
    found = _latest_of_ticket(ticket=ticket.pk)
    return found[0].pk if found else None
