"""Reading text (and the MRZ) off document images.

Two engines share one interface: `RapidOcrEngine` runs RapidOCR locally (it ships its own ONNX
models, so it works offline and costs nothing per page), and `VendorOcrEngine` is the HTTP client
for a hosted document-OCR vendor, exercised in tests against a local server. `get_ocr_engine()`
picks one from settings:

    KYC_OCR_ENGINE        "rapidocr" (default) or "vendor"
    KYC_OCR_VENDOR_URL    the vendor endpoint, http(s) only
    KYC_OCR_VENDOR_KEY    sent as the X-Api-Key header
    KYC_OCR_VENDOR_TIMEOUT  seconds, default 10

Both engines first run the image through `kyc.uploads.inspect_upload`, so a decompression bomb,
a corrupt file or a PDF is refused with an `UploadRejected` before any decoding or network call.
Engine failures raise `OcrUnavailable` (a retryable 503, not the client's fault).

`read_mrz` with the local engine uses RapidOCR's detector and recogniser directly
(`kyc.mrz_zone`: the MRZ found, cut into cells and decoded under its field layout, repaired only
where a check digit confirms it, or refused with "mrz_unreadable"). With any other engine it is
engine.read_text -> `extract_mrz` (find the 2 x 44 or 3 x 30 block, fit lines whose filler runs
were misread) -> `repair_mrz_alphabets` (a digit in a name becomes a letter, a letter in a date
a digit) -> `kyc.mrz.parse_mrz`.

The engines are in `kyc.ocr_engines` and importable from here; finding and repairing the MRZ
among OCR lines is here.
"""

from __future__ import annotations

import re

from kyc.mrz import MrzError, MrzResult, parse_mrz
from kyc.ocr_engines import (
    OcrEngine,
    OcrUnavailable,
    RapidOcrEngine,
    VendorOcrEngine,
    get_ocr_engine,
)

__all__ = [
    "OcrEngine",
    "OcrUnavailable",
    "RapidOcrEngine",
    "VendorOcrEngine",
    "extract_mrz",
    "get_ocr_engine",
    "read_mrz",
    "repair_mrz_alphabets",
]

# --- finding the MRZ among OCR lines -------------------------------------------------------------

# Glyphs OCR engines put where the MRZ has fillers. Applied only to lines that may be MRZ lines,
# so the printed part of the page keeps its text. "O" and "0" are not touched here, where fields
# are unknown: `repair_mrz_alphabets` swaps them only where a field allows just one of the two,
# and elsewhere the check digits decide.
_FILLER_LOOKALIKES = str.maketrans(
    {
        "\u00ab": "<<",  # guillemet, two fillers read as one glyph
        "\u2039": "<",  # single guillemet
        "\u3008": "<",  # CJK angle bracket (the model's dictionary is Chinese)
        "\u27e8": "<",  # mathematical angle bracket
        "\uff1c": "<",  # full-width less-than
        "\u2264": "<",  # less-than or equal
        "\u304f": "<",  # hiragana ku
    }
)
_MRZ_LINE = re.compile(r"[0-9A-Z<]+", re.ASCII)
_FILLER_RUN = re.compile(r"<+")
# (line length, lines per block) for TD3 passports and TD1 ID cards.
_MRZ_SHAPES = ((44, 2), (30, 3))
# A line read short is still taken if it has at least this many characters and a filler.
_MIN_PARTIAL_LENGTH = 10
_MAX_LINES = 10_000


def _mrz_alphabet(line: str) -> str | None:
    """The line without spaces, upper case, filler look-alikes mapped; None if it then holds
    anything an MRZ cannot."""
    if len(line) > 200:  # four times the longest MRZ line: printed prose, not an MRZ
        return None
    text = "".join(line.split()).upper().translate(_FILLER_LOOKALIKES)
    return text if _MRZ_LINE.fullmatch(text) else None


def _fit_line(text: str, length: int) -> str | None:
    """`text` brought to `length`, or None if it cannot be an MRZ line of that length.

    OCR models read long filler runs ("<<<<<<<<") badly: they drop fillers, or the detector
    leaves the run out of the text box. So a short line gets the missing fillers added to its
    last run, which is where they are on the name lines (trailing) and on passport line 2 (the
    empty personal number). A line one character too long loses one filler from its last run,
    or its last character. The check digits then tell whether the guess was right.
    """
    missing = length - len(text)
    if missing == 0:
        return text
    runs = list(_FILLER_RUN.finditer(text))
    if missing < 0:
        if missing < -1:
            return None
        if runs and runs[-1].end() - runs[-1].start() >= 2:
            cut = runs[-1].end() - 1
            return text[:cut] + text[cut + 1 :]
        return text[:length]
    if missing > 1 and (len(text) < _MIN_PARTIAL_LENGTH or not runs):
        return None
    if not runs:
        return text + "<" * missing
    end = runs[-1].end()
    return text[:end] + "<" * missing + text[end:]


def extract_mrz(lines: list[str]) -> str | None:
    """Find a TD3 (2 x 44) or TD1 (3 x 30) MRZ among OCR lines; the lines joined by "\\n".

    A block is `count` consecutive lines in the MRZ alphabet that can be fitted to the line
    length (see `_fit_line`), at least one of them read at the right length ±1 so the format is
    not a guess. The lowest block wins, since the MRZ is printed at the bottom of the page.
    Returns None when there is none.
    """
    if not isinstance(lines, list | tuple) or len(lines) > _MAX_LINES:
        raise MrzError("mrz_format", "OCR output must be a list of text lines.")
    if not all(isinstance(line, str) for line in lines):
        raise MrzError("mrz_format", "OCR output must be a list of text lines.")
    texts = [_mrz_alphabet(line) for line in lines]
    lowest: tuple[int, list[str]] | None = None  # (index of the block's last line, block)
    for length, count in _MRZ_SHAPES:
        for last in range(count - 1, len(texts)):
            if lowest is not None and last <= lowest[0]:
                continue
            window = texts[last - count + 1 : last + 1]
            if any(text is None for text in window):
                continue
            fitted = [_fit_line(text, length) for text in window if text is not None]
            anchored = any(abs(len(text) - length) <= 1 for text in window if text is not None)
            if anchored and all(line is not None for line in fitted):
                lowest = (last, [line for line in fitted if line is not None])
    return "\n".join(lowest[1]) if lowest else None


# Positions where ICAO 9303 allows only letters ("A", fillers allowed too) or only digits ("9",
# fillers allowed too); "*" is free (document numbers, optional data) and "S" is the sex.
_FIELD_ALPHABETS: dict[int, tuple[str, ...]] = {
    44: (
        "AAAAA" + "A" * 39,
        "*" * 9 + "9" + "AAA" + "999999" + "9" + "S" + "999999" + "9" + "*" * 14 + "99",
    ),
    30: (
        "AAAAA" + "*" * 9 + "9" + "*" * 15,
        "999999" + "9" + "S" + "999999" + "9" + "AAA" + "*" * 11 + "9",
        "A" * 30,
    ),
}
# Confusions of OCR models between letters and digits of similar shape.
_AS_LETTER = str.maketrans({"0": "O", "1": "I", "5": "S", "8": "B"})
_AS_DIGIT = str.maketrans({"O": "0", "Q": "0", "D": "0", "I": "1", "S": "5", "B": "8", "Z": "2"})


def repair_mrz_alphabets(mrz_text: str) -> str:
    """Replace characters that cannot stand where they stand: a digit in a name or country code
    becomes the letter it resembles, a letter in a date or check digit the digit it resembles.

    Only impossible characters change, so a correct reading stays as it is. Document numbers
    and optional data mix letters and digits freely and are left alone; their check digits
    decide. Dates and check digits are themselves covered by check digits, so a wrong repair
    there still shows as a failed check.
    """
    lines = mrz_text.split("\n")
    layouts = _FIELD_ALPHABETS.get(len(lines[0])) if lines else None
    if layouts is None or len(layouts) != len(lines):
        return mrz_text
    repaired = []
    for line, layout in zip(lines, layouts, strict=True):
        if len(line) != len(layout):
            return mrz_text
        chars = []
        for char, kind in zip(line, layout, strict=True):
            if kind == "A":
                char = char.translate(_AS_LETTER)
            elif kind == "9":
                char = char.translate(_AS_DIGIT)
            chars.append(char)
        repaired.append("".join(chars))
    return "\n".join(repaired)


def read_mrz(image: bytes, engine: OcrEngine | None = None) -> MrzResult:
    """OCR the image, find its MRZ, repair impossible characters and parse it.

    `MrzError("mrz_not_found")` when the image holds no MRZ; parse errors as in `parse_mrz`.
    """
    reader = engine if engine is not None else get_ocr_engine()
    if isinstance(reader, RapidOcrEngine):
        return reader.read_mrz(image)
    mrz_text = extract_mrz(reader.read_text(image))
    if mrz_text is None:
        raise MrzError(
            "mrz_not_found",
            "No machine-readable zone was found: photograph the whole page, flat and sharp.",
        )
    return parse_mrz(repair_mrz_alphabets(mrz_text))
