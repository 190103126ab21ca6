"""Assisted registration: an operator at a Common Service Centre or an institution (a
prison, an old-age home) registers patients and acts for them in the Online OPD.

Every step is recorded as an ``AssistedAction`` naming the operator, the patient and the
consent the patient gave for that step; no step is taken without it. This module keeps the
patient's side (registration, the consent check, the operator's list of patients); the OPD
token and the room are ``opd.assisted``, a layer above, which records its actions through
``record_assisted_action`` in its own transaction.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _

from sanjeevani.accounts.errors import SignInError
from sanjeevani.accounts.mobile_numbers import normalise_mobile
from sanjeevani.accounts.models import Role
from sanjeevani.accounts.otp import patient_account_for
from sanjeevani.audit.services import record_event

from .models import AssistedAction, Patient
from .services import add_family_member, clean_patient_data

Kind = AssistedAction.Kind

#: The longest consent statement kept (a few sentences read out and agreed to).
MAX_STATEMENT = 2000


@dataclass(frozen=True)
class Consent:
    """The patient's consent to one step, as the operator recorded it."""

    agreed: bool
    statement: str
    given_by: str


def default_statement(kind: str) -> str:
    """The statement an operator reads to the patient for ``kind``; the operator may write
    the patient's own words instead."""
    texts = {
        Kind.REGISTERED: _(
            "I agree that the operator registers me on eSanjeevani with the details I gave, "
            "under the mobile number I gave, and keeps a record that they did so."
        ),
        Kind.TOOK_TOKEN: _(
            "I agree that the operator takes an Online OPD token for me and that a doctor "
            "consults me by video with the operator's help."
        ),
        Kind.JOINED_ROOM: _(
            "I agree that the operator stays with me in the consultation with the doctor "
            "and hears what is said."
        ),
        Kind.REJOINED: _(
            "I missed the doctor's call and agree that the operator puts me back at the "
            "front of the queue, once."
        ),
        Kind.CANCELLED_TOKEN: _("I agree that the operator cancels my Online OPD token."),
    }
    return str(texts[kind])


def require_operator(user: Any) -> None:
    """Only a signed-in, active operator takes assisted steps."""
    if not (
        getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and getattr(user, "role", None) == Role.OPERATOR
    ):
        raise PermissionDenied(_("Only an assisted-registration operator can do this."))


def check_consent(consent: Consent | None) -> Consent:
    """The consent, cleaned, or ``ValidationError`` by field saying what is missing."""
    errors: dict[str, list[str]] = {}
    if consent is None or not consent.agreed:
        errors["consent_agreed"] = [
            _("Read the statement to the patient and tick the box once they agree.")
        ]
    statement = " ".join(str(getattr(consent, "statement", "") or "").split())
    given_by = " ".join(str(getattr(consent, "given_by", "") or "").split())
    if not statement:
        errors["consent_statement"] = [_("Write the consent statement the patient agreed to.")]
    elif len(statement) > MAX_STATEMENT:
        errors["consent_statement"] = [
            _("The consent statement is too long: use at most 2000 characters.")
        ]
    if not given_by:
        errors["consent_given_by"] = [
            _("Write who gave the consent: the patient, or the relative or guardian.")
        ]
    elif len(given_by) > 150:
        errors["consent_given_by"] = [_("The name is too long: use at most 150 characters.")]
    if errors:
        raise ValidationError(errors)
    return Consent(True, statement, given_by)


def record_assisted_action(
    operator: Any,
    patient: Patient,
    kind: str,
    consent: Consent | None,
    *,
    ticket_id: Any = None,
    consultation_id: Any = None,
    request: HttpRequest | None = None,
) -> AssistedAction:
    """Record one assisted step with its consent (call inside the step's transaction)."""
    require_operator(operator)
    consent = check_consent(consent)
    action = AssistedAction.objects.create(
        operator=operator,
        patient=patient,
        kind=kind,
        consent_statement=consent.statement,
        consent_given_by=consent.given_by,
        ticket_id=ticket_id,
        consultation_id=consultation_id,
    )
    record_event(
        operator,
        f"assisted.{kind}",
        obj=action,
        patient_id=patient.pk,
        request=request,
        detail={
            k: str(v) for k, v in (("ticket", ticket_id), ("consultation", consultation_id)) if v
        },
    )
    return action


def _same_person(account: Any, cleaned: dict[str, Any]) -> Patient | None:
    """A profile of the account with the same name and sex: the person is already
    registered under this number, and is linked rather than registered twice."""
    for patient in Patient.objects.filter(account=account, sex=cleaned["sex"]):
        if patient.name.casefold() == cleaned["name"].casefold():
            return patient
    return None


def register_patient(
    operator: Any,
    mobile: str,
    data: dict[str, Any],
    consent: Consent | None,
    *,
    request: HttpRequest | None = None,
) -> Patient:
    """Register a patient under their own or a relative's mobile number (the account is
    opened if new, as a health worker's registration does), with the patient's consent.

    A person already registered under that number with the same name and sex is linked
    to the operator instead of being registered twice.
    """
    require_operator(operator)
    errors: dict[str, list[str]] = {}
    try:
        e164 = normalise_mobile(mobile)
    except SignInError as exc:
        errors["mobile"] = [str(exc)]
    try:
        cleaned = clean_patient_data(data)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        consent = check_consent(consent)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        try:
            account = patient_account_for(e164)
        except SignInError as exc:
            raise ValidationError({"mobile": [str(exc)]}) from None
        patient = _same_person(account, cleaned)
        if patient is None:
            try:
                patient = add_family_member(account, cleaned, operator, request=request)
            except ValidationError as exc:
                if "relation" in getattr(exc, "error_dict", {}):
                    raise ValidationError(
                        {
                            "relation": [
                                _(
                                    "This mobile number already has a profile for its owner. "
                                    "Choose how the patient is related to the number's owner."
                                )
                            ]
                        }
                    ) from None
                raise
        record_assisted_action(operator, patient, Kind.REGISTERED, consent, request=request)
    return patient


def patients_of(operator: Any, query: str = "") -> QuerySet[Patient]:
    """The patients ``operator`` registered or assisted, newest first; ``query`` matches
    the name, the patient ID or the mobile number."""
    require_operator(operator)
    patients = Patient.objects.filter(
        pk__in=AssistedAction.objects.filter(operator=operator).values("patient_id")
    ).select_related("account", "state", "district")
    query = " ".join((query or "").split())
    if query:
        condition = Q(name__icontains=query) | Q(patient_number__iexact=query)
        with contextlib.suppress(SignInError):
            condition |= Q(account__mobile=normalise_mobile(query))
        patients = patients.filter(condition)
    return patients.order_by("-created_at")


def patient_of(operator: Any, patient_id: Any, *, request: HttpRequest | None = None) -> Patient:
    """One of the operator's patients (404 for anyone else's, or a bad id), read audited."""
    try:
        patient = patients_of(operator).get(pk=patient_id)
    except (Patient.DoesNotExist, ValueError, ValidationError):
        raise Http404("No such patient.") from None
    record_event(operator, "patient.view", obj=patient, patient_id=patient.pk, request=request)
    return patient


def actions_for(operator: Any, patient: Patient) -> QuerySet[AssistedAction]:
    """The operator's own record of what they did for ``patient``."""
    return AssistedAction.objects.filter(operator=operator, patient=patient)


def listed_patients(
    operator: Any, query: str = "", limit: int = 50, *, request: HttpRequest | None = None
) -> list[Patient]:
    """``patients_of`` for a page: at most ``limit``, each shown recorded as one
    ``patient.view`` row (as the family's own list does)."""
    patients = list(patients_of(operator, query)[:limit])
    for patient in patients:
        record_event(
            operator,
            "patient.view",
            obj=patient,
            patient_id=patient.pk,
            request=request,
            detail={"via": "list"},
        )
    return patients
