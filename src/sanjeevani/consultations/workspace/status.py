"""The consultation's state in the doctor's words: the status line, how it ended and by whom,
the one default outcome of the ending, and the keyboard shortcuts the page offers.

The page's script gets the same texts (``status_texts``) to say a live
``consultation.status`` event exactly as the server would have rendered it.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from sanjeevani.consultations.models import Consultation

Status = Consultation.Status
Outcome = Consultation.Outcome


def status_texts() -> dict[str, Any]:
    """Every status line the page may show, keyed as ``status_key`` names them."""
    return {
        "calling": _("Calling the patient: they have 2 minutes to join."),
        "in_progress": _("In consultation: the patient joined."),
        "on_hold": _("On hold: the patient waits in the room."),
        "ended_completed": _("Ended by you: %(outcome)s."),
        "ended_no_show": _("Ended by you: the patient did not join."),
        "ended_missed": _("The patient did not join in 2 minutes: the call ended."),
        "ended_cancelled": _("The patient cancelled the call: the consultation ended."),
        "ended_dropped": _("Ended: the connection dropped and the patient went back to the queue."),
        "ended": _("Ended: %(outcome)s."),
        "outcomes": {value: str(label) for value, label in Outcome.choices},
        "confirm_end": _("End the consultation as “%(outcome)s”?"),
        "identity_first": _(
            "Confirm the patient's identity and age first (above): an ending with clinical "
            "advice needs it. If they never joined, choose “Patient did not join”."
        ),
        "ended_refusal": _(
            "This consultation has ended, so nothing more can be added to it. Call the next "
            "patient when you are ready."
        ),
        "network": _("Not sent: the connection to the server failed. Try again."),
        "end_first": _("End this consultation before calling the next patient."),
        "live_lost": _("Live updates paused: checking every 15 seconds."),
    }


def status_key(state: dict[str, Any]) -> str:
    status = state.get("status", "")
    if status != Status.ENDED:
        return status
    reason = state.get("reason", "")
    key = f"ended_{reason}"
    return key if reason and key in status_texts() else "ended"


def status_text(state: dict[str, Any]) -> str:
    """The status line for a state (``selectors.workspace_state`` or a live event)."""
    texts = status_texts()
    text = texts.get(status_key(state), "")
    outcome = texts["outcomes"].get(state.get("outcome", ""), "").lower()
    return text % {"outcome": outcome} if "%(outcome)s" in text else text


def ended_refusal(consultation: Consultation) -> str:
    """What a step on an ended consultation says: that it ended (and how), never what the
    step would have needed on an open one."""
    if consultation.status != Status.ENDED:
        return ""
    return status_texts()["ended_refusal"]


def default_outcome(consultation: Consultation, state: dict[str, Any]) -> str:
    """The one default of the ending, from what was done: a patient who never joined did not
    join; an issued prescription ends with it; a written referral refers; else advice."""
    if consultation.status == Status.CALLING:
        return Outcome.NO_SHOW
    if state.get("has_prescription"):
        return Outcome.PRESCRIPTION
    if (consultation.referral or "").strip():
        return Outcome.REFERRED
    return Outcome.ADVICE_ONLY


def shortcut_hints() -> dict[str, str]:
    """The keys of the page's shortcuts (shown beside their buttons, ``aria-keyshortcuts``)."""
    return {"call_next": "Alt+N", "end": "Alt+E", "issue": "Alt+I"}
