"""The holder's name in the MRZ, checked against the name printed on the page.

No check digit covers the name: a misread letter there passes every check. But every passport
and ID card prints the name a second time, in the visual zone above the MRZ, in an ordinary
font the recogniser reads as ordinary words. The two are independent readings of one name:

- where the MRZ leaves a letter in doubt (seen faintly, or beside a rival), the name word that
  the printed page confirms among the MRZ's candidates settles it, if exactly one does;
- where the MRZ reading is a word the page does not hold but one letter away from one it does
  ("WC" beside a printed "WU"), and the MRZ did not see that letter surely, the reading is
  refused.

The printed words are read only when a name needs them (`PrintedWords` is lazy). The MRZ name
is a transliteration (Doc 9303 part 3): "MÜLLER" may be printed and "MUELLER" or "MULLER"
encoded, so a word the page does not hold is no evidence against the MRZ, only a near miss is.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

import numpy as np
from unidecode import unidecode

from kyc.mrz_layout import FILLER, MRZ_ALPHABET, MrzLayout

# Where the holder's name stands: (line, first column, end column).
NAME_FIELDS = {"TD3": (0, 5, 44), "TD2": (0, 5, 36), "TD1": (2, 0, 30)}
# Candidates for a doubtful letter: those seen at least this well (absolutely, or as a share of
# the chosen letter), at most `_CANDIDATES` per position and `_MAX_WORDS` words in all.
_CANDIDATE_EVIDENCE = 0.02
_CANDIDATE_SHARE = 0.1
_CANDIDATES = 4
_MAX_WORDS = 256
# A letter seen at least this surely is not overruled by a near miss on the printed page.
_SURE_LETTER = 0.95
_MIN_WORD = 2
_MIN_INSIDE = 4


class PrintedWords:
    """The words printed on the page (upper-case ASCII letters), read on first use."""

    def __init__(self, read: Callable[[], list[str]]) -> None:
        self._read = read
        self._words: set[str] | None = None
        self._tokens: set[str] = set()

    @property
    def words(self) -> set[str]:
        if self._words is None:
            words: set[str] = set()
            tokens: set[str] = set()
            for text in self._read():
                ascii_upper = unidecode(text).upper()
                words.update(w for w in re.split(r"[^A-Z]+", ascii_upper) if len(w) >= _MIN_WORD)
                tokens.update(t for t in re.split(r"[^A-Z0-9]+", ascii_upper) if len(t) >= 4)
            self._words, self._tokens = words, tokens
        return self._words

    @property
    def tokens(self) -> set[str]:
        """The runs of letters and digits printed on the page (document numbers among them)."""
        _ = self.words
        return self._tokens

    def holds(self, word: str, *, truncated: bool) -> bool:
        """Is `word` printed (or, for a name the MRZ cut short, the start of a printed word)?"""
        if word in self.words:
            return True
        if truncated and any(w.startswith(word) for w in self.words):
            return True
        # The recogniser sometimes runs the printed words together ("ALQASIMI"): a long
        # enough word inside a printed one counts.
        return len(word) >= _MIN_INSIDE and any(word in w for w in self.words)


def _word_at(text: str, column: int) -> tuple[int, int] | None:
    """The run of letters of `text` (the name field) holding `column`: (first, end)."""
    if text[column] == FILLER:
        return None
    first, end = column, column + 1
    while first > 0 and text[first - 1] != FILLER:
        first -= 1
    while end < len(text) and text[end] != FILLER:
        end += 1
    return first, end


def name_options(evidence: np.ndarray, chosen: int, *, fillers: bool = False) -> list[int]:
    """The chosen character and its rivals seen well enough to be candidates for it (not the
    filler, unless `fillers`)."""
    top = float(evidence[chosen])
    order = [int(k) for k in np.argsort(-evidence) if int(k) != chosen]
    # A letter seen faintly has faint rivals too: they count by their share of it.
    floor = _CANDIDATE_SHARE * top if top < _CANDIDATE_EVIDENCE * 2.5 else _CANDIDATE_EVIDENCE
    others = [
        k
        for k in order
        if (fillers or MRZ_ALPHABET[k] != FILLER)
        and evidence[k] >= max(floor, _CANDIDATE_SHARE * top)
    ]
    return [chosen, *others[: _CANDIDATES - 1]]


def settle_name(
    layout: MrzLayout,
    evidence: list[np.ndarray],
    best: list[np.ndarray],
    doubtful: set[tuple[int, int]],
    line_no: int,
    column: int,
    printed: PrintedWords | None,
) -> set[tuple[int, int]] | None:
    """Settle the doubtful name letter at (line_no, column) by the printed name.

    Every doubtful letter of its word takes its candidates; if exactly one candidate word is
    printed on the page, `best` is set to it and the positions it settled are returned; None
    when the page cannot settle it (the caller refuses the reading).
    """
    name_line, start, end = NAME_FIELDS[layout.name]
    if printed is None or line_no != name_line or not start <= column < end:
        return None
    text = "".join(MRZ_ALPHABET[k] for k in best[line_no][start:end])
    span = _word_at(text, column - start)
    if span is None:
        return None
    first, last = start + span[0], start + span[1]
    choices = []
    for position in range(first, last):
        chosen = int(best[line_no][position])
        if (line_no, position) in doubtful or position == column:
            choices.append(name_options(evidence[line_no][position], chosen))
        else:
            choices.append([chosen])
    if np.prod([len(c) for c in choices]) > _MAX_WORDS:
        return None
    truncated = last == end
    matches = [
        word
        for word in itertools.product(*choices)
        if printed.holds("".join(MRZ_ALPHABET[k] for k in word), truncated=truncated)
    ]
    if len(matches) != 1:
        return None
    best[line_no][first:last] = matches[0]
    return {(line_no, position) for position in range(first, last)}


def near_miss(
    layout: MrzLayout,
    evidence: list[np.ndarray],
    lines: list[str],
    printed: PrintedWords | None,
) -> tuple[int, int] | None:
    """The position of a name letter the printed page contradicts: the MRZ word is not printed,
    a printed word of its length differs from it in that one letter only, and the MRZ did not
    see that letter surely. None when there is none (or no page to compare with)."""
    if printed is None:
        return None
    line_no, start, end = NAME_FIELDS[layout.name]
    text = lines[line_no][start:end]
    for match in re.finditer(r"[A-Z]+", text):
        word = match.group()
        truncated = match.end() == len(text)
        seen = [
            float(evidence[line_no][start + i, MRZ_ALPHABET.index(text[i])])
            for i in range(match.start(), match.end())
        ]
        if len(word) < _MIN_WORD or min(seen) >= _SURE_LETTER:
            continue  # a word seen surely throughout is not second-guessed (nor read twice)
        if printed.holds(word, truncated=truncated):
            continue
        for other in printed.words:
            # A letter too many or too few: the reading slipped by a cell ("PAPADOPOULOUU<<WU"
            # for a printed "PAPADOPOULOU"), which moves the rest of the name with it.
            slip = _one_letter_apart(word, other)
            if slip is not None and len(word) >= _MIN_INSIDE - 1 and not truncated:
                return line_no, start + match.start() + min(slip, len(word) - 1)
            # The printed word itself, or (words run together, "SOFIAQUENTIN") a stretch of it.
            if len(other) == len(word) or (truncated and len(other) > len(word)):
                windows = [other[: len(word)]]
            elif len(word) >= _MIN_INSIDE and len(other) > len(word):
                windows = [other[i : i + len(word)] for i in range(len(other) - len(word) + 1)]
            else:
                continue
            for window in windows:
                differing = [i for i, (a, b) in enumerate(zip(word, window, strict=True)) if a != b]
                if len(differing) == 1 and seen[differing[0]] < _SURE_LETTER:
                    return line_no, start + match.start() + differing[0]
    return None


# (read in the MRZ, printed) pairs the page is no evidence for: its recogniser drops the tail of
# a "Q" and prints "BOTAR" for "BQTAR".
_NEVER_MENDED = {("Q", "O")}


def mend_near_miss(
    layout: MrzLayout,
    evidence: list[np.ndarray],
    lines: list[str],
    printed: PrintedWords | None,
) -> list[str] | None:
    """The lines with each name word that is a near miss of a printed word (one letter
    differs, not seen surely) given the printed letter, where the MRZ saw that letter too as a
    candidate (`name_options`); None when a near miss cannot be mended so, or is ambiguous."""
    if printed is None:
        return None
    line_no, start, end = NAME_FIELDS[layout.name]
    text = list(lines[line_no][start:end])
    changed = False
    for match in re.finditer(r"[A-Z]+", lines[line_no][start:end]):
        word = match.group()
        if len(word) < _MIN_WORD or printed.holds(word, truncated=match.end() == len(text)):
            continue
        mends = set()
        for other in printed.words:
            if len(other) != len(word):
                continue
            differing = [i for i, (a, b) in enumerate(zip(word, other, strict=True)) if a != b]
            if len(differing) != 1:
                continue
            i = differing[0]
            position = start + match.start() + i
            seen = evidence[line_no][position]
            chosen = MRZ_ALPHABET.index(word[i])
            if seen[chosen] >= _SURE_LETTER or (word[i], other[i]) in _NEVER_MENDED:
                continue
            if MRZ_ALPHABET.index(other[i]) in name_options(seen, chosen)[1:]:
                mends.add((match.start() + i, other[i]))
        if len(mends) > 1:
            return None
        for i, letter in mends:
            text[i] = letter
            changed = True
    if not changed:
        return None
    out = list(lines)
    out[line_no] = lines[line_no][:start] + "".join(text) + lines[line_no][end:]
    return out


def _one_letter_apart(word: str, other: str) -> int | None:
    """Where `word` and `other` part when one is the other with a single letter more (not the
    "E" transliteration adds after A, O or U: printed "MÜLLER", encoded "MUELLER"); None when
    they are not so."""
    if abs(len(word) - len(other)) != 1:
        return None
    longer, shorter = (word, other) if len(word) > len(other) else (other, word)
    for i in range(len(longer)):
        if longer[:i] + longer[i + 1 :] == shorter:
            if longer[i] == "E" and i > 0 and longer[i - 1] in "AOU":
                return None
            return i
    return None


# What the page's font draws alike, or its reading confuses: a printed token is no evidence
# between them (nor needed: each pair differs in check value, so a check digit tells them apart).
_PRINTED_ALIKE = str.maketrans(
    {"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "S": "5", "B": "8", "Z": "2", "G": "6"}
)


def printed_number_contradicts(number: str, printed: PrintedWords | None) -> int | None:
    """The position in a document number where a token printed on the page of its length
    differs from it in one or two characters (that the printed font does not draw alike): the
    page shows a number the reading nearly is, so one of them was misread. Two misread
    characters of one field can cancel out in its check digit ("Z0MNZ" read "N0MNN"), and a
    "W" misread "M" does not change it at all. None when the page holds no such token."""
    if printed is None or len(number) < 4:
        return None
    mine = number.translate(_PRINTED_ALIKE)
    for token in printed.tokens:
        if len(token) != len(number):
            continue
        differing = [
            i
            for i, (a, b) in enumerate(zip(mine, token.translate(_PRINTED_ALIKE), strict=True))
            if a != b
        ]
        if 1 <= len(differing) <= 2:
            return differing[0]
    return None
