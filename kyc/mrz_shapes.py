"""A second opinion on MRZ characters from their shapes, with the document itself as the key.

Every character of an MRZ is printed in one font at one size, so the cells that hold the same
character look alike, wherever they stand. Many positions fix what a character can be (dates
and check digits are digits, names and country codes letters), and there the recogniser is
rarely in doubt: those cells are the document's own specimens of its characters. A cell the
recogniser could not settle is then compared with them:

- in document numbers and optional data, where "O" and "0", "I" and "1" are pooled (the
  recogniser's font-blind guess is no evidence), the shape tells a round "O" from a narrow "0"
  and a bare "I" from a flagged "1" when the document holds specimens of both, or when its cell
  is a certain match (or a certain mismatch) of the only one it holds;
- in positions no check digit covers (names, the document code), a character the recogniser saw
  faintly or beside a rival is taken when its cell matches the specimens of that character and
  plainly not those of every rival.

Nothing here accepts a reading on its own: the check digits still decide every covered field,
and a shape that cannot decide leaves the evidence as it was.
"""

from __future__ import annotations

import numpy as np

from kyc.mrz_layout import FILLER, MRZ_ALPHABET, MrzLayout

# Cells compared at these shifts (in pitches): the fitted cells are off their glyphs by up to a
# fifth of a cell (a proportional font centred in fixed cells, a photographed line's perspective),
# and a thin stroke moved by a twentieth of a cell already correlates much less with itself.
SHIFTS = (-0.25, -0.2, -0.15, -0.1, -0.05, 0.0, 0.05, 0.1, 0.15, 0.2, 0.25)
# A cell is a specimen when the recogniser saw its character at least this well and no rival
# more than `_SPECIMEN_RIVAL` as well.
_SPECIMEN_EVIDENCE = 0.5
_SPECIMEN_RIVAL = 0.3
# "Matches" and "plainly not": correlations of the best-aligned cells.
_MATCH = 0.9
_CERTAIN_MATCH = 0.95
_MISMATCH = 0.7
_MARGIN = 0.06
# Two cells this alike are one glyph.
_SAME_GLYPH = 0.97
# A pooled look-alike the shape rules out keeps this share of the other's evidence: a repair
# the check digits may still ask for, no longer a free choice.
_RULED_OUT_SHARE = 0.12
_PAIRS = {"O": "0", "0": "O", "I": "1", "1": "I"}


def similarity(glyph_sets: list[list[np.ndarray]]) -> np.ndarray:
    """(lines x N) square matrix of shape correlations between every two cells of a block.

    `glyph_sets[line][k]` is line's cells as unit vectors at `SHIFTS[k]`; two cells compare at
    the best shift of either against the other unshifted.
    """
    centred = np.concatenate([sets[SHIFTS.index(0.0)] for sets in glyph_sets])
    best = None
    for k in range(len(SHIFTS)):
        shifted = np.concatenate([sets[k] for sets in glyph_sets])
        scores = shifted @ centred.T
        best = scores if best is None else np.maximum(best, scores)
    assert best is not None
    return np.maximum(best, best.T)


class Specimens:
    """The cells of a block the recogniser read without doubt, by character, for comparing."""

    def __init__(self, layout: MrzLayout, evidence: list[np.ndarray], shapes: np.ndarray):
        self.layout = layout
        self.shapes = shapes
        n = layout.length
        self.chars = np.concatenate([line.argmax(axis=1) for line in evidence])
        ordered = np.sort(np.concatenate(evidence), axis=1)
        top, rival = ordered[:, -1], ordered[:, -2]
        kinds = "".join(layout.kinds)
        pooled = {MRZ_ALPHABET.index(c) for c in _PAIRS}
        self.sure = np.array(
            [
                top[j] >= _SPECIMEN_EVIDENCE
                and rival[j] <= _SPECIMEN_RIVAL * top[j]
                and not (kinds[j] == "*" and self.chars[j] in pooled)
                for j in range(len(kinds))
            ]
        )
        self.n = n

    def likeness(self, line: int, column: int, char: int) -> float | None:
        """How well the cell matches the document's specimens of `char`; None without one."""
        j = line * self.n + column
        members = self.sure & (self.chars == char)
        members[j] = False
        if not members.any():
            return None
        return float(self.shapes[j][members].max())

    def choose_pooled(self, line: int, column: int, chosen: int) -> int | None:
        """For a pooled look-alike ("O"/"0", "I"/"1") in a free field: the one the shape
        says, or None when it cannot tell."""
        a = chosen
        b = MRZ_ALPHABET.index(_PAIRS[MRZ_ALPHABET[a]])
        sa, sb = self.likeness(line, column, a), self.likeness(line, column, b)
        if sa is not None and sb is not None:
            if sa - sb >= _MARGIN and sa >= _MISMATCH:
                return a
            if sb - sa >= _MARGIN and sb >= _MISMATCH:
                return b
            return None
        for own, other, score in ((a, b, sa), (b, a, sb)):
            if score is None:
                continue
            if score >= _CERTAIN_MATCH:
                return own
            if score <= _MISMATCH:
                return other
        return None

    def confirms(self, line: int, column: int, chosen: int, rivals: list[int]) -> bool:
        """Does the cell's shape settle `chosen` against every one of `rivals`?

        A rival the document holds no specimen of cannot be ruled out, except by a filler
        matched for certain: "<" is a shape no letter or digit comes close to.
        """
        own = self.likeness(line, column, chosen)
        if own is None or own < _MATCH:
            return False
        filler = MRZ_ALPHABET[chosen] == FILLER and own >= _CERTAIN_MATCH
        for rival in rivals:
            score = self.likeness(line, column, rival)
            if score is None and filler:
                continue
            if score is None or score > own - 2 * _MARGIN:
                return False
        return True

    def contradicts(self, line: int, column: int, chosen: int) -> bool:
        """Is the cell plainly not `chosen` but plainly another of the document's characters?"""
        own = self.likeness(line, column, chosen)
        if own is None or own >= _MISMATCH:
            return False
        j = line * self.n + column
        others = self.sure & (self.chars != chosen)
        others[j] = False
        return bool(others.any()) and float(self.shapes[j][others].max()) >= _CERTAIN_MATCH

    def inconsistent(self, lines: list[str]) -> tuple[int, int] | None:
        """A position of a free field (document number, optional data) whose cell is, for
        certain, the same glyph as another cell the reading gives another character: two "Q"s
        read "O" and "0" can cancel out in a check digit, but they cannot look alike and differ.
        """
        chars = "".join(lines)
        kinds = "".join(self.layout.kinds)
        for j, kind in enumerate(kinds):
            if kind != "*":
                continue
            same = np.flatnonzero(self.shapes[j] >= _SAME_GLYPH)
            if any(chars[k] != chars[j] for k in same if k != j):
                return divmod(j, self.n)
        return None


def apply_pooled(
    layout: MrzLayout, evidence: list[np.ndarray], specimens: Specimens
) -> list[np.ndarray]:
    """The evidence with each pooled look-alike the shape rules out demoted."""
    out = []
    for line_no, line in enumerate(evidence):
        line = line.copy()
        for column, kind in enumerate(layout.kinds[line_no]):
            chosen = int(line[column].argmax())
            if kind != "*" or MRZ_ALPHABET[chosen] not in _PAIRS:
                continue
            pair = MRZ_ALPHABET.index(_PAIRS[MRZ_ALPHABET[chosen]])
            if abs(line[column, chosen] - line[column, pair]) > 1e-9:
                continue  # not pooled (cannot happen after pooling; kept for safety)
            winner = specimens.choose_pooled(line_no, column, chosen)
            if winner is None:
                continue
            loser = pair if winner == chosen else chosen
            line[column, loser] = _RULED_OUT_SHARE * line[column, winner]
        out.append(line)
    return out
