"""Who acts in the hub-and-spoke line: the CHO's centre, a staff member's facility, and
whether a patient is the centre's."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils.translation import gettext as _

from sanjeevani.accounts.models import Role
from sanjeevani.config.prepared_statements import run_prepared
from sanjeevani.patients.models import Patient
from sanjeevani.registry.models import Facility
from sanjeevani.registry.scoping import scope_of

from .models import Case

_CENTRE_ATTR = "_active_centre"


def centre_of(user: Any) -> Facility:
    """The spoke a Community Health Officer is posted at; refused for anyone else. Kept on
    the user object, as its scope is (``scope_of``): a view and the service it calls both
    ask, and the answer cannot change within the request."""
    if getattr(user, "role", None) != Role.CHO:
        raise PermissionDenied(_("Only a Community Health Officer can do this."))
    facility_id = scope_of(user).facility_id
    centre = getattr(user, _CENTRE_ATTR, None)
    if centre is None or centre.pk != facility_id:
        centre = _active_spoke(facility_id)
        if centre is not None:
            setattr(user, _CENTRE_ATTR, centre)
    if centre is None:
        raise PermissionDenied(
            _("You are not posted at an active health centre; ask your state administrator.")
        )
    return centre


def _active_spoke(facility_id: Any) -> Facility | None:
    """The facility if it is an active spoke. Every case a health worker sends asks, so on
    PostgreSQL it is one prepared statement (the ORM's building of the query cost more
    than running it: bench/hwc_routing.py); SQLite, where the raw row would skip the
    fields' conversions, keeps the ORM."""
    if facility_id is None:
        return None
    if connection.vendor != "postgresql":
        return Facility.objects.filter(pk=facility_id, is_spoke=True, active=True).first()
    row = run_prepared(_ACTIVE_SPOKE_SQL, [facility_id])
    return None if row is None else Facility.from_db(connection.alias, _FACILITY_FIELDS, row)


_FACILITY_FIELDS = [field.attname for field in Facility._meta.concrete_fields]
_ACTIVE_SPOKE_SQL = (
    f"SELECT {', '.join(field.column for field in Facility._meta.concrete_fields)}"  # noqa: S608
    f" FROM {Facility._meta.db_table} WHERE id = %s AND is_spoke AND active"
)


def facility_of(user: Any) -> Facility:
    """The facility a CHO or hub coordinator is posted at."""
    facility_id = scope_of(user).facility_id
    facility = Facility.objects.filter(pk=facility_id).first()
    if facility is None:
        raise PermissionDenied(_("You are not posted at a facility."))
    return facility


def require_centre_patient(user: Any, patient: Patient) -> Facility:
    """The patient was registered at, or has a case from, the CHO's centre."""
    centre = centre_of(user)
    if (
        patient.registered_at_facility_id != centre.pk
        and not Case.objects.filter(patient=patient, spoke=centre).exists()
    ):
        raise PermissionDenied(_("This patient is not registered at your centre."))
    return centre
