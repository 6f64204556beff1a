"""Scores of a listed name against a query: words aligned one to one (`name_similarity`), points
for the birth date and nationality, and the decision a score leads to (`SCREENING_THRESHOLDS`)."""

from __future__ import annotations

import functools
from collections.abc import Container, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Final, Literal

from rapidfuzz.distance import OSA

from .names import _phonetic_keys, _skeleton, _syllables, _without_particles

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
