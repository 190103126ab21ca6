"""The centre's medicine ledger: received, dispensed, on hand; dispensing refuses, and
records nothing, when any medicine is short."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from sanjeevani.audit.services import record_event
from sanjeevani.prescriptions.models import Prescription
from sanjeevani.registry.models import Facility

from .actors import centre_of
from .models import StockEntry


def on_hand(centre: Facility, medicine: str) -> int:
    totals = dict(
        StockEntry.objects.filter(facility=centre, medicine=medicine.lower())
        .values_list("kind")
        .annotate(total=Sum("quantity"))
    )
    return totals.get(StockEntry.Kind.RECEIVED, 0) - totals.get(StockEntry.Kind.DISPENSED, 0)


def _quantity(value: Any) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError({"quantity": _("Enter a whole number of units.")}) from None
    if not 0 < number <= 100000:
        raise ValidationError({"quantity": _("Enter a number of units from 1 to 100,000.")})
    return number


def receive_stock(cho: Any, medicine: str, quantity: Any, note: str = "") -> StockEntry:
    """Medicines arrived at the centre (a supply from the district store)."""
    centre = centre_of(cho)
    name = " ".join(str(medicine or "").split()).lower()
    if not name or len(name) > 120:
        raise ValidationError({"medicine": _("Enter the medicine's generic name.")})
    with transaction.atomic():
        entry = StockEntry.objects.create(
            facility=centre,
            medicine=name,
            kind=StockEntry.Kind.RECEIVED,
            quantity=_quantity(quantity),
            note=(note or "").strip()[:200],
            recorded_by=cho,
        )
        record_event(cho, "hwc.stock_received", obj=entry, detail={"medicine": name})
    return entry


def dispense(cho: Any, prescription: Prescription, quantities: dict[Any, Any]) -> list[StockEntry]:
    """Medicines of an issued prescription given to the patient from the centre's stock.
    Refused, nothing recorded, when any is short (the message names it)."""
    centre = centre_of(cho)
    consultation = prescription.consultation
    if consultation.spoke_id != centre.pk:
        raise PermissionDenied(_("This prescription is not from your centre."))
    items = {str(item.pk): item for item in prescription.items.all()}
    wanted = {}
    for key, raw in quantities.items():
        if raw in (None, "", 0, "0"):
            continue
        if str(key) not in items:
            raise ValidationError({"items": _("That medicine is not on this prescription.")})
        wanted[str(key)] = _quantity(raw)
    if not wanted:
        raise ValidationError({"items": _("Enter how many units of each medicine you gave.")})
    with transaction.atomic():
        Facility.objects.select_for_update().filter(pk=centre.pk).first()
        short = []
        for key, count in wanted.items():
            name = items[key].generic_name.lower()
            if on_hand(centre, name) < count:
                short.append(
                    _("%(medicine)s: %(have)d on hand, %(want)d asked")
                    % {
                        "medicine": items[key].generic_name,
                        "have": on_hand(centre, name),
                        "want": count,
                    }
                )
        if short:
            raise ValidationError({"items": [_("Not enough in stock.")] + short})
        entries = [
            StockEntry.objects.create(
                facility=centre,
                medicine=items[key].generic_name.lower(),
                kind=StockEntry.Kind.DISPENSED,
                quantity=count,
                prescription_item=items[key],
                recorded_by=cho,
            )
            for key, count in wanted.items()
        ]
        record_event(
            cho,
            "hwc.dispensed",
            obj=prescription,
            patient_id=consultation.patient_id,
            detail={"items": {items[k].generic_name: c for k, c in wanted.items()}},
        )
    return entries
