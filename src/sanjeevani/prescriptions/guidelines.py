"""The medicine rules of the Telemedicine Practice Guidelines 2020, as pure functions.

- List O: any mode of consultation.
- List A: at a first consultation only by video; otherwise only as a refill of a medicine the
  patient already has on an earlier, still valid prescription.
- List B: only at a follow-up, added to medicines the patient already takes.
- Prohibited (NDPS narcotics and psychotropics, Drugs and Cosmetics Rules Schedule X): never.

The service (``services.issue_prescription``) gathers the facts into a ``PatientHistory`` and a
``CatalogueIndex``; everything here is deterministic and needs no database.

Free entry. A doctor may type a medicine that is not in the catalogue. The typed text is
matched word by word against every catalogue generic name, so "Alprazolam 0.5 mg" or
"tramadol hydrochloride" is recognised and refused, and "Metformin 500" is treated as
metformin. Text that names no catalogue medicine is treated as List A: we cannot know it is
safe over the counter (List O), and List A still lets the doctor prescribe it after seeing the
patient by video, or as a refill, which is what the guidelines allow for an ordinary
prescription medicine. Brand names are not recognised; the catalogue holds generic names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

PROHIBITED = "prohibited"
_STRICTNESS = {"O": 0, "A": 1, "B": 2, PROHIBITED: 3}
_NOISE_WORDS = frozenset(
    {
        *("mg", "mcg", "g", "gm", "ml", "iu", "unit", "units", "w", "v", "of"),
        *("tab", "tabs", "tablet", "tablets", "cap", "caps", "capsule", "capsules"),
        *("syrup", "susp", "suspension", "drops", "drop", "inj", "injection"),
        *("sr", "er", "xr", "od", "bd", "tds", "qid", "hs", "sos"),
    }
)


def normalise_name(text: str) -> str:
    """Lower-case letters-only words, without strengths, units and dosage-form words."""
    words = re.findall(r"[^\W\d_]+", text.casefold())
    return " ".join(w for w in words if w not in _NOISE_WORDS)


def display_name(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:]


def prohibited_reason(source: str) -> str:
    """Short legal reason printed in the refusal, from the catalogue row's source."""
    lowered = source.casefold()
    if "schedule x" in lowered:
        return _("Schedule X")
    if "psychotropic" in lowered:
        return _("NDPS psychotropic")
    if "narcotic" in lowered:
        return _("NDPS narcotic")
    return _("narcotic or psychotropic")


@dataclass(frozen=True)
class CatalogueEntry:
    generic_name: str
    tpg_list: str
    reason: str = ""


@dataclass(frozen=True)
class CatalogueIndex:
    """Generic names (normalised) to their list; the strictest wins if forms disagree."""

    entries: dict[str, CatalogueEntry] = field(default_factory=dict)

    @classmethod
    def build(cls, rows: Iterable[tuple[str, str, str]]) -> CatalogueIndex:
        """``rows`` are (generic_name, tpg_list, source)."""
        entries: dict[str, CatalogueEntry] = {}
        for generic, tpg_list, source in rows:
            key = normalise_name(generic)
            if not key:
                continue
            current = entries.get(key)
            if current is None or _STRICTNESS[tpg_list] > _STRICTNESS[current.tpg_list]:
                reason = prohibited_reason(source) if tpg_list == PROHIBITED else ""
                entries[key] = CatalogueEntry(generic, tpg_list, reason)
        return cls(entries)

    def components(self, text: str) -> list[CatalogueEntry]:
        """Every catalogue medicine named in ``text`` (a combination names several)."""
        padded = f" {normalise_name(text)} "
        found = [entry for key, entry in self.entries.items() if f" {key} " in padded]
        # "amoxicillin + clavulanic acid" also contains "amoxicillin": keep the longest names.
        names = [normalise_name(e.generic_name) for e in found]
        return [
            entry
            for entry, name in zip(found, names, strict=True)
            if not any(name != other and f" {name} " in f" {other} " for other in names)
        ]


@dataclass(frozen=True)
class PatientHistory:
    """What the rules need to know about this consultation and the patient's past.

    ``current_medicines`` holds the normalised generic names on the patient's earlier issued
    (not superseded) prescriptions from other consultations.
    """

    had_video: bool
    is_follow_up: bool
    current_medicines: frozenset[str] = frozenset()

    @property
    def takes_medicines(self) -> bool:
        return bool(self.current_medicines)


@dataclass(frozen=True)
class ProposedMedicine:
    """One line the doctor wants to prescribe. ``tpg_list`` is None for free entry."""

    generic_name: str
    tpg_list: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class Decision:
    tpg_list: str
    refusal: str | None = None

    @property
    def allowed(self) -> bool:
        return self.refusal is None


def _check_list(
    name: str, tpg_list: str, reason: str, history: PatientHistory, *, free_entry: bool
) -> str | None:
    name = display_name(name)
    if tpg_list == PROHIBITED:
        return _(
            "%(name)s is a prohibited drug (%(reason)s) and cannot be prescribed by "
            "teleconsultation."
        ) % {"name": name, "reason": reason or _("narcotic or psychotropic")}
    if tpg_list == "A":
        if history.had_video or normalise_name(name) in history.current_medicines:
            return None
        if free_entry:
            return _(
                "%(name)s is not in the medicine catalogue, so it is treated as a List A "
                "medicine: it can be prescribed only in a video consultation, or as a refill "
                "of the same medicine on an earlier prescription."
            ) % {"name": name}
        return _(
            "%(name)s is a List A medicine: it can be prescribed only in a video "
            "consultation, or as a refill of the same medicine on an earlier prescription."
        ) % {"name": name}
    if tpg_list == "B":
        if history.is_follow_up and history.takes_medicines:
            return None
        return _(
            "%(name)s is a List B medicine: it can be prescribed only at a follow-up "
            "consultation, as an add-on to medicines the patient already takes."
        ) % {"name": name}
    return None


def check_medicine(
    item: ProposedMedicine, history: PatientHistory, index: CatalogueIndex
) -> Decision:
    """Decide one line. A catalogue pick carries its list; free entry is resolved by name."""
    if item.tpg_list is not None:
        refusal = _check_list(
            item.generic_name, item.tpg_list, item.reason, history, free_entry=False
        )
        return Decision(item.tpg_list, refusal)
    components = index.components(item.generic_name)
    if not components:
        refusal = _check_list(item.generic_name, "A", "", history, free_entry=True)
        return Decision("A", refusal)
    components.sort(key=lambda c: -_STRICTNESS[c.tpg_list])
    for component in components:
        refusal = _check_list(
            component.generic_name,
            component.tpg_list,
            component.reason,
            history,
            free_entry=False,
        )
        if refusal:
            return Decision(components[0].tpg_list, refusal)
    return Decision(components[0].tpg_list)


def check_prescription(
    items: Sequence[ProposedMedicine], history: PatientHistory, index: CatalogueIndex
) -> list[Decision]:
    """One decision per line, in order; the prescription may be issued only if all allow."""
    return [check_medicine(item, history, index) for item in items]
