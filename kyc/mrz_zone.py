"""Finding the MRZ on a document photo and reading it with RapidOCR's own models.

RapidOCR's detector finds the text lines; the MRZ is the bottom block of two or three long
rows starting at the same left edge (`kyc.mrz_lines`). Each line is cut out along its (possibly
rotated or slanted) box, levelled to its own ink (the box around a name's tall letters and its
tail of fillers lies at a slant the line does not have), and divided into its N fixed-pitch
cells. The recogniser
then reads it three ways:

- the whole line at once: it places every character most reliably, but a 44-character line is
  far wider than what the model was trained on, and it misreads more;
- in windows of about twelve characters, in two staggered sets, each window made of whole cells
  on blank paper and with the long runs of fillers left out (the cells whose shape is the line's
  filler for certain): a window of fillers only is what the model misreads most, as rotated or
  foreign text.

Each view is decoded with `kyc.mrz_ctc.decode_line` under the layout's constraints, `_combine`
takes per position what two readings agree on, and `kyc.mrz_repair.resolve_mrz` turns the
evidence into a reading or a refusal, with two second opinions where the recogniser is in
doubt: the cells' shapes compared with the document's own specimens of each character
(`kyc.mrz_shapes`) and, for the name, the words printed above the MRZ (`kyc.mrz_names`, read
only when a name letter needs them).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from kyc.mrz import MrzError, MrzResult
from kyc.mrz_ctc import decode_line, position_bands
from kyc.mrz_layout import LAYOUTS_BY_LINES, MRZ_ALPHABET, MrzLayout
from kyc.mrz_lines import (
    FILLER_INDEX,
    LINE_HEIGHT,
    Line,
    Row,
    clockwise,
    cut_row,
    extended,
    periodicity,
)
from kyc.mrz_names import PrintedWords
from kyc.mrz_repair import layout_fits, resolve_mrz
from kyc.mrz_shapes import SHIFTS, similarity

# Glyphs the recogniser's (Chinese + Latin) dictionary offers for MRZ characters, by where they
# stand: in a letter position a "0" can only be an "O", in a digit position a "D" only a "0".
_FILLER_LOOKALIKES = "\uff1c\u00ab\u2039\u3008\u27e8\u2264\u304f\u300a^\u039b\u516b("
_AS_LETTER = {"I": "1l|!\u2223\u4e28", "O": "0\u25cb", "S": "5", "B": "8", "Z": "2", "G": "6"}
_AS_DIGIT = {
    "0": "OoDQ\u25cb",
    "1": "Il|!\u2223\u4e28",
    "2": "Zz",
    "4": "A",
    "5": "Ss",
    "6": "G",
    "8": "B",
}
_CHUNK = 12  # characters per chunk: the width the recogniser reads most surely
_FRAME_PIXELS = 8  # input pixels per CTC frame (PP-OCRv4 recogniser)
_SURE_FILLER = 0.95  # the evidence a filler matching the line's own filler shape gets


class MrzZoneReader:
    """Reads the MRZ of a BGR image with a RapidOCR instance's detector and recogniser."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self._boxes: list[np.ndarray] = []  # the detector's boxes on the current image
        characters = list(engine.text_rec.postprocess_op.character)  # index 0 is "blank"
        index = {char: i for i, char in enumerate(characters)}

        def groups(extra: dict[str, str]) -> list[list[int]]:
            out = []
            for char in MRZ_ALPHABET:
                names = [char, char.lower(), *extra.get(char, "")]
                if char == "<":
                    names += list(_FILLER_LOOKALIKES)
                out.append(sorted({index[n] for n in names if n in index}))
            return out

        # Per layout kind, the recogniser classes that count towards each MRZ character.
        self._groups = {
            "*": groups({}),
            "A": groups(_AS_LETTER),
            "S": groups(_AS_LETTER),
            "D": groups(_AS_LETTER),
            "9": groups(_AS_DIGIT),
            "8": groups(_AS_DIGIT),
        }

    # --- finding the lines -------------------------------------------------------------------

    def _rows(self, image: np.ndarray) -> list[Row]:
        import cv2

        boxes, _ = self.engine(image, use_cls=False, use_rec=False)
        self._boxes = [np.asarray(points, dtype=np.float32) for points in boxes or []]
        items = []
        for points in boxes or []:
            quad = np.asarray(points, dtype=np.float32)
            height = (np.linalg.norm(quad[0] - quad[3]) + np.linalg.norm(quad[1] - quad[2])) / 2
            items.append((float(quad[:, 1].mean()), max(float(height), 1.0), quad))
        items.sort(key=lambda item: item[0])
        # The detector cuts one printed line at long filler runs: boxes whose centres lie
        # within half a box height form one row.
        grouped: list[list[tuple[float, float, np.ndarray]]] = []
        for item in items:
            if grouped:
                last = grouped[-1]
                centre = sum(i[0] for i in last) / len(last)
                if abs(item[0] - centre) < min(item[1], min(i[1] for i in last)) / 2:
                    last.append(item)
                    continue
            grouped.append([item])
        rows = []
        for group in grouped:
            points = np.concatenate([i[2] for i in group])
            (cx, cy), (w, h), angle = cv2.minAreaRect(points)
            corners = cv2.boxPoints(((cx, cy), (w, h), angle))
            rows.append(Row(clockwise(corners), max(w, h), max(min(w, h), 1.0)))
        return rows

    def _blocks(self, rows: list[Row]) -> list[list[Row]]:
        """The bottom-most runs of 3 and of 2 rows that can be an MRZ: about the same height,
        evenly spaced, starting at the same left edge, the longest at least 15 heights long.

        Every MRZ line is printed to the full width, but the detector often leaves out a
        trailing run of fillers (a short name): the rows of a block are extended to its longest
        row, and the ink found there decides where each line really ends.
        """
        blocks = []
        for count in (3, 2):
            for end in range(len(rows), count - 1, -1):
                block = rows[end - count : end]
                height = max(row.height for row in block)
                longest = max(row.length for row in block)
                lefts = [row.quad[0] for row in block]
                gaps = [float(np.linalg.norm(b - a)) for a, b in itertools.pairwise(lefts)]
                if (
                    min(row.height for row in block) >= 0.6 * height
                    and longest >= 15 * height
                    and min(row.length for row in block) >= 4 * height
                    and all(
                        abs(float(b[0] - a[0])) <= 1.5 * height
                        for a, b in itertools.pairwise(lefts)
                    )
                    and max(gaps) <= 3.5 * height
                    and min(gaps) >= 0.7 * max(gaps)
                ):
                    blocks.append([extended(row, longest + height) for row in block])
                    break
        return blocks

    # --- reading -----------------------------------------------------------------------------

    def read(self, image: np.ndarray) -> MrzResult:
        rows = self._rows(image)
        errors: list[MrzError] = []
        for block in self._blocks(rows):
            crops = [cut_row(image, row, level=True) for row in block]
            printed = PrintedWords(lambda block=block: self._printed(image, block))
            # Two lines are a passport's 44 characters or a card's 36: try first the one whose
            # pitch the ink repeats at.
            layouts = sorted(
                LAYOUTS_BY_LINES[len(block)],
                key=lambda layout: -sum(periodicity(*crop, layout.length) for crop in crops),
            )
            for layout in layouts:
                try:
                    return self._read_block(crops, layout, printed)
                except MrzError as exc:
                    if getattr(exc, "layout_fits", False):
                        # The dates' check digits agree under this layout: it is the right one,
                        # and another layout or block would only be misread.
                        raise
                    errors.append(exc)
        if errors:
            raise errors[0]
        raise MrzError(
            "mrz_not_found",
            "No machine-readable zone was found: photograph the whole page, flat and sharp.",
        )

    def _printed(self, image: np.ndarray, block: list[Row]) -> list[str]:
        """The text of every box the detector found above the MRZ block (the visual zone)."""
        top = min(float(row.quad[:, 1].min()) for row in block)
        crops = []
        for quad in self._boxes:
            if float(quad[:, 1].max()) > top:
                continue
            corners = clockwise(quad)
            length = float(np.linalg.norm(corners[1] - corners[0]))
            height = float(np.linalg.norm(corners[3] - corners[0]))
            if length < 2 or height < 2:
                continue
            crops.append(cut_row(image, Row(corners, length, height))[0])
        if not crops:
            return []
        texts, _ = self.engine.text_rec(crops)
        return [str(text[0]) for text in texts]

    def _read_block(
        self,
        crops: list[tuple[np.ndarray, float, float]],
        layout: MrzLayout,
        printed: PrintedWords | None = None,
    ) -> Any:
        lines = [Line(crop, left, right, layout.length) for crop, left, right in crops]
        # First pass: every line whole, which places each character (see `_combine`).
        wholes = self._read_views(
            [(line, list(range(layout.length))) for line in lines], layout, crops_lines=lines
        )
        # Second pass: windows of about twelve characters, with the long runs of fillers left
        # out, in two staggered sets.
        views = []
        for line, whole in zip(lines, wholes, strict=True):
            line.find_fillers(whole.argmax(axis=1) == len(MRZ_ALPHABET) - 1)
            kept = line.kept_positions()
            for first, last in _windows(len(kept), _CHUNK, 2):
                views.append((line, kept[first:last]))
        readings = self._read_views(views, layout, crops_lines=lines)
        evidence = []
        for line_no, (line, whole) in enumerate(zip(lines, wholes, strict=True)):
            n = layout.length
            sets = np.zeros((2, n, len(MRZ_ALPHABET)))
            filled = np.zeros(n, dtype=int)
            for (view_line, positions), seen in zip(views, readings, strict=True):
                if view_line is not line:
                    continue
                for i, position in enumerate(positions):
                    sets[min(filled[position], 1), position] = seen[i]
                    filled[position] += 1
            dropped = filled == 0
            sets[:, dropped, FILLER_INDEX] = _SURE_FILLER
            combined = _combine(whole, sets, layout, line_no)
            sure = line.sure_fillers
            # What the template says is a filler's shape is one: no look-alike competes.
            combined[sure] = np.minimum(combined[sure], 0.02)
            combined[sure, FILLER_INDEX] = _SURE_FILLER
            combined[line.not_fillers, FILLER_INDEX] = np.minimum(
                combined[line.not_fillers, FILLER_INDEX], 0.01
            )
            evidence.append(combined)
        shapes = similarity([[line.glyphs(shift) for shift in SHIFTS] for line in lines])
        try:
            return resolve_mrz(layout, evidence, shapes, printed)
        except MrzError as exc:
            exc.layout_fits = layout_fits(layout, evidence)  # type: ignore[attr-defined]
            raise

    def _read_views(
        self, views: list[tuple[Line, list[int]]], layout: MrzLayout, crops_lines: list[Line]
    ) -> list[np.ndarray]:
        """Evidence (len(positions) x 37) for each view: the given positions of a line, their
        cells side by side on blank paper, read in one batch and decoded under the layout."""
        import cv2

        parts, geometry = [], []
        for line, positions in views:
            image, edges = line.compose(positions)
            pad = int(line.pitch * 0.6)
            parts.append(
                cv2.copyMakeBorder(image, 0, 0, pad, pad, cv2.BORDER_CONSTANT, value=line.paper)
            )
            geometry.append(edges + pad)
        out = []
        for probs, part, edges, (line, positions) in zip(
            self._recognise(parts), parts, geometry, views, strict=True
        ):
            line_no = crops_lines.index(line)
            frames = min(probs.shape[0], int(np.ceil(part.shape[1] / _FRAME_PIXELS)))
            probs = probs[:frames]
            kinds = layout.kinds[line_no]
            emissions = np.stack([self._log_probs(probs, kinds[p]) for p in positions], axis=1)
            allowed = np.array(
                [[c in layout.allowed(line_no, p) for c in MRZ_ALPHABET] for p in positions]
            )
            decoded = decode_line(
                emissions,
                np.log(probs[:, 0] + 1e-12),
                allowed,
                position_bands(frames, edges / _FRAME_PIXELS),
            )
            out.append(
                decoded[1] if decoded is not None else np.zeros((len(positions), len(MRZ_ALPHABET)))
            )
        return out

    def _log_probs(self, probs: np.ndarray, kind: str) -> np.ndarray:
        # A look-alike counts as its MRZ character at its own strength (the best of the group),
        # not summed: a glyph seen weakly as five shapes is not seen strongly as one.
        columns = [
            probs[:, g].max(axis=1) if g else np.zeros(len(probs)) for g in self._groups[kind]
        ]
        return np.log(np.stack(columns, axis=1) + 1e-12)

    def _recognise(self, parts: list[np.ndarray]) -> list[np.ndarray]:
        """CTC probabilities (frames x classes) of each part, in one batch per similar width."""
        import cv2

        resized = [
            cv2.resize(
                p, (max(8, round(p.shape[1] * LINE_HEIGHT / max(p.shape[0], 1))), LINE_HEIGHT)
            )
            for p in parts
        ]
        out: list[np.ndarray | None] = [None] * len(parts)
        order = sorted(range(len(parts)), key=lambda i: resized[i].shape[1])
        # Parts of about the same width share one call; the narrower ones are padded on the
        # right (with the grey the recogniser itself pads with), which it reads as blank.
        batch: list[int] = []
        for position, index in enumerate(order):
            batch.append(index)
            last = position == len(order) - 1
            if last or resized[order[position + 1]].shape[1] > 1.3 * resized[batch[0]].shape[1]:
                width = max(resized[i].shape[1] for i in batch)
                tensor = np.zeros((len(batch), 3, LINE_HEIGHT, width), dtype=np.float32)
                for row, i in enumerate(batch):
                    image = resized[i].astype(np.float32).transpose(2, 0, 1) / 255.0
                    tensor[row, :, :, : image.shape[2]] = (image - 0.5) / 0.5
                probs = self.engine.text_rec.session(tensor)[0]
                for row, i in enumerate(batch):
                    out[i] = probs[row]
                batch = []
        return [p for p in out if p is not None]


def _windows(n: int, size: int, sets: int) -> list[tuple[int, int]]:
    """Windows of about `size` characters over a line of `n`, in `sets` sets whose edges are
    staggered, so every character sits well inside the window of at least one set; a line's
    first and last window are never shorter than half a window."""
    count = max(1, round(n / size))
    width = n / count
    out: list[tuple[int, int]] = []
    for k in range(sets):
        shift = k * width / sets
        edges = [0] + [round(shift + j * width) for j in range(count + 1)] + [n]
        edges = sorted({e for e in edges if 0 <= e <= n})
        if len(edges) > 2 and edges[1] - edges[0] < width / 2:
            edges.pop(1)
        if len(edges) > 2 and edges[-1] - edges[-2] < width / 2:
            edges.pop(-2)
        out += list(itertools.pairwise(edges))
    return out


def _combine(whole: np.ndarray, chunked: np.ndarray, layout: MrzLayout, line_no: int) -> np.ndarray:
    """One N x 37 evidence array from three readings of a line: whole, and in two sets of
    windows.

    Each position takes the character at least two readings agree on, with the best
    confidence they gave it; without a majority, the whole line's (it places characters most
    reliably: a window sometimes slips by one). A dissenting reading's character becomes a
    rival: capped well below the chosen one where a check digit will arbitrate or a majority
    agreed, at full strength otherwise, so that a name the readings disagree on is refused
    rather than guessed.
    """
    n = len(whole)
    readings = [whole, *chunked]
    tops = np.array([reading.argmax(axis=1) for reading in readings])  # 3 x N
    columns = np.arange(n)
    chosen = tops[0].copy()
    majority = np.zeros(n, dtype=bool)
    for a, b in ((1, 2), (0, 1), (0, 2)):
        agree = (tops[a] == tops[b]) & ~majority
        chosen[agree] = tops[a][agree]
        majority |= agree
    combined = np.zeros_like(whole)
    for reading, top in zip(readings, tops, strict=True):
        agree = top == chosen
        combined[columns[agree], chosen[agree]] = np.maximum(
            combined[columns[agree], chosen[agree]], reading[columns[agree], chosen[agree]]
        )
    best = combined[columns, chosen][:, None]
    unchecked = np.array([(line_no, i) in layout.unchecked for i in range(n)])
    # Inside a run of fillers (a name's tail): a window holding only fillers is the one the
    # recogniser misreads (it takes them for rotated text), so its letters do not count there.
    filler = chosen == FILLER_INDEX
    in_filler_run = filler & np.r_[True, filler[:-1]] & np.r_[filler[1:], True]
    strong = unchecked & ~in_filler_run
    for reading in readings:
        rivals = np.minimum(reading, 0.99 * best)
        rivals[columns, chosen] = 0
        capped = np.minimum(rivals, 0.4 * best)
        combined = np.maximum(combined, np.where(strong[:, None], rivals, capped))
    return combined
