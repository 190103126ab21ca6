"""Changes to patient profiles: a family of profiles under one mobile-number account.

Pages and the API both come here, so the rules (date of birth or age, district in the
state, ABHA format, family size) hold the same way everywhere. Each change is one
transaction and leaves an audit row naming the fields changed, never their values.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from sanjeevani.accounts.models import Role
from sanjeevani.audit.services import record_event
from sanjeevani.registry.models import District, State

from .abha import normalise_abha_number, validate_abha_address
from .models import Patient
from .selectors import family_size

#: Profiles one mobile number may hold; a household rarely needs more.
MAX_FAMILY_SIZE = getattr(settings, "PATIENTS_MAX_FAMILY_SIZE", 10)
MAX_AGE_YEARS = 120

FIELDS = (
    "name",
    "relation",
    "date_of_birth",
    "age_years",
    "sex",
    "state",
    "district",
    "preferred_language",
    "abha_number",
    "abha_address",
    "address",
)

#: ``Patient.address``: the village or street printed on prescriptions.
MAX_ADDRESS_LENGTH = 300

#: Roles that may keep profiles for someone else's account (assisted registration).
ASSISTING_ROLES = frozenset({Role.OPERATOR, Role.NATIONAL_ADMIN})


def _check_actor(actor: Any, account: Any) -> None:
    """The account holder keeps their own family; an operator may do it for them."""
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied(_("Sign in to manage family profiles."))
    if actor.pk == account.pk or actor.role in ASSISTING_ROLES or actor.is_superuser:
        return
    raise PermissionDenied(_("You can only change the profiles of your own family."))


def _resolve(source: type | QuerySet, value: Any, lookups: tuple[str, ...]) -> Any:
    """The row ``value`` names (an instance, or its key under one of ``lookups``, tried in
    order); None when no value was given, False when it names none."""
    if value in (None, ""):
        return None
    rows = source if isinstance(source, QuerySet) else source.objects.all()
    if isinstance(value, rows.model):
        return value
    for lookup in lookups:
        try:
            return rows.get(**{lookup: value})
        except (rows.model.DoesNotExist, ValueError, TypeError, ValidationError):
            continue
    return False


def _is_state(state: State, value: Any) -> bool:
    """Whether ``value`` names ``state`` as ``_resolve`` would find it (the state itself,
    its key or its code)."""
    if isinstance(value, State):
        return value.pk == state.pk
    return value not in (None, "") and str(value) in (str(state.pk), state.code)


def _date(value: Any) -> dt.date | None | bool:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return parse_date(str(value)) or False
    except ValueError:
        return False


def _age(value: Any) -> int | None | bool:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return False


def clean_patient_data(data: dict[str, Any]) -> dict[str, Any]:
    """Check a whole profile; return model-ready values or raise ``ValidationError`` by field.

    When both a date of birth and an age are given, the date of birth wins and the age
    is dropped, so the two can never disagree.
    """
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}

    def error(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    name = " ".join(str(data.get("name") or "").split())
    if not name:
        error("name", _("Enter the person's full name."))
    elif len(name) > 150:
        error("name", _("The name is too long: use at most 150 characters."))
    cleaned["name"] = name

    relation = data.get("relation") or Patient.Relation.SELF
    if relation not in Patient.Relation.values:
        error("relation", _("Choose how this person is related to you."))
    cleaned["relation"] = relation

    today = timezone.localdate()
    dob = _date(data.get("date_of_birth"))
    age = _age(data.get("age_years"))
    if dob is False:
        error("date_of_birth", _("Enter the date of birth as a date, like 2015-06-30."))
    elif dob and dob > today:
        error("date_of_birth", _("The date of birth cannot be in the future."))
    elif dob and (today - dob).days > MAX_AGE_YEARS * 366:
        error("date_of_birth", _("The date of birth is more than 120 years ago. Check the year."))
    if age is False:
        error("age_years", _("Enter the age as a whole number of years."))
    elif age is not None and not 0 <= age <= MAX_AGE_YEARS:
        error("age_years", _("Enter an age between 0 and 120 years."))
    if dob is None and age is None:
        error(
            "date_of_birth",
            _("Enter the date of birth, or the age in years if you do not know it."),
        )
    cleaned["date_of_birth"] = dob or None
    cleaned["age_years"] = None if dob else (age if age is not False else None)

    sex = data.get("sex") or ""
    if sex not in Patient.Sex.values:
        error("sex", _("Choose female, male or other."))
    cleaned["sex"] = sex

    # The district is read with its state: a state given as the district's own (the usual
    # case) then costs no read of its own.
    district = _resolve(District.objects.select_related("state"), data.get("district"), ("pk",))
    state_value = data.get("state")
    if district and _is_state(district.state, state_value):
        state = district.state
    else:
        state = _resolve(State, state_value, ("pk", "code"))
    if not state:
        error("state", _("Choose the state you live in."))
    cleaned["state"] = state or None

    if not district:
        error("district", _("Choose the district you live in."))
    elif state and district.state_id != state.pk:
        error(
            "district",
            _("%(district)s is not in %(state)s. Choose a district of %(state)s.")
            % {"district": district.name, "state": state.name},
        )
    cleaned["district"] = district or None

    language = data.get("preferred_language") or settings.LANGUAGE_CODE
    if language not in dict(settings.LANGUAGES):
        error("preferred_language", _("Choose a language from the list."))
    cleaned["preferred_language"] = language

    abha_number = str(data.get("abha_number") or "").strip()
    if abha_number:
        try:
            abha_number = normalise_abha_number(abha_number)
        except ValidationError as exc:
            errors.setdefault("abha_number", []).extend(exc.messages)
    cleaned["abha_number"] = abha_number

    abha_address = str(data.get("abha_address") or "").strip()
    if abha_address:
        try:
            abha_address = validate_abha_address(abha_address)
        except ValidationError as exc:
            errors.setdefault("abha_address", []).extend(exc.messages)
    cleaned["abha_address"] = abha_address

    address = " ".join(str(data.get("address") or "").split())
    if len(address) > MAX_ADDRESS_LENGTH:
        error(
            "address",
            _("The address is too long: use at most %(limit)d characters.")
            % {"limit": MAX_ADDRESS_LENGTH},
        )
    cleaned["address"] = address

    if errors:
        raise ValidationError(errors)
    return cleaned


ONE_SELF_MESSAGE = _lazy(
    "This account already has a profile for yourself. Choose another relation."
)


def _check_one_self(account: Any, relation: str, exclude: Any = None) -> None:
    if relation != Patient.Relation.SELF:
        return
    others = Patient.objects.filter(account=account, relation=Patient.Relation.SELF)
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    if others.exists():
        raise ValidationError({"relation": [ONE_SELF_MESSAGE]})


def add_family_member(
    account: Any, data: dict[str, Any], actor: Any, *, request: HttpRequest | None = None
) -> Patient:
    """Add one profile to the account's family (at most ``MAX_FAMILY_SIZE``)."""
    _check_actor(actor, account)
    if getattr(account, "role", None) != Role.PATIENT:
        raise PermissionDenied(_("Family profiles belong to patient accounts only."))
    cleaned = clean_patient_data(data)
    with transaction.atomic():
        # Lock the account row so two tabs adding at once cannot pass the size check together.
        get_user_model().objects.select_for_update().filter(pk=account.pk).first()
        family = family_size(account)
        if family.profiles >= MAX_FAMILY_SIZE:
            raise ValidationError(
                _(
                    "One mobile number can hold at most %(limit)d profiles. "
                    "Register further family members with another mobile number."
                )
                % {"limit": MAX_FAMILY_SIZE}
            )
        if cleaned["relation"] == Patient.Relation.SELF and family.selves:
            raise ValidationError({"relation": [ONE_SELF_MESSAGE]})
        patient = Patient.objects.create(account=account, **cleaned)
        record_event(
            actor,
            "patient.create",
            obj=patient,
            patient_id=patient.pk,
            request=request,
            detail={"fields": sorted(k for k, v in cleaned.items() if v not in (None, ""))},
        )
    return patient


def update_patient(
    patient: Patient, data: dict[str, Any], actor: Any, *, request: HttpRequest | None = None
) -> Patient:
    """Change a profile. ``data`` may be partial: missing fields keep their values.

    Giving only an age clears the date of birth (and the other way round), so a person
    can switch from one to the other.
    """
    _check_actor(actor, patient.account)
    merged = {field: getattr(patient, field) for field in FIELDS}
    if "age_years" in data and "date_of_birth" not in data:
        merged["date_of_birth"] = None
    if "date_of_birth" in data and "age_years" not in data:
        merged["age_years"] = None
    merged.update({k: v for k, v in data.items() if k in FIELDS})
    cleaned = clean_patient_data(merged)
    with transaction.atomic():
        locked = Patient.objects.select_for_update().get(pk=patient.pk)
        _check_one_self(locked.account, cleaned["relation"], exclude=locked)
        changed = sorted(k for k, v in cleaned.items() if getattr(locked, k) != v)
        for field, value in cleaned.items():
            setattr(locked, field, value)
        if "age_years" in changed:
            locked.age_recorded_on = timezone.localdate() if locked.age_years is not None else None
        locked.save()
        record_event(
            actor,
            "patient.update",
            obj=locked,
            patient_id=locked.pk,
            request=request,
            detail={"fields": changed},
        )
    return locked
