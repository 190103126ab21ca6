"""Every state change of a consultation, by concern, behind one name for its callers:

- ``calling``: calling the next patient (claim the ticket and open its consultation in one
  transaction), auto-assignment, the patient joining the call;
- ``lifecycle``: hold and resume, and every ending (completed, no-show, missed, cancelled,
  dropped) through ``close_consultation``;
- ``identity``: the doctor confirming who the patient is;
- ``record``: the clinical record saved as the doctor types;
- ``modes``: the consultation mode observed by the room and confirmed by the doctor;
- ``feedback`` and ``follow_up``: after the consultation.

The queue (``sanjeevani.queueing``) knows tickets and doctors' presence only; these modules
call its in-transaction steps. Its two signals (``call_abandoned``, ``assignment_possible``)
are still connected in ``ConsultationsConfig.ready``, to thin adapters over
``abandon_call`` and ``offer_to_auto_assign_doctors`` / ``claim_for``.

One transaction per public service, the acting user checked, an audit row written, events
after commit. Refusals raise ``ConsultationError`` (409) or a Django ``ValidationError``
(400).
"""

from __future__ import annotations

from . import modes
from .calling import (
    accept_call,
    call_next_patient,
    claim_for,
    free_doctor,
    offer_to_auto_assign_doctors,
    on_assignment_possible,
)
from .feedback import submit_feedback
from .follow_up import book_follow_up
from .identity import confirm_identity, identity_confirmed
from .lifecycle import (
    DOCTOR_OUTCOMES,
    CloseReason,
    abandon_call,
    close_consultation,
    end_consultation,
    on_call_abandoned,
    put_on_hold,
    resume,
    return_dropped_ticket,
)
from .record import (
    MAX_DIAGNOSES,
    RECORD_FIELDS,
    TEXT_FIELDS,
    VITAL_INPUTS,
    VITAL_RANGES,
    autosave_clinical_record,
    check_vitals,
    clean_diagnoses,
    clean_follow_up_on,
    clean_record_fields,
    clean_vitals,
    fahrenheit,
    save_clinical_record,
)
from .states import ACTIVE, OPEN, CStatus, Outcome

record_media_observation = modes.record_media_observation
confirm_consultation_mode = modes.confirm_consultation_mode

__all__ = [
    "ACTIVE",
    "DOCTOR_OUTCOMES",
    "MAX_DIAGNOSES",
    "OPEN",
    "RECORD_FIELDS",
    "TEXT_FIELDS",
    "VITAL_INPUTS",
    "VITAL_RANGES",
    "CStatus",
    "CloseReason",
    "Outcome",
    "abandon_call",
    "accept_call",
    "autosave_clinical_record",
    "book_follow_up",
    "call_next_patient",
    "check_vitals",
    "claim_for",
    "clean_diagnoses",
    "clean_follow_up_on",
    "clean_record_fields",
    "clean_vitals",
    "close_consultation",
    "confirm_consultation_mode",
    "confirm_identity",
    "end_consultation",
    "fahrenheit",
    "free_doctor",
    "identity_confirmed",
    "offer_to_auto_assign_doctors",
    "on_assignment_possible",
    "on_call_abandoned",
    "put_on_hold",
    "record_media_observation",
    "resume",
    "return_dropped_ticket",
    "save_clinical_record",
    "submit_feedback",
]
