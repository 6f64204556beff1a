"""Reading one MRZ line out of a text recogniser's CTC output, knowing what the line must be.

A CTC recogniser (RapidOCR's PP-OCR model) gives, for each narrow slice of a text line (a
"frame"), the probability of every character and of "blank" (nothing new here). Its usual
decoding takes the likeliest character per frame and merges repeats, which is where MRZ reading
goes wrong: a run of "<<<<<<" becomes fewer fillers, a digit in a date comes out as a letter.

The MRZ is far more constrained than free text, and this decoder uses all of it:

- the line has exactly N characters (44, 36 or 30), at a fixed pitch, so character i sits in a
  known band of frames (the line's ink is measured on the image);
- each position allows only some characters (`kyc.mrz_layout`);
- repeats are legal CTC output only with a blank between them, so "<<<<" needs four peaks or
  the path must pay for the blanks it inserts.

`decode_line` finds the most probable path under those constraints (a Viterbi pass over frames
x positions x characters) and returns, for each position, the probability the recogniser gave
each allowed character on the frames the path spent there: the evidence the repair step uses.
"""

from __future__ import annotations

import numpy as np

_NEG = -1e9


def position_bands(frames: int, edges: np.ndarray) -> np.ndarray:
    """frames x positions booleans: may position i be emitted at frame t.

    `edges` are the frame coordinates of the N + 1 cell edges (measured on the image); a
    character is read within three quarters of its cell's width of the cell's centre, which
    tolerates the recogniser's habit of firing a little early or late.
    """
    edges = np.asarray(edges, dtype=np.float64)
    centres = (edges[:-1] + edges[1:]) / 2
    widths = np.maximum(edges[1:] - edges[:-1], 1e-6)
    t = np.arange(frames, dtype=np.float64)[:, None] + 0.5
    return np.abs(t - centres[None, :]) <= np.maximum(0.75 * widths, 1.0)[None, :]


def decode_line(
    emissions: np.ndarray, blank: np.ndarray, allowed: np.ndarray, bands: np.ndarray
) -> tuple[list[int], np.ndarray] | None:
    """The best CTC path emitting exactly N characters.

    emissions: frames x N x C log-probabilities (C = the MRZ alphabet), per position because
    look-alike glyphs count towards a character only where the layout allows it;
    blank: frames log-probabilities of "blank"; allowed: N x C booleans; bands: frames x N.

    Returns (the chosen character index per position, N x C evidence in [0, 1]: the highest
    probability of each character over the frames where the path emitted that position), or
    None when no path fits (a line far too short for N characters).
    """
    frames, positions, symbols = emissions.shape
    if frames < positions:
        return None
    static = np.where(allowed, 0.0, _NEG)[None, :, :] + np.where(bands, 0.0, _NEG)[:, :, None]
    scores = emissions + static
    label = np.full((positions, symbols), _NEG)  # the path is on position i, character c
    gap = np.full((positions, symbols), _NEG)  # ... and has emitted a blank after it
    start = 0.0  # only blanks so far
    # Back-pointers: how label[t, i, c] was entered (0 stay, 1 from a different character of
    # position i-1, 2 from position i-1 after a blank, 3 from the start) and from which character.
    came = np.zeros((frames, positions, symbols), np.int8)
    came_from = np.zeros((frames, positions, symbols), np.int16)
    gap_stayed = np.zeros((frames, positions, symbols), bool)
    rows = np.arange(positions)
    columns = np.arange(symbols)[None, :]
    empty_row = np.full((1, symbols), _NEG)
    for t in range(frames):
        before_label = np.vstack([empty_row, label[:-1]])
        before_gap = np.vstack([empty_row, gap[:-1]])
        # Entering character c straight from position i-1 needs i-1 to hold another character
        # (CTC merges repeats): take the best of i-1, or its runner-up where the best is c.
        top2 = np.argpartition(-before_label, 1, axis=1)[:, :2]
        values = before_label[rows[:, None], top2]
        swap = values[:, 1] > values[:, 0]
        best = np.where(swap, top2[:, 1], top2[:, 0])
        second = np.where(swap, top2[:, 0], top2[:, 1])
        is_best = columns == best[:, None]
        from_label = np.where(
            is_best, before_label[rows, second][:, None], before_label[rows, best][:, None]
        )
        from_label_char = np.where(is_best, second[:, None], best[:, None])
        gap_best = before_gap.argmax(axis=1)
        from_gap = np.broadcast_to(before_gap[rows, gap_best][:, None], (positions, symbols))
        from_start = np.full((positions, symbols), _NEG)
        from_start[0, :] = start
        options = np.stack([label, from_label, from_gap, from_start])
        choice = options.argmax(axis=0)
        came[t] = choice
        came_from[t] = np.where(
            choice == 1, from_label_char, np.where(choice == 2, gap_best[:, None], 0)
        )
        gap_stayed[t] = gap >= label
        new_gap = np.maximum(label, gap) + blank[t]
        label = np.take_along_axis(options, choice[None], 0)[0] + scores[t]
        gap = new_gap
        start += blank[t]
    end_label, end_gap = label[-1], gap[-1]
    if max(end_label.max(), end_gap.max()) <= _NEG / 2:
        return None
    in_gap = end_gap.max() > end_label.max()
    char = int(end_gap.argmax() if in_gap else end_label.argmax())
    position = positions - 1
    chosen = [0] * positions
    evidence = np.zeros((positions, symbols))
    for t in range(frames - 1, -1, -1):
        if in_gap:
            in_gap = bool(gap_stayed[t, position, char])
            continue
        chosen[position] = char
        evidence[position] = np.maximum(evidence[position], np.exp(emissions[t, position]))
        how = came[t, position, char]
        if how == 0:
            continue
        if how == 3:
            break
        char, position, in_gap = int(came_from[t, position, char]), position - 1, how == 2
    evidence *= allowed
    return chosen, np.minimum(evidence, 1.0)
