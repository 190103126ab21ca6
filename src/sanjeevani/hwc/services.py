"""Every state change of the hub-and-spoke line, behind one name for its callers:

- ``actors``: the CHO's centre, a staff member's facility, the centre's patients;
- ``cases``: the health worker registers a patient, sends a case, attaches files;
- ``hub_cases``: a hub doctor goes online and calls the next case, forwards it up a tier,
  refers the patient; the destination acknowledges; the coordinator reassigns;
- ``stock``: the centre's medicine ledger.

One transaction per service, the acting user checked, an audit row written. The case's
consultation is an ordinary ``consultations.Consultation`` (record, prescription, ending
are the OPD's own services); what differs is who asks and where the case waits
(``routing``). Refusals: ``QueueError``/``ConsultationError`` (409), ``ValidationError``
(400), ``PermissionDenied`` (403/404).
"""

from __future__ import annotations

from .actors import centre_of, facility_of, require_centre_patient
from .cases import MAX_ATTACHMENTS, attach_to_case, register_patient, submit_case
from .hub_cases import (
    acknowledge_referral,
    call_next_case,
    forward_case,
    go_online_at_hub,
    reassign_case,
    refer_patient,
)
from .stock import dispense, on_hand, receive_stock

__all__ = [
    "MAX_ATTACHMENTS",
    "acknowledge_referral",
    "attach_to_case",
    "call_next_case",
    "centre_of",
    "dispense",
    "facility_of",
    "forward_case",
    "go_online_at_hub",
    "on_hand",
    "reassign_case",
    "receive_stock",
    "refer_patient",
    "register_patient",
    "require_centre_patient",
    "submit_case",
]
