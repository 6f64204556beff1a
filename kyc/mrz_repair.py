"""From per-position evidence to one MRZ reading, or a refusal: a wrong reading is worse than none.

The recogniser's evidence (`kyc.mrz_ctc`) says how strongly each allowed character was seen at
each position. The likeliest character everywhere is tried first; when the check digits
disagree, the weakest characters are swapped for their runner-ups (at most three swaps, cheapest
first) until every check digit agrees. The reading is refused (`mrz_unreadable`) when:

- no combination makes the check digits agree;
- two different repairs are both plausible (within a factor of ten of each other);
- a position no check digit covers (names, nationality, sex) was not seen clearly, since nothing
  could catch a misread there;
- a character stands where a check digit cannot tell it from a look-alike of equal value
  ("<", "0", "A", "K" and "U" all count as 0 mod 10) and the look-alike was seen almost as well;
- a country code names no country or ICAO code (a doubtful letter of one is settled when only
  one of the letters seen makes a code);
- two characters of one checked field were seen faintly, or a reading that repairs one field
  twice fits about as well: two misreads can cancel out in a check digit;
- the document number, read with doubt the check digit cannot lift, is printed on the page one
  or two characters otherwise;
- a name letter read "O" was also seen as "Q" (unless the page prints the "Q"), or the name is a
  printed word with a letter more or less (the reading slipped by a cell).
"""

from __future__ import annotations

import heapq
import itertools
import math

import numpy as np

from kyc.mrz import (
    KycInputError,
    MrzError,
    MrzResult,
    check_digit,
    mrz_country_alpha2,
    parse_mrz,
)
from kyc.mrz_layout import FILLER, MRZ_ALPHABET, MrzLayout
from kyc.mrz_names import (
    NAME_FIELDS,
    PrintedWords,
    mend_near_miss,
    name_options,
    near_miss,
    printed_number_contradicts,
    settle_name,
)
from kyc.mrz_shapes import Specimens, apply_pooled

# A position no check digit covers is taken only when its character was seen at least this well
# and every other character at most `_RIVAL_SHARE` as well.
_UNCHECKED_MIN_EVIDENCE = 0.05
_RIVAL_SHARE = 0.5
# A character of the same check value (which no check digit can catch) may be seen at most this
# well beside the chosen one.
_TWIN_SHARE = 0.25
# Rivals of a doubtful unchecked character the shape must rule out: those seen this well.
_SHAPE_RIVAL_SHARE = 0.25
# Runner-ups below this evidence, or seen less than a tenth as well as the chosen character, are
# no plausible repair (trying them lets two misreads that cancel out in a check digit pass); at
# most this many per position.
_MIN_ALTERNATIVE = 0.02
_MIN_ALTERNATIVE_SHARE = 0.1
_ALTERNATIVES_PER_POSITION = 3
_MAX_SWAPS = 3
_MAX_TRIED = 5_000
# A second repair this close (in log-likelihood) to the best makes the reading ambiguous.
_AMBIGUITY_MARGIN = math.log(10)

# What a check digit sees of each character: its value (0-9, A=10 ... Z=35, "<" = 0) modulo 10.
_VALUES = [index % 10 if char != FILLER else 0 for index, char in enumerate(MRZ_ALPHABET)]
_COUNTRY_FIELDS = {"TD3": ((0, 2, 5), (1, 10, 13)), "TD2": ((0, 2, 5), (1, 10, 13))}
_COUNTRY_FIELDS["TD1"] = ((0, 2, 5), (1, 15, 18))


def _unreadable(reason: str) -> MrzError:
    return MrzError(
        "mrz_unreadable",
        f"The machine-readable zone could not be read with certainty ({reason}): "
        "photograph the whole page, flat, sharp and without glare.",
    )


def _country_ok(code: str) -> bool:
    code = code.strip(FILLER)
    if not code:
        return False
    try:
        return mrz_country_alpha2(code) is not None or code in {"UTO", "XXA", "XXB", "XXC", "XXX"}
    except KycInputError:
        return False


def _parsed(layout: MrzLayout, lines: list[str]) -> MrzResult | None:
    try:
        result = parse_mrz("\n".join(lines))
    except KycInputError:
        return None
    if result.format != layout.name or not result.valid:
        return None
    for line, start, end in _COUNTRY_FIELDS[layout.name]:
        if not _country_ok(lines[line][start:end]):
            return None
    if not _fillers_trail(layout, lines):
        return None
    return result


def _fillers_trail(layout: MrzLayout, lines: list[str]) -> bool:
    # A document number is letters and digits then fillers: a filler followed by a character is
    # a misread, except where a TD1 number runs on into the optional data.
    number = lines[1][0:9] if layout.name != "TD1" else lines[0][5:14]
    stripped = number.rstrip(FILLER)
    return FILLER not in stripped and bool(stripped)


def resolve_mrz(
    layout: MrzLayout,
    evidence: list[np.ndarray],
    shapes: np.ndarray | None = None,
    printed: PrintedWords | None = None,
) -> MrzResult:
    """The reading the evidence supports (one N x 37 array per line), or `mrz_unreadable`.

    Second opinions where the recogniser is in doubt, both optional: `shapes`, the block's
    cell-by-cell shape similarity (`kyc.mrz_shapes`), and `printed`, the words printed on the
    page (`kyc.mrz_names`), for the name.
    """
    evidence = [_pool_lookalikes(layout, line_no, line) for line_no, line in enumerate(evidence)]
    specimens = Specimens(layout, evidence, shapes) if shapes is not None else None
    if specimens is not None:
        evidence = apply_pooled(layout, evidence, specimens)
    best = [np.argmax(line, axis=1) for line in evidence]
    cleared = _clear_name_tail(layout, best)
    _settle_unchecked(layout, evidence, best, specimens, printed, cleared)
    # Candidate swaps: (cost, line, column, character), cost = log-likelihood given up.
    swaps: list[tuple[float, int, int, int]] = []
    for line_no, line in enumerate(evidence):
        for column in range(layout.length):
            if (line_no, column) in layout.unchecked:
                continue
            chosen = int(best[line_no][column])
            top = float(line[column, chosen])
            order = np.argsort(-line[column])
            rivals = [int(k) for k in order if k != chosen][:_ALTERNATIVES_PER_POSITION]
            for k in rivals:
                seen = float(line[column, k])
                if seen < max(_MIN_ALTERNATIVE, _MIN_ALTERNATIVE_SHARE * top):
                    break
                if _VALUES[k] == _VALUES[chosen]:
                    # Swapping characters of one check value ("M" and "W", "<" and "K") never
                    # repairs a check digit; whether the reading's character has such a twin
                    # beside it is asked of the final reading (`_twin_seen`).
                    continue
                swaps.append((math.log(max(top, 1e-9)) - math.log(seen), line_no, column, k))
    swaps.sort()
    found = _search(layout, best, swaps)
    accepted = [(cost, result) for cost, result in found if result is not None]
    if not accepted:
        raise _unreadable("the check digits do not agree")
    if len(found) > 1 and found[1][0] - found[0][0] < _AMBIGUITY_MARGIN:
        raise _unreadable("two readings fit the check digits")
    if found[0][1] is None:
        # The likeliest reading that fits repairs one field twice: not to be trusted, and the
        # next is far less likely.
        raise _unreadable("the check digits do not agree")
    result = accepted[0][1]
    lines = list(result.lines)
    doubt = (
        _twin_seen(layout, evidence, lines, specimens)
        or (specimens.inconsistent(lines) if specimens is not None else None)
        or _faint_pair(layout, evidence, lines, specimens)
    )
    if doubt is None:
        doubt = near_miss(layout, evidence, lines, printed)
        if doubt is not None:
            # The page prints the name with the one letter the MRZ also saw there as a rival:
            # two readings agree on it.
            mended = mend_near_miss(layout, evidence, lines, printed)
            if mended is not None and near_miss(layout, evidence, mended, printed) is None:
                mended_result = _parsed(layout, mended)
                if mended_result is not None:
                    lines, result, doubt = mended, mended_result, None
    doubt = doubt or _number_contradicted(layout, evidence, lines, printed)
    if doubt is not None:
        raise _unreadable(f"line {doubt[0] + 1}, position {doubt[1] + 1}")
    return result


# The fields of the birth and expiry dates, each with its check digit: (line, first, end).
_DATE_FIELDS = {
    "TD3": ((1, 13, 20), (1, 21, 28)),
    "TD2": ((1, 13, 20), (1, 21, 28)),
    "TD1": ((1, 0, 7), (1, 8, 15)),
}


def layout_fits(layout: MrzLayout, evidence: list[np.ndarray]) -> bool:
    """Do both dates of the likeliest reading agree with their check digits under `layout`?
    Read under the wrong layout (44 cells for 36 characters) they agree one time in a hundred;
    under the right one, a refused reading is refused for its doubts, not its layout."""
    for line_no, first, end in _DATE_FIELDS[layout.name]:
        text = "".join(MRZ_ALPHABET[k] for k in evidence[line_no][first:end].argmax(axis=1))
        if not text.isdigit() or check_digit(text[:-1]) != text[-1]:
            return False
    return True


def _settle_unchecked(
    layout: MrzLayout,
    evidence: list[np.ndarray],
    best: list[np.ndarray],
    specimens: Specimens | None,
    printed: PrintedWords | None,
    cleared: set[tuple[int, int]],
) -> None:
    """Every position no check digit covers must be seen clearly, or be settled by its shape
    or by the printed name; otherwise the reading is refused. A lone letter among a name's
    closing fillers (`cleared`, read as a filler) must have been seen clearly as something."""
    doubtful: dict[tuple[int, int], list[int]] = {}
    tails: dict[tuple[int, int], int] = {}
    for line_no, line in enumerate(evidence):
        for column in range(layout.length):
            if (line_no, column) not in layout.unchecked:
                continue
            if (line_no, column) in cleared:
                seen = np.sort(line[column])[::-1]
                if seen[0] < _UNCHECKED_MIN_EVIDENCE or seen[1] > max(
                    _RIVAL_SHARE * seen[0], _UNCHECKED_MIN_EVIDENCE
                ):
                    raise _unreadable(f"line {line_no + 1}, position {column + 1}")
                continue
            chosen = int(best[line_no][column])
            top = float(line[column, chosen])
            seen = np.sort(np.delete(line[column], chosen))[::-1]
            contradicted = specimens is not None and specimens.contradicts(line_no, column, chosen)
            tail = _TAILED.get(chosen)
            # An "O" the recogniser also saw as "Q": the tail that makes the difference is a few
            # pixels, which the printed name (read by the same recogniser, which drops tails
            # too) can confirm only as a "Q".
            if (
                tail is not None
                and line[column, tail] >= _TAIL_SEEN
                and (specimens is None or not specimens.confirms(line_no, column, chosen, [tail]))
            ):
                tails[(line_no, column)] = tail
                doubtful[(line_no, column)] = [tail]
                continue
            if (
                not contradicted
                and top >= _UNCHECKED_MIN_EVIDENCE
                and seen[0] <= max(_RIVAL_SHARE * top, _UNCHECKED_MIN_EVIDENCE)
            ):
                continue
            rivals = [
                k
                for k in range(len(MRZ_ALPHABET))
                if k != chosen
                and line[column, k] >= min(_SHAPE_RIVAL_SHARE * top, _UNCHECKED_MIN_EVIDENCE)
            ]
            if (
                not contradicted
                and specimens is not None
                and specimens.confirms(line_no, column, chosen, rivals)
            ):
                continue
            doubtful[(line_no, column)] = rivals
    settled: set[tuple[int, int]] = set()
    for line_no, column in doubtful:
        if (line_no, column) in settled:
            continue
        by_country = _settle_country(layout, evidence, best, set(doubtful), line_no, column)
        if by_country is not None:
            settled |= by_country
            continue
        by_name = settle_name(layout, evidence, best, set(doubtful), line_no, column, printed)
        if by_name is None or any(
            int(best[line][place]) != tail
            for (line, place), tail in tails.items()
            if (line, place) in by_name
        ):
            raise _unreadable(f"line {line_no + 1}, position {column + 1}")
        settled |= by_name


def _settle_country(
    layout: MrzLayout,
    evidence: list[np.ndarray],
    best: list[np.ndarray],
    doubtful: set[tuple[int, int]],
    line_no: int,
    column: int,
) -> set[tuple[int, int]] | None:
    """Settle a doubtful letter of a country code by the list of codes: when, of the letters
    seen at its doubtful positions, exactly one combination names a country ("AZE", not
    "ANE"), `best` takes it and its positions are returned; None otherwise."""
    for field_line, first, end in _COUNTRY_FIELDS[layout.name]:
        if field_line == line_no and first <= column < end:
            break
    else:
        return None
    choices = []
    for position in range(first, end):
        chosen = int(best[line_no][position])
        if (line_no, position) in doubtful:
            choices.append(name_options(evidence[line_no][position], chosen, fillers=True))
        else:
            choices.append([chosen])
    codes = [
        combination
        for combination in itertools.product(*choices)
        if _country_ok("".join(MRZ_ALPHABET[k] for k in combination))
        and FILLER not in "".join(MRZ_ALPHABET[k] for k in combination).rstrip(FILLER)
    ]
    if len(codes) != 1:
        return None
    best[line_no][first:end] = codes[0]
    return {(line_no, position) for position in range(first, end)}


# Letters that differ from another by a small tail only; the other seen this well is a doubt.
_TAILED = {MRZ_ALPHABET.index("O"): MRZ_ALPHABET.index("Q")}
_TAIL_SEEN = 0.05


def _twin_seen(
    layout: MrzLayout,
    evidence: list[np.ndarray],
    lines: list[str],
    specimens: Specimens | None,
) -> tuple[int, int] | None:
    """The first checked position whose character was seen beside a look-alike of the same
    check value ("<" and "K", "M" and "W", "1" and "L"): the check digits cannot tell them
    apart, so only the eye can, and it must be sure."""
    for line_no, line in enumerate(evidence):
        for column in range(layout.length):
            if (line_no, column) in layout.unchecked:
                continue
            chosen = MRZ_ALPHABET.index(lines[line_no][column])
            top = float(line[column, chosen])
            partner = _POOL_PARTNER.get(chosen)
            for k in range(len(MRZ_ALPHABET)):
                if k in (chosen, partner) or _VALUES[k] != _VALUES[chosen]:
                    continue
                if line[column, k] <= max(_TWIN_SHARE * top, _MIN_ALTERNATIVE):
                    continue
                if specimens is None or not specimens.confirms(line_no, column, chosen, [k]):
                    return line_no, column
    return None


# A character of a checked field seen less well than this is faint: one faint character per
# field is what its check digit can arbitrate, two can be misread so that they cancel out.
_FAINT = 0.3
# Where the document number was read less surely than this (or beside a rival), the number
# printed on the page is compared with it.
_SURE_NUMBER = 0.95
_TWIN_RIVAL = 0.05


def _faint_pair(
    layout: MrzLayout, evidence: list[np.ndarray], lines: list[str], specimens: Specimens | None
) -> tuple[int, int] | None:
    """The second faint character of a checked field, unless the shape confirms it: two
    misreads in one field ("Z0MNZ" read "N0MNN", 7 x -2 + 3 x -2 = -20) can leave its check
    digit and the composite as they were."""
    for line_no, fields in _CHECKED_FIELDS[layout.name].items():
        for first, end in fields:
            faint = []
            for column in range(first, end):
                chosen = MRZ_ALPHABET.index(lines[line_no][column])
                top = float(evidence[line_no][column, chosen])
                if top >= _FAINT:
                    continue
                rivals = [
                    k
                    for k in range(len(MRZ_ALPHABET))
                    if k != chosen and evidence[line_no][column, k] >= _MIN_ALTERNATIVE
                ]
                if specimens is not None and specimens.confirms(line_no, column, chosen, rivals):
                    continue
                faint.append(column)
            if len(faint) >= 2:
                return line_no, faint[1]
    return None


def _number_contradicted(
    layout: MrzLayout, evidence: list[np.ndarray], lines: list[str], printed: PrintedWords | None
) -> tuple[int, int] | None:
    """A document number its check digit cannot vouch for that the page prints otherwise, in
    one or two characters (`kyc.mrz_names.printed_number_contradicts`).

    One misread character always changes the check digit (its weights 7, 3, 1 are prime to 10),
    unless its rival has the same value ("M" and "W"); two can cancel out. So the page is read
    for the number only where two characters were in doubt, or one beside a rival of its value.
    """
    if printed is None:
        return None
    line_no, first = (0, 5) if layout.name == "TD1" else (1, 0)
    number = lines[line_no][first : first + 9].rstrip(FILLER)
    unsure, twin = 0, False
    for column in range(first, first + len(number)):
        line = evidence[line_no][column]
        chosen = MRZ_ALPHABET.index(lines[line_no][column])
        top = float(line[chosen])
        rivals = [k for k in range(len(MRZ_ALPHABET)) if k != chosen and line[k] >= _TWIN_RIVAL]
        if top < _SURE_NUMBER or any(line[k] >= _MIN_ALTERNATIVE_SHARE * top for k in rivals):
            unsure += 1
        partner = _POOL_PARTNER.get(chosen)
        twin = twin or any(_VALUES[k] == _VALUES[chosen] and k != partner for k in rivals)
    if unsure < 2 and not twin:
        return None
    position = printed_number_contradicts(number, printed)
    return None if position is None else (line_no, first + position)


# In fields of letters and digits, these pairs differ only by font (OCR-B draws them apart, many
# issuers' fonts do not): each counts as seen as well as the other, and only the check digits
# may choose (unless the shapes can, `kyc.mrz_shapes`); where they cannot (two choices cancel
# out), the reading is refused.
_POOLED = [(MRZ_ALPHABET.index(a), MRZ_ALPHABET.index(b)) for a, b in (("O", "0"), ("I", "1"))]
_POOL_PARTNER = {a: b for a, b in _POOLED} | {b: a for a, b in _POOLED}


def _pool_lookalikes(layout: MrzLayout, line_no: int, line: np.ndarray) -> np.ndarray:
    line = line.copy()
    for column, kind in enumerate(layout.kinds[line_no]):
        if kind != "*":
            continue
        for a, b in _POOLED:
            line[column, a] = line[column, b] = max(line[column, a], line[column, b])
    return line


def _clear_name_tail(layout: MrzLayout, best: list[np.ndarray]) -> set[tuple[int, int]]:
    """A name is primary identifier, "<<", secondary identifier, then fillers to the end: a lone
    letter among the closing fillers is a filler misread (the recogniser takes a run of "<"
    for rotated text), and is read as one; two or more letters there make the name unsure.
    Returns the positions read as fillers so."""
    line_no, start, end = NAME_FIELDS[layout.name]
    text = "".join(MRZ_ALPHABET[k] for k in best[line_no][start:end])
    separator = text.find("<<")
    if separator < 0:
        return set()
    given = separator + 2
    tail = separator if text[given : given + 1] == FILLER else text.find("<<", given)
    if tail < 0:
        return set()
    filler = MRZ_ALPHABET.index(FILLER)
    cleared = set()
    for i in range(tail + 2, len(text)):
        if text[i] == FILLER:
            continue
        before = text[i - 1] == FILLER
        after = i == len(text) - 1 or text[i + 1] == FILLER
        if not (before and after):
            # Letters after the name's end: one of them or a filler before them was misread.
            raise _unreadable(f"line {line_no + 1}, position {start + i + 1}")
        best[line_no][start + i] = filler
        cleared.add((line_no, start + i))
    return cleared


# The fields each check digit covers, by line: (first column, end column).
_CHECKED_FIELDS = {
    "TD3": {1: ((0, 10), (13, 20), (21, 28), (28, 43))},
    "TD2": {1: ((0, 10), (13, 20), (21, 28), (28, 35))},
    "TD1": {0: ((5, 15), (15, 30)), 1: ((0, 7), (8, 15), (18, 29))},
}
_FREE_SWAP = 0.05  # a swap this cheap is a look-alike pool's, not a repair


def _one_repair_per_field(layout: MrzLayout, repairs: list[tuple[float, int, int]]) -> bool:
    """At most one real repair within a field: two misreads in one field can cancel out in its
    check digit (weights 7, 3, 1), so two repairs there are as likely to be two new errors."""
    seen = set()
    for cost, line_no, column in repairs:
        if cost <= _FREE_SWAP:
            continue
        for first, end in _CHECKED_FIELDS[layout.name].get(line_no, ()):
            if first <= column < end:
                if (line_no, first) in seen:
                    return False
                seen.add((line_no, first))
    return True


def _search(
    layout: MrzLayout, best: list[np.ndarray], swaps: list[tuple[float, int, int, int]]
) -> list[tuple[float, MrzResult | None]]:
    """Readings whose check digits agree, cheapest first: the likeliest one, then swap sets of
    growing cost (best first over subsets of `swaps`), stopping once two are found. A reading
    that repairs one field twice comes as (cost, None): a rival, never an answer."""
    base = [[MRZ_ALPHABET[k] for k in line] for line in best]
    found: list[tuple[float, MrzResult | None]] = []
    # Heap of (cost, indices into swaps, ascending). The swaps are sorted by cost, so from each
    # subset come two no cheaper ones: its last swap replaced by the next, and the next added.
    # Each subset is reached once, and all in order of cost.
    heap: list[tuple[float, tuple[int, ...]]] = [(0.0, ())]
    tried = 0
    while heap and tried < _MAX_TRIED and len(found) < 2:
        cost, chosen = heapq.heappop(heap)
        tried += 1
        if found and cost - found[0][0] >= _AMBIGUITY_MARGIN:
            break
        lines = [list(line) for line in base]
        places = set()
        for index in chosen:
            _, line_no, column, k = swaps[index]
            lines[line_no][column] = MRZ_ALPHABET[k]
            places.add((line_no, column))
        repairs = [swaps[index][:3] for index in chosen]
        if len(places) == len(chosen):
            result = _parsed(layout, ["".join(line) for line in lines])
            if result is not None:
                # Two repairs in one field are never accepted, but such a reading is a rival
                # all the same: a cheaper one may fit only by a free look-alike choice that
                # cancels out ("Q" "Q" read "0" and, pooled, "O"), and this is the other.
                found.append((cost, result if _one_repair_per_field(layout, repairs) else None))
        following = chosen[-1] + 1 if chosen else 0
        if following < len(swaps):
            if chosen:
                replaced = cost - swaps[chosen[-1]][0] + swaps[following][0]
                heapq.heappush(heap, (replaced, (*chosen[:-1], following)))
            if len(chosen) < _MAX_SWAPS:
                heapq.heappush(heap, (cost + swaps[following][0], (*chosen, following)))
    return found
