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

from .candidates import MAX_CANDIDATES, TYPO_MIN_LENGTH
from .index import (
    ALIGN_ALL_BELOW,
    MAX_QUERY_TOKENS,
    MAX_SCORED_VARIANTS,
    PREFILTER_CUTOFF,
    ScreeningIndex,
)
from .lists import (
    DEMO_LIST_PATH,
    MAX_REPORTED_ERRORS,
    FtmParse,
    ListEntry,
    ParseReport,
    load_ftm_file,
    parse_ftm_lines,
)
from .names import MAX_NAME_LENGTH, NAME_PARTICLES, fold_name, name_spellings
from .scoring import (
    SCREENING_ADJUSTMENTS,
    SCREENING_THRESHOLDS,
    Decision,
    Hit,
    decision_for,
    name_similarity,
)

__all__ = [
    "ALIGN_ALL_BELOW",
    "DEMO_LIST_PATH",
    "MAX_CANDIDATES",
    "MAX_NAME_LENGTH",
    "MAX_QUERY_TOKENS",
    "MAX_REPORTED_ERRORS",
    "MAX_SCORED_VARIANTS",
    "NAME_PARTICLES",
    "PREFILTER_CUTOFF",
    "SCREENING_ADJUSTMENTS",
    "SCREENING_THRESHOLDS",
    "TYPO_MIN_LENGTH",
    "Decision",
    "FtmParse",
    "Hit",
    "ListEntry",
    "ParseReport",
    "ScreeningIndex",
    "decision_for",
    "fold_name",
    "load_ftm_file",
    "name_similarity",
    "name_spellings",
    "parse_ftm_lines",
]
