"""Every state change of a consultation, by concern, behind one name for its callers:

- ``assignment``: a claimed ticket opens its consultation; a freed doctor with auto-assign
  gets the next patient (in-transaction steps);
- ``calling``: the doctor calling the next patient, the patient joining the call;
- ``tokens``: the workflows that change the queue and the consultations together (take,
  cancel and rejoin a token; a doctor starting to serve an OPD);
- ``lifecycle``: hold and resume, and every ending (completed, no-show, missed, cancelled,
  dropped) through ``close_consultation``;
- ``identity``: the doctor confirming who the patient is;
- ``record``: the clinical record saved as the doctor types;
- ``modes``: the consultation mode observed by the room and confirmed by the doctor;
- ``feedback`` and ``follow_up``: after the consultation.

The queue (``sanjeevani.queueing``) knows tickets and doctors' presence only and never calls
upwards; these modules call its services and in-transaction steps explicitly.

One transaction per public service, the acting user checked, an audit row written, events
after commit. Refusals raise ``ConsultationError`` (409) or a Django ``ValidationError``
(400).
"""

from __future__ import annotations

from . import modes
from .assignment import claim_for, free_doctor, offer_to_auto_assign_doctors
from .calling import accept_call, call_next_patient
from .feedback import submit_feedback
from .follow_up import book_follow_up
from .identity import confirm_identity, identity_confirmed
from .lifecycle import (
    DOCTOR_OUTCOMES,
    CloseReason,
    abandon_call,
    close_consultation,
    end_consultation,
    expire_unanswered_calls,
    forward_consultation,
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
from .tokens import cancel_token, rejoin_queue, start_serving, take_token

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
    "cancel_token",
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
    "expire_unanswered_calls",
    "forward_consultation",
    "fahrenheit",
    "free_doctor",
    "identity_confirmed",
    "offer_to_auto_assign_doctors",
    "put_on_hold",
    "record_media_observation",
    "rejoin_queue",
    "resume",
    "return_dropped_ticket",
    "save_clinical_record",
    "start_serving",
    "submit_feedback",
    "take_token",
]
