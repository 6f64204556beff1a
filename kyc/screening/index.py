"""`ScreeningIndex`: every listed person in flat arrays, built once, and `screen`, which answers
"is this client on the list?" with scored, explained `Hit`s."""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable
from datetime import date
from typing import Final

from rapidfuzz import fuzz, process

from .candidates import TYPO_MIN_LENGTH, _CandidateSearch
from .lists import ListEntry, _country
from .names import _retrieval_tokens, _sound_keys, name_spellings
from .scoring import (
    SCREENING_ADJUSTMENTS,
    SCREENING_THRESHOLDS,
    Hit,
    _aligned_similarity,
    _best_bonus,
    _birth_date_adjustment,
    _merge_joined,
    decision_for,
)
from .storage import _encode_country, _encode_date, _query_country, _StringTable

# Names scored word by word per query at most; rapidfuzz's token ratios (C) pick them, and
# names below the cutoff on both ratios are not worth the word-by-word (Python) scoring.
MAX_SCORED_VARIANTS: Final = 400
PREFILTER_CUTOFF: Final = 50.0
# Below this many candidate names all are scored word by word: the token ratios undervalue
# names written joined in one place and apart in the other ("Jing Jian Hua"/"Jingjianhua").
ALIGN_ALL_BELOW: Final = 100
# Query words beyond this are ignored: nobody's legal name has more, and each costs a lookup.
MAX_QUERY_TOKENS: Final = 8

_SANCTION_FLAG: Final = 1
_PEP_FLAG: Final = 2
# Variants per entry are capped so one absurd record cannot slow every query.
_MAX_VARIANTS_PER_ENTRY: Final = 64


class ScreeningIndex(_CandidateSearch):
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
