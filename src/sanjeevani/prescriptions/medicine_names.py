"""Medicine names to generic molecules: the first step of every prescription check.

Doctors type brand names ("Dolo 650", "Ultracet"), salts ("tramadol hydrochloride"),
combinations ("amoxicillin + clavulanic acid"), misspellings ("tramdol", "alpra-zolam") and
other scripts ("ट्रामाडोल"). The Telemedicine Practice Guidelines 2020 lists (O, A, B,
prohibited) apply to the molecule, so a rule that reads only what was typed is a rule a
narcotic can walk around. This module turns any of those into the molecules, before any
rule runs (``guidelines.py`` decides; this module only reads names).

Where the words come from (all under ``data/``, each list's source in ``data/README.md``):

- ``medicines.csv``: the catalogue (generic, TPG list, category, List B ``add_on_to``);
- ``generics.csv``: common generics outside the catalogue, with their list;
- ``prohibited.csv``: the NDPS Act 1985 narcotic drugs and psychotropic substances and the
  Drugs and Cosmetics Rules 1945 Schedule X, with synonyms;
- ``brands.csv``: Indian brand names to their generic(s);
- ``aliases.csv``: misspellings, transliterations and other scripts.

How a text is read, word by word (``resolve``):

1. Letters only (digits, strengths, units, dosage-form and connecting words dropped).
2. The longest run of words that is a known name wins ("glycomet gp" before "glycomet");
   two or three words written apart are also tried joined ("alpra zolam").
3. A word still unknown is compared with every name by optimal string alignment distance
   (``rapidfuzz``): one edit allowed up to six letters, two from seven (from six when the
   name is a prohibited one: "codien"). A prohibited name at least as close as any safe
   one wins, so the doubt falls on the patient's side; a prohibited name of six letters or
   more inside a longer word is found too ("xalprazolamx").
4. Whatever is left is *unresolved*: ``guidelines.py`` refuses the line and offers the
   nearest generics ("did you mean") so the doctor picks one.

The index is built once per process from the files (``medicine_index``), and each
distinct text is resolved once (``resolve`` is cached): about 160 microseconds per new
name and 0.3 per cached one on this machine under load (``bench/medicine_names.py``).
Everything here is pure: no database, no request.
"""

from __future__ import annotations

import csv
import functools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import OSA

DATA_DIR = Path(__file__).resolve().parent / "data"
PROHIBITED = "prohibited"
STRICTNESS = {"O": 0, "A": 1, "B": 2, PROHIBITED: 3}

#: Words that say how much or in what form, never which medicine.
NOISE_WORDS = frozenset(
    {
        *("mg", "mcg", "µg", "g", "gm", "gram", "grams", "ml", "l", "iu", "unit", "units"),
        *("w", "v", "per", "of", "x", "mgs", "kg", "meq", "percent"),
        *("tab", "tabs", "tablet", "tablets", "cap", "caps", "capsule", "capsules"),
        *("syrup", "syp", "susp", "suspension", "drops", "drop", "inj", "injection"),
        *("cream", "ointment", "oint", "gel", "lotion", "solution", "sol", "spray"),
        *("inhaler", "rotacap", "rotacaps", "respules", "nasal", "eye", "ear", "oral"),
        *("sachet", "powder", "granules", "lozenge", "lozenges", "liquid", "elixir"),
        *("sr", "er", "xr", "cr", "xl", "od", "bd", "tds", "tid", "qid", "hs", "sos"),
        *("dt", "ds", "forte", "advance", "kid", "kids", "junior", "paediatric"),
        *("pediatric", "infant", "adult", "ip", "bp", "usp", "strip", "strips", "bottle"),
        *("and", "with", "plus", "in", "the", "a", "an", "for"),
        # Hindi: tablet, capsule, syrup, injection, drops, milligram, millilitre, and.
        *("गोली", "गोलियां", "टैबलेट", "टेबलेट", "कैप्सूल", "सिरप", "इंजेक्शन", "बूंद", "बूंदें"),
        *("मिलीग्राम", "मि", "ग्रा", "एमजी", "मिलीलीटर", "एमएल", "और"),
    }
)
#: Salt and hydrate words: dropped when left over after the molecule was found
#: ("tramadol hydrochloride", "diclofenac sodium"); names that need them ("sodium
#: chloride", "zinc sulfate") match first because the longest name wins.
SALT_WORDS = frozenset(
    {
        *("hydrochloride", "hcl", "hydrobromide", "hbr", "sodium", "potassium", "phosphate"),
        *("sulfate", "bisulfate", "maleate", "besylate", "besilate", "mesylate", "mesilate"),
        *("tartrate", "bitartrate", "succinate", "citrate", "fumarate", "acetate", "bromide"),
        *("valerate", "propionate", "dipropionate", "furoate", "monohydrate", "trihydrate"),
        *("dihydrate", "anhydrous", "magnesium", "calcium", "disodium", "dipotassium"),
        *("hyclate", "trometamol", "tromethamine", "salt", "base", "ester"),
        *("clavulanate",),  # stands for clavulanic acid: see aliases.csv
    }
)
#: British and Indian spellings folded before matching.
SPELLINGS = {"sulphate": "sulfate", "sulpha": "sulfa", "aluminum": "aluminium"}


def words(text: str) -> list[str]:
    """Lower-case words of letters and combining marks (so Indic syllables stay whole)."""
    out: list[str] = []
    current: list[str] = []
    for char in unicodedata.normalize("NFC", text.casefold()):
        category = unicodedata.category(char)
        if category[0] in "LM" or char in "\u200c\u200d":
            current.append(char)
        elif current:
            out.append("".join(current))
            current = []
    if current:
        out.append("".join(current))
    return [SPELLINGS.get(w, w) for w in out]


def name_key(text: str) -> str:
    """The form every name is indexed under: its words without noise words, space-joined."""
    return " ".join(w for w in words(text) if w not in NOISE_WORDS)


@dataclass(frozen=True)
class Generic:
    """One molecule (or fixed combination) the rules know."""

    name: str
    tpg_list: str
    category: str = ""
    reason: str = ""  # the legal reason, for prohibited substances
    add_on_to: frozenset[str] = frozenset()  # List B: categories of a base medicine

    @property
    def prohibited(self) -> bool:
        return self.tpg_list == PROHIBITED


@dataclass(frozen=True)
class Match:
    """One generic found in a text, how, and from which words."""

    generic: Generic
    matched: str  # the words of the text, as typed (lower-case)
    via: str  # "generic", "brand", "alias", "prohibited", "fuzzy", "inside"
    known_as: str = ""  # the brand or alias or near name that was matched

    def as_dict(self) -> dict[str, str]:
        return {
            "generic_name": self.generic.name,
            "tpg_list": self.generic.tpg_list,
            "matched": self.matched,
            "via": self.via,
            "known_as": self.known_as,
        }


@dataclass(frozen=True)
class Resolution:
    """What a text names. ``unresolved`` holds the words that name nothing known."""

    text: str
    matches: tuple[Match, ...] = ()
    unresolved: tuple[str, ...] = ()
    suggestions: tuple[str, ...] = ()

    @property
    def generics(self) -> tuple[Generic, ...]:
        seen: dict[str, Generic] = {}
        for match in self.matches:
            seen.setdefault(match.generic.name, match.generic)
        return tuple(seen.values())

    @property
    def prohibited(self) -> tuple[Match, ...]:
        return tuple(m for m in self.matches if m.generic.prohibited)

    @property
    def resolved(self) -> bool:
        return bool(self.matches) and not self.unresolved

    @property
    def tpg_list(self) -> str | None:
        """The strictest list of the generics named, or None if nothing was named."""
        if not self.matches:
            return None
        return max((m.generic.tpg_list for m in self.matches), key=STRICTNESS.__getitem__)


def prohibited_reason(source: str) -> str:
    """The short legal reason a refusal prints, from a list row's source text (untranslated:
    ``guidelines.py`` translates it)."""
    lowered = source.casefold()
    if "schedule x" in lowered:
        return "Schedule X"
    if "psychotropic" in lowered:
        return "NDPS psychotropic"
    if "narcotic" in lowered:
        return "NDPS narcotic"
    return "narcotic or psychotropic"


def _read(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(newline="", encoding="utf-8") as handle:
        return [
            {key: (value or "").strip() for key, value in row.items() if key}
            for row in csv.DictReader(handle)
        ]


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split("|") if part.strip()]


@dataclass
class MedicineIndex:
    """Every known name (normalised) to the generic(s) it stands for."""

    generics: dict[str, Generic] = field(default_factory=dict)
    names: dict[str, tuple[tuple[str, ...], str, str]] = field(default_factory=dict)
    max_words: int = 1
    fuzzy_safe: list[str] = field(default_factory=list)
    fuzzy_brands: list[str] = field(default_factory=list)
    fuzzy_prohibited: list[str] = field(default_factory=list)
    inside_prohibited: list[str] = field(default_factory=list)
    suggestable: list[str] = field(default_factory=list)

    # building -----------------------------------------------------------------------------

    def add_generic(self, generic: Generic) -> None:
        key = name_key(generic.name)
        current = self.generics.get(key)
        if current is None or STRICTNESS[generic.tpg_list] > STRICTNESS[current.tpg_list]:
            self.generics[key] = generic
        self.add_name(generic.name, (key,), "prohibited" if generic.prohibited else "generic")

    def add_name(self, name: str, targets: tuple[str, ...], via: str) -> None:
        key = name_key(name)
        if not key:
            return
        existing = self.names.get(key)
        # Two rows claim one name: keep the stricter reading, never the milder one.
        if (
            existing is not None
            and existing[0] != targets
            and self._strictness(existing[0]) >= self._strictness(targets)
        ):
            return
        self.names[key] = (targets, via, name)
        self.max_words = max(self.max_words, key.count(" ") + 1)

    def _strictness(self, targets: tuple[str, ...]) -> int:
        return max(STRICTNESS[self.generics[t].tpg_list] for t in targets if t in self.generics)

    def finish(self) -> None:
        """Check every name points at a known generic and build the fuzzy lists."""
        for targets, _via, name in self.names.values():
            missing = [t for t in targets if t not in self.generics]
            if missing:
                raise ValueError(f"medicine name {name!r} points at unknown generic {missing}")
        for key, (targets, via, _name) in self.names.items():
            squashed = key.replace(" ", "")
            if any(self.generics[t].prohibited for t in targets):
                self.fuzzy_prohibited.append(squashed)
                if len(squashed) >= 6:
                    self.inside_prohibited.append(squashed)
            elif via == "brand":
                self.fuzzy_brands.append(squashed)
            else:
                self.fuzzy_safe.append(squashed)
        self.squashed = {key.replace(" ", ""): key for key in self.names}
        self.suggestable = sorted(
            {g.name for g in self.generics.values() if not g.prohibited}
            | {
                name
                for (targets, via, name) in self.names.values()
                if via == "brand" and not any(self.generics[t].prohibited for t in targets)
            }
        )
        self._suggest_keys = [name_key(s).replace(" ", "") for s in self.suggestable]

    # reading ------------------------------------------------------------------------------

    def lookup(self, words_: str) -> str | None:
        """The key of the name ``words_`` spell, written as one word or apart."""
        if words_ in self.names:
            return words_
        return self.squashed.get(words_.replace(" ", ""))

    def near(self, word: str, *, free_text: bool = False) -> tuple[str, str] | None:
        """The closest known name to an unknown word, as (key, "fuzzy"|"inside"), or None.

        Prohibited names win ties and are also found inside a longer word. In free text
        (instructions) ordinary words abound ("morning", "heroine"), so there only one edit
        from, or the whole of, a name of seven letters or more counts, and only for
        prohibited names. A brand is matched one letter off at most."""
        if len(word) < 4:
            return None
        if free_text:
            bad = process.extractOne(
                word, self.fuzzy_prohibited, scorer=OSA.distance, score_cutoff=1
            )
            if bad is not None and len(bad[0]) >= 7:
                return self.squashed[bad[0]], "fuzzy"
            return self._inside(word, shortest=7)
        limit = 1 if len(word) <= 6 else 2
        # A prohibited name is looked for one edit further from six letters ("codien").
        bad_limit = 1 if len(word) <= 5 else 2
        bad = process.extractOne(
            word, self.fuzzy_prohibited, scorer=OSA.distance, score_cutoff=bad_limit
        )
        good = process.extractOne(word, self.fuzzy_safe, scorer=OSA.distance, score_cutoff=limit)
        if good is None and len(word) >= 5:
            # Brand names are short and arbitrary: an unknown brand two letters from a known
            # one is as likely another medicine, so only one letter off counts.
            good = process.extractOne(word, self.fuzzy_brands, scorer=OSA.distance, score_cutoff=1)
        if bad is not None and (good is None or bad[1] <= good[1]):
            return self.squashed[bad[0]], "fuzzy"
        inside = self._inside(word)
        if inside is not None:
            return inside
        if good is not None:
            return self.squashed[good[0]], "fuzzy"
        return None

    def _inside(self, word: str, shortest: int = 6) -> tuple[str, str] | None:
        if len(word) >= 7:
            for name in self.inside_prohibited:
                if len(name) >= shortest and name in word:
                    return self.squashed[name], "inside"
        return None

    def suggest(self, word: str, limit: int = 3) -> list[str]:
        """Generics and brands (never prohibited ones) closest to a word, best first."""
        found = process.extract(
            word.replace(" ", ""), self._suggest_keys, scorer=OSA.normalized_distance, limit=limit
        )
        return [self.suggestable[index] for _key, score, index in found if score <= 0.5]

    def matches_for(self, key: str, typed: str, via: str | None = None) -> list[Match]:
        targets, how, known_as = self.names[key]
        return [
            Match(self.generics[t], typed, via or how, known_as if via or how != "generic" else "")
            for t in targets
        ]


def _build(rows: dict[str, list[dict[str, str]]]) -> MedicineIndex:
    index = MedicineIndex()
    for row in rows["prohibited"]:
        reason = prohibited_reason(row["source"])
        index.add_generic(Generic(row["name"], PROHIBITED, row.get("class", ""), reason))
    for source in ("medicines", "generics"):
        for row in rows[source]:
            tpg_list = row["tpg_list"]
            reason = prohibited_reason(row.get("source", "")) if tpg_list == PROHIBITED else ""
            generic = Generic(
                row["generic_name"],
                tpg_list,
                row.get("category", ""),
                reason,
                frozenset(_split(row.get("add_on_to", ""))),
            )
            key = name_key(generic.name)
            known = index.generics.get(key)
            if known is not None and known.prohibited and tpg_list == PROHIBITED:
                # The catalogue's wording of a prohibited row wins (it names the schedule).
                index.generics[key] = Generic(known.name, PROHIBITED, known.category, reason)
                continue
            index.add_generic(generic)
    for row in rows["prohibited"]:
        target = (name_key(row["name"]),)
        for synonym in _split(row.get("synonyms", "")):
            index.add_name(synonym, target, "prohibited")
    for row in rows["brands"]:
        targets = tuple(name_key(g) for g in _split(row["generics"]))
        index.add_name(row["brand"], targets, "brand")
    for row in rows["aliases"]:
        targets = tuple(name_key(g) for g in _split(row["generic"]))
        index.add_name(row["alias"], targets, "alias")
    index.finish()
    return index


@functools.cache
def medicine_index() -> MedicineIndex:
    """The index, built once per process from the data files."""
    files = ("medicines", "generics", "prohibited", "brands", "aliases")
    return _build({name: _read(f"{name}.csv") for name in files})


def _scan(index: MedicineIndex, tokens: list[str], *, strict_words: bool) -> Resolution:
    """Greedy longest-name reading of ``tokens``; see the module docstring."""
    matches: list[Match] = []
    unresolved: list[str] = []
    leftovers: list[str] = []
    i = 0
    while i < len(tokens):
        found = None
        for span in range(min(index.max_words + 1, len(tokens) - i), 0, -1):
            key = index.lookup(" ".join(tokens[i : i + span]))
            if key is not None:
                found = (span, key)
                break
        if found is not None:
            span, key = found
            matches.extend(index.matches_for(key, " ".join(tokens[i : i + span])))
            i += span
            continue
        leftovers.append(tokens[i])
        i += 1
    for word in leftovers:
        if word in NOISE_WORDS or word in SALT_WORDS:
            continue
        if not strict_words and len(word) < 7:
            continue
        near = index.near(word, free_text=not strict_words)
        if near is not None:
            key, how = near
            for match in index.matches_for(key, word, via=how):
                if strict_words or match.generic.prohibited:
                    matches.append(Match(match.generic, word, how, index.names[key][2]))
            continue
        if strict_words:
            unresolved.append(word)
    suggestions: list[str] = []
    for word in unresolved:
        for suggestion in index.suggest(word):
            if suggestion not in suggestions:
                suggestions.append(suggestion)
    return Resolution(" ".join(tokens), tuple(matches), tuple(unresolved), tuple(suggestions[:5]))


@functools.lru_cache(maxsize=8192)
def resolve(text: str) -> Resolution:
    """What the medicine name ``text`` names. Every word must name something (or be a
    strength, form or salt word); the words that do not are ``unresolved``."""
    tokens = [w for w in words(text) if w not in NOISE_WORDS]
    resolution = _scan(medicine_index(), tokens, strict_words=True)
    return Resolution(text, resolution.matches, resolution.unresolved, resolution.suggestions)


@functools.lru_cache(maxsize=8192)
def hidden_prohibited(text: str) -> tuple[Match, ...]:
    """Prohibited substances named in free text (instructions, strength, form): exact names,
    brands and synonyms of any length, and near or embedded names of seven letters or more
    (shorter ordinary words are never read as drugs)."""
    tokens = [w for w in words(text) if w not in NOISE_WORDS]
    found = _scan(medicine_index(), tokens, strict_words=False)
    return tuple(m for m in found.matches if m.generic.prohibited and _long_enough(m))


def _long_enough(match: Match) -> bool:
    # In free text a short exact word ("dom", "lsd", "coca") may be an ordinary
    # abbreviation; only names of five letters or more count there.
    return len(match.matched.replace(" ", "")) >= 5


@functools.lru_cache(maxsize=8192)
def hidden_medicines(text: str) -> tuple[Match, ...]:
    """Any known generic or prohibited name spelt out in free text (not brands: a brand can
    be an ordinary word, "Pan" or "Mox"); the item is held to the strictest of them."""
    tokens = [w for w in words(text) if w not in NOISE_WORDS]
    found = _scan(medicine_index(), tokens, strict_words=False)
    return tuple(
        m
        for m in found.matches
        if (m.via in ("generic", "prohibited") or m.generic.prohibited) and _long_enough(m)
    )


def resolve_many(texts: Iterable[str]) -> list[Resolution]:
    return [resolve(text) for text in texts]
