"""Candidate retrieval of the screening index: the entries a query's words reach through their
spellings, sound keys, typos and forms written joined or apart."""

# Cyrillic letters in comments are examples, not look-alikes.
# ruff: noqa: RUF003

from __future__ import annotations

from array import array
from collections import Counter
from itertools import combinations
from typing import Final

from rapidfuzz import process
from rapidfuzz.distance import OSA

from .names import NAME_PARTICLES, _retrieval_tokens, _sound_keys

# Candidate entries per query at most. Only a query of very common words (a single given name)
# gets near it; the entries sharing the most query words are kept. rapidfuzz then picks the
# closest MAX_SCORED_VARIANTS names among them.
MAX_CANDIDATES: Final = 20000
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


class _CandidateSearch:
    """The candidate lookups of `ScreeningIndex`, over its postings and typo buckets."""

    __slots__ = ()

    _token_postings: dict[str, array[int]]
    _phonetic_postings: dict[str, array[int]]
    _typo_buckets: dict[tuple[str, int], list[str]]
    _mononyms: frozenset[int]

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
