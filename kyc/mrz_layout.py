"""The fixed layouts of the three MRZ formats (ICAO Doc 9303 parts 4-6), position by position.

An MRZ is not free text: each position holds one kind of character. Readers use this to decide
what a smudged glyph can be (a "0" where only letters stand is an "O"; a "D" in a date is a "0")
and to know which positions a check digit covers, so a reading can be repaired where the check
digits say it is wrong and refused where nothing can confirm it.

Kinds, one letter per position:

    A  a letter or the filler "<" (names, country codes, document type)
    9  a digit (dates, check digits)
    8  a digit or the filler (a check digit that may be left empty)
    *  a letter, a digit or the filler (document numbers, optional data)
    S  the sex: M, F, X or the filler
    D  the first letter of the document code: P (passports), V (visas), A, C or I (cards)
"""

from __future__ import annotations

from dataclasses import dataclass

MRZ_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<"
FILLER = "<"

_KIND_CHARS = {
    "A": MRZ_ALPHABET[10:],
    "9": MRZ_ALPHABET[:10],
    "8": MRZ_ALPHABET[:10] + FILLER,
    "*": MRZ_ALPHABET,
    "S": "MFX<",
    "D": "ACIPV",
}


@dataclass(frozen=True)
class MrzLayout:
    """One MRZ format: its name, line length and the kind of every position of every line."""

    name: str  # "TD1", "TD2", "TD3"
    length: int  # characters per line
    kinds: tuple[str, ...]  # one string of kinds per line, each `length` long
    # Positions (line, column) no check digit covers: what is read there cannot be confirmed.
    unchecked: frozenset[tuple[int, int]]

    @property
    def lines(self) -> int:
        return len(self.kinds)

    def allowed(self, line: int, column: int) -> str:
        """The characters that may stand at this position."""
        return _KIND_CHARS[self.kinds[line][column]]


def _layout(name: str, kinds: tuple[str, ...], checked: dict[int, list[range]]) -> MrzLayout:
    length = len(kinds[0])
    assert all(len(line) == length for line in kinds), name
    covered = {(line, column) for line, ranges in checked.items() for r in ranges for column in r}
    unchecked = frozenset(
        (line, column)
        for line in range(len(kinds))
        for column in range(length)
        if (line, column) not in covered
    )
    return MrzLayout(name=name, length=length, kinds=kinds, unchecked=unchecked)


# Passport (TD3, 2 x 44): line 2 is number, check, nationality, birth date, check, sex, expiry,
# check, personal number, its check (may be "<"), composite check.
TD3 = _layout(
    "TD3",
    (
        "D" + "A" * 43,
        "*" * 9 + "9" + "AAA" + "9" * 6 + "9" + "S" + "9" * 6 + "9" + "*" * 14 + "8" + "9",
    ),
    # Covered by a check digit: number (0-9), birth date (13-19), expiry (21-27), personal
    # number (28-42) and the composite digit itself (43).
    {1: [range(0, 10), range(13, 20), range(21, 28), range(28, 44)]},
)

# Other travel documents and older ID cards (TD2, 2 x 36): line 2 as TD3's, with 7 characters of
# optional data and no check digit of their own (the composite covers them).
TD2 = _layout(
    "TD2",
    (
        "D" + "A" * 35,
        "*" * 9 + "9" + "AAA" + "9" * 6 + "9" + "S" + "9" * 6 + "9" + "*" * 7 + "9",
    ),
    {1: [range(0, 10), range(13, 20), range(21, 28), range(28, 36)]},
)

# ID cards (TD1, 3 x 30): number and optional data on line 1, dates, sex and nationality on
# line 2, the name on line 3. The number's check digit is "<" when the number overflows into the
# optional data (Doc 9303 part 5, note j).
TD1 = _layout(
    "TD1",
    (
        "DA" + "AAA" + "*" * 9 + "8" + "*" * 15,
        "9" * 6 + "9" + "S" + "9" * 6 + "9" + "AAA" + "*" * 11 + "9",
        "A" * 30,
    ),
    {0: [range(5, 30)], 1: [range(0, 7), range(8, 15), range(18, 30)]},
)

LAYOUTS: tuple[MrzLayout, ...] = (TD3, TD2, TD1)
LAYOUTS_BY_LINES: dict[int, tuple[MrzLayout, ...]] = {2: (TD3, TD2), 3: (TD1,)}
