"""Names: their Latin spelling, their lower-case ASCII words, and the exact and phonetic (NYSIIS)
match keys built from those words."""

from __future__ import annotations

import re
import unicodedata

from unidecode import unidecode

from .errors import NormalizationError, _reject_unreadable, _require_text

_MAX_NAME_PART_LENGTH = 200

# Honorifics and generational suffixes: "Dr. John Smith" and "John Smith Jr" are John Smith for
# matching. "m"/"mme" are French, "herr"/"frau" German, "sig"/"sra"/"sr" Italian and Spanish.
NAME_NOISE_TOKENS: frozenset[str] = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "prof",
        "sir",
        "madam",
        "jr",
        "sr",
        "ii",
        "iii",
        "herr",
        "frau",
        "m",
        "mme",
        "sig",
        "sra",
    }
)

# Apostrophes join ("O'Brien" -> "obrien", since people write it with and without); unidecode
# turns the typographic ones into ASCII "'" or "`" first.
_APOSTROPHES = re.compile(r"['`]")
_NON_LETTERS = re.compile(r"[^a-z]+")


def _check_name_part(part: object) -> str:
    text = _require_text(part, "name_invalid", "name", _MAX_NAME_PART_LENGTH)
    _reject_unreadable(text, "name_invalid", "name")
    # isnumeric also catches "½" and "Ⅻ", which unidecode would otherwise turn into digits/letters.
    if any(ch.isnumeric() for ch in text):
        raise NormalizationError("name_invalid", "A name cannot contain digits.")
    return text


def _transliterate(text: str) -> str:
    # NFKC first so compatibility forms (full-width letters, ligatures) map to their plain letters
    # before transliteration; unidecode then gives every script a Latin spelling.
    return unidecode(unicodedata.normalize("NFKC", text))


def to_latin(text: str) -> str:
    """The Latin-script spelling of a name as we store it: "Иван  Петров" -> "Ivan Petrov"."""
    latin = " ".join(_transliterate(_check_name_part(text)).split())
    if not latin:
        raise NormalizationError("name_invalid", "The name has no letters we can read.")
    return latin


def name_tokens(*parts: str) -> list[str]:
    """Lower-case ASCII words of a name, without titles; raise name_invalid if none remain."""
    tokens: list[str] = []
    for part in parts:
        latin = _transliterate(_check_name_part(part)).casefold()
        if any(ch.isdigit() for ch in latin):
            raise NormalizationError("name_invalid", "A name cannot contain digits.")
        # unidecode output is ASCII already; stripping combining marks anyway keeps the token
        # alphabet a-z even if transliteration ever passes an accent through.
        latin = "".join(
            ch for ch in unicodedata.normalize("NFKD", latin) if not unicodedata.combining(ch)
        )
        latin = _APOSTROPHES.sub("", latin)
        tokens.extend(token for token in _NON_LETTERS.split(latin) if token)
    tokens = [token for token in tokens if token not in NAME_NOISE_TOKENS]
    # Initials are written or left out at will ("John F. Kennedy"), so they only count when the
    # name has nothing else.
    full_words = [token for token in tokens if len(token) > 1]
    if full_words:
        tokens = full_words
    if not tokens:
        raise NormalizationError("name_invalid", "The name has no letters we can read.")
    return tokens


def name_key(*parts: str) -> str:
    """Exact-match key of a name: sorted tokens, so "Petrov Ivan" equals "Ivan Petrov"."""
    return " ".join(sorted(name_tokens(*parts)))


_PHONETIC_VOWELS = frozenset("AEIOUY")


def phonetic(token: str) -> str:
    """Phonetic key of one name word: a NYSIIS variant, so spelling variants share a key.

    Algorithm: NYSIIS (New York State Identification and Intelligence System, 1970) without the
    six-character truncation, plus three changes for the names a European broker sees:
    Y after the first letter is a vowel ("Smyth" = "Smith"), V is F ("Ivanov" = "Ivanoff",
    also German W/V spellings) and D is T ("Schmidt" = "Schmitt"). Vowels after the first letter
    fold to A, so "Mohammed", "Muhammad" and "Mohamed" collide; initial K becomes C ("Katherine"
    = "Catherine") and PH becomes FF ("Philip" = "Filip").

    Known limits: the first letter is kept, so variants that differ there stay apart
    ("Ekaterina"/"Yekaterina", "Xavier"/"Javier", "Chaim"/"Haim"); nicknames never collide
    ("Bill"/"William"); a trailing S is dropped and vowels merge, so distinct names can collide
    ("Peters"/"Peter", "Jon"/"Jan"/"Jean", "Anna"/"Anne", "Smith"/"Schmidt"). It is a
    candidate filter for the fuzzy matcher, never proof that two people are one.
    """
    text = _transliterate(_check_name_part(token)).upper()
    letters = "".join(ch for ch in text if "A" <= ch <= "Z")
    if not letters:
        raise NormalizationError("name_invalid", "The name has no letters we can read.")
    return _nysiis(letters)


def _nysiis(word: str) -> str:
    for prefix, replacement in (
        ("MAC", "MCC"),
        ("KN", "NN"),
        ("K", "C"),
        ("PH", "FF"),
        ("PF", "FF"),
        ("SCH", "SSS"),
    ):
        if word.startswith(prefix):
            word = replacement + word[len(prefix) :]
            break
    for suffix, replacement in (
        ("EE", "Y"),
        ("IE", "Y"),
        ("DT", "D"),
        ("RT", "D"),
        ("RD", "D"),
        ("NT", "D"),
        ("ND", "D"),
    ):
        if word.endswith(suffix):
            word = word[: -len(suffix)] + replacement
            break

    # The rules rewrite the word in place, so later letters see earlier replacements.
    name = list(word)
    key = [name[0]]
    for i in range(1, len(name)):
        current = name[i]
        following = name[i + 1] if i + 1 < len(name) else ""
        if current == "E" and following == "V":
            name[i : i + 2] = ["A", "F"]
        elif current in _PHONETIC_VOWELS:
            name[i] = "A"
        elif current in "QZMVD":
            name[i] = {"Q": "G", "Z": "S", "M": "N", "V": "F", "D": "T"}[current]
        elif current == "K":
            name[i] = "N" if following == "N" else "C"
        elif current == "S" and name[i + 1 : i + 3] == ["C", "H"]:
            name[i : i + 3] = ["S", "S", "S"]
        elif current == "P" and following == "H":
            name[i : i + 2] = ["F", "F"]
        elif _is_silent_after(current, name[i - 1], following):
            name[i] = name[i - 1]
        if name[i] != key[-1]:
            key.append(name[i])

    if len(key) > 1 and key[-1] == "S":
        key.pop()
    if key[-2:] == ["A", "Y"]:
        key[-2:] = ["Y"]
    if len(key) > 1 and key[-1] == "A":
        key.pop()
    return "".join(key)


def _is_silent_after(current: str, previous: str, following: str) -> bool:
    # NYSIIS: an H next to a consonant and a W after a vowel lengthen the previous sound.
    if current == "H":
        return previous not in _PHONETIC_VOWELS or following not in _PHONETIC_VOWELS
    return current == "W" and previous in _PHONETIC_VOWELS


def phonetic_key(*parts: str) -> str:
    """Fuzzy-match key of a name: the sorted phonetic keys of its tokens."""
    return " ".join(sorted(phonetic(token) for token in name_tokens(*parts)))
