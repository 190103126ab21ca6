"""The health worker's steps: register a patient at the centre, send a case (checked,
routed and queued in one transaction; the same draft sent twice is one case), attach
photos and reports."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sanjeevani.accounts.errors import SignInError
from sanjeevani.accounts.mobile_numbers import normalise_mobile
from sanjeevani.accounts.otp import patient_account_for
from sanjeevani.audit.models import AuditEvent
from sanjeevani.audit.services import audit_event, record_event
from sanjeevani.config.prepared_statements import run_prepared
from sanjeevani.live.groups import centre_group
from sanjeevani.live.publisher import publish_many_after_commit
from sanjeevani.patients.models import Patient
from sanjeevani.patients.selectors import family_size
from sanjeevani.patients.services import MAX_FAMILY_SIZE, clean_patient_data
from sanjeevani.patients.uploads import check_clinical_upload
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.models import Ticket
from sanjeevani.queueing.sql import mark_written, row_document
from sanjeevani.registry.models import Specialty
from sanjeevani.rollups.services import count_token_taken

from . import routing
from .actors import centre_of, require_centre_patient
from .complaints import COMPLAINTS
from .models import Case, CaseAttachment
from .suggestion import rule_table, suggest_specialty
from .triage import check_case_vitals

MAX_ATTACHMENTS = 6


def register_patient(cho: Any, data: dict[str, Any], mobile: str) -> Patient:
    """A patient registered at the centre, as a profile of the mobile number's account
    (the patient's own, or a family member's when the walk-in has no phone). Duplicates
    are the caller's to flag first (``selectors.possible_duplicates``)."""
    centre = centre_of(cho)
    try:
        e164 = normalise_mobile(mobile)
    except SignInError as error:
        raise ValidationError({"mobile": [str(error)]}) from error
    cleaned = clean_patient_data({**data, "state": data.get("state") or centre.state_id})
    with transaction.atomic():
        account = patient_account_for(e164)
        type(account).objects.select_for_update().filter(pk=account.pk).first()
        family = family_size(account)
        if family.profiles >= MAX_FAMILY_SIZE:
            raise ValidationError(
                {
                    "mobile": _(
                        "This number already holds %(limit)d profiles; use another family "
                        "member's number."
                    )
                    % {"limit": MAX_FAMILY_SIZE}
                }
            )
        if cleaned.get("relation") == Patient.Relation.SELF and family.selves:
            cleaned["relation"] = Patient.Relation.OTHER
        patient = Patient.objects.create(
            account=account, registered_at_facility_id=centre.pk, **cleaned
        )
        record_event(
            cho,
            "patient.create",
            obj=patient,
            patient_id=patient.pk,
            detail={"centre": str(centre.pk), "relation": patient.relation},
        )
    return patient


def _clean_case(patient: Patient, data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    complaints = [c for c in (data.get("complaints") or []) if c]
    unknown = [c for c in complaints if c not in COMPLAINTS]
    if unknown:
        errors["complaints"] = _("Choose complaints from the list (unknown: %(codes)s).") % {
            "codes": ", ".join(map(str, unknown))[:100]
        }
    text = str(data.get("complaint_text") or "").strip()
    if not complaints and not text:
        errors["complaints"] = _("Choose at least one complaint, or describe it in words.")
    if len(text) > 2000:
        errors["complaint_text"] = _("Keep the complaint under 2,000 characters.")
    history = str(data.get("history") or "").strip()
    if len(history) > 4000:
        errors["history"] = _("Keep the history under 4,000 characters.")
    vitals, vital_errors, danger = check_case_vitals(data.get("vitals") or {}, patient.age)
    if vital_errors:
        errors["vitals"] = list(vital_errors.values())
        errors.update({f"vitals.{name}": message for name, message in vital_errors.items()})
    specialty = _specialty(str(data.get("specialty") or ""))
    if specialty is None:
        errors["specialty"] = _("Choose the specialty to ask (or accept the suggestion).")
    mode = data.get("mode")
    if mode not in Case.Mode.values:
        errors["mode"] = _("Choose live video now, or store and forward.")
    if not data.get("consent"):
        errors["consent"] = _(
            "Ask the patient (or guardian) for consent to a teleconsultation and tick the box."
        )
    consent_by = data.get("consent_by") or Case.ConsentBy.PATIENT
    if consent_by not in Case.ConsentBy.values:
        errors["consent_by"] = _("Say who gave consent: the patient or a guardian.")
    elif patient.is_minor and consent_by != Case.ConsentBy.GUARDIAN:
        errors["consent_by"] = _("The patient is a minor: a parent or guardian must consent.")
    identity = str(data.get("identity_method") or "").strip()
    if not identity:
        errors["identity_method"] = _(
            "Say how you checked who the patient is (e.g. Aadhaar seen, known to the centre)."
        )
    elif len(identity) > 120:
        errors["identity_method"] = _("Keep this under 120 characters.")
    try:
        client_key = uuid.UUID(str(data.get("client_key")))
    except ValueError:
        errors["client_key"] = _("This form is out of date; reload the page.")
        client_key = None
    if errors:
        raise ValidationError(errors)
    return {
        "client_key": client_key,
        "complaints": complaints,
        "complaint_text": text,
        "history": history,
        "vitals": vitals,
        "danger": danger,
        "specialty": specialty,
        "mode": mode,
        "consent_by": consent_by,
        "identity_method": identity,
        "urgent": bool(data.get("urgent")) or bool(danger),
    }


def _specialty(code: str) -> Specialty | None:
    """The specialty of ``code``: from the rule table this worker keeps, else read in plain
    SQL (one added on another worker since this one read the table)."""
    known = rule_table().specialties.get(code)
    if known is not None:
        return known
    row = run_prepared(_SPECIALTY_SQL, [code])
    return None if row is None else Specialty.from_db(connection.alias, ["id", "code", "name"], row)


_SPECIALTY_SQL = f"SELECT id, code, name FROM {Specialty._meta.db_table} WHERE code = %s"  # noqa: S608


def _complaint_line(complaints: list[str], text: str) -> str:
    labels = [str(COMPLAINTS[c]) for c in complaints]
    return "; ".join([*labels, text] if text else labels)[:500]


def submit_case(cho: Any, patient: Patient, data: dict[str, Any]) -> tuple[Case, bool]:
    """Send a case to a hub: checked, routed (``routing.route_new_case``) and queued in one
    transaction. Returns (case, created): the same draft sent again (its ``client_key``,
    e.g. a retry after the connection dropped) returns the case already sent."""
    centre = require_centre_patient(cho, patient)
    cleaned = _clean_case(patient, data)
    suggestion = suggest_specialty(cleaned["complaints"], cleaned["vitals"], patient.age)
    now = timezone.now()
    try:
        with _one_write():
            route = routing.route_new_case(
                centre, cleaned["specialty"], patient.preferred_language, cleaned["urgent"]
            )
            ticket = queue.new_hub_ticket(
                cho,
                patient,
                route.queue,
                hub_id=route.hub_id,
                spoke=centre,
                specialty=cleaned["specialty"],
                priority=Ticket.Priority.URGENT if cleaned["urgent"] else Ticket.Priority.NORMAL,
                complaint=_complaint_line(cleaned["complaints"], cleaned["complaint_text"]),
                now=now,
            )
            case = Case(
                client_key=cleaned["client_key"],
                spoke=centre,
                patient=patient,
                requested_by=cho,
                ticket=ticket,
                specialty=cleaned["specialty"],
                suggested_specialty=suggestion.specialty,
                suggestion_reasons=suggestion.reasons,
                mode=cleaned["mode"],
                urgent=cleaned["urgent"],
                urgent_reasons=cleaned["danger"],
                complaints=cleaned["complaints"],
                complaint_text=cleaned["complaint_text"],
                history=cleaned["history"],
                vitals=cleaned["vitals"],
                identity_method=cleaned["identity_method"],
                consent_by=cleaned["consent_by"],
                consent_recorded_at=now,
                route=route.reason,
            )
            sent_event = audit_event(
                cho,
                "hwc.case_sent",
                obj=case,
                patient_id=patient.pk,
                detail={
                    "specialty": cleaned["specialty"].code,
                    "mode": case.mode,
                    "urgent": case.urgent,
                    "route": route.reason,
                    "hub": str(route.hub_id),
                    "consent_by": case.consent_by,
                },
            )
            if connection.vendor == "postgresql":
                _send_in_function(cho, ticket, case, sent_event)
            else:
                case.save(force_insert=True)
                queue.place_hub_ticket(cho, ticket)
                sent_event.save(force_insert=True)
                count_token_taken(ticket)
    except IntegrityError:
        return _sent_before(cho, cleaned["client_key"]), False
    publish_many_after_commit(
        [
            (
                centre_group(centre.pk),
                {"type": "centre.case_sent", "case": str(case.pk), "ticket": str(ticket.pk)},
            )
        ]
    )
    return case, True


def _one_write() -> contextlib.AbstractContextManager:
    """The transaction a case's sending needs: on PostgreSQL none of its own, since the
    writing is one statement (``hwc_send_case``, which also counts the rollups) and the
    reads before it decide only where the case goes; elsewhere one atomic block."""
    if connection.vendor == "postgresql":
        return contextlib.nullcontext()
    return transaction.atomic()


def _sent_before(cho: Any, client_key: uuid.UUID) -> Case:
    """The case already sent from this draft (its ``client_key`` refused the new one: a
    retry after the connection dropped). The case is written before its ticket, so a draft
    sent again meets this refusal first, not the patient's one live ticket; nearly every
    draft is new, so nothing is probed beforehand."""
    sent = Case.objects.filter(client_key=client_key).select_related("ticket").first()
    if sent is None:
        raise IntegrityError("the case was refused, and no case holds its draft key")
    if sent.requested_by_id != cho.pk:
        raise PermissionDenied(_("This draft belongs to someone else."))
    return sent


_SEND_CASE = (
    "SELECT token_number, refused_by"
    " FROM hwc_send_case(%s::uuid, %s::date, %s::jsonb, %s::jsonb, %s::jsonb, %s::jsonb)"
)


def _send_in_function(cho: Any, ticket: Ticket, case: Case, sent_event: AuditEvent) -> None:
    """PostgreSQL: what the two inserts, ``place_hub_ticket`` and ``count_token_taken`` do
    on SQLite, as one prepared call of ``hwc_send_case`` (``hwc/sql/send_case/``): the
    spoke's lock and next number, the case, its ticket, both audit rows and the rollups.
    Sending a case is the health worker's most frequent write: as separate statements in a
    transaction block it cost several round trips and their building and planning
    (bench/hwc_routing.py)."""
    created = audit_event(
        cho,
        "ticket.create",
        obj=ticket,
        patient_id=ticket.patient_id,
        detail=queue.ticket_created_detail(ticket),
    )
    number, refused_by = run_prepared(
        _SEND_CASE,
        [
            ticket.spoke_id,
            ticket.service_date,
            row_document(ticket),
            row_document(case),
            row_document(created),
            row_document(sent_event),
        ],
    )
    if refused_by is not None:
        if refused_by == _ONE_LIVE_TICKET:
            queue.refuse_second_live_ticket(ticket.patient)
        raise IntegrityError(f"hwc_send_case refused by {refused_by}")
    ticket.token_number = number
    for written in (ticket, case, created, sent_event):
        mark_written(written)
    queue.announce_hub_ticket(ticket)


_ONE_LIVE_TICKET = "one_live_ticket_per_patient"


def attach_to_case(
    user: Any, case: Case, file: UploadedFile, kind: str, title: str
) -> CaseAttachment:
    """A photo, ECG or report for a case of the CHO's centre, checked like every upload."""
    centre = centre_of(user)
    if case.spoke_id != centre.pk:
        raise PermissionDenied(_("This case is not from your centre."))
    checked = check_clinical_upload(file)
    if kind not in CaseAttachment.Kind.values:
        kind = CaseAttachment.Kind.OTHER
    file.name = f"upload.{checked.extension}"
    with transaction.atomic():
        if case.attachments.count() >= MAX_ATTACHMENTS:
            raise ValidationError(
                {"file": _("A case holds at most %(n)d files.") % {"n": MAX_ATTACHMENTS}}
            )
        attachment = CaseAttachment(
            case=case,
            kind=kind,
            title=(title or "").strip()[:150] or str(CaseAttachment.Kind(kind).label),
            content_type=checked.content_type,
            size=checked.size,
            uploaded_by=user,
        )
        attachment.file = file
        attachment.save()
        record_event(
            user,
            "hwc.case_attachment",
            obj=attachment,
            patient_id=case.patient_id,
            detail={"case": str(case.pk), "kind": kind, "size": checked.size},
        )
    return attachment
