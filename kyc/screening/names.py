"""Name folding for screening: the lower-case Latin words of a name (`fold_name`), the Cyrillic
romanisations it is also spelled in (`name_spellings`), and the phonetic and consonant-skeleton
keys its words are indexed under."""

# Cyrillic letters in strings, comments and docstrings are data and examples, not look-alikes.
# ruff: noqa: RUF001, RUF003

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from typing import Final

from unidecode import unidecode

from identity.normalize import NAME_NOISE_TOKENS, NormalizationError, name_tokens, phonetic

# Longer name parts are cut before folding, so a hostile 10 MB "name" costs nothing.
MAX_NAME_LENGTH: Final = 300

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
