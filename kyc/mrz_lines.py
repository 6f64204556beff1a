"""MRZ lines on a document photo: finding them among the detector's boxes, cutting each out
straight, and dividing it into its fixed-pitch character cells.

Shapes are compared without the recogniser too: every filler "<" of a line is the same glyph, so
the cells whose ink correlates with the line's own filler template are fillers for certain, and
those that do not resemble it at all are certainly something else (`_Line.find_fillers`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kyc.mrz_layout import MRZ_ALPHABET

LINE_HEIGHT = 48  # the recogniser's input height, to which every line is scaled


@dataclass(frozen=True)
class Row:
    quad: np.ndarray  # 4 x 2 corners, clockwise from top left
    length: float
    height: float
    detected: float = 0.0  # the length the detector saw, before `_extended`


FILLER_INDEX = len(MRZ_ALPHABET) - 1
_FILLER_LIKENESS = 0.88  # correlation with the filler template that makes a cell one
# ... and below which it is certainly another character ("V" and "<" are one shape turned by
# a quarter, which the recogniser, trained on rotated text, confuses).
_FILLER_UNLIKE = 0.3
_GLYPH = (16, 32)  # cells are compared at this size (width, height)
# A cell is compared with the filler template moved by these fractions of a pitch: a thin stroke
# moved by a twentieth of a cell already correlates much less with itself.
_FILLER_SHIFTS = (-0.25, -0.2, -0.15, -0.1, -0.05, 0.0, 0.05, 0.1, 0.15, 0.2, 0.25)


class Line:
    """One straightened MRZ line: its image, its N character cells, and which cells are
    certainly fillers (found by shape, not by the recogniser)."""

    def __init__(self, crop: np.ndarray, left: float, right: float, characters: int) -> None:
        import cv2

        self.crop = crop
        self.n = characters
        self.pitch = (right - left) / characters
        self.cells = cell_edges(crop, left, right, characters)
        self.fitted = self.cells.copy()  # cells of one pitch each, for comparing shapes
        # The first and last cell keep all their ink, whatever the fit said.
        self.cells[0] = min(self.cells[0], left) - 0.1 * self.pitch
        self.cells[-1] = max(self.cells[-1], right) + 0.1 * self.pitch
        self.cells = np.clip(self.cells, 0, crop.shape[1])
        grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
        light = grey >= np.percentile(grey, 60)
        self.paper = [float(np.median(crop[..., c][light])) for c in range(3)]
        self.sure_fillers = np.zeros(characters, dtype=bool)
        self.not_fillers = np.zeros(characters, dtype=bool)
        self._ink: np.ndarray | None = None
        self._glyphs: dict[float, np.ndarray] = {}

    def glyphs(self, shift: float = 0.0) -> np.ndarray:
        """Each cell's ink as a unit vector (for correlating shapes), the cell moved by `shift`
        pitches."""
        import cv2

        cached = self._glyphs.get(shift)
        if cached is not None:
            return cached
        if self._ink is None:
            self._ink = 255.0 - cv2.cvtColor(self.crop, cv2.COLOR_BGR2GRAY).astype(np.float32)
        grey = self._ink
        out = []
        for i in range(self.n):
            a = round(self.fitted[i] + shift * self.pitch)
            a = min(max(a, 0), grey.shape[1] - 2)
            b = min(max(a + 2, round(self.fitted[i + 1] + shift * self.pitch)), grey.shape[1])
            glyph = cv2.resize(grey[:, a:b], _GLYPH, interpolation=cv2.INTER_AREA).ravel()
            glyph = glyph - glyph.mean()
            out.append(glyph / max(float(np.linalg.norm(glyph)), 1e-6))
        self._glyphs[shift] = np.array(out)
        return self._glyphs[shift]

    def find_fillers(self, read_as_filler: np.ndarray) -> None:
        """Cells whose shape is the line's filler: the template is the most typical of the
        cells the recogniser read as "<" (at least three must agree on it), each member taken
        at the shift that aligns it best with that one."""
        candidates = np.flatnonzero(read_as_filler)
        if len(candidates) < 3:
            return
        stack = np.array([self.glyphs(shift) for shift in _FILLER_SHIFTS])  # shifts x N x D
        centred = stack[_FILLER_SHIFTS.index(0.0)]
        # Best-aligned similarity of every two candidates (one moved, the other not).
        similar = np.einsum("snd,md->snm", stack[:, candidates], centred[candidates]).max(axis=0)
        similar = np.maximum(similar, similar.T)
        medoid = candidates[int(similar.mean(axis=1).argmax())]
        scores = stack @ centred[medoid]  # shifts x N
        aligned = scores.argmax(axis=0)
        members = read_as_filler & (scores.max(axis=0) >= 0.8)
        if members.sum() < 3:
            return
        template = stack[aligned[members], np.flatnonzero(members)].mean(axis=0)
        template /= max(float(np.linalg.norm(template)), 1e-6)
        # The best of the cell moved a little either way: the fitted cells are off their glyphs
        # by a fraction of a pitch.
        likeness = (stack @ template).max(axis=0)
        self.sure_fillers = likeness >= _FILLER_LIKENESS
        self.not_fillers = likeness < _FILLER_UNLIKE

    def kept_positions(self) -> list[int]:
        """All positions but the third and later of each run of sure fillers: a window full
        of fillers is what the recogniser misreads most (as rotated or foreign text)."""
        kept, run = [], 0
        for i in range(self.n):
            run = run + 1 if self.sure_fillers[i] else 0
            if run <= 2:
                kept.append(i)
        return kept

    def compose(self, positions: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """The cells of `positions` side by side (touching cells stay one piece of the line),
        and the x of their edges in the composed image."""
        pieces, edges, x = [], [0.0], 0.0
        start = positions[0]
        for index, position in enumerate(positions):
            last = index == len(positions) - 1 or positions[index + 1] != position + 1
            width = self.cells[position + 1] - self.cells[position]
            edges.append(edges[-1] + width)
            if last:
                a, b = round(self.cells[start]), round(self.cells[position + 1])
                pieces.append(self.crop[:, a:b])
                # Rounding: keep the edges on the pixels actually taken.
                x += b - a
                edges[-1] = x
                if index < len(positions) - 1:
                    start = positions[index + 1]
        return np.concatenate(pieces, axis=1), np.array(edges)


def clockwise(corners: np.ndarray) -> np.ndarray:
    total = corners.sum(axis=1)
    diff = np.diff(corners, axis=1)[:, 0]
    return np.array(
        [
            corners[total.argmin()],
            corners[diff.argmin()],
            corners[total.argmax()],
            corners[diff.argmax()],
        ],
        dtype=np.float32,
    )


def periodicity(crop: np.ndarray, left: float, right: float, characters: int) -> float:
    """How strongly the ink of a line repeats at the pitch of `characters` cells between its
    first and last ink: the correlation of the column profile with itself shifted by a pitch."""
    import cv2

    grey = cv2.cvtColor(crop[:, int(left) : int(np.ceil(right))], cv2.COLOR_BGR2GRAY)
    profile = (255.0 - grey).sum(axis=0)
    profile = profile - profile.mean()
    lag = round((right - left) / characters)
    if lag < 1 or lag >= len(profile):
        return 0.0
    a, b = profile[:-lag], profile[lag:]
    return float((a * b).sum() / max(np.sqrt((a * a).sum() * (b * b).sum()), 1e-9))


def cell_edges(crop: np.ndarray, left: float, right: float, characters: int) -> np.ndarray:
    """The x of the `characters + 1` cell edges of a line, fitted to its ink.

    A photographed page is in perspective, so the pitch changes a little along a line: the
    edges are x(i) = a + b*i + c*i*(i - N), with a, b and c chosen so that the edges fall where
    the ink is thinnest (between the glyphs of a fixed-pitch font): first on a coarse grid,
    then twice on finer grids around the best, since a pitch off by a fraction of a percent
    already puts the last cells of a 44-character line a quarter of a cell off their glyphs.
    """
    import cv2

    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.float64)
    profile = (255.0 - grey[LINE_HEIGHT // 5 : 4 * LINE_HEIGHT // 5]).sum(axis=0)
    pitch = (right - left) / characters
    # Smoothed over about half a cell: between two glyphs the ink is nil over a stretch (long in
    # a run of fillers), and the edge belongs in its middle, not anywhere along it.
    width = max(3, round(0.4 * pitch))
    profile = np.convolve(profile, np.ones(width) / width, mode="same")
    index = np.arange(characters + 1, dtype=np.float64)
    curve = index * (index - characters)

    def best_of(starts: np.ndarray, scales: np.ndarray, bends: np.ndarray) -> tuple[float, ...]:
        a, b, c = np.meshgrid(starts, scales, bends, indexing="ij")
        a, b, c = a.ravel()[:, None], b.ravel()[:, None], c.ravel()[:, None]
        edges = left + a * pitch + index * pitch * b + c * pitch * curve
        # Linear interpolation: the fine grids move edges by less than a pixel.
        x = np.clip(edges, 0, len(profile) - 1.001)
        low = np.floor(x).astype(int)
        weight = x - low
        scores = (profile[low] * (1 - weight) + profile[low + 1] * weight).sum(axis=1)
        k = int(scores.argmin())
        return float(a[k, 0]), float(b[k, 0]), float(c[k, 0])

    # The first glyph starts inside its cell ("I": mid-way).
    a, b, c = best_of(
        np.linspace(-0.6, 0.05, 14),
        np.linspace(0.98, 1.02, 9),
        np.linspace(-0.04, 0.04, 9) / characters,
    )
    for step in (4.0, 16.0):
        a, b, c = best_of(
            a + np.linspace(-0.05, 0.05, 7) * 4 / step,
            b + np.linspace(-0.005, 0.005, 9) * 4 / step,
            c + np.linspace(-0.01, 0.01, 9) * 4 / step / characters,
        )
    return left + a * pitch + index * pitch * b + c * pitch * curve


def extended(row: Row, length: float) -> Row:
    """The row stretched to `length` to the right, along its own direction."""
    quad = row.quad.copy()
    along = (quad[1] - quad[0]) / max(float(np.linalg.norm(quad[1] - quad[0])), 1e-6)
    quad[1] = quad[0] + along * length
    quad[2] = quad[3] + along * length
    return Row(quad, length, row.height, detected=row.length)


def _warp(image: np.ndarray, quad: np.ndarray, width: int) -> np.ndarray:
    import cv2

    target = np.array(
        [[0, 0], [width, 0], [width, LINE_HEIGHT], [0, LINE_HEIGHT]], dtype=np.float32
    )
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    return cv2.warpPerspective(
        image, matrix, (width, LINE_HEIGHT), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )


def _ink(crop: np.ndarray) -> np.ndarray:
    import cv2

    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    _, ink = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return ink


def _ink_span(ink: np.ndarray, row: Row) -> tuple[float, float] | None:
    """The first and last ink column of the line in a crop of it."""
    middle = ink[LINE_HEIGHT // 5 : 4 * LINE_HEIGHT // 5] > 0
    columns = np.flatnonzero(middle.sum(axis=0) >= 2)
    if len(columns) == 0:
        return None
    # The line's ink runs from the detected box on to the right with no gap wider than a
    # character; what lies beyond a wider gap (a card's edge, the table) is not the line.
    scale = LINE_HEIGHT / row.height
    end = (0.3 * row.height + (row.detected or row.length)) * scale
    inside = columns[columns <= end]
    if len(inside) == 0:
        return float(columns[0]), float(columns[-1] + 1)
    right = int(inside[-1])
    for column in columns[columns > right]:
        if column - right > 0.7 * LINE_HEIGHT:
            break
        right = int(column)
    return float(columns[0]), float(right + 1)


_STRIPS = 12  # the line is cut into this many strips to measure its slope
_SLOPES = np.linspace(-8.0, 8.0, 33)  # rise over the line's length tried, in crop pixels


def tilt(ink: np.ndarray, left: float, right: float) -> float:
    """How many pixels the ink of a line rises (negative) or falls from its first to its last
    column: the slope at which the rows of ink line up sharpest (their profile's energy).

    The detector's boxes of one line differ in height (tall capitals and descenders in the name,
    only "<" in its tail), so the rectangle around all of them can lie at a slant the printed
    line does not have; cells compared across the line must sit at one height.
    """
    a, b = int(left), int(np.ceil(right))
    if b - a < _STRIPS * 4:
        return 0.0
    edges = np.linspace(a, b, _STRIPS + 1).round().astype(int)
    profiles = np.array(
        [ink[:, edges[k] : edges[k + 1]].sum(axis=1, dtype=np.float64) for k in range(_STRIPS)]
    )
    centres = ((edges[:-1] + edges[1:]) / 2 - a) / max(b - a, 1) - 0.5  # -0.5 .. 0.5
    rows = np.arange(LINE_HEIGHT, dtype=np.float64)
    best, best_score = 0.0, -1.0
    for slope in _SLOPES:
        total = np.zeros(LINE_HEIGHT)
        for profile, centre in zip(profiles, centres, strict=True):
            # Strip k's ink moved up by its share of the slope.
            total += np.interp(rows + slope * centre, rows, profile, left=0.0, right=0.0)
        score = float((total * total).sum())
        if score > best_score + 1e-9 * abs(score):
            best, best_score = float(slope), score
    return best


def cut_row(image: np.ndarray, row: Row, *, level: bool = False) -> tuple[np.ndarray, float, float]:
    """The row straightened to the recogniser's height, with the first and last ink column.

    With `level`, the cut is turned to follow the ink when the row's box lies at a slant
    (`tilt`).
    """
    quad = row.quad.copy()
    along = (quad[1] - quad[0]) / max(float(np.linalg.norm(quad[1] - quad[0])), 1e-6)
    # A little paper on both sides: the detector's box may clip a character's edge.
    quad[[0, 3]] -= along * row.height * 0.3
    quad[[1, 2]] += along * row.height * 0.3
    width = max(8, round((row.length + 0.6 * row.height) / row.height * LINE_HEIGHT))
    crop = _warp(image, quad, width)
    ink = _ink(crop)
    span = _ink_span(ink, row)
    if span is None:
        return crop, 0.0, float(width)
    if level:
        rise = tilt(ink, *span)
        if abs(rise) >= 0.75:
            # The ink rises by `rise` crop pixels over the span: move the far corners with it.
            down = (quad[3] - quad[0]) / LINE_HEIGHT
            per_pixel = rise / max(span[1] - span[0], 1.0)
            quad[[1, 2]] += down * per_pixel * (width - span[0])
            quad[[0, 3]] -= down * per_pixel * span[0]
            crop = _warp(image, quad, width)
            ink = _ink(crop)
            span = _ink_span(ink, row) or span
    return crop, span[0], span[1]
