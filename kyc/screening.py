"""Sanctions and PEP screening of natural persons against a local list.

The list comes as FollowTheMoney entities, one JSON object per line (the OpenSanctions export
format). `parse_ftm_lines` turns the persons among them into `ListEntry` values;
`ScreeningIndex.build` keeps them in a compact in-memory index, and `ScreeningIndex.screen`
answers "is this client on the list?" with scored, explained `Hit`s. Everything here is pure:
no Django models, no settings, no clock; the caller stores entries and decides what a hit means.

How a query is answered:

1. Spellings. The name is folded to lower-case Latin words the way identity matching folds it
   (`identity.normalize.name_tokens`: "Иван Петров" -> ivan petrov); a Cyrillic name is also
   spelled the BGN/PCGN way (press, many lists: "Yuriy") and the Ukrainian passport way
   ("Hnatiuk"). Listed names are indexed in the same spellings.
2. Candidates. Each query word reaches the entries that have it: through its phonetic key
   (`identity.normalize.phonetic`, NYSIIS), the key without a leading Y/I before a vowel
   (Yekaterina/Ekaterina), its consonant skeleton (Tariq/Tarek, Hussein/Husain), listed words
   one edit away (typos), and the same word written joined or apart (Xiuying/Xiu Ying). A
   candidate must share two query words with distinct words of its own, or one when either
   side is a single word: a common given name alone never pulls in thousands of entries.
3. Name score. rapidfuzz's token_sort_ratio and token_set_ratio (C) pick the closest names
   among the candidates; each is then scored word by word: words paired one to one by
   similarity (rapidfuzz OSA, a phonetic or skeleton match counting as a spelling variant),
   weighted by length, best over the entry's names. Word order does not matter, a typo costs a
   little, a word only one side has (a patronymic) costs a few points, and a word both sides
   have but that pairs with nothing (another family name) costs most of the score. The token
   ratios alone rate "Dong Tinghongmei" 87 against "Di Tinghongmei": a long shared given name
   hides a different family name, so they only choose what to score.
4. Birth date and nationality then tell apart the many people who share a name: a listed
   birth year that differs is strong evidence of another person, a matching date or
   nationality adds a little (weights in `SCREENING_ADJUSTMENTS`, for compliance to review).
5. Decision by `SCREENING_THRESHOLDS`: "hit", "possible" or "clear" (clear is not returned).
   A weak alias (FtM weakAlias: "Abu Faris") alone never makes more than "possible".
"""

# Cyrillic letters in strings, comments and docstrings are data and examples, not look-alikes.
# ruff: noqa: RUF001, RUF003

from __future__ import annotations

import functools
import json
import re
import sys
import unicodedata
from array import array
from collections import Counter
from collections.abc import Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import combinations, pairwise
from pathlib import Path
from typing import Final, Literal

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA
from unidecode import unidecode

from identity.normalize import NAME_NOISE_TOKENS, NormalizationError, name_tokens, phonetic

Decision = Literal["hit", "possible", "clear"]

# Score (0-100) from which a candidate is a hit or a possible match; below "possible" it is
# clear and not returned. A hit is what compliance treats as a match until a human clears it.
SCREENING_THRESHOLDS: dict[str, float] = {"hit": 90.0, "possible": 80.0}

# Points added to the name score. A birth year that differs is the strongest sign of a
# different person with the same name; nationality weighs less because people hold several
# (Cypriot and Maltese passports among broker clients) and lists record only some.
SCREENING_ADJUSTMENTS: dict[str, float] = {
    "birth_date_match": 8.0,
    "birth_date_swapped": 4.0,
    "birth_month_match": 6.0,
    "birth_year_match": 4.0,
    "birth_date_differs_same_year": -10.0,
    "birth_year_differs_by_one": -12.0,
    "birth_year_differs": -30.0,
    "nationality_match": 4.0,
    "nationality_differs": -8.0,
    "country_match": 2.0,
}

DEMO_LIST_PATH: Final[Path] = Path(__file__).resolve().parent / "data" / "sanctions_demo.jsonl"

# Candidate entries per query at most. Only a query of very common words (a single given name)
# gets near it; the entries sharing the most query words are kept. rapidfuzz then picks the
# closest MAX_SCORED_VARIANTS names among them.
MAX_CANDIDATES: Final = 20000
# Names scored word by word per query at most; rapidfuzz's token ratios (C) pick them, and
# names below the cutoff on both ratios are not worth the word-by-word (Python) scoring.
MAX_SCORED_VARIANTS: Final = 400
PREFILTER_CUTOFF: Final = 50.0
# Below this many candidate names all are scored word by word: the token ratios undervalue
# names written joined in one place and apart in the other ("Jing Jian Hua"/"Jingjianhua").
ALIGN_ALL_BELOW: Final = 100
# Query words beyond this are ignored: nobody's legal name has more, and each costs a lookup.
MAX_QUERY_TOKENS: Final = 8
# Longer name parts are cut before folding, so a hostile 10 MB "name" costs nothing.
MAX_NAME_LENGTH: Final = 300
# Typos are looked for only in words this long (shorter ones are one edit from everything).
TYPO_MIN_LENGTH: Final = 3
# First letters that transliteration writes either way: Г is G in Russian and H in Ukrainian
# spellings, Arabic ق is Q, K or G, ج is J or G (Egypt), Cyrillic Е/Ю/Я are E/Ye/Ie, Yu/Iu...
_CONFUSED_INITIALS: dict[str, str] = {
    "g": "hjkq",
    "h": "gk",
    "k": "cghq",
    "q": "gk",
    "c": "ks",
    "j": "giy",
    "y": "eij",
    "i": "ey",
    "e": "iy",
    "z": "s",
    "s": "cz",
    "v": "w",
    "w": "v",
}
# Parse errors kept verbatim in the report; the rest are only counted.
MAX_REPORTED_ERRORS: Final = 20

# Arabic, Dutch, German, Spanish, Portuguese and French particles: they join many unrelated
# names, so sharing one says nothing and would make every "Al-..." a candidate of every other.
# They are left out of a name that has two other words.
NAME_PARTICLES: frozenset[str] = frozenset(
    {
        "al",
        "el",
        "ul",
        "bin",
        "ibn",
        "ben",
        "bint",
        "abu",
        "van",
        "von",
        "der",
        "den",
        "ter",
        "de",
        "del",
        "della",
        "di",
        "da",
        "dos",
        "das",
        "du",
        "la",
        "le",
        "y",
    }
)

_SANCTION_FLAG: Final = 1
_PEP_FLAG: Final = 2
# Variants per entry and tokens per name are capped so one absurd record cannot slow every query.
_MAX_VARIANTS_PER_ENTRY: Final = 64
_MAX_VALUE_LENGTH: Final = 500


# --- list entries --------------------------------------------------------------------------


def _is_sanction_topic(topic: str) -> bool:
    return topic == "sanction" or topic.startswith("sanction.")


def _is_pep_topic(topic: str) -> bool:
    # "role.pep", "role.pep.intl", "role.pep.frmr"...; "role.rca" (relatives and close
    # associates) is not a PEP itself.
    return topic.startswith("role.") and "pep" in topic


@dataclass(frozen=True, slots=True)
class ListEntry:
    """A listed natural person as screening needs it.

    `is_sanction` and `is_pep` are also derived from `topics`, so an entry rebuilt from stored
    fields can never lose the flag its topics imply. `weak_aliases` (FtM weakAlias: nicknames,
    "Abu X") are matched but can only ever produce a "possible".
    """

    entity_id: str
    names: tuple[str, ...]
    birth_dates: tuple[str, ...] = ()
    nationalities: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    is_sanction: bool = False
    is_pep: bool = False
    weak_aliases: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Entries rebuilt from JSON columns arrive with lists; tuples keep the value hashable.
        for name in (
            "names",
            "birth_dates",
            "nationalities",
            "topics",
            "datasets",
            "weak_aliases",
            "countries",
        ):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        object.__setattr__(
            self, "is_sanction", bool(self.is_sanction) or any(map(_is_sanction_topic, self.topics))
        )
        object.__setattr__(
            self, "is_pep", bool(self.is_pep) or any(map(_is_pep_topic, self.topics))
        )


@dataclass
class ParseReport:
    """What a parse read: persons kept, other schemas skipped, malformed lines skipped."""

    lines: int = 0
    persons: int = 0
    skipped_schema: int = 0
    malformed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        """Non-blank lines that did not become an entry."""
        return self.skipped_schema + self.malformed


class _Malformed(ValueError):
    pass


_PARTIAL_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?(?:T.*)?", re.ASCII)
_MIN_LIST_YEAR = 1850
_MAX_LIST_YEAR = 2100


def _partial_date(value: str) -> str | None:
    """FtM dates are ISO prefixes ("1961", "1961-02", "1961-02-03"); keep the valid prefix."""
    match = _PARTIAL_DATE.fullmatch(value.strip())
    if match is None:
        return None
    year_text, month_text, day_text = match.groups()
    if not _MIN_LIST_YEAR <= int(year_text) <= _MAX_LIST_YEAR:
        return None
    if month_text is None or not 1 <= int(month_text) <= 12:
        return year_text
    if day_text is None:
        return f"{year_text}-{month_text}"
    try:
        date(int(year_text), int(month_text), int(day_text))
    except ValueError:
        return f"{year_text}-{month_text}"
    return f"{year_text}-{month_text}-{day_text}"


def _country(value: object) -> str | None:
    # FtM writes countries in lower case and has a few non-ISO codes ("suhh" for the USSR,
    # "ge-ab"); only two-letter codes can be compared with a client's nationality.
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    if len(code) == 2 and code.isascii() and code.isalpha():
        return code
    return None


def _strings(properties: dict[str, object], key: str) -> list[str]:
    raw = properties.get(key)
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        return []
    values: list[str] = []
    for value in raw:
        # Nested entities (OpenSanctions "targets.nested") and numbers are not names or codes.
        if isinstance(value, str):
            text = " ".join(value.split())
            if text and len(text) <= _MAX_VALUE_LENGTH:
                values.append(text)
    return values


def _unique_names(names: Iterable[str], exclude: Iterable[str] = ()) -> tuple[str, ...]:
    # "IVAN PETROV" and "Ivan Petrov" fold to the same tokens: keep the first spelling only.
    seen = {name.casefold() for name in exclude}
    kept: list[str] = []
    for name in names:
        key = name.casefold()
        if key not in seen:
            seen.add(key)
            kept.append(name)
    return tuple(kept)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _entry_from_entity(entity: object) -> ListEntry | None:
    """The person in one decoded line, None for another schema; _Malformed when unusable."""
    if not isinstance(entity, dict):
        raise _Malformed("not a JSON object")
    schema = entity.get("schema")
    if not isinstance(schema, str):
        raise _Malformed("no schema")
    if schema != "Person":
        return None
    entity_id = entity.get("id")
    if not isinstance(entity_id, str) or not entity_id.strip():
        raise _Malformed("no id")
    properties = entity.get("properties", {})
    if not isinstance(properties, dict):
        raise _Malformed("properties is not an object")

    names = _strings(properties, "name") + _strings(properties, "alias")
    names += _strings(properties, "previousName")
    # Lists often give "name" with a patronymic or middle name; first + last is how the person
    # signs a registration form.
    first_names = _strings(properties, "firstName")[:3]
    last_names = _strings(properties, "lastName")[:3]
    names += [f"{first} {last}" for first in first_names for last in last_names]
    unique_names = _unique_names(names)
    weak_aliases = _unique_names(_strings(properties, "weakAlias"), exclude=unique_names)
    if not unique_names and not weak_aliases:
        raise _Malformed("person without a name")

    birth_dates = (_partial_date(value) for value in _strings(properties, "birthDate"))
    nationalities = (
        _country(value)
        for value in _strings(properties, "nationality") + _strings(properties, "citizenship")
    )
    countries = (_country(value) for value in _strings(properties, "country"))
    topics = _strings(properties, "topics")
    top_level_topics = entity.get("topics")
    if isinstance(top_level_topics, list):
        topics += [topic for topic in top_level_topics if isinstance(topic, str)]
    datasets = entity.get("datasets")
    return ListEntry(
        entity_id=entity_id.strip(),
        names=unique_names,
        birth_dates=_unique(value for value in birth_dates if value),
        nationalities=_unique(value for value in nationalities if value),
        topics=_unique(topics),
        datasets=_unique(
            value
            for value in (datasets if isinstance(datasets, list) else [])
            if isinstance(value, str)
        ),
        weak_aliases=weak_aliases,
        countries=_unique(value for value in countries if value),
    )


class FtmParse(Iterator[ListEntry]):
    """The persons of a FollowTheMoney JSON-lines stream, read lazily; `report` fills as it goes.

    `skipped` (lines that did not become an entry) is final once the iterator is exhausted.
    """

    def __init__(self, lines: Iterable[str | bytes], report: ParseReport | None = None) -> None:
        self.report = report if report is not None else ParseReport()
        self._entries = self._read(lines)

    @property
    def skipped(self) -> int:
        return self.report.skipped

    def __iter__(self) -> FtmParse:
        return self

    def __next__(self) -> ListEntry:
        return next(self._entries)

    def _malformed(self, number: int, reason: str) -> None:
        self.report.malformed += 1
        if len(self.report.errors) < MAX_REPORTED_ERRORS:
            self.report.errors.append(f"line {number}: {reason}")

    def _read(self, lines: Iterable[str | bytes]) -> Iterator[ListEntry]:
        for number, raw in enumerate(lines, start=1):
            if isinstance(raw, bytes):
                try:
                    raw = raw.decode("utf-8")
                except UnicodeDecodeError:
                    self.report.lines += 1
                    self._malformed(number, "not UTF-8")
                    continue
            if not isinstance(raw, str) or not raw.strip():
                # Blank lines (a trailing newline, a separator) carry nothing to skip.
                continue
            self.report.lines += 1
            try:
                entry = _entry_from_entity(json.loads(raw))
            except (ValueError, RecursionError) as exc:
                # json.JSONDecodeError is a ValueError, like _Malformed; deep nesting recurses.
                reason = str(exc) if isinstance(exc, _Malformed) else "not valid JSON"
                self._malformed(number, reason)
                continue
            if entry is None:
                self.report.skipped_schema += 1
                continue
            self.report.persons += 1
            yield entry


def parse_ftm_lines(lines: Iterable[str | bytes], *, report: ParseReport | None = None) -> FtmParse:
    """Persons from FollowTheMoney JSON lines; other schemas and malformed lines are skipped and
    counted in `report` (also reachable as `.report` / `.skipped` on the returned iterator)."""
    return FtmParse(lines, report)


def load_ftm_file(path: Path | str) -> tuple[list[ListEntry], ParseReport]:
    """Every person of a FollowTheMoney JSON-lines file, and what was skipped."""
    report = ParseReport()
    with Path(path).open(encoding="utf-8", errors="replace") as lines:
        entries = list(parse_ftm_lines(lines, report=report))
    return entries, report


# --- names -----------------------------------------------------------------------------------

_APOSTROPHES = re.compile(r"['`]")
_NON_LETTERS = re.compile(r"[^a-z]+")


def _lenient_tokens(parts: Sequence[str]) -> list[str]:
    # name_tokens refuses digits and control characters, rightly for a registration. A list
    # name like "Abu Bakr 2" or a query with a stray digit must still be screened on its words,
    # so those characters become separators; otherwise the same steps as name_tokens.
    tokens: list[str] = []
    for part in parts:
        cleaned = "".join(
            " " if ch.isnumeric() or unicodedata.category(ch).startswith("C") else ch for ch in part
        )
        latin = _APOSTROPHES.sub("", unidecode(unicodedata.normalize("NFKC", cleaned)).casefold())
        tokens.extend(token for token in _NON_LETTERS.split(latin) if token)
    tokens = [token for token in tokens if token not in NAME_NOISE_TOKENS]
    full_words = [token for token in tokens if len(token) > 1]
    return full_words or tokens


# Printable ASCII without digits: name_tokens' Unicode steps change nothing in such a name.
_PLAIN_ASCII = re.compile("[\x20-\x2f\x3a-\x7e]*")


def _plain_ascii_tokens(texts: Sequence[str]) -> list[str]:
    # name_tokens' result for plain ASCII, without its per-character Unicode checks (which
    # were half of an index build: most listed names are plain Latin).
    tokens = [
        token
        for text in texts
        for token in _NON_LETTERS.split(_APOSTROPHES.sub("", text.lower()))
        if token and token not in NAME_NOISE_TOKENS
    ]
    return [token for token in tokens if len(token) > 1] or tokens


def fold_name(*parts: object) -> list[str]:
    """Lower-case ASCII words of a name (as `identity.normalize.name_tokens`), never raising:
    unreadable characters are dropped and a name with no letters gives []."""
    texts = [part[:MAX_NAME_LENGTH] for part in parts if isinstance(part, str)]
    if all(_PLAIN_ASCII.fullmatch(text) for text in texts):
        return _plain_ascii_tokens(texts)
    try:
        return name_tokens(*texts)
    except NormalizationError:
        return _lenient_tokens(texts)


def _deiotated(token: str) -> str | None:
    # Е, Ю, Я, Є, Ї are written "Ye"/"E", "Yu"/"Iu", "Ya"/"Ia" depending on the romanisation;
    # NYSIIS keeps the first letter, so Yekaterina and Ekaterina would never meet. (J before a
    # vowel is left alone: Jamila is not Amila.)
    if len(token) >= 3 and token[0] in "yi" and token[1] in "aeiou":
        return token[1:]
    return None


@functools.lru_cache(maxsize=16384)
def _phonetic_keys(token: str) -> tuple[str, ...]:
    # A one-letter key ("Li", "Lee", "Lu" and "Liu" are all L; "Wei" and "Wu" are W) says
    # nothing: such words are looked up as themselves ("=li").
    keys: list[str] = []
    for word in (token, _deiotated(token)):
        if word is not None:
            key = phonetic(word)
            key = key if len(key) > 1 else f"={word}"
            if key not in keys:
                keys.append(key)
    return tuple(keys)


# Consonant skeleton: transliterations of Arabic and Persian names differ in vowels and in how
# a consonant is written (Tariq/Tarek, Hussein/Husain, Qasim/Kassem/Gasim, Ghorbani/Qorbani,
# Jafari/Jafary), which NYSIIS keeps apart. Digraphs first, then one letter per consonant
# class (the velars K, Q, C, G are one).
_SKELETON_DIGRAPHS: tuple[tuple[str, str], ...] = (
    ("kh", "h"),
    ("gh", "g"),
    ("sh", "s"),
    ("ch", "s"),
    ("th", "t"),
    ("dh", "d"),
    ("ph", "f"),
    ("ck", "k"),
)
_SKELETON_LETTERS = str.maketrans("qcgzvdp", "kkksftb")
_SKELETON_VOWELS = frozenset("aeiouy")
# Shorter skeletons ("st" for Said, Saad, Saud, Seth) join too many different names.
_SKELETON_MIN_LENGTH: Final = 3


@functools.lru_cache(maxsize=16384)
def _skeleton(token: str) -> str | None:
    word = token
    for digraph, letter in _SKELETON_DIGRAPHS:
        word = word.replace(digraph, letter)
    word = word.translate(_SKELETON_LETTERS)
    # An initial vowel is kept as a vowel; an initial Y stays ("Younes" is not "Anas").
    letters = ["a" if word[0] in "aeiou" else word[0]]
    for letter in word[1:]:
        if letter not in _SKELETON_VOWELS and letter != letters[-1]:
            letters.append(letter)
    skeleton = "".join(letters)
    return skeleton if len(skeleton) >= _SKELETON_MIN_LENGTH else None


_VOWEL_GROUPS = re.compile("[aeiouy]+")


def _syllables(token: str) -> int:
    # A final E after a consonant is silent in French and English spellings (Chahine, Yasmine).
    if len(token) > 3 and token[-1] == "e" and token[-2] not in "aeiouy":
        token = token[:-1]
    return len(_VOWEL_GROUPS.findall(token, 1)) + (token[0] in "aeiou")


@functools.lru_cache(maxsize=16384)
def _sound_keys(token: str) -> tuple[str, ...]:
    """Index keys of a word: its phonetic keys and its consonant skeleton ("~trk")."""
    skeleton = _skeleton(token)
    keys = _phonetic_keys(token)
    return keys if skeleton is None else (*keys, f"~{skeleton}")


def _without_particles(tokens: Sequence[str]) -> list[str]:
    # "Du", "Di", "Le" and "Ben" are also whole names (Chinese, Vietnamese, Hebrew family
    # names): only a name with two other words loses its particles.
    meaningful = [token for token in tokens if token not in NAME_PARTICLES]
    return meaningful if len(meaningful) >= 2 else list(tokens)


def _retrieval_tokens(tokens: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(_without_particles(tokens)))


# Romanisations of Cyrillic besides unidecode's (which writes Юрий "Iurii", like Russian
# passports since 2010): BGN/PCGN, used by the English-language press and many lists ("Yuriy",
# "Yevgeniy", "Solovyov"), and Ukraine's national system of 2010, used in Ukrainian passports
# (Г is H: "Hnatiuk", not "Gnatiuk"). A name is indexed and queried in each, so a client typing
# their passport spelling meets a list that has the name in Cyrillic or in another spelling.
_BGN: dict[str, str] = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "ё": "yo",
    "є": "ye", "ж": "zh", "з": "z", "и": "i", "і": "i", "ї": "yi", "й": "y", "к": "k",
    "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
    "ў": "w", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "",
    "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip
_BGN_YE_AFTER = frozenset("аеёиоуыэюяіїєъь")
_UKRAINIAN: dict[str, str] = {
    **_BGN, "г": "h", "е": "e", "є": "ie", "и": "y", "ї": "i", "й": "i", "ю": "iu", "я": "ia",
}  # fmt: skip
# At the start of a word the Ukrainian system writes these with Y.
_UKRAINIAN_INITIAL: dict[str, str] = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}
_UKRAINIAN_LETTERS = frozenset("ґєіїҐЄІЇ")
_RUSSIAN_LETTERS = frozenset("ёъыэЁЪЫЭ")
_CYRILLIC = re.compile("[\u0400-\u04ff]")


def _romanise(text: str, *, ukrainian: bool) -> str:
    out: list[str] = []
    previous = ""
    for char in text:
        lower = char.lower()
        if ukrainian:
            latin = (
                _UKRAINIAN_INITIAL[lower]
                if lower in _UKRAINIAN_INITIAL and not previous.isalpha()
                else _UKRAINIAN.get(lower, lower)
            )
        elif lower == "е" and (not previous.isalpha() or previous in _BGN_YE_AFTER):
            latin = "ye"
        else:
            latin = _BGN.get(lower, lower)
        out.append(latin)
        previous = lower
    return "".join(out)


def name_spellings(*parts: object) -> list[list[str]]:
    """The folded words of a name in each romanisation that applies: first `fold_name`'s, then,
    for Cyrillic, BGN/PCGN's and (unless the name has letters only Russian uses) the Ukrainian
    system's."""
    spellings: list[list[str]] = []
    first = fold_name(*parts)
    if first:
        spellings.append(first)
    text = " ".join(part[:MAX_NAME_LENGTH] for part in parts if isinstance(part, str))
    if _CYRILLIC.search(text):
        alternatives = [_romanise(text, ukrainian=False)]
        # Ukrainian names often use no letter Russian lacks (Гавриш Арсен); a name without
        # Ё, Ъ, Ы or Э may be either, so it gets the Ukrainian reading too.
        if not _UKRAINIAN_LETTERS.isdisjoint(text) or _RUSSIAN_LETTERS.isdisjoint(text):
            alternatives.append(_romanise(text, ukrainian=True))
        for alternative in alternatives:
            tokens = fold_name(alternative)
            if tokens and tokens not in spellings:
                spellings.append(tokens)
    return spellings


# Two words are the same word when this similar (OSA: one typo in a five-letter word is 0.8).
_SAME_WORD: Final = 0.7
# Words with the same phonetic key are spelling variants ("Hasan"/"Hassan", "Smyth"/"Smith").
_PHONETIC_WORD: Final = 0.85
# Words with the same consonant skeleton may be ("Tariq"/"Tarek"), or not ("Peter"/"Petra").
_SKELETON_WORD: Final = 0.75
# Points off for each word only one side has (a patronymic, a second given name)...
_EXTRA_WORD_PENALTY: Final = 6.0
# ... and when only one word matched, so "Hassan" alone is not "Ali Hassan".
_EXTRA_WORD_PENALTY_ONE_MATCH: Final = 15.0


@functools.lru_cache(maxsize=65536)
def _word_similarity(query: str, listed: str) -> float:
    if query == listed:
        return 1.0
    similarity = OSA.normalized_similarity(query, listed)
    # _phonetic_keys never pairs words by a one-letter key ("Zhi" and "Zou" are both Z).
    if similarity < _PHONETIC_WORD and not set(_phonetic_keys(query)).isdisjoint(
        _phonetic_keys(listed)
    ):
        similarity = _PHONETIC_WORD
    # Same skeleton and as many syllables: Tariq/Tarek, Qasim/Kassem, but not Mahmoud/Mohammad.
    skeleton = _skeleton(query)
    if (
        similarity < _SKELETON_WORD
        and skeleton is not None
        and skeleton == _skeleton(listed)
        and _syllables(query) == _syllables(listed)
    ):
        similarity = _SKELETON_WORD
    return similarity


def _merge_joined(tokens: Sequence[str], other: Container[str]) -> list[str]:
    # Pinyin and Arabic names are written apart or joined ("Xiu Ying"/"Xiuying",
    # "Abdel Aziz"/"Abdelaziz"): join two or three neighbours when the other side has them as
    # one word.
    if not any(first + second in other for first, second in pairwise(tokens)):
        return list(tokens)  # the usual case, checked cheaply
    merged: list[str] = []
    position = 0
    while position < len(tokens):
        for size in (3, 2, 1):
            joined = "".join(tokens[position : position + size])
            if size == 1 or (position + size <= len(tokens) and joined in other):
                merged.append(joined)
                position += size
                break
    return merged


def _aligned_similarity(query: Sequence[str], listed: Sequence[str]) -> float:
    """0-100: words paired one to one, best pairs first, each weighted by its length.

    A word on both sides that pairs with nothing (another family name) counts against the whole
    name; a word only one side has (a patronymic the client left out) costs a few points.
    """
    # Joined words first, so "Al Amin" meets "Alamin" before the particle "al" is dropped.
    query = _merge_joined(query, listed)
    listed = _merge_joined(listed, query)
    query = _without_particles(query)
    listed = _without_particles(listed)
    pairs = sorted(
        (
            (_word_similarity(word, other), i, j)
            for i, word in enumerate(query)
            for j, other in enumerate(listed)
        ),
        reverse=True,
    )
    paired_query: set[int] = set()
    paired_listed: set[int] = set()
    matched = 0.0
    matched_length = 0
    for similarity, i, j in pairs:
        if similarity < _SAME_WORD:
            break
        if i in paired_query or j in paired_listed:
            continue
        paired_query.add(i)
        paired_listed.add(j)
        matched += similarity * len(query[i])
        matched_length += len(query[i])
    if not paired_query:
        return 0.0
    extra_query = [word for i, word in enumerate(query) if i not in paired_query]
    extra_listed = [word for j, word in enumerate(listed) if j not in paired_listed]
    if extra_query and extra_listed:
        total = sum(map(len, query)) + sum(map(len, extra_listed))
        return 100.0 * matched / total
    penalty = _EXTRA_WORD_PENALTY if len(paired_query) >= 2 else _EXTRA_WORD_PENALTY_ONE_MATCH
    extra = len(extra_query) + len(extra_listed)
    return max(0.0, 100.0 * matched / matched_length - penalty * extra)


# --- compact storage -------------------------------------------------------------------------


class _StringTable:
    """Many strings in one UTF-8 blob: a quarter of the memory of a list of str objects."""

    __slots__ = ("_blob", "_ends")

    def __init__(self) -> None:
        self._blob = bytearray()
        self._ends = array("Q")

    def append(self, text: str) -> None:
        self._blob += text.encode("utf-8", errors="surrogatepass")
        self._ends.append(len(self._blob))

    def __getitem__(self, index: int) -> str:
        start = self._ends[index - 1] if index else 0
        return self._blob[start : self._ends[index]].decode("utf-8", errors="surrogatepass")

    def __len__(self) -> int:
        return len(self._ends)

    @property
    def nbytes(self) -> int:
        return len(self._blob) + self._ends.itemsize * len(self._ends)


def _encode_date(value: str) -> int | None:
    # yyyymmdd with 00 for an unknown month or day: an int per date instead of a str object.
    partial = _partial_date(value) if isinstance(value, str) else None
    if partial is None:
        return None
    year, month, day = ([*map(int, partial.split("-")), 0, 0])[:3]
    return year * 10000 + month * 100 + day


def _encode_country(code: str) -> int:
    return (ord(code[0]) - 65) * 26 + (ord(code[1]) - 65)


# --- hits ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hit:
    """One listed person the query may be, with the evidence a reviewer reads."""

    entry_id: str
    matched_name: str
    score: float
    name_score: float
    reasons: tuple[str, ...]
    is_sanction: bool
    is_pep: bool
    decision: Decision


def decision_for(score: float) -> Decision:
    """The decision a score leads to under `SCREENING_THRESHOLDS`."""
    if score >= SCREENING_THRESHOLDS["hit"]:
        return "hit"
    if score >= SCREENING_THRESHOLDS["possible"]:
        return "possible"
    return "clear"


def name_similarity(query: str, listed: str) -> float:
    """0-100 similarity of two folded names ("ivan petrov"): word order does not matter, a typo
    or another spelling of a word costs a little, a listed patronymic the query lacks a few
    points, and a different word (another family name) most of the score."""
    return _aligned_similarity(query.split(), listed.split())


def _birth_date_adjustment(listed: Sequence[int], query: date | None) -> tuple[float, str | None]:
    if query is None:
        return 0.0, None
    if not listed:
        return 0.0, "no birth date listed"
    weights = SCREENING_ADJUSTMENTS
    best: tuple[float, str] | None = None
    for encoded in listed:
        year, month, day = encoded // 10000, encoded // 100 % 100, encoded % 100
        if year != query.year:
            outcome = (
                (weights["birth_year_differs_by_one"], "birth year differs by one")
                if abs(year - query.year) == 1
                else (weights["birth_year_differs"], "birth year differs")
            )
        elif month == 0:
            outcome = (weights["birth_year_match"], "birth year matches")
        elif day == 0:
            outcome = (
                (weights["birth_month_match"], "birth year and month match")
                if month == query.month
                else (weights["birth_date_differs_same_year"], "birth month differs")
            )
        elif (month, day) == (query.month, query.day):
            outcome = (weights["birth_date_match"], "birth date matches")
        elif (month, day) == (query.day, query.month):
            # 04/03 is 4 March in Europe and 3 April in the US.
            outcome = (
                weights["birth_date_swapped"],
                "birth date matches with day and month swapped",
            )
        else:
            outcome = (
                weights["birth_date_differs_same_year"],
                "birth date differs in the same year",
            )
        # Lists give alternative dates when the sources disagree: the closest one counts.
        if best is None or outcome[0] > best[0]:
            best = outcome
    assert best is not None
    return best


def _best_bonus() -> float:
    """The most a birth date and a nationality can add to a name score."""
    weights = SCREENING_ADJUSTMENTS
    best_date = max(
        0.0,
        weights["birth_date_match"],
        weights["birth_date_swapped"],
        weights["birth_month_match"],
        weights["birth_year_match"],
    )
    return best_date + max(0.0, weights["nationality_match"], weights["country_match"])


def _query_country(nationality: object) -> int | None:
    code = _country(nationality)
    return _encode_country(code) if code else None


# --- the index -------------------------------------------------------------------------------


class ScreeningIndex:
    """Every listed person in flat arrays, with inverted indexes from name tokens to entries.

    Entries and name variants (one spelling of one listed name) are numbered; per-entry and
    per-variant data live in `array`s and UTF-8 blobs (folded names in one list of shared str
    objects), and each inverted index maps a key to an `array` of entry numbers, so 250,000
    entries with their aliases take tens of megabytes, not the gigabyte objects per entry
    would. Immutable once built, so one index can serve every thread of a process.
    """

    __slots__ = (
        "_countries",
        "_countries_start",
        "_dates",
        "_dates_start",
        "_entity_ids",
        "_flags",
        "_folded",
        "_mononyms",
        "_names",
        "_nationalities",
        "_nationalities_start",
        "_phonetic_postings",
        "_token_postings",
        "_typo_buckets",
        "_variant_name",
        "_variant_start",
        "_weak",
        "duplicates_skipped",
    )

    def __init__(self) -> None:
        self._entity_ids = _StringTable()
        self._flags = bytearray()
        self._dates = array("I")
        self._dates_start = array("I", [0])
        self._nationalities = array("H")
        self._nationalities_start = array("I", [0])
        self._countries = array("H")
        self._countries_start = array("I", [0])
        # Entry i owns variants _variant_start[i] to _variant_start[i + 1].
        self._variant_start = array("I", [0])
        # Names as listed; a variant is one romanisation of one of them.
        self._names = _StringTable()
        self._variant_name = array("I")
        # Folded names as str objects, not a blob: every query hands thousands of them to
        # rapidfuzz, and a namesake's identical folded name is the same object.
        self._folded: list[str] = []
        self._weak = bytearray()
        # Folded token -> entries that have it; phonetic key -> entries with a token of that key.
        self._token_postings: dict[str, array[int]] = {}
        self._phonetic_postings: dict[str, array[int]] = {}
        # (first letter, length) -> listed tokens, where a query word's typos are looked up.
        self._typo_buckets: dict[tuple[str, int], list[str]] = {}
        # Entries with a one-word name ("Suharto"), found on one shared word.
        self._mononyms: frozenset[int] = frozenset()
        self.duplicates_skipped = 0

    @classmethod
    def build(cls, entries: Iterable[ListEntry]) -> ScreeningIndex:
        """Index the entries; a repeated entity_id keeps its first entry."""
        index = cls()
        seen: set[str] = set()
        mononyms: list[int] = []
        folded_names: dict[str, str] = {}
        for entry in entries:
            if entry.entity_id in seen:
                index.duplicates_skipped += 1
                continue
            seen.add(entry.entity_id)
            if index._add(entry, folded_names):
                mononyms.append(len(index._flags) - 1)
        index._mononyms = frozenset(mononyms)
        for token in index._token_postings:
            if len(token) >= TYPO_MIN_LENGTH - 1:
                index._typo_buckets.setdefault((token[0], len(token)), []).append(token)
        return index

    def _add(self, entry: ListEntry, folded_names: dict[str, str]) -> bool:
        """Append one entry; True when one of its names is a single word."""
        number = len(self._flags)
        self._entity_ids.append(entry.entity_id)
        self._flags.append(
            (_SANCTION_FLAG if entry.is_sanction else 0) | (_PEP_FLAG if entry.is_pep else 0)
        )
        self._dates.extend(
            encoded for encoded in map(_encode_date, entry.birth_dates) if encoded is not None
        )
        self._dates_start.append(len(self._dates))
        self._nationalities.extend(
            _encode_country(code) for code in map(_country, entry.nationalities) if code
        )
        self._nationalities_start.append(len(self._nationalities))
        self._countries.extend(
            _encode_country(code) for code in map(_country, entry.countries) if code
        )
        self._countries_start.append(len(self._countries))

        tokens_of_entry: set[str] = set()
        single_word = False
        variants = [(name, False) for name in entry.names if isinstance(name, str)]
        variants += [(name, True) for name in entry.weak_aliases if isinstance(name, str)]
        seen_folded: set[str] = set()
        for name, weak in variants[:_MAX_VARIANTS_PER_ENTRY]:
            # Names that fail normalisation keep whatever words survive; a name with none
            # cannot be matched and is left out (the entry stays, with its other names).
            name_number = -1
            for tokens in name_spellings(name):
                folded = " ".join(tokens[: MAX_QUERY_TOKENS * 2])
                if folded in seen_folded:
                    continue
                seen_folded.add(folded)
                if name_number < 0:
                    self._names.append(name)
                    name_number = len(self._names) - 1
                self._variant_name.append(name_number)
                self._folded.append(folded_names.setdefault(folded, folded))
                self._weak.append(weak)
                words = folded.split()
                single_word = single_word or len(_retrieval_tokens(words)) == 1
                # Particles are indexed too, for the queries where they are the family name.
                tokens_of_entry.update(words)
        self._variant_start.append(len(self._folded))

        keys_of_entry: set[str] = set()
        for token in tokens_of_entry:
            self._token_postings.setdefault(token, array("I")).append(number)
            keys_of_entry.update(_sound_keys(token))
        for key in keys_of_entry:
            self._phonetic_postings.setdefault(key, array("I")).append(number)
        return single_word

    def __len__(self) -> int:
        return len(self._flags)

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays, blobs and folded names (not the dicts' own overhead)."""
        arrays = (
            self._dates,
            self._dates_start,
            self._nationalities,
            self._nationalities_start,
            self._countries,
            self._countries_start,
            self._variant_start,
            self._variant_name,
        )
        postings = [*self._token_postings.values(), *self._phonetic_postings.values()]
        return (
            self._entity_ids.nbytes
            + self._names.nbytes
            + sys.getsizeof(self._folded)
            + sum(sys.getsizeof(name) for name in {id(n): n for n in self._folded}.values())
            + len(self._flags)
            + len(self._weak)
            + sum(a.itemsize * len(a) for a in (*arrays, *postings))
        )

    # --- candidates --------------------------------------------------------------------------

    def _typo_neighbours(self, token: str) -> list[str]:
        # Listed words one edit away. Typos in the first letter are rare (people know how their
        # name starts), so only words starting with the same letter, or one that
        # transliteration confuses with it, and of a length within one are compared.
        neighbours: list[str] = []
        # A three-letter word is one edit from dozens of others ("Xia", "Xin", "Xiu"); only a
        # letter it lost ("Oga" for "Olga") is looked for.
        lengths = (
            (len(token) + 1,) if len(token) <= 3 else (len(token) - 1, len(token), len(token) + 1)
        )
        for initial in (token[0], *_CONFUSED_INITIALS.get(token[0], "")):
            for length in lengths:
                bucket = self._typo_buckets.get((initial, length))
                if bucket:
                    neighbours.extend(
                        choice
                        for choice, _distance, _position in process.extract(
                            token, bucket, scorer=OSA.distance, score_cutoff=1, limit=None
                        )
                        if choice != token
                    )
        return neighbours

    def _entries_for_token(self, token: str, rival: str | None = None) -> set[int]:
        """Entries with the word in some spelling: its keys, itself, its typos.

        With a rival (another word of the query sharing a key, as NYSIIS makes Hassan and
        Hashemi both HASAN), only what tells the two apart counts: the word itself, its typos
        and the keys the rival lacks. Otherwise one listed "Hassan" would match both words.
        """
        keys = _sound_keys(token)
        rival_keys = _sound_keys(rival) if rival is not None else ()
        found: set[int] = set(self._token_postings.get(token, ()))
        for key in keys:
            if key not in rival_keys:
                found.update(self._phonetic_postings.get(key, ()))
        if len(token) >= TYPO_MIN_LENGTH:
            # Neighbours with one of the keys counted above are already in.
            counted = set(keys).union(rival_keys)
            for neighbour in self._typo_neighbours(token):
                if neighbour != rival and counted.isdisjoint(_sound_keys(neighbour)):
                    found.update(self._token_postings.get(neighbour, ()))
        return found

    def _joined_and_split(self, tokens: list[str], words: list[str]) -> list[set[int]]:
        """Per word, the entries that write it joined with a neighbour or split in two.

        Pinyin and Arabic names are written both ways: "Xiu Ying" and "Xiuying", "Abdel Aziz"
        and "Abdelaziz", "Al-Amin" and "Alamin".
        """
        found: dict[str, set[int]] = {word: set() for word in words}
        postings = self._token_postings
        for size in (2, 3):
            for start in range(len(tokens) - size + 1):
                parts = tokens[start : start + size]
                joined = postings.get("".join(parts))
                if joined is not None:
                    for word in parts:
                        if word in found:
                            found[word].update(joined)
        for word in words:
            for cut in range(2, len(word) - 1):
                head, tail = word[:cut], postings.get(word[cut:])
                if tail is None:
                    continue
                if head in NAME_PARTICLES:
                    # Particles join half the list: the rest of the word decides.
                    found[word].update(tail)
                elif head in postings:
                    found[word].update(set(postings[head]).intersection(tail))
        return [found[word] for word in words]

    def _candidates(self, tokens: list[str]) -> list[int]:
        """Entries sharing two words with the query (one if either side has only one)."""
        words = _retrieval_tokens(tokens)
        extra = self._joined_and_split(tokens, words)
        groups = [
            self._entries_for_token(word) | more for word, more in zip(words, extra, strict=True)
        ]
        if len(groups) == 1:
            candidates = groups[0]
        else:
            candidates = set()
            for i, j in combinations(range(len(words)), 2):
                first, second = words[i], words[j]
                if set(_sound_keys(first)).isdisjoint(_sound_keys(second)):
                    candidates |= groups[i] & groups[j]
                else:
                    candidates |= (self._entries_for_token(first, second) | extra[i]) & (
                        self._entries_for_token(second, first) | extra[j]
                    )
            if self._mononyms:
                for group in groups:
                    candidates |= self._mononyms & group
        if len(candidates) <= MAX_CANDIDATES:
            return sorted(candidates)
        # Overflow only for a query of very common words: keep the entries sharing most of them.
        shared: Counter[int] = Counter()
        for group in groups:
            shared.update(candidates.intersection(group))
        ranked = sorted(candidates, key=lambda entry: (-shared[entry], entry))
        return sorted(ranked[:MAX_CANDIDATES])

    # --- screening ---------------------------------------------------------------------------

    def screen(
        self,
        *,
        given_name: str,
        family_name: str,
        birth_date: date | None,
        nationality: str | None,
        limit: int = 5,
    ) -> list[Hit]:
        """The listed persons this client may be, best first: "hit" and "possible" only.

        Never raises on any name: characters that cannot be read are ignored, and a name with
        no letters finds nothing (the registration's own validation refuses such names).
        """
        spellings = [
            tokens[:MAX_QUERY_TOKENS] for tokens in name_spellings(given_name, family_name)
        ]
        if not spellings or limit <= 0 or not self._flags:
            return []
        if not isinstance(birth_date, date):
            birth_date = None
        country = _query_country(nationality)
        found: set[int] = set()
        for tokens in spellings:
            found.update(self._candidates(tokens))
        if not found:
            return []
        # Scored also as the list writes it when that joins words: "Jing Jian Hua" (from 晶建华)
        # as "Jingjianhua", so the token ratios that choose what to score see it. (Candidates
        # already come both ways; this form is for scoring only.)
        forms = list(spellings)
        for tokens in spellings:
            joined = _merge_joined(tokens, self._token_postings)
            if joined != tokens and joined not in forms:
                forms.append(joined)

        variant_start = self._variant_start
        scored = [
            (entry, variant)
            for entry in sorted(found)
            for variant in range(variant_start[entry], variant_start[entry + 1])
        ]
        scored = self._near_variants(forms, scored)

        best: dict[int, tuple[float, int]] = {}
        best_weak: dict[int, tuple[float, int]] = {}
        # Namesakes share one folded name object: each distinct name is aligned once.
        aligned: dict[str, float] = {}
        for entry, variant in scored:
            folded = self._folded[variant]
            score = aligned.get(folded)
            if score is None:
                listed = folded.split()
                score = max(_aligned_similarity(tokens, listed) for tokens in forms)
                aligned[folded] = score
            target = best_weak if self._weak[variant] else best
            if entry not in target or score > target[entry][0]:
                target[entry] = (score, variant)

        # No birth date or nationality can lift a name scoring below this to "possible".
        hopeless = SCREENING_THRESHOLDS["possible"] - _best_bonus()
        hits: list[Hit] = []
        for entry in best.keys() | best_weak.keys():
            name_score = max(best.get(entry, (0.0, 0))[0], best_weak.get(entry, (0.0, 0))[0])
            if name_score < hopeless:
                continue
            hit = self._hit(entry, best.get(entry), best_weak.get(entry), birth_date, country)
            if hit is not None:
                hits.append(hit)
        hits.sort(key=lambda hit: (-hit.score, -hit.name_score, hit.entry_id))
        return hits[:limit]

    def _near_variants(
        self, forms: list[list[str]], scored: list[tuple[int, int]]
    ) -> list[tuple[int, int]]:
        # Word alignment runs in Python at some microseconds a name; rapidfuzz's token ratios
        # run in C. They pass every name the alignment could score high (reordered, a typo, a
        # left-out patronymic all keep them above the cutoff) and, for queries of common words
        # with thousands of candidates, the closest ones first.
        if len(scored) <= ALIGN_ALL_BELOW:
            return scored
        choices = [self._folded[variant] for _entry, variant in scored]
        kept: set[int] = set()
        for tokens in forms:
            query = " ".join(tokens)
            for scorer in (fuzz.token_sort_ratio, fuzz.token_set_ratio):
                kept.update(
                    position
                    for _choice, _score, position in process.extract(
                        query,
                        choices,
                        scorer=scorer,
                        score_cutoff=PREFILTER_CUTOFF,
                        limit=MAX_SCORED_VARIANTS // 2,
                    )
                )
        return [scored[position] for position in sorted(kept)]

    def _hit(
        self,
        entry: int,
        strong: tuple[float, int] | None,
        weak: tuple[float, int] | None,
        birth_date: date | None,
        country: int | None,
    ) -> Hit | None:
        dates = self._dates[self._dates_start[entry] : self._dates_start[entry + 1]]
        date_points, date_reason = _birth_date_adjustment(dates, birth_date)
        country_points, country_reason = self._country_adjustment(entry, country)
        adjustment = date_points + country_points
        extra = [reason for reason in (date_reason, country_reason) if reason]

        options: list[tuple[float, float, int, list[str]]] = []
        if strong is not None:
            name_score, variant = strong
            score = min(100.0, max(0.0, name_score + adjustment))
            options.append((score, name_score, variant, [f"name {name_score:.0f}", *extra]))
        if weak is not None:
            # OpenSanctions: weak aliases are "not to be used for matching on their own".
            name_score, variant = weak
            ceiling = SCREENING_THRESHOLDS["hit"] - 1
            score = min(ceiling, max(0.0, name_score + adjustment))
            reasons = [f"name {name_score:.0f}", "weak alias: at most possible", *extra]
            options.append((score, name_score, variant, reasons))
        score, name_score, variant, reasons = max(options, key=lambda option: option[:2])
        decision = decision_for(score)
        if decision == "clear":
            return None
        flags = self._flags[entry]
        return Hit(
            entry_id=self._entity_ids[entry],
            matched_name=self._names[self._variant_name[variant]],
            score=round(score, 1),
            name_score=round(name_score, 1),
            reasons=tuple(reasons),
            is_sanction=bool(flags & _SANCTION_FLAG),
            is_pep=bool(flags & _PEP_FLAG),
            decision=decision,
        )

    def _country_adjustment(self, entry: int, country: int | None) -> tuple[float, str | None]:
        if country is None:
            return 0.0, None
        weights = SCREENING_ADJUSTMENTS
        start, end = self._nationalities_start[entry], self._nationalities_start[entry + 1]
        if start < end:
            if country in self._nationalities[start:end]:
                return weights["nationality_match"], "nationality matches"
            return weights["nationality_differs"], "nationality differs"
        # "country" on an FtM person is any link (residence, business): agreement is a hint,
        # disagreement means nothing.
        start, end = self._countries_start[entry], self._countries_start[entry + 1]
        if country in self._countries[start:end]:
            return weights["country_match"], "listed country matches"
        return 0.0, None
