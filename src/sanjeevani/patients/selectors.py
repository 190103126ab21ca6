"""Reads of patient profiles, scoped to one mobile-number account.

Audit rule: every read that shows a patient's record to someone writes one
``patient.view`` row per patient shown (``detail.via`` says ``"list"`` or ``"detail"``),
so the audit trail of one patient is complete whichever page showed them. Lists hold at
most a family (10 profiles), so this costs at most 10 small inserts. The actor defaults
to the account holder; pass ``audit=False`` only when the caller does not show the record
(for example to check ownership before a write that is itself audited).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest

from sanjeevani.audit.services import record_event

from .models import Patient


def family_queryset(account: Any) -> QuerySet[Patient]:
    """The account's profiles, oldest first; no audit (use ``family_of`` to show them)."""
    return Patient.objects.filter(account=account).select_related("state", "district")


@dataclass(frozen=True)
class FamilySize:
    profiles: int
    selves: int  # profiles whose relation is "self"


def family_size(account: Any) -> FamilySize:
    """How many profiles the account holds, and how many of them are the holder's own:
    what a new profile is checked against, in one read (call it with the account's row
    locked, so that two additions at once cannot both pass)."""
    counts = Patient.objects.filter(account=account).aggregate(
        profiles=Count("pk"), selves=Count("pk", filter=Q(relation=Patient.Relation.SELF))
    )
    return FamilySize(**counts)


def family_of(
    account: Any,
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
    audit: bool = True,
) -> list[Patient]:
    """The account's family, each profile shown recorded as one ``patient.view`` row."""
    patients = list(family_queryset(account))
    if audit:
        for patient in patients:
            record_event(
                actor or account,
                "patient.view",
                obj=patient,
                patient_id=patient.pk,
                request=request,
                detail={"via": "list"},
            )
    return patients


def patient_for_account(
    account: Any,
    patient_id: Any,
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
    audit: bool = True,
) -> Patient:
    """One profile of this account's family; ``Http404`` for anyone else's (or a bad id).

    Another family's patient answers exactly like a missing one, so ids cannot be probed.
    """
    try:
        key = patient_id if isinstance(patient_id, uuid.UUID) else uuid.UUID(str(patient_id))
    except (TypeError, ValueError) as exc:
        raise Http404("No such patient in this family.") from exc
    patient = family_queryset(account).filter(pk=key).first()
    if patient is None:
        raise Http404("No such patient in this family.")
    if audit:
        record_event(
            actor or account,
            "patient.view",
            obj=patient,
            patient_id=patient.pk,
            request=request,
            detail={"via": "detail"},
        )
    return patient
