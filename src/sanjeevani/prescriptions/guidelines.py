"""The medicine rules of the Telemedicine Practice Guidelines 2020, as pure functions.

Source: Telemedicine Practice Guidelines, Board of Governors in supersession of the Medical
Council of India, 25 March 2020 (Appendix 5 of the Indian Medical Council (Professional
Conduct, Etiquette and Ethics) Regulations 2002), section 3.7.4 and Annexure 2 (lists of
medicines):

- List O: any mode of consultation.
- List A: at a first consultation only by video; otherwise only as a re-fill of a medicine
  prescribed earlier, at a follow-up.
- List B: only at a follow-up, as an add-on to medicines the patient already takes for the
  same condition.
- Prohibited: medicines listed in Schedule X of the Drugs and Cosmetics Rules 1945 and
  narcotic drugs and psychotropic substances under the Narcotic Drugs and Psychotropic
  Substances Act 1985: never by teleconsultation, in any mode.

A follow-up (TPG 2020 section 3.3.2 and the glossary) is a consultation with the same
registered medical practitioner, for continuation of care of the same health condition,
within six months of the previous one. The platform reads that as: the same patient, the
same doctor (or, hub and spoke, the same hub), an earlier issued (not superseded)
prescription whose diagnosis shares the ICD-10 category of this consultation's, issued in
the last six months. ``selectors.patient_history`` gathers those facts into a
``PatientHistory``; everything here is deterministic and needs no database.

Names first. Every medicine line is resolved to its molecules by ``medicine_names`` before
any rule runs: brand names, salts, misspellings, other scripts, combinations. The form,
strength and instruction fields are read too, for a drug named there. A name that resolves
to nothing known is refused with the nearest generics as suggestions: a medicine the rules
cannot identify is a medicine they cannot check, so it is never signed unchecked (the
doctor's guide, "Medicine rules", says what to do).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from . import medicine_names
from .medicine_names import PROHIBITED, STRICTNESS, Generic, Match, Resolution

#: Words that turn a medicine named in the instructions into a warning, not an order.
_CAUTION = re.compile(
    r"\b(avoid|stop|stopped|do not|don't|dont|not|no|never|instead of|except|without|"
    r"allerg\w*|contraindicated)\b|नहीं|मत|बंद",
    re.IGNORECASE,
)

#: TPG 2020: a follow-up is within six months of the previous consultation.
FOLLOW_UP_WINDOW_DAYS = 183

_REASONS = {
    "Schedule X": lambda: _("Schedule X"),
    "NDPS psychotropic": lambda: _("NDPS psychotropic"),
    "NDPS narcotic": lambda: _("NDPS narcotic"),
    "narcotic or psychotropic": lambda: _("narcotic or psychotropic"),
}


def normalise_name(text: str) -> str:
    """Lower-case letters-only words, without strengths, units and dosage-form words."""
    return medicine_names.name_key(text)


def display_name(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:]


def prohibited_reason(source: str) -> str:
    """Short legal reason printed in the refusal, from a list row's source."""
    return translate_reason(medicine_names.prohibited_reason(source))


def translate_reason(reason: str) -> str:
    return _REASONS.get(reason, _REASONS["narcotic or psychotropic"])()


@dataclass(frozen=True)
class PatientHistory:
    """What the rules need to know about this consultation and the patient's past.

    ``is_follow_up``: a follow-up in the guidelines' sense (see the module docstring).
    ``current_medicines``: name keys of the generics on the earlier prescriptions that make
    it one (same doctor or hub, same condition, issued and not superseded).
    ``current_categories``: their categories, for List B add-ons.
    ``note``: why earlier prescriptions do not count, when there are some that do not:
    ``other_doctor``, ``other_condition`` or ``no_diagnosis``.
    """

    had_video: bool
    is_follow_up: bool
    current_medicines: frozenset[str] = frozenset()
    current_categories: frozenset[str] = frozenset()
    note: str = ""

    @property
    def takes_medicines(self) -> bool:
        return bool(self.current_medicines)


@dataclass(frozen=True)
class ProposedMedicine:
    """One line the doctor wants to prescribe.

    ``tpg_list`` is the catalogue row's list for a catalogue pick, None for free entry;
    ``reason`` is then the row's source (its legal basis).
    ``form``, ``strength`` and ``instructions`` are read for drug names too.
    """

    generic_name: str
    tpg_list: str | None = None
    reason: str = ""
    form: str = ""
    strength: str = ""
    instructions: str = ""


@dataclass(frozen=True)
class Decision:
    tpg_list: str
    refusal: str | None = None
    generics: tuple[str, ...] = field(default=())

    @property
    def allowed(self) -> bool:
        return self.refusal is None


# --- messages -----------------------------------------------------------------------------


def _prohibited_message(match: Match, typed: str) -> str:
    name = display_name(match.generic.name)
    message = _(
        "%(name)s is a prohibited drug (%(reason)s) and cannot be prescribed by teleconsultation."
    ) % {"name": name, "reason": translate_reason(match.generic.reason)}
    if match.via in ("generic", "prohibited") and match.known_as in ("", match.generic.name):
        return message
    read_as = {
        "brand": _('"%(typed)s" is a brand of %(name)s.'),
        "alias": _('"%(typed)s" is read as %(name)s.'),
        "prohibited": _('"%(typed)s" is read as %(name)s.'),
        "fuzzy": _('"%(typed)s" is too close to %(name)s to be told apart safely.'),
        "inside": _('"%(typed)s" contains %(name)s.'),
    }.get(match.via, _('"%(typed)s" is read as %(name)s.'))
    return f"{read_as % {'typed': typed, 'name': name}} {message}"


def _unresolved_message(resolution: Resolution) -> str:
    typed = resolution.text.strip()
    if not resolution.unresolved:
        return _(
            '"%(typed)s" names no medicine. Type the generic name (for example '
            '"paracetamol 500 mg") or pick the medicine from the catalogue.'
        ) % {"typed": typed}
    message = _(
        '"%(typed)s": the platform does not recognise %(words)s as a medicine, so it cannot '
        "check it against the Telemedicine Practice Guidelines and will not sign it. Type the "
        "generic name, or pick the medicine from the catalogue."
    ) % {"typed": typed, "words": ", ".join(f'"{w}"' for w in resolution.unresolved)}
    if resolution.suggestions:
        message += " " + _("Did you mean: %(names)s?") % {
            "names": ", ".join(resolution.suggestions)
        }
    return message


def _note(history: PatientHistory) -> str:
    return {
        "other_doctor": _(
            "The earlier prescriptions for this condition were written by another doctor; a "
            "refill or add-on needs a follow-up with the same doctor."
        ),
        "other_condition": _(
            "No earlier prescription from you is for this condition (its ICD-10 diagnosis)."
        ),
        "no_diagnosis": _(
            "Record the diagnosis first: a refill or add-on is matched to the earlier "
            "prescription for the same condition."
        ),
    }.get(history.note, "")


def _with_note(message: str, history: PatientHistory) -> str:
    note = _note(history)
    return f"{message} {note}" if note else message


# --- rules --------------------------------------------------------------------------------


def _check_generic(generic: Generic, history: PatientHistory) -> str | None:
    """The list rule for one molecule, or None when this consultation may prescribe it."""
    name = display_name(generic.name)
    key = normalise_name(generic.name)
    if generic.tpg_list == PROHIBITED:  # handled before, with how it was read
        return _(
            "%(name)s is a prohibited drug (%(reason)s) and cannot be prescribed by "
            "teleconsultation."
        ) % {"name": name, "reason": translate_reason(generic.reason)}
    if generic.tpg_list == "A":
        if history.had_video or (history.is_follow_up and key in history.current_medicines):
            return None
        return _with_note(
            _(
                "%(name)s is a List A medicine: it can be prescribed only in a video "
                "consultation, or as a refill at a follow-up with the same doctor for the "
                "same condition, when an earlier prescription holds it."
            )
            % {"name": name},
            history,
        )
    if generic.tpg_list == "B":
        if not history.is_follow_up:
            message = _(
                "%(name)s is a List B medicine: it can be prescribed only at a follow-up "
                "consultation, as an add-on to medicines the patient already takes."
            ) % {"name": name}
            return _with_note(message, history)
        if key in history.current_medicines or (generic.add_on_to & history.current_categories):
            return None
        classes = ", ".join(sorted(generic.add_on_to)) or generic.category or "—"
        return _(
            "%(name)s is a List B medicine: it can be added only to a medicine of its class "
            "(%(classes)s) that an earlier prescription for this condition holds, and none "
            "does."
        ) % {"name": name, "classes": classes}
    return None


def _catalogue_generic(item: ProposedMedicine) -> Generic:
    """The index's generic for a catalogue pick (for its List B classes), with the list the
    catalogue row carries."""
    resolution = medicine_names.resolve(item.generic_name)
    known = resolution.generics[0] if len(resolution.generics) == 1 else None
    return Generic(
        item.generic_name,
        item.tpg_list or "A",
        known.category if known else "",
        medicine_names.prohibited_reason(item.reason),
        known.add_on_to if known else frozenset(),
    )


def _hidden_refusals(
    item: ProposedMedicine, own: set[str], history: PatientHistory
) -> list[tuple[bool, str]]:
    """Drugs named in the form, strength or instructions: a prohibited one refuses the line,
    whatever the words around it; another one refuses it if this consultation could not
    prescribe it on its own line, unless the text warns against it ("avoid ibuprofen")."""
    refusals: list[tuple[bool, str]] = []
    fields = (
        (_("form"), item.form),
        (_("strength"), item.strength),
        (_("instructions"), item.instructions),
    )
    for label, text in fields:
        if not text.strip():
            continue
        for match in medicine_names.hidden_medicines(text):
            if match.generic.name in own:
                continue
            where = _("The %(field)s of %(item)s name %(name)s.") % {
                "field": label,
                "item": display_name(item.generic_name),
                "name": match.generic.name,
            }
            if match.generic.prohibited:
                refusals.append((True, f"{where} {_prohibited_message(match, match.matched)}"))
                continue
            if _CAUTION.search(text):
                # "avoid ibuprofen", "stop metformin": a warning, not a prescription.
                continue
            refusal = _check_generic(match.generic, history)
            if refusal:
                advice = _("Prescribe it on its own line, or remove it from the %(field)s.")
                refusals.append((False, f"{where} {refusal} {advice % {'field': label}}"))
    return refusals


def check_medicine(item: ProposedMedicine, history: PatientHistory) -> Decision:
    """Decide one line: resolve its names, then the prohibited rule, then the list rules.

    A catalogue pick carries its list; free entry takes the strictest list of what it
    resolves to, and is refused when any word of it resolves to nothing."""
    if item.tpg_list is not None:
        generics: tuple[Generic, ...] = (_catalogue_generic(item),)
        if item.tpg_list == PROHIBITED:
            generic = generics[0]
            return Decision(PROHIBITED, _check_generic(generic, history), (generic.name,))
    else:
        resolution = medicine_names.resolve(item.generic_name)
        prohibited = resolution.prohibited
        if prohibited:
            return Decision(
                PROHIBITED,
                _prohibited_message(prohibited[0], prohibited[0].matched or item.generic_name),
                tuple(g.name for g in resolution.generics),
            )
        if not resolution.resolved:
            return Decision(resolution.tpg_list or "A", _unresolved_message(resolution))
        generics = resolution.generics
    own = {g.name for g in generics}
    tpg_list = max((g.tpg_list for g in generics), key=STRICTNESS.__getitem__)
    hidden = _hidden_refusals(item, own, history)
    for is_prohibited, message in hidden:
        if is_prohibited:
            return Decision(PROHIBITED, message, tuple(own))
    for generic in sorted(generics, key=lambda g: -STRICTNESS[g.tpg_list]):
        refusal = _check_generic(generic, history)
        if refusal:
            return Decision(tpg_list, refusal, tuple(own))
    if hidden:
        return Decision(tpg_list, hidden[0][1], tuple(own))
    return Decision(tpg_list, None, tuple(own))


def check_prescription(
    items: Sequence[ProposedMedicine], history: PatientHistory
) -> list[Decision]:
    """One decision per line, in order; the prescription may be issued only if all allow."""
    return [check_medicine(item, history) for item in items]
